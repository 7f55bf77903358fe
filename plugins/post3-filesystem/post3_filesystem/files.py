"""Synchronous file primitives: temporary files, locks, durable renames. Called in threads.

Temporary files live in ``<root>/.post3/tmp`` (same filesystem as the objects, so
``os.replace`` is a rename). Several processes may share a root, so the start-up sweep cannot
just empty that directory: each writer holds an ``flock`` on its temporary file while it lives,
and the sweep removes only files whose lock it can take, which means their writer has died.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import errno
import fcntl
import itertools
import os
import secrets
from collections.abc import Iterator, Sequence
from typing import Any

_RETRIES = 100


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_existing_dir(path: str, base: str) -> None:
    """fsync ``path``, or its nearest ancestor up to ``base`` when it is gone: a concurrent
    delete of a sibling key (another key, another lock) may have emptied and pruned it since
    our unlink, and the ancestor is where that removal, which holds ours, is recorded."""
    while True:
        try:
            fsync_dir(path)
            return
        except FileNotFoundError:
            if len(path) <= len(base):
                raise
            path = os.path.dirname(path)


def write_all(fd: int, *buffers: bytes | bytearray | memoryview) -> None:
    """Write the buffers one after another, in one ``writev`` when the kernel takes them whole
    (it does for a small object's bytes and header)."""
    views = [memoryview(buffer).cast("B") for buffer in buffers]
    while views:
        written = os.writev(fd, views)
        while views and written >= views[0].nbytes:
            written -= views.pop(0).nbytes
        if views:
            views[0] = views[0][written:]


def _sync_file_range() -> Any:
    """Linux's ``sync_file_range`` (Python's ``os`` has none), or None where libc lacks it."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


_SYNC_FILE_RANGE = _sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2  # start writing dirty pages out, do not wait for them


def write_on(fd: int, data: bytes | bytearray | memoryview) -> None:
    """:func:`write_all`, then start the file's dirty pages on their way to the disk without
    waiting, so the fsync that seals a large file has little left to write: the disk works
    while the rest of the body arrives. Durability is still the fsync's alone."""
    write_all(fd, data)
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)  # a failure costs only the head start


class _Unique:
    """Strings no other call returns, in this process or another: a random prefix drawn once
    per process (again in a forked child), then a counter. One from ``secrets`` per file cost a
    ``getrandom`` call, and every system call in a worker thread gives up the GIL and waits to
    take it back from the event loop. A temporary file name a crashed process left is skipped
    (``O_EXCL``)."""

    def __init__(self) -> None:
        self.draw()

    def draw(self) -> None:
        self._prefix = secrets.token_hex(6)
        self._count = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._count):x}"


unique = _Unique()
os.register_at_fork(after_in_child=unique.draw)


class TempFile:
    """A locked temporary file that either becomes a record by ``os.replace`` or vanishes."""

    def __init__(self, fd: int, path: str) -> None:
        self.fd = fd
        self.path: str | None = path
        #: a write running in a thread: the descriptor is closed only after it finishes,
        #: so a reused descriptor number never receives our bytes
        self.pending: concurrent.futures.Future[Any] | None = None

    @classmethod
    def create(cls, tmp_dir: str, kind: str, suffix: str = "") -> TempFile:
        while True:
            path = os.path.join(tmp_dir, f"{kind}-{unique()}{suffix}")
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            except FileExistsError:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink:
                return cls(fd, path)
            # a starting process swept it between our open and our lock
            os.close(fd)

    @property
    def live_path(self) -> str:
        """The temporary file's path, while it is still temporary."""
        if self.path is None:
            raise RuntimeError("the temporary file was already replaced or discarded")
        return self.path

    def replaced(self) -> None:
        """The file now lives under its final name: nothing to remove any more."""
        self.path = None

    def discard(self) -> None:
        """Remove the file now; close it once no thread writes to it."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.path = None
        if self.fd < 0:
            return
        fd, self.fd = self.fd, -1
        pending = self.pending
        if pending is not None and not pending.done():
            pending.add_done_callback(lambda _: os.close(fd))
        else:
            os.close(fd)


def sweep_tmp(tmp_dir: str) -> int:
    """Remove what crashed writers left in ``tmp_dir``; returns how many entries went."""
    removed = 0
    for entry in os.scandir(tmp_dir):
        if entry.is_dir(follow_symlinks=False):
            # trash from deleted buckets and aborted uploads: garbage by construction
            remove_tree(entry.path)
            removed += 1
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # a live writer holds it
            continue
        try:
            os.unlink(entry.path)
            removed += 1
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
    return removed


def trash(path: str, tmp_dir: str) -> bool:
    """Make a directory vanish at once (rename into tmp), then delete it; False if missing."""
    target = os.path.join(tmp_dir, f"trash-{secrets.token_hex(12)}")
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return False
    remove_tree(target)
    return True


def remove_tree(path: str) -> None:
    """``shutil.rmtree`` without recursion (keys nest up to 1024 directories deep) and
    without complaint: what it cannot remove, a later sweep of the tmp directory will."""
    stack = [path]
    while stack:
        current = stack[-1]
        try:
            entries = list(os.scandir(current))
        except OSError:
            stack.pop()
            continue
        subdirs = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.path)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        if subdirs:
            stack.extend(subdirs)
            continue
        with contextlib.suppress(OSError):
            os.rmdir(current)
        stack.pop()


@contextlib.contextmanager
def flocked(path: str, operation: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)  # releases the lock


class DirectoryAt:
    """An open descriptor of the last directory asked for, to open files by name relative to
    it: reading a listing's record headers one directory after another, each ``open`` then
    spares the kernel the walk down the whole path (and Python the join), a tenth of a
    header's cost. One descriptor at a time, however many directories a walk goes through;
    close it with :meth:`close` (or ``with``)."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._fd: int | None = None

    def fd(self, path: str) -> int | None:
        """A descriptor of the directory ``path``; None when it is gone."""
        if path != self._path:
            self.close()
            try:
                self._fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError):
                self._fd = None
            self._path = path
        return self._fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._path = self._fd = None

    def __enter__(self) -> DirectoryAt:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _make_dirs(base: str, names: Sequence[str], durable: bool) -> str:
    """Create ``base/names...`` one level at a time (never ``base`` itself)."""
    path = base
    for name in names:
        parent, path = path, os.path.join(path, name)
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        if durable:
            fsync_dir(parent)
    return path


def replace_into(
    src: str, base: str, names: Sequence[str], filename: str, durable: bool
) -> None:
    """``os.replace(src, base/names.../filename)``, creating the directories. A concurrent
    delete may remove an emptied directory between our mkdir and our rename; then the
    rename fails with ENOENT and we build the path again. The first attempt assumes the
    directories exist (they do for all but a prefix's first key), sparing a mkdir each."""
    for attempt in range(_RETRIES):
        try:
            directory = _make_dirs(base, names, durable) if attempt else os.path.join(
                base, *names)
            os.replace(src, os.path.join(directory, filename))
        except FileNotFoundError:
            if not os.path.isdir(base) or not os.path.exists(src):
                raise
            continue
        if durable:
            fsync_dir(directory)
        return
    raise OSError(errno.EAGAIN, "directory kept vanishing while writing", base)


def link_into(
    src: str, base: str, names: Sequence[str], filename: str, durable: bool
) -> None:
    """``os.link(src, base/names.../filename)``, creating the directories and retrying as
    :func:`replace_into` does. A ``filename`` that exists already is what a crashed earlier
    attempt of the same move left: it is replaced."""
    for _ in range(_RETRIES):
        try:
            directory = _make_dirs(base, names, durable)
            target = os.path.join(directory, filename)
            try:
                os.link(src, target)
            except FileExistsError:
                os.unlink(target)
                continue
        except FileNotFoundError:
            if not os.path.isdir(base) or not os.path.exists(src):
                raise
            continue
        if durable:
            fsync_dir(directory)
        return
    raise OSError(errno.EAGAIN, "directory kept vanishing while writing", base)


def unlink_quietly(path: str) -> bool:
    """Remove ``path``; False when it was not there."""
    try:
        os.unlink(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def prune_dirs(base: str, names: Sequence[str]) -> None:
    """Remove the empty directories of ``base/names...``, deepest first, keeping the first
    level (``objects/``); rmdir refuses a directory a concurrent writer has just filled, so
    nothing written can be lost."""
    for depth in range(len(names), 1, -1):
        try:
            os.rmdir(os.path.join(base, *names[:depth]))
        except OSError:
            return
