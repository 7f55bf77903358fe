"""Where a key lives below a bucket's ``objects/`` directory, and the ordered walk for listing.

A key is cut at every ``/`` into segments; every segment but the last becomes a directory and
the last one names the object file. Each directory therefore stands for a key prefix ``Q``,
and each of its entries extends ``Q`` by a *fragment*. An entry name is one type letter
followed by the escaped fragment:

``o<f>``  object: the key ``Q + f``
``t<f>``  the tag side file of the object ``o<f>``
``d<f>``  directory for the prefix ``Q + f + "/"``
``c<f>``  continuation directory for the prefix ``Q + f``, where ``f`` is exactly
          :data:`CHUNK` code points of a segment that is too long for one file name

The bucket's ``versions/`` directory mirrors ``objects/`` with the same ``d`` and ``c``
directories; there ``v<f>`` is the directory of the noncurrent versions of the key ``Q + f``
(:mod:`post3_filesystem.versions`).

Why this shape:

* **Every S3 key maps, and none escapes.** The type letter means no name is ever ``.`` or
  ``..``; ``%`` and control characters are %-escaped, ``/`` never appears inside a fragment,
  so a name is always a single path component. ``a``, ``a/`` and ``a/b`` coexist as ``oa``,
  ``da/o`` and ``da/ob``; ``//`` is simply an empty directory fragment (``d``).
* **File-name limit.** A fragment holds fewer than :data:`CHUNK` code points (continuations
  exactly :data:`CHUNK`); a code point costs at most 4 bytes (UTF-8) or 3 (an escape), so a
  name is at most 241 bytes, under the usual 255-byte limit. A 1024-byte key of one segment
  becomes a short chain of continuation directories.
* **Listing in S3 order without reading the bucket.** Sort a directory's entries by the
  fragment (``f/`` for ``d`` entries). Each entry covers either one key or every key starting
  with its prefix, and no entry's prefix is a prefix of another's (a continuation fragment
  has exactly CHUNK code points, everything else fewer; ``d`` fragments end in ``/``, which
  the others never contain), so the entries' key ranges do not interleave: sorting entries by
  fragment sorts the keys they hold. ``a-c`` < ``a/b`` < ``a0`` falls out because ``da`` sorts
  as ``a/``. The walk therefore visits directories in key order, skips whole subtrees that
  lie before ``start_after`` or outside ``prefix`` without opening them, and stops after
  ``limit`` keys: a page costs the directories on its path, not the bucket. A directory's
  entries are read in hash order, so its sorted names are kept between pages while it does
  not change (:class:`SortedDirs`), and each page starts by bisection.
* **No index to keep in step.** A flat layout of hashed names would need an ordered index
  file for listing: a second thing that can disagree with the objects after a crash, and one
  more lock every writer of every worker contends on. Here the directory tree *is* the index,
  and it is updated by the same rename that publishes the object.
"""

from __future__ import annotations

import bisect
import itertools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator

from post3 import errors

#: Code points of a segment that fit one file name (4 bytes each at most: 240 + 1 byte).
CHUNK = 60

OBJECT, TAGS, DIRECTORY, CONTINUATION, VERSIONS = "o", "t", "d", "c", "v"


def escape(fragment: str) -> str:
    out = []
    for char in fragment:
        code = ord(char)
        if char == "%" or code < 0x20 or code == 0x7F:
            out.append(f"%{code:02X}")
        elif 0xD800 <= code <= 0xDFFF:
            raise errors.InvalidArgument("Object key is not valid UTF-8", ArgumentName="key")
        else:
            out.append(char)
    return "".join(out)


def unescape(name: str) -> str:
    if "%" not in name:
        return name
    out = []
    i = 0
    while i < len(name):
        if name[i] == "%":
            out.append(chr(int(name[i + 1: i + 3], 16)))
            i += 3
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def _chunks(segment: str) -> tuple[list[str], str]:
    """Continuation fragments (CHUNK code points each) and the short remainder."""
    heads = []
    while len(segment) >= CHUNK:
        heads.append(segment[:CHUNK])
        segment = segment[CHUNK:]
    return heads, segment


def key_location(key: str) -> tuple[list[str], str]:
    """``(directory names from objects/, object fragment)`` for ``key``; the object's file
    name is ``OBJECT + escape(fragment)``, its tag file ``TAGS + escape(fragment)``."""
    *parents, last = key.split("/")
    dirs: list[str] = []
    for segment in parents:
        heads, rest = _chunks(segment)
        dirs.extend(CONTINUATION + escape(head) for head in heads)
        dirs.append(DIRECTORY + escape(rest))
    heads, rest = _chunks(last)
    dirs.extend(CONTINUATION + escape(head) for head in heads)
    return dirs, escape(rest)


def walk(objects_dir: str, prefix: str, start_after: str, dirs: SortedDirs
         ) -> Iterator[tuple[str, str]]:
    """``(key, object file path)`` for every key starting with ``prefix`` and sorting after
    ``start_after``, ascending; lazy, so the caller stops reading directories by stopping.
    Iterative: a 1024-byte key can be 1024 directories deep. Each directory is entered at the
    first entry that can hold a key at or past ``max(prefix, start_after)``, found by
    bisection in its sorted entries, so a page does not go through the entries before it."""
    bound = max(prefix, start_after)
    stack = [(objects_dir, "", dirs.entries_from(objects_dir, bound))]
    while stack:
        path, q, entries = stack[-1]
        for fragment, kind, name in entries:
            full = q + fragment
            if kind == OBJECT:
                if full.startswith(prefix):
                    if full > start_after:
                        yield full, os.path.join(path, name)
                elif full > prefix:
                    return  # past the prefix: so is everything after it
                continue
            # a directory: every key in it starts with `full`
            if not (full.startswith(prefix) or prefix.startswith(full)):
                if full > prefix:
                    return
                continue
            if full > start_after or start_after.startswith(full):
                child = os.path.join(path, name)
                rest = bound[len(full):] if bound.startswith(full) else ""
                stack.append((child, full, dirs.entries_from(child, rest)))
                break
        else:
            stack.pop()


def sort_fragment(name: str) -> str:
    """What an entry name sorts by: its fragment, and ``f/`` for a ``d`` entry."""
    fragment = unescape(name[1:])
    return fragment + "/" if name[0] == DIRECTORY else fragment


class SortedDirs:
    """The entry names of directories in key order (object, continuation and directory
    entries only), kept in memory while each directory stays as it was read.

    Sorting a directory costs its whole size, so a bucket of 100,000 keys under one prefix
    would cost every page 100,000 names; kept sorted, a page costs a ``stat`` of each
    directory on its path and a bisection. A kept listing is used only while the directory's
    inode, ctime and mtime are those it was read under. Every change to a directory's entries
    (a rename into it, a link, an unlink, a mkdir or rmdir in it), by any process, sets its
    ctime to the current time, which no one can set back; and a listing is kept only when the
    directory's ctime was already :data:`SETTLED_NS` old before it was read, so a change made
    after the read, even in the same clock tick as the one before it, always shows as another
    ctime. A directory that changes all the time is read afresh each time, as before.
    """

    #: How old a directory's last change must be for its listing to be kept: far more than
    #: the filesystem clock's tick (a few ms) and the coarse clock's lag behind ``time``.
    SETTLED_NS = 1_000_000_000

    def __init__(self, max_names: int = 250_000) -> None:
        #: names kept at most, in all directories: about 20 MB for 20-byte names
        self.max_names = max_names
        self._kept: OrderedDict[str, tuple[tuple[int, int, int], list[str]]] = OrderedDict()
        self.held = 0  # names kept now
        self._lock = threading.Lock()

    def names(self, path: str) -> list[str]:
        """The sorted names of the directory ``path``; empty when it is gone."""
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return []  # removed under us by a delete: it holds nothing any more
        stamp = (st.st_ino, st.st_ctime_ns, st.st_mtime_ns)
        with self._lock:
            kept = self._kept.get(path)
            if kept is not None and kept[0] == stamp:
                self._kept.move_to_end(path)
                return kept[1]
        read_at = time.time_ns()
        names = _read_sorted(path)
        if read_at - st.st_ctime_ns > self.SETTLED_NS and len(names) <= self.max_names:
            with self._lock:
                old = self._kept.pop(path, None)
                if old is not None:
                    self.held -= len(old[1])
                self._kept[path] = (stamp, names)
                self.held += len(names)
                while self.held > self.max_names:
                    _, (_, evicted) = self._kept.popitem(last=False)
                    self.held -= len(evicted)
        return names

    def entries_from(self, path: str, after: str) -> Iterator[tuple[str, str, str]]:
        """``(sort fragment, kind, name)`` of the directory's entries in key order, from the
        first that can hold a key at or past ``Q + after`` (``Q``: the directory's prefix).
        Entries' key ranges do not interleave (module docstring), so that is the first whose
        fragment is not below ``after`` or, just before it, a directory whose fragment is a
        prefix of ``after`` (at most one can be)."""
        names = self.names(path)
        start = bisect.bisect_left(names, after, key=sort_fragment) if after else 0
        if start and names[start - 1][0] != OBJECT \
                and after.startswith(sort_fragment(names[start - 1])):
            start -= 1
        for name in itertools.islice(names, start, None):
            yield sort_fragment(name), name[0], name


def _read_sorted(path: str) -> list[str]:
    try:
        with os.scandir(path) as it:
            names = [entry.name for entry in it if entry.name[:1] in _LISTED]
    except (FileNotFoundError, NotADirectoryError):
        return []
    names.sort(key=sort_fragment)
    return names


_LISTED = frozenset((OBJECT, CONTINUATION, DIRECTORY))
