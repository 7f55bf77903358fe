"""Flexible checksums: check values, incremental hashing, value shapes, multipart combination."""

from __future__ import annotations

import base64
import hashlib
import random
import zlib

import pytest

from post3 import checksums, errors

CHECK = b"123456789"
#: The published check values of each algorithm, as hex big-endian digests.
CHECK_VALUES = {
    "crc32": "cbf43926",
    "crc32c": "e3069283",
    "crc64nvme": "ae8b14860a799888",
    "sha1": "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    "sha256": "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
}


def b64_of_hex(value: str) -> str:
    return base64.b64encode(bytes.fromhex(value)).decode()


@pytest.mark.parametrize("name", checksums.ALGORITHMS)
def test_check_value(name: str) -> None:
    assert checksums.compute(name, CHECK) == b64_of_hex(CHECK_VALUES[name])


def test_published_base64_check_values() -> None:
    assert checksums.compute("crc64nvme", CHECK) == "rosUhgp5mIg="
    assert checksums.compute("crc32c", CHECK) == "4waSgw=="


@pytest.mark.parametrize("name", checksums.ALGORITHMS)
def test_incremental_updates_equal_one_shot(name: str) -> None:
    data = random.Random(name).randbytes(10_000)
    hasher = checksums.new(name.upper())
    for start in range(0, len(data), 777):
        hasher.update(memoryview(data)[start: start + 777])
    assert checksums.b64(hasher.digest()) == checksums.compute(name, data)


@pytest.mark.parametrize("name", ["CRC32", "crc64NVME", " sha256 "])
def test_names_are_case_insensitive(name: str) -> None:
    assert checksums.normalize(name) == name.strip().lower()


@pytest.mark.parametrize("name", ["md5", "MD4", "crc64", ""])
def test_unknown_algorithm_is_invalid_request(name: str) -> None:
    with pytest.raises(errors.InvalidRequest, match="Checksum algorithm provided is unsupported"):
        checksums.new(name)


@pytest.mark.parametrize("name", checksums.ALGORITHMS)
def test_decode_value_accepts_base64_of_the_digest(name: str) -> None:
    value = b64_of_hex(CHECK_VALUES[name])
    assert checksums.decode_value(name, value) == bytes.fromhex(CHECK_VALUES[name])


@pytest.mark.parametrize(
    "value",
    [
        CHECK_VALUES["crc32"],  # hex instead of base64
        b64_of_hex(CHECK_VALUES["crc32"]).rstrip("="),  # padding missing
        b64_of_hex(CHECK_VALUES["crc64nvme"]),  # a digest of the wrong size
        "",
        "y/Q5Jg==\n",
        "y/Q5Jh==",  # not canonical: non-zero bits in the padding
    ],
)
def test_decode_value_rejects_wrong_shapes(value: str) -> None:
    with pytest.raises(errors.InvalidRequest) as raised:
        checksums.decode_value("crc32", value)
    assert raised.value.message == "Value for x-amz-checksum-crc32 header is invalid."
    assert raised.value.status == 400


def test_decode_value_names_a_trailer_as_such() -> None:
    with pytest.raises(errors.InvalidRequest, match="x-amz-checksum-sha1 trailing header"):
        checksums.decode_value("sha1", "AAAA", what="trailing header")


def test_algorithm_of_header() -> None:
    assert checksums.algorithm_of_header("X-Amz-Checksum-CRC64NVME") == "crc64nvme"
    assert checksums.algorithm_of_header("x-amz-checksum-mode") is None
    assert checksums.algorithm_of_header("x-amz-checksum-type") is None
    assert checksums.algorithm_of_header("content-md5") is None
    with pytest.raises(errors.InvalidRequest):
        checksums.algorithm_of_header("x-amz-checksum-md5")


@pytest.mark.parametrize("name", checksums.ALGORITHMS)
def test_composite_is_the_hash_of_the_part_digests(name: str) -> None:
    parts = [b"first part", b"second", b"3"]
    values = [checksums.compute(name, part) for part in parts]
    raw = b"".join(base64.b64decode(value) for value in values)
    if name == "crc32":
        expected = zlib.crc32(raw).to_bytes(4, "big")
    elif name in ("sha1", "sha256"):
        expected = hashlib.new(name, raw).digest()
    else:
        expected = base64.b64decode(checksums.compute(name, raw))
    assert checksums.composite(name, values) == f"{checksums.b64(expected)}-3"


@pytest.mark.parametrize("name", sorted(checksums.CRC_ALGORITHMS))
def test_full_object_crc_equals_the_crc_of_the_whole(name: str) -> None:
    rng = random.Random(name)
    parts = [rng.randbytes(size) for size in (5 << 20, 1, 0, 12_345)]
    combined = checksums.full_object(
        name, [(checksums.compute(name, part), len(part)) for part in parts]
    )
    assert combined == checksums.compute(name, b"".join(parts))


def test_full_object_is_for_crcs_only() -> None:
    with pytest.raises(errors.InvalidRequest):
        checksums.full_object("sha256", [(checksums.compute("sha256", b"x"), 1)])
