"""The stored form of an encrypted object: independent AES-256-GCM segments.

Each segment is stored as ``nonce (12) || ciphertext || tag (16)`` and is exactly 1 MiB when
full: it holds 1 MiB - 28 bytes of plaintext (the last of a run may hold fewer, and an empty
run is one empty segment). Full segments then coincide with the 1 MiB blocks backends store
and read, so a segment is usually one block, opened without being reassembled first.

The additional data binds the object's random id, the part number (0 for an object written
whole), the segment's index in its part and whether it is the part's last, so a segment moved
to another place, another part or another object, a run cut short or extended, all fail
authentication.

The nonce is random rather than derived from the segment number: a part re-uploaded under the
same number is encrypted again with the same data key (the upload's), and a derived nonce would
then repeat, which GCM cannot survive. 96 random bits per segment keep repeats out of reach
(NIST's bound is 2**32 messages per key; an object has at most 5 TiB / 1 MiB, about 2**22
segments).

A multipart object is its parts' runs one after another; ``Encryption.part_numbers`` and
``ObjectInfo.part_sizes`` (plaintext) place every segment, so a plaintext range maps to whole
stored segments without reading anything.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from post3 import errors

NONCE = 12
TAG = 16
#: What a segment adds to its plaintext.
OVERHEAD = NONCE + TAG
#: Stored bytes of a full segment, and the plaintext bytes it holds.
STORED_SEGMENT = 1 << 20
SEGMENT = STORED_SEGMENT - OVERHEAD
_AAD = struct.Struct(">16sIQ?")


class TamperedObject(errors.InternalError):
    """A stored segment failed authentication: the bytes were altered, moved or cut."""

    code = "InternalError"

    default_message = "The stored object failed its integrity check and was not returned."


def segment_count(size: int) -> int:
    """Segments of a run of ``size`` plaintext bytes (an empty run still has one)."""
    return max(1, -(-size // SEGMENT))


def stored_size(size: int) -> int:
    """Stored bytes of a run of ``size`` plaintext bytes."""
    return size + OVERHEAD * segment_count(size)


class SegmentCipher:
    """Seals and opens the segments of one object under its data key."""

    def __init__(self, data_key: bytes, object_id: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._object_id = object_id

    def _aad(self, part: int, index: int, final: bool) -> bytes:
        return _AAD.pack(self._object_id, part, index, final)

    def seal(self, part: int, index: int, final: bool, plaintext: bytes | memoryview) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, self._aad(part, index, final))

    def open(self, part: int, index: int, final: bool, segment: bytes | memoryview) -> bytes:
        view = memoryview(segment)
        try:
            return self._aead.decrypt(view[:NONCE], view[NONCE:],
                                      self._aad(part, index, final))
        except InvalidTag:
            raise TamperedObject() from None


@dataclass(frozen=True, slots=True)
class Segment:
    """One stored segment a read needs: where its plaintext lies in the object, and how to
    authenticate it."""

    part: int
    index: int
    final: bool
    #: plaintext offset of the segment in the object, and its plaintext length
    plain_start: int
    plain_length: int

    @property
    def stored_length(self) -> int:
        return self.plain_length + OVERHEAD


@dataclass(frozen=True, slots=True)
class StoredRange:
    """The stored bytes ``[start, stop)`` that hold the plaintext ``[plain_start,
    plain_stop)``, as whole segments."""

    start: int
    stop: int
    segments: tuple[Segment, ...]
    plain_start: int
    plain_stop: int


def runs(size: int, part_sizes: Sequence[int], part_numbers: Sequence[int]
         ) -> list[tuple[int, int]]:
    """``(part number, plaintext size)`` of each run: one run numbered 0 for an object written
    whole."""
    if part_sizes:
        numbers = part_numbers if len(part_numbers) == len(part_sizes) \
            else range(1, len(part_sizes) + 1)
        return list(zip(numbers, part_sizes, strict=True))
    return [(0, size)]


def stored_range(layout: Sequence[tuple[int, int]], start: int, stop: int) -> StoredRange:
    """The whole segments of ``layout`` (:func:`runs`) that cover plaintext ``[start,
    stop)``; an empty range covers nothing."""
    segments: list[Segment] = []
    first_stored = last_stored = 0
    plain = stored = 0
    for part, size in layout:
        if plain >= stop:
            break
        if plain + size > start:
            # Only the segments that overlap the range: the first found by arithmetic.
            for index in range(max(0, start - plain) // SEGMENT, segment_count(size)):
                seg_start = plain + index * SEGMENT
                if seg_start >= stop:
                    break
                length = min(SEGMENT, size - index * SEGMENT)
                offset = stored + index * (SEGMENT + OVERHEAD)
                if not segments:
                    first_stored = offset
                segments.append(Segment(part, index, index == segment_count(size) - 1,
                                        seg_start, length))
                last_stored = offset + length + OVERHEAD
        plain, stored = plain + size, stored + stored_size(size)
    return StoredRange(first_stored, last_stored, tuple(segments), start, stop)
