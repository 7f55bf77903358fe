"""Data shared by the SDK tests: the keys that break naive servers, and deterministic bytes."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from botocore.config import Config

#: Keys every client must store and read back unchanged (S3-WIRE.md §1.2.6 and issue 2).
SPECIAL_KEYS = {
    "punctuation": "a b+c=d&e~f!g'h(i)*j,k;l:m@n$o[p]%41#?é ü<x>.txt",
    "percent-41-is-not-A": "%41",
    "plus-is-not-space": "a+b",
    "space": "a b",
    "unicode": "日本語/ファイル 😀.txt",
    "nfc": "caf\u00e9",
    "nfd": "cafe\u0301",
    "trailing-slash": "a/",
    "double-slash": "a//b",
    "xml-specials": "<tag attr=\"v\">&amp;</tag>'",
    "max-length-ascii": "k" * 1024,
    "max-length-utf8": "é" * 512,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "special_key" in metafunc.fixturenames:
        metafunc.parametrize(
            "special_key", list(SPECIAL_KEYS.values()), ids=list(SPECIAL_KEYS.keys())
        )


def pattern_bytes(size: int, seed: str = "post3") -> bytes:
    """``size`` bytes that differ at every offset, so a shifted range cannot pass for another."""
    block = b"".join(hashlib.sha256(f"{seed}-{i}".encode()).digest() for i in range(2048))
    repeats, rest = divmod(size, len(block))
    return block * repeats + block[:rest]


@pytest.fixture
def make_bytes():
    return pattern_bytes


@pytest.fixture
def s3(endpoint_url):
    """boto3 as shipped: only endpoint, credentials, region and path-style addressing set, so
    transfer and checksum settings are botocore's defaults."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    yield client
    client.close()


@pytest.fixture
def s3_single_attempt(endpoint_url):
    """boto3 that does not retry: botocore retries BadDigest and 500s with back-off, and one
    attempt shows the same answer sooner."""
    client = boto3.client(
        "s3", endpoint_url=endpoint_url, aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )
    yield client
    client.close()


@pytest.fixture
def bucket(s3, bucket_name):
    """A fresh bucket made with ``s3`` (files whose clients differ define their own)."""
    s3.create_bucket(Bucket=bucket_name)
    return bucket_name
