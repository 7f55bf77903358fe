"""Path style or virtual-hosted style, from ``Host``: a table of requests and what they mean."""

from __future__ import annotations

import pytest

from post3 import errors
from post3.api.addressing import addressing, normalize_domains, normalize_host
from post3.api.dispatch import BUCKET_PARAMS
from post3.config import Settings

DOMAINS = ("s3.example.com", "localhost")


def style(host: str | None, method: str = "GET", path: str = "/", query: tuple[str, ...] = (),
          domains: tuple[str, ...] = DOMAINS) -> str | None:
    return addressing(host, domains, method, path, query, BUCKET_PARAMS).host_bucket


@pytest.mark.parametrize(("host", "expected"), [
    ("photos.s3.example.com", "photos"),
    ("Photos.S3.Example.COM:9000", "photos"),
    ("photos.s3.example.com.", "photos"),
    ("my.dotted.bucket.s3.example.com", "my.dotted.bucket"),
    ("bkt.localhost:9000", "bkt"),
    ("s3.example.com", None),
    ("s3.example.com:443", None),
    ("localhost:9000", None),
    ("127.0.0.1:9000", None),
    ("[::1]:9000", None),
    ("other.example.org", None),
    ("example.com", None),
    (None, None),
])
def test_bucket_from_host(host, expected):
    assert style(host, path="/key") == expected


@pytest.mark.parametrize(("host", "method", "path", "query"), [
    ("bkt.localhost:9000", "GET", "/", ()),  # rule 1: a subdomain of localhost
    ("bkt.localhost", "PUT", "/dir1/x", ()),
    ("BKT.LOCALHOST.", "HEAD", "/", ()),
    ("bkt.files.internal", "HEAD", "/", ()),  # rule 2: bucket-only shapes on "/"
    ("bkt.files.internal", "GET", "/", ("list-type",)),
    ("bkt.files.internal", "GET", "/", ("delimiter",)),
    ("bkt.files.internal", "GET", "/", ("location",)),
    ("bkt.files.internal", "GET", "", ("uploads",)),
])
def test_requests_only_virtual_hosted_style_can_mean_are_refused_without_a_domain(
        host, method, path, query):
    with pytest.raises(errors.InvalidRequest, match="path style only"):
        style(host, method, path, query, domains=())


@pytest.mark.parametrize(("host", "method", "path", "query"), [
    ("localhost:9000", "GET", "/", ()),
    ("localhost:9000", "HEAD", "/", ()),
    ("files.internal", "GET", "/", ()),  # ListBuckets
    ("files.internal", "GET", "/", ("prefix", "max-buckets", "x-id")),
    ("files.internal", "GET", "/bkt", ("list-type",)),
    ("files.internal", "PUT", "/bkt/dir1/x", ()),
    ("127.0.0.1:9000", "HEAD", "/", ()),
    ("[::1]:9000", "GET", "/", ("list-type",)),
    (None, "HEAD", "/", ()),
])
def test_path_style_requests_to_any_host_are_not_refused(host, method, path, query):
    assert style(host, method, path, query, domains=()) is None


def test_a_base_domain_is_path_style_even_for_bucket_shapes():
    assert style("s3.example.com", "HEAD", "/", ()) is None
    assert style("localhost", "GET", "/", ("list-type",)) is None


def test_a_subdomain_of_another_name_than_the_domains_is_still_refused():
    with pytest.raises(errors.InvalidRequest, match="s3.example.com, localhost"):
        style("bkt.other.test", "HEAD", "/")


def test_normalize_host():
    assert normalize_host("A.B:80") == "a.b"
    assert normalize_host("[2001:db8::1]:443") == "2001:db8::1"
    assert normalize_host("2001:db8::1") == "2001:db8::1"


def test_domains_are_normalized_and_overlaps_refused():
    assert Settings(domains=("S3.Example.com:9000", "s3.example.com")).domains == (
        "s3.example.com",)
    assert Settings.build({"POST3_DOMAINS": "a.test, b.test"}).domains == ("a.test", "b.test")
    assert Settings.build({"POST3_DOMAINS": "a.test"}, domains=("c.test",)).domains == (
        "c.test",)
    with pytest.raises(ValueError, match="ambiguous"):
        normalize_domains(["example.com", "s3.example.com"])
    with pytest.raises(ValueError, match="not a domain"):
        normalize_domains(["127.0.0.1"])
