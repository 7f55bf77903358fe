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
from typing import Any

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
         ) -> Iterator[tuple[str, str, str, dict[str, Any] | None]]:
    """``(key, directory, object file name, memo)`` for every key starting with ``prefix``
    and sorting after ``start_after``, ascending (the file's path is the two joined, left to
    a caller that opens it: a walk through kept listings opens nothing); lazy, so the caller
    stops reading directories by stopping. ``memo`` is the :class:`Listing` memo of the key's
    directory (None when its
    listing is not kept): what a caller stores there under the key for as long as the
    listing is kept saves reading the file again. Iterative: a 1024-byte key can be 1024
    directories deep. Each directory is entered at the first entry that can hold a key at or
    past ``max(prefix, start_after)``, found by bisection in its sorted entries, so a page
    does not go through the entries before it."""
    bound = max(prefix, start_after)
    listing = dirs.listing(objects_dir)
    stack = [(objects_dir, "", listing, listing.entries_from(bound))]
    while stack:
        path, q, listing, entries = stack[-1]
        for fragment, kind, name in entries:
            full = q + fragment
            if kind == OBJECT:
                if full.startswith(prefix):
                    if full > start_after:
                        yield full, path, name, listing.memo
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
                sub = dirs.listing(child)
                stack.append((child, full, sub, sub.entries_from(rest)))
                break
        else:
            stack.pop()


def sort_fragment(name: str) -> str:
    """What an entry name sorts by: its fragment, and ``f/`` for a ``d`` entry."""
    fragment = unescape(name[1:])
    return fragment + "/" if name[0] == DIRECTORY else fragment


class Listing:
    """The sorted entry names of one directory (object, continuation and directory entries
    only), and, while the listing is kept, a memo: what readers derived from the files it
    names, by key (a listing's entries). A record never changes once renamed into place, so
    what was read from a name the listing holds is true for as long as the listing is."""

    __slots__ = ("stamp", "names", "memo")

    def __init__(self, stamp: tuple[int, int, int] | None, names: list[str],
                 memo: dict[str, Any] | None) -> None:
        self.stamp, self.names, self.memo = stamp, names, memo

    def entries_from(self, after: str) -> Iterator[tuple[str, str, str]]:
        """``(sort fragment, kind, name)`` of the directory's entries in key order, from the
        first that can hold a key at or past ``Q + after`` (``Q``: the directory's prefix).
        Entries' key ranges do not interleave (module docstring), so that is the first whose
        fragment is not below ``after`` or, just before it, a directory whose fragment is a
        prefix of ``after`` (at most one can be)."""
        names = self.names
        start = bisect.bisect_left(names, after, key=sort_fragment) if after else 0
        if start and names[start - 1][0] != OBJECT \
                and after.startswith(sort_fragment(names[start - 1])):
            start -= 1
        for name in itertools.islice(names, start, None):
            yield sort_fragment(name), name[0], name


class SortedDirs:
    """Directories' :class:`Listing`, kept in memory while each directory stays as it was
    read, within a memory bound.

    Sorting a directory costs its whole size, so a bucket of 100,000 keys under one prefix
    would cost every page 100,000 names, and reading each key's record header costs a file
    open; kept, a page costs a ``stat`` of each directory on its path, a bisection, and the
    headers not read before. A kept listing is used only while the directory's inode, ctime
    and mtime are those it was read under. Every change to a directory's entries (a rename
    into it, a link, an unlink, a mkdir or rmdir in it), by any process, sets its ctime to the
    current time, which no one can set back; and a listing is kept only when the directory's
    ctime was already :data:`SETTLED_NS` old before it was read, so a change made after the
    read, even in the same clock tick as the one before it, always shows as another ctime. A
    memo entry is read after its listing's stamp was checked, so it is at least as new as the
    listing; if the directory changed meanwhile, the listing is never used again. A directory
    that changes all the time is read afresh each time, as before. This takes the data root's
    ctimes from this host's clock, as any local filesystem does (several processes sharing one
    root on one host, as ``--workers`` does, are covered; hosts sharing a network filesystem
    with skewed clocks are not).
    """

    #: How old a directory's last change must be for its listing to be kept: far more than
    #: the filesystem clock's tick (a few ms) and the coarse clock's lag behind ``time``.
    SETTLED_NS = 1_000_000_000
    #: What a kept name and a memo entry cost in memory, about (a 20-byte name; a listing
    #: entry with its ETag, time and sequence): the bound is counted in these.
    NAME_BYTES, MEMO_BYTES = 100, 400

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[str, Listing] = OrderedDict()
        self.held = 0  # bytes kept now, as counted above
        self._lock = threading.Lock()

    def listing(self, path: str) -> Listing:
        """The directory ``path``'s listing; empty when it is gone."""
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return Listing(None, [], None)  # removed under us by a delete: nothing left in it
        stamp = (st.st_ino, st.st_ctime_ns, st.st_mtime_ns)
        with self._lock:
            kept = self._kept.get(path)
            if kept is not None and kept.stamp == stamp:
                self._kept.move_to_end(path)
                return kept
        read_at = time.time_ns()
        names = _read_sorted(path)
        cost = len(names) * self.NAME_BYTES
        if read_at - st.st_ctime_ns <= self.SETTLED_NS or cost > self.max_bytes:
            return Listing(stamp, names, None)
        listing = Listing(stamp, names, {})
        with self._lock:
            old = self._kept.pop(path, None)
            if old is not None:
                self.held -= self._cost(old)
            while self._kept and self.held + cost > self.max_bytes:
                _, evicted = self._kept.popitem(last=False)
                self.held -= self._cost(evicted)
            self._kept[path] = listing
            self.held += cost
        return listing

    def remember(self, memo: dict[str, Any], key: str, value: Any) -> None:
        """Store ``value`` for ``key`` in a kept listing's ``memo``, if memory allows (a
        memo never evicts a listing: the one being walked would go)."""
        with self._lock:
            if self.held + self.MEMO_BYTES <= self.max_bytes and key not in memo:
                memo[key] = value
                self.held += self.MEMO_BYTES

    def _cost(self, listing: Listing) -> int:
        return len(listing.names) * self.NAME_BYTES + len(listing.memo or ()) * self.MEMO_BYTES


def _read_sorted(path: str) -> list[str]:
    try:
        with os.scandir(path) as it:
            names = [entry.name for entry in it if entry.name[:1] in _LISTED]
    except (FileNotFoundError, NotADirectoryError):
        return []
    names.sort(key=sort_fragment)
    return names


_LISTED = frozenset((OBJECT, CONTINUATION, DIRECTORY))
