import datetime as dt

import pytest

from post3 import errors
from post3.backend import ObjectInfo
from post3.ranges import HttpRange, PartRange, content_range, parse_range


def info(size, parts=()):
    return ObjectInfo("k", size, "e", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), part_sizes=parts)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-9", 100, (0, 10)),
        ("bytes=5-", 100, (5, 100)),
        ("bytes=-3", 100, (97, 100)),
        ("bytes=-300", 100, (0, 100)),  # clamped, as S3 (Polars relies on it)
        ("bytes=0-8783", 8784, (0, 8784)),  # whole-object range (DuckDB)
        ("bytes=90-200", 100, (90, 100)),
        ("BYTES = 1 - 2", 100, (1, 3)),
    ],
)
def test_satisfiable(header, size, expected):
    assert parse_range(header).resolve(info(size)) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=100-", 100), ("bytes=100-200", 100),
                                              ("bytes=-0", 100), ("bytes=-5", 0),
                                              ("bytes=0-", 0)])
def test_unsatisfiable(header, size):
    with pytest.raises(errors.InvalidRange):
        parse_range(header).resolve(info(size))


@pytest.mark.parametrize("header", [None, "", "bytes=5-2", "bytes=0-1,3-4", "items=0-1",
                                    "bytes=-", "bytes=a-b"])
def test_ignored_like_s3(header):
    assert parse_range(header) is None


def test_part_range():
    sized = info(12, (5, 5, 2))
    assert PartRange(1).resolve(sized) == (0, 5)
    assert PartRange(3).resolve(sized) == (10, 12)
    assert PartRange(1).resolve(info(7)) == (0, 7)
    with pytest.raises(errors.InvalidPartNumber):
        PartRange(4).resolve(sized)


def test_content_range():
    assert content_range(0, 10, 100) == "bytes 0-9/100"
    assert HttpRange(None, 5).header() == "bytes=-5"
