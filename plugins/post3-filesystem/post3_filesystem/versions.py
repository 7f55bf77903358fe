"""A key's versions on disk, and the moves between them.

Where they live (data format 2)::

    <bucket>/objects/<dirs>/o<f>                 the latest version: an object, or a delete
                                                 marker (a record without bytes)
    <bucket>/objects/<dirs>/t<f>                 tags (and attributes) of the latest
                                                 version, if changed since its write
    <bucket>/versions/<dirs>/v<f>/<seq>          a noncurrent version with its own id
                                                 (id == sequence == file name)
    <bucket>/versions/<dirs>/v<f>/<seq>.null     the noncurrent null version
    <bucket>/versions/<dirs>/v<f>/<seq>.tags     tags of the noncurrent version <seq>, if changed

``<dirs>`` and ``<f>`` are the key's directories and escaped fragment (:mod:`.layout`).

Why this shape: the latest version stays exactly where a format 1 object lives, so data
written before versioning is format 2 data without versions (no rewrite on upgrade), an
unversioned PUT, GET or LIST does what it did before, and a LIST page reads only ``o`` files:
its cost does not depend on how many noncurrent versions any key has. A version's sequence is
its file name, so a read by id is one ``open``; the null version is found by its suffix in
one directory listing of its key's versions.

Moves, each a link or a rename under the key's commit lock (all writers of a key, in every
process, take it), ordered so that a crash between two steps loses no version and leaves only
*garbage* that readers ignore and the next write or delete of the key removes:

* **a new latest**: link ``t`` and ``o`` into the versions directory (``o`` then has a
  duplicate there; with ``fsync`` the links are durable first), ``os.replace`` the new record
  over ``o``, unlink the stale ``t``. In a
  Suspended bucket, a null write over a non-null latest then removes the old noncurrent null;
  a null write over a null latest replaces it in place. Garbage: a noncurrent file with the
  latest's sequence; a noncurrent null while the latest is null (or older than another
  noncurrent null).
* **deleting the latest by id** promotes the newest noncurrent version with one ``os.replace``
  onto ``o`` (replacing the deleted one), then copies its tags to ``t``. Between the two, ``t``
  names another record, and that is how a reader knows to take the promoted version's tags
  from the versions directory: the promotion writes the deleted version's tags to ``t`` first
  if it had no ``t`` file, and the next write of the key finishes the copy. Without a
  noncurrent version the garbage goes first, then ``o``: noncurrent files never outlive their
  key's latest version, so a key with versions always has an ``o``.

A crash can also leave a tags file whose version is gone: garbage too. Tag files name the
record they belong to (its token, ``version`` in the header), as they always did.

Readers take no lock. Asked for an id, they look at ``o``, then the versions directory, then
``o`` again: a version being demoted is linked before it leaves ``o``, and a promoted one leaves
the versions directory by the rename that puts it at ``o``, so one of the three finds it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from typing import TYPE_CHECKING, Any

from post3.backend import NULL_VERSION
from post3_filesystem import files, layout, records

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

NULL_SUFFIX, TAGS_SUFFIX = ".null", ".tags"
#: What a sequence (and so a noncurrent file name, and a non-null version id) looks like.
SEQUENCE = re.compile(r"^[0-9a-f]{32}$")


class KeyPaths:
    """Where one key's versions live in its bucket ``base`` (the paths a commit needs are
    built once: they are on every PUT's path)."""

    __slots__ = ("base", "dirs", "fragment", "directory", "latest", "latest_tags")

    def __init__(self, base: str, dirs: tuple[str, ...], fragment: str) -> None:
        self.base, self.dirs, self.fragment = base, dirs, fragment
        self.directory = "/".join((base, "objects", *dirs))
        self.latest = f"{self.directory}/{layout.OBJECT}{fragment}"
        self.latest_tags = f"{self.directory}/{layout.TAGS}{fragment}"

    @classmethod
    def of(cls, base: str, key: str) -> KeyPaths:
        dirs, fragment = layout.key_location(key)
        return cls(base, tuple(dirs), fragment)

    @property
    def object_names(self) -> list[str]:
        return ["objects", *self.dirs]

    @property
    def version_names(self) -> list[str]:
        return ["versions", *self.dirs, layout.VERSIONS + self.fragment]

    @property
    def versions(self) -> str:
        return os.path.join(self.base, *self.version_names)

    def noncurrent(self, name: str) -> str:
        return os.path.join(self.versions, name)

    def noncurrent_tags(self, name: str) -> str:
        return os.path.join(self.versions, name[:32] + TAGS_SUFFIX)


def file_name(version_id: str, sequence: str) -> str:
    """The name of a version in its key's versions directory."""
    if not SEQUENCE.match(sequence):
        raise ValueError(f"not a version sequence: {sequence!r}")
    return sequence + (NULL_SUFFIX if version_id == NULL_VERSION else "")


def name_of(header: dict[str, Any]) -> str:
    return file_name(*records.identity(header))


def read_side(path: str, cached_only: bool = False) -> dict[str, Any] | None:
    """A side file: ``{"version": <record token>, "tags": {...}}``, or None. It may also hold
    ``"metadata"``: the record's attribute pairs as changed since (object lock).
    ``cached_only``: see :func:`records.pread`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        side: dict[str, Any] = json.loads(
            records.pread(fd, os.fstat(fd).st_size, 0, cached_only))
    finally:
        os.close(fd)
    return side


def side_for(path: str, header: dict[str, Any], cached_only: bool = False
             ) -> dict[str, Any] | None:
    """The side file ``path`` if it belongs to the record of ``header``."""
    side = read_side(path, cached_only)
    if side is None or side.get("version") != header["version"]:
        return None
    return side


def latest_side(paths: KeyPaths, header: dict[str, Any], cached_only: bool = False
                ) -> dict[str, Any] | None:
    """The side file of the latest version (``header``), or None when it has none."""
    side = read_side(paths.latest_tags, cached_only)
    if side is None:
        return None
    if side.get("version") == header["version"]:
        return side
    # t names another record: the latest was just promoted, its tags may still be in versions/
    return side_for(paths.noncurrent_tags(name_of(header)), header, cached_only)


def read_header(path: str, dir_fd: int | None = None) -> dict[str, Any] | None:
    """The header of the record at ``path`` (relative to the directory open at ``dir_fd``,
    when given), or None when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return records.read(fd)[0]
    finally:
        os.close(fd)


def noncurrent(paths: KeyPaths, latest: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """``(noncurrent versions' file names, newest first; garbage names)`` beside the latest
    version whose header is ``latest`` (see the module docstring for what garbage is)."""
    try:
        names = sorted(os.listdir(paths.versions))
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    latest_name = "" if latest is None else name_of(latest)
    null_taken = latest_name.endswith(NULL_SUFFIX)
    live: list[str] = []
    garbage: list[str] = []
    for name in names:
        if name.endswith(TAGS_SUFFIX):
            continue
        is_null = name.endswith(NULL_SUFFIX)
        if latest is None or name[:32] == latest_name[:32] or (is_null and null_taken):
            garbage.append(name)
        else:
            live.append(name)
            null_taken = null_taken or is_null
    kept = {name[:32] for name in live}
    side = None if latest is None else read_side(paths.latest_tags)
    if side is not None and latest is not None and side.get("version") != latest["version"]:
        kept.add(latest_name[:32])  # the tags of a version promoted a moment ago (_settle)
    garbage += [name for name in names if name.endswith(TAGS_SUFFIX) and name[:32] not in kept]
    return live, garbage


def find_noncurrent(paths: KeyPaths, version_id: str, latest: dict[str, Any] | None
                    ) -> str | None:
    """The file name the noncurrent version ``version_id`` would have, or None when it cannot
    be one (a malformed id, or no null version beside ``latest``)."""
    if version_id == NULL_VERSION:
        live, _ = noncurrent(paths, latest)
        return next((name for name in live if name.endswith(NULL_SUFFIX)), None)
    return version_id if SEQUENCE.match(version_id) else None


def remove(paths: KeyPaths, names: list[str]) -> None:
    """Remove noncurrent versions (and their tags) or garbage, then the directories emptied."""
    if not names:
        return
    for name in names:
        files.unlink_quietly(paths.noncurrent(name))
        files.unlink_quietly(paths.noncurrent_tags(name))
    files.prune_dirs(paths.base, paths.version_names)


def put_latest(paths: KeyPaths, latest: dict[str, Any] | None, new_name: str,
               publish: Callable[[], None], tmp_dir: str, durable: bool) -> None:
    """Make the record that ``publish`` renames over ``o`` the key's latest version (its file
    name would be ``new_name``), keeping the history. Under the key's commit lock."""
    _settle(paths, latest, tmp_dir)
    live, garbage = noncurrent(paths, latest)
    remove(paths, garbage)
    if latest is not None and not (new_name.endswith(NULL_SUFFIX)
                                   and name_of(latest).endswith(NULL_SUFFIX)):
        _demote(paths, latest, durable)
    publish()
    files.unlink_quietly(paths.latest_tags)  # the previous latest's, kept in versions/ if any
    if new_name.endswith(NULL_SUFFIX):
        # only now: a crash before leaves a stale null, ignored while the latest is null
        remove(paths, [name for name in live if name.endswith(NULL_SUFFIX)])


def _demote(paths: KeyPaths, latest: dict[str, Any], durable: bool) -> None:
    """Link the latest version (and its tags) into the versions directory; it stays at ``o``
    until the caller replaces it."""
    name = name_of(latest)
    if os.path.exists(paths.latest_tags):
        files.link_into(paths.latest_tags, paths.base, paths.version_names,
                        name[:32] + TAGS_SUFFIX, durable)
    files.link_into(paths.latest, paths.base, paths.version_names, name, durable)


def delete_latest(paths: KeyPaths, latest: dict[str, Any], tmp_dir: str, durable: bool
                  ) -> bool:
    """Remove the latest version for good; the newest noncurrent one becomes the latest.
    True when the key has no version left. Under the key's commit lock."""
    _settle(paths, latest, tmp_dir)
    live, garbage = noncurrent(paths, latest)
    remove(paths, garbage)
    if not live:
        os.unlink(paths.latest)
        files.unlink_quietly(paths.latest_tags)
        if durable:
            files.fsync_dir(paths.directory)
        return True
    newest = live[0]
    has_tags = os.path.exists(paths.noncurrent_tags(newest))
    if has_tags and not os.path.exists(paths.latest_tags):
        # t must name another record while the promoted version's tags are still in
        # versions/ (see latest_tags): give it the deleted version's tags as they are
        write_side(paths.latest_tags, latest, latest.get("tags", {}), tmp_dir, durable)
    files.replace_into(paths.noncurrent(newest), paths.base, paths.object_names,
                       layout.OBJECT + paths.fragment, durable)
    if has_tags:
        promoted = read_header(paths.latest)
        if promoted is not None:
            _settle(paths, promoted, tmp_dir)
    files.unlink_quietly(paths.noncurrent_tags(newest))
    if not has_tags:
        files.unlink_quietly(paths.latest_tags)  # the deleted version's
    files.prune_dirs(paths.base, paths.version_names)
    return False


def _settle(paths: KeyPaths, latest: dict[str, Any] | None, tmp_dir: str) -> None:
    """Finish a promotion a crash interrupted: copy the latest version's tags from versions/
    to ``t`` when ``t`` names another record."""
    if latest is None:
        return
    pending = paths.noncurrent_tags(name_of(latest))
    side = read_side(paths.latest_tags)
    if side is None or side.get("version") == latest["version"]:
        return
    staged = os.path.join(tmp_dir, f"tags-{secrets.token_hex(12)}")
    try:
        os.link(pending, staged)
    except FileNotFoundError:
        return
    try:
        os.replace(staged, paths.latest_tags)
    finally:
        files.unlink_quietly(staged)


def write_side(path: str, header: dict[str, Any], tags: Mapping[str, str], tmp_dir: str,
                durable: bool, metadata: Mapping[str, str] | None = None) -> None:
    """Write the side file ``path`` for the record of ``header``, atomically: its tags, and
    its attribute pairs when they changed (``metadata``)."""
    tmp = files.TempFile.create(tmp_dir, "tags")
    try:
        side: dict[str, Any] = {"version": header["version"], "tags": dict(tags)}
        if metadata is not None:
            side["metadata"] = dict(metadata)
        files.write_all(tmp.fd, json.dumps(side, ensure_ascii=False).encode())
        if durable:
            os.fsync(tmp.fd)
        os.replace(tmp.live_path, path)
        tmp.replaced()
        if durable:
            files.fsync_dir(os.path.dirname(path))
    finally:
        tmp.discard()


def any_record(versions_dir: str) -> bool:
    """Whether a bucket's ``versions/`` tree holds any version (not only stray tag files);
    stops at the first one."""
    stack = [versions_dir]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif not entry.name.endswith(TAGS_SUFFIX):
                        return True
        except (FileNotFoundError, NotADirectoryError):
            continue
    return False
