"""CORS as S3 does it: a bucket's ``CORSConfiguration``, validated, and matched against a
browser's request.

Pure functions: the handlers in :mod:`post3.api.cors` store the configuration as a bucket
configuration document (``cors``) and call these. A rule matches when the request's
``Origin`` matches one of its ``AllowedOrigin`` (each may hold one ``*`` wildcard), its method
(a preflight's ``Access-Control-Request-Method``) is one of its ``AllowedMethod``, and, for a
preflight, every header in ``Access-Control-Request-Headers`` matches one of its
``AllowedHeader`` (case-insensitive, one ``*`` wildcard each). The first matching rule wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from post3 import errors, xml

#: The configuration document's name in the backend.
CONFIG_NAME = "cors"
#: S3's limits.
MAX_RULES = 100
MAX_ID = 255
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
#: Sent with every response of a bucket that has CORS rules, matched or not, so a cache
#: never hands one origin's answer to another.
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


@dataclass(frozen=True, slots=True)
class CORSRule:
    allowed_methods: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None

    def matches(self, origin: str, method: str, headers: Iterable[str] = ()) -> bool:
        return (
            method in self.allowed_methods
            and any(_wildcard_match(pattern, origin) for pattern in self.allowed_origins)
            and all(any(_wildcard_match(pattern.lower(), header.lower())
                        for pattern in self.allowed_headers) for header in headers)
        )

    def response_headers(self, origin: str) -> dict[str, str]:
        """The ``Access-Control-*`` headers of a response this rule allowed."""
        headers = {"Access-Control-Allow-Methods": ", ".join(self.allowed_methods)}
        if "*" in self.allowed_origins:
            headers["Access-Control-Allow-Origin"] = "*"
        else:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Credentials"] = "true"
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ", ".join(self.expose_headers)
        if self.max_age_seconds is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age_seconds)
        return headers


def _wildcard_match(pattern: str, value: str) -> bool:
    if "*" not in pattern:
        return pattern == value
    head, _, tail = pattern.partition("*")
    return len(value) >= len(head) + len(tail) and value.startswith(head) and \
        value.endswith(tail)


def match(rules: Iterable[CORSRule], origin: str, method: str,
          headers: Iterable[str] = ()) -> CORSRule | None:
    wanted = list(headers)
    for rule in rules:
        if rule.matches(origin, method, wanted):
            return rule
    return None


def request_headers(value: str | None) -> list[str]:
    """``Access-Control-Request-Headers: Content-Type, x-amz-meta-a`` -> the names."""
    return [name.strip() for name in (value or "").split(",") if name.strip()]


# ----------------------------------------------------------------------------- the document

def parse(body: bytes) -> list[CORSRule]:
    """A ``CORSConfiguration`` with S3's validation: MalformedXML for a document that is not
    one (no rule, a rule without a method or origin, more than 100 rules, a bad MaxAgeSeconds),
    InvalidRequest for an unsupported method or a second wildcard."""
    root = xml.parse(body, "CORSConfiguration")
    elements = xml.children(root, "CORSRule")
    if not elements or len(elements) > MAX_RULES:
        raise errors.MalformedXML()
    return [_parse_rule(element) for element in elements]


def _texts(element, tag: str) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return tuple((child.text or "").strip() for child in xml.children(element, tag))


def _parse_rule(element) -> CORSRule:  # type: ignore[no-untyped-def]
    methods = _texts(element, "AllowedMethod")
    origins = _texts(element, "AllowedOrigin")
    if not methods or not origins:
        raise errors.MalformedXML()
    for method in methods:
        if method not in METHODS:
            raise errors.InvalidRequest(
                f"Found unsupported HTTP method in CORS config. Unsupported method is {method}")
    for origin in origins:
        if origin.count("*") > 1:
            raise errors.InvalidRequest(
                f'AllowedOrigin "{origin}" can not have more than one wildcard.')
    allowed_headers = _texts(element, "AllowedHeader")
    for header in allowed_headers:
        if header.count("*") > 1:
            raise errors.InvalidRequest(
                f'AllowedHeader "{header}" can not have more than one wildcard.')
    ids = _texts(element, "ID")
    if len(ids) > 1 or (ids and len(ids[0]) > MAX_ID):
        raise errors.InvalidRequest("The ID of a CORS rule is at most 255 characters.")
    max_ages = _texts(element, "MaxAgeSeconds")
    max_age = None
    if max_ages:
        if len(max_ages) > 1 or not re.fullmatch(r"-?[0-9]{1,10}", max_ages[0]):
            raise errors.MalformedXML()
        max_age = int(max_ages[0])
    return CORSRule(methods, origins, allowed_headers, _texts(element, "ExposeHeader"),
                    max_age, ids[0] if ids else None)


def render(rules: Iterable[CORSRule]) -> bytes:
    return xml.render("CORSConfiguration", [("CORSRule", [
        ("ID", rule.id),
        *[("AllowedHeader", header) for header in rule.allowed_headers],
        *[("AllowedMethod", method) for method in rule.allowed_methods],
        *[("AllowedOrigin", origin) for origin in rule.allowed_origins],
        *[("ExposeHeader", header) for header in rule.expose_headers],
        ("MaxAgeSeconds", rule.max_age_seconds),
    ]) for rule in rules])
