"""The HTTP ``Range`` header, as S3 reads it: one range per request."""

from __future__ import annotations

import re
from dataclasses import dataclass

from post3 import errors
from post3.backend import ByteRange, ObjectInfo

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class HttpRange(ByteRange):
    """``bytes=a-b`` (``last`` inclusive), ``bytes=a-`` (``last`` None) or ``bytes=-n``
    (``first`` None, ``last`` = n)."""

    first: int | None
    last: int | None

    def resolve(self, info: ObjectInfo) -> tuple[int, int]:
        size = info.size
        if self.first is None:
            # Suffix range: the last n bytes, clamped to the object (S3 answers 206 for the
            # whole object when n > size). bytes=-0 cannot be satisfied.
            assert self.last is not None
            if self.last == 0 or size == 0:
                raise errors.InvalidRange(RangeRequested=self.header(), ActualObjectSize=size)
            return max(0, size - self.last), size
        if self.first >= size:
            raise errors.InvalidRange(RangeRequested=self.header(), ActualObjectSize=size)
        stop = size if self.last is None else min(self.last + 1, size)
        return self.first, stop

    def header(self) -> str:
        first = "" if self.first is None else str(self.first)
        last = "" if self.last is None else str(self.last)
        return f"bytes={first}-{last}"


@dataclass(frozen=True, slots=True)
class PartRange(ByteRange):
    """``?partNumber=N``: the bytes of part N of a multipart object (the whole object is part 1
    of a simple one)."""

    part_number: int

    def resolve(self, info: ObjectInfo) -> tuple[int, int]:
        sizes = info.part_sizes or (info.size,)
        if not 1 <= self.part_number <= len(sizes):
            raise errors.InvalidPartNumber(PartNumberRequested=self.part_number,
                                           ActualPartCount=len(sizes))
        start = sum(sizes[: self.part_number - 1])
        return start, start + sizes[self.part_number - 1]


def parse_range(header: str | None) -> HttpRange | None:
    """The range to serve, or None for the whole object.

    Like S3, a header that is not one well-formed byte range (several ranges, other units,
    ``a-b`` with b < a) is ignored and the whole object is sent.
    """
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:
        return HttpRange(None, int(last_text))
    first = int(first_text)
    last = int(last_text) if last_text else None
    if last is not None and last < first:
        return None
    return HttpRange(first, last)


def content_range(start: int, stop: int, size: int) -> str:
    return f"bytes {start}-{stop - 1}/{size}"
