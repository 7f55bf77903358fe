"""CORS rule matching and the configuration document, as tables."""

from __future__ import annotations

import pytest

from post3 import cors, errors

RULE = cors.CORSRule(("GET", "PUT"), ("https://*.example.com", "http://localhost:8000"),
                     ("content-type", "x-amz-meta-*"))


@pytest.mark.parametrize(("origin", "method", "headers", "expected"), [
    ("https://app.example.com", "PUT", ["Content-Type"], True),
    ("https://a.b.example.com", "GET", ["X-Amz-Meta-Owner", "content-type"], True),
    ("http://localhost:8000", "GET", [], True),
    ("https://example.com", "GET", [], False),  # the wildcard needs its "." before it
    ("https://app.example.com.evil.test", "GET", [], False),
    ("http://localhost:8001", "GET", [], False),
    ("https://app.example.com", "DELETE", [], False),
    ("https://app.example.com", "get", [], False),  # methods are case-sensitive, as in S3
    ("https://app.example.com", "PUT", ["authorization"], False),
    ("https://app.example.com", "PUT", ["x-amz-date"], False),
])
def test_rule_matching(origin, method, headers, expected):
    assert RULE.matches(origin, method, headers) is expected


def test_first_matching_rule_wins_and_star_answers_star():
    anyone = cors.CORSRule(("GET",), ("*",))
    assert cors.match([RULE, anyone], "https://app.example.com", "GET") is RULE
    assert cors.match([RULE, anyone], "https://x.test", "GET") is anyone
    assert anyone.response_headers("https://x.test")["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in anyone.response_headers("https://x.test")
    assert cors.match([RULE, anyone], "https://x.test", "PUT") is None


def test_document_round_trip():
    rules = [cors.CORSRule(("GET",), ("*",), ("*",), ("ETag",), 3000, "r1"), RULE]
    assert cors.parse(cors.render(rules)) == rules


def test_request_headers():
    assert cors.request_headers(" Content-Type ,x-amz-date,, ") == ["Content-Type", "x-amz-date"]
    assert cors.request_headers(None) == []


def test_hundred_rules_allowed_not_more():
    one = "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>"
    assert len(cors.parse(f"<CORSConfiguration>{one * 100}</CORSConfiguration>".encode())) == 100
    with pytest.raises(errors.MalformedXML):
        cors.parse(f"<CORSConfiguration>{one * 101}</CORSConfiguration>".encode())
