"""Browser POST uploads: the signed policy document and its conditions.

A ``POST /bucket`` form carries a base64 JSON policy (an expiration and conditions) signed with
SigV4 (``x-amz-algorithm``, ``x-amz-credential``, ``x-amz-date``, ``x-amz-signature``: hex HMAC
of the base64 policy with the derived key) or SigV2 (``AWSAccessKeyId``, ``signature``: base64
HMAC-SHA1 of the base64 policy). Form field names are case-insensitive. Every field except the
signature fields, ``policy``, ``file`` and ``x-ignore-*`` must be named by some condition.

The file's size is known only as it streams, so ``content-length-range`` is left to the caller:
:attr:`PostPolicy.max_size` lets it stop early and :meth:`PostPolicy.check_size` checks the end.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from post3 import errors
from post3.auth import signing

_EXEMPT = frozenset({"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"})
_DENIED = "Invalid according to Policy: "
_EXPIRATION = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})", re.ASCII)


@dataclass(frozen=True, slots=True)
class PostPolicy:
    """A policy that held for the form's fields; only the file's size is left to check."""

    expiration: datetime
    min_size: int = 0
    max_size: int | None = None
    conditions: list[object] = field(default_factory=list)

    def check_size(self, size: int) -> None:
        if size < self.min_size:
            raise errors.EntityTooSmall(ProposedSize=size, MinSizeAllowed=self.min_size)
        if self.max_size is not None and size > self.max_size:
            raise errors.EntityTooLarge(ProposedSize=size, MaxSizeAllowed=self.max_size)


@dataclass(frozen=True, slots=True)
class SignedPost:
    """A POST form's credentials, parsed; :meth:`verify` checks signature and policy."""

    access_key_id: str
    scheme: str
    signature: str
    policy: str
    fields: dict[str, str]
    bucket: str
    now: datetime
    credential: signing.Credential | None = None

    def verify(self, secret: str) -> PostPolicy:
        if self.credential is not None:
            expected = signing.hmac_sha256(self.credential.key(secret), self.policy).hex()
        else:
            digest = hmac.new(secret.encode(), self.policy.encode(), hashlib.sha1).digest()
            expected = base64.b64encode(digest).decode()
        if not signing.signature_matches(expected, self.signature):
            raise errors.SignatureDoesNotMatch(
                AWSAccessKeyId=self.access_key_id,
                StringToSign=self.policy,
                SignatureProvided=self.signature,
            )
        return check_policy(decode_policy(self.policy), self.fields, self.bucket, self.now)


def _required(fields: Mapping[str, str], name: str, display: str) -> str:
    value = fields.get(name)
    if value is None:
        raise errors.InvalidArgument(
            f"Bucket POST must contain a field named '{display}'.  If it is specified, please "
            "check the order of the fields.",
            ArgumentName=display,
            ArgumentValue="",
        )
    return value


def parse_post_form(form: Mapping[str, str], bucket: str, now: datetime) -> SignedPost:
    """Read the signature fields of a POST form (every field but ``file``)."""
    fields = {name.lower(): value for name, value in form.items()}
    if "policy" not in fields:
        # An unsigned POST is anonymous: post3 takes browser uploads with a signed policy only.
        raise errors.AccessDenied()
    policy = fields["policy"]
    if "x-amz-algorithm" in fields or "x-amz-signature" in fields:
        algorithm = _required(fields, "x-amz-algorithm", "x-amz-algorithm")
        if algorithm != signing.ALGORITHM:
            raise errors.InvalidArgument(
                'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
                ArgumentName="x-amz-algorithm",
                ArgumentValue=algorithm,
            )
        credential = signing.parse_credential(
            _required(fields, "x-amz-credential", "x-amz-credential"),
            errors.InvalidArgument,
            "Error parsing the X-Amz-Credential parameter; ",
        )
        amz_date = _required(fields, "x-amz-date", "x-amz-date")
        if signing.parse_amz_date(amz_date) is None or amz_date[:8] != credential.date:
            raise errors.InvalidArgument(
                "X-Amz-Date must be in the ISO8601 Long Format and match the credential date",
                ArgumentName="x-amz-date",
                ArgumentValue=amz_date,
            )
        signature = _required(fields, "x-amz-signature", "x-amz-signature")
        return SignedPost(
            credential.access_key_id, "sigv4", signature, policy, fields, bucket, now, credential
        )
    access_key_id = _required(fields, "awsaccesskeyid", "AWSAccessKeyId")
    signature = _required(fields, "signature", "Signature")
    return SignedPost(access_key_id, "sigv2", signature, policy, fields, bucket, now)


def decode_policy(policy_b64: str) -> dict[str, object]:
    try:
        document = json.loads(base64.b64decode(policy_b64, validate=False))
    except (binascii.Error, ValueError):
        raise errors.InvalidPolicyDocument("Invalid Policy: Invalid JSON.") from None
    if not isinstance(document, dict):
        raise errors.InvalidPolicyDocument("Invalid Policy: Invalid JSON.")
    return document


def _parse_expiration(value: object) -> datetime:
    if value is None:
        raise errors.InvalidPolicyDocument("Invalid Policy: Policy missing expiration.")
    # ISO 8601 with a time and a zone, as S3 requires (2013-08-01T12:00:00.000Z):
    # datetime.fromisoformat alone would also take a bare date or "2013-08-01 12:00:00".
    moment = None
    if isinstance(value, str) and _EXPIRATION.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
    if moment is None:
        raise errors.InvalidPolicyDocument(
            f"Invalid Policy: Invalid 'expiration' value: '{value}'")
    return moment


def _failed(condition: list[object]) -> errors.AccessDenied:
    return errors.AccessDenied(_DENIED + "Policy Condition failed: " + json.dumps(condition))


def _invalid(condition: object) -> errors.InvalidPolicyDocument:
    return errors.InvalidPolicyDocument(
        f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")


def check_policy(
    document: Mapping[str, object], fields: Mapping[str, str], bucket: str, now: datetime
) -> PostPolicy:
    """Enforce expiration and conditions against lower-cased form fields."""
    expiration = _parse_expiration(document.get("expiration"))
    if now > expiration:
        raise errors.AccessDenied(_DENIED + "Policy expired.")
    conditions = document.get("conditions")
    if not isinstance(conditions, list):
        raise errors.InvalidPolicyDocument("Invalid Policy: Policy missing conditions.")
    values = {**fields, "bucket": bucket}
    covered: set[str] = set()
    min_size, max_size = 0, None
    for condition in conditions:
        if isinstance(condition, dict):
            if not condition:
                raise _invalid(condition)
            for name, expected in condition.items():
                _check_eq(["eq", f"${name}", expected], values, covered)
        elif isinstance(condition, list) and condition and isinstance(condition[0], str):
            operator = condition[0].lower()
            if operator == "content-length-range":
                low, high = _length_range(condition)
                min_size = max(min_size, low)
                max_size = high if max_size is None else min(max_size, high)
            elif operator in ("eq", "starts-with"):
                _check_eq(condition, values, covered)
            else:
                raise _invalid(condition)
        else:
            raise _invalid(condition)
    # Checksum fields need no condition: they can only make an upload fail its integrity
    # check, never widen what the policy grants.
    extra = [
        name
        for name in fields
        if name not in _EXEMPT and name not in covered
        and not name.startswith(("x-ignore-", "x-amz-checksum-"))
    ]
    if extra:
        raise errors.AccessDenied(_DENIED + "Extra input fields: " + ", ".join(extra))
    return PostPolicy(expiration, min_size, max_size, list(conditions))


def _check_eq(condition: list[object], values: Mapping[str, str], covered: set[str]) -> None:
    if len(condition) != 3:
        raise _invalid(condition)
    operator, target, expected = condition
    if not isinstance(target, str) or not target.startswith("$") or not isinstance(expected, str):
        raise _invalid(condition)
    name = target[1:].lower()
    covered.add(name)
    actual = values.get(name, "")
    if str(operator).lower() == "eq":
        ok = actual == expected
    elif name == "content-type":
        # A list of content types passes only if each one starts with the prefix.
        ok = all(part.strip().startswith(expected) for part in actual.split(","))
    else:
        ok = actual.startswith(expected)
    if not ok:
        raise _failed(condition)


def _length_range(condition: list[object]) -> tuple[int, int]:
    if len(condition) != 3:
        raise _invalid(condition)
    try:
        low, high = int(condition[1]), int(condition[2])  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise _invalid(condition) from None
    if low < 0 or high < low:
        raise _invalid(condition)
    return low, high
