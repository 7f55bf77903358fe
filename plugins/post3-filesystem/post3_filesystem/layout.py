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
  ``limit`` keys: a page costs the directories on its path, not the bucket.
* **No index to keep in step.** A flat layout of hashed names would need an ordered index
  file for listing: a second thing that can disagree with the objects after a crash, and one
  more lock every writer of every worker contends on. Here the directory tree *is* the index,
  and it is updated by the same rename that publishes the object.
"""

from __future__ import annotations

import os
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


def walk(objects_dir: str, prefix: str, start_after: str) -> Iterator[tuple[str, str]]:
    """``(key, object file path)`` for every key starting with ``prefix`` and sorting after
    ``start_after``, ascending; lazy, so the caller stops reading directories by stopping.
    Iterative: a 1024-byte key can be 1024 directories deep."""
    stack = [(objects_dir, "", iter(_entries(objects_dir)))]
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
                stack.append((child, full, iter(_entries(child))))
                break
        else:
            stack.pop()


def _entries(path: str) -> list[tuple[str, str, str]]:
    """``(sort fragment, kind, name)`` of a directory's entries, in key order."""
    try:
        with os.scandir(path) as it:
            names = [entry.name for entry in it]
    except (FileNotFoundError, NotADirectoryError):
        return []  # removed under us by a delete: it holds nothing any more
    entries = []
    for name in names:
        kind, fragment = name[:1], unescape(name[1:])
        if kind == OBJECT or kind == CONTINUATION:
            entries.append((fragment, kind, name))
        elif kind == DIRECTORY:
            entries.append((fragment + "/", kind, name))
    entries.sort()
    return entries
