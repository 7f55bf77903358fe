"""SigV4 building blocks shared by header, presigned, streaming and POST-policy verification."""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache

from post3 import errors

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
TERMINAL = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: How far a request's clock may be from the server's (S3 allows 15 minutes).
MAX_SKEW = timedelta(minutes=15)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

_UNRESERVED = "-_.~"
#: A path that percent-encoding leaves as it is (no ``%``, nothing to encode).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-_.~/]*")


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def hmac_sha256(key: bytes, message: str | bytes) -> bytes:
    if isinstance(message, str):
        message = message.encode()
    return hmac.digest(key, message, "sha256")  # one C call, no HMAC object


@lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key for one secret and credential scope.

    Four HMACs per request add up; a key is valid for a whole day and region, so one derivation
    serves every request a client makes that day.
    """
    key = hmac_sha256(("AWS4" + secret).encode(), date)
    key = hmac_sha256(key, region)
    key = hmac_sha256(key, service)
    return hmac_sha256(key, TERMINAL)


def signature_matches(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace"))


def uri_encode(text: str, safe: str = "") -> str:
    """RFC 3986 percent-encoding of UTF-8 (space is %20, never +)."""
    return urllib.parse.quote(text.encode("utf-8", "surrogateescape"), safe=_UNRESERVED + safe)


def canonical_query(items: list[tuple[str, str, bool]], *, exclude: str | None = None) -> str:
    """Decoded query items re-encoded and sorted; a bare ``uploads`` becomes ``uploads=``."""
    if not items:
        return ""  # most signed requests (an object's GET, PUT, HEAD, DELETE)
    pairs = sorted(
        (uri_encode(name), uri_encode(value)) for name, value, _ in items if name != exclude
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_path_variants(raw_path: str) -> list[str]:
    """The raw path as received, then (if different) its normalised encoding.

    Every client seen signs the path exactly as it sends it; the normalised form rescues a
    client that sent a character raw but signed it encoded. Both name the same key.
    """
    if _PLAIN_PATH.fullmatch(raw_path):  # most paths: decoding and encoding change nothing
        return [raw_path]
    normal = uri_encode(urllib.parse.unquote(raw_path, errors="surrogateescape"), safe="/")
    return [raw_path] if normal == raw_path else [raw_path, normal]


@dataclass(frozen=True, slots=True)
class Credential:
    """``AKID/20130524/us-east-1/s3/aws4_request``, parsed."""

    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{TERMINAL}"

    def key(self, secret: str) -> bytes:
        return signing_key(secret, self.date, self.region, self.service)


CREDENTIAL_SHAPE = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)


def parse_credential(value: str, fail: type[errors.S3Error], prefix: str) -> Credential:
    """Parse a credential; errors are ``fail(prefix + reason)``, as S3 words them."""
    parts = value.split("/")
    if len(parts) < 5 or not parts[0] or not all(parts[-4:]):
        raise fail(prefix + CREDENTIAL_SHAPE)
    access_key_id = "/".join(parts[:-4])
    date, region, service, terminal = parts[-4:]
    if len(date) != 8 or not date.isdigit():
        raise fail(prefix + CREDENTIAL_SHAPE)
    if service != SERVICE:
        raise fail(prefix + f'incorrect service "{service}". This endpoint belongs to "{SERVICE}".')
    if terminal != TERMINAL:
        raise fail(prefix + f'incorrect terminal "{terminal}". This endpoint uses "{TERMINAL}".')
    return Credential(access_key_id, date, region, service)


@lru_cache(maxsize=64)
def parse_amz_date(value: str) -> datetime | None:
    """``20130524T000000Z`` -> an aware datetime, None for anything else.

    Parsed by hand: every signed request carries one, and ``strptime`` costs a request tens
    of microseconds. Remembered: the requests of one second all carry the same value.
    """
    digits = value[:8] + value[9:15]
    if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not (
            digits.isascii() and digits.isdigit()):
        return None
    try:
        return datetime(int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]),
                        int(value[11:13]), int(value[13:15]), tzinfo=UTC)
    except ValueError:
        return None


def parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso_time(moment: datetime) -> str:
    """S3's timestamps in error bodies: ``2013-05-24T00:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_skew(request_time: datetime, raw_value: str, now: datetime) -> None:
    if abs(now - request_time) > MAX_SKEW:
        raise errors.RequestTimeTooSkewed(
            RequestTime=raw_value,
            ServerTime=iso_time(now),
            MaxAllowedSkewMilliseconds=int(MAX_SKEW.total_seconds() * 1000),
        )


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{sha256_hex(canonical_request)}"


def hex_bytes(text: str) -> str:
    """S3's ``StringToSignBytes`` form: each UTF-8 byte as two hex digits, space-separated."""
    return " ".join(f"{byte:02x}" for byte in text.encode("utf-8", "surrogateescape"))


def signature_mismatch(
    access_key_id: str,
    string_to_sign_: str,
    signature: str,
    canonical_request: str | None = None,
) -> errors.SignatureDoesNotMatch:
    """SignatureDoesNotMatch with the fields S3 sends, so a client can diff its own signing."""
    fields: dict[str, str] = {
        "AWSAccessKeyId": access_key_id,
        "StringToSign": string_to_sign_,
        "SignatureProvided": signature,
        "StringToSignBytes": hex_bytes(string_to_sign_),
    }
    if canonical_request is not None:
        fields["CanonicalRequest"] = canonical_request
        fields["CanonicalRequestBytes"] = hex_bytes(canonical_request)
    return errors.SignatureDoesNotMatch(**fields)
