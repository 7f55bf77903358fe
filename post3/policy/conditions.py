"""The Condition element: parsing a block into typed conditions, and testing them against a
request's context.

Semantics, from IAM's reference ("Condition operators", "Creating a condition with multiple
context keys or values"):

- Every operator in a block, and every key under an operator, must hold (AND); several values
  for one key are alternatives (OR). A negated operator (``StringNotEquals``, ``NotIpAddress``...)
  is the exact negation of its positive form: it holds when no value matches.
- A key absent from the request: a positive operator is false, a negated one true;
  ``...IfExists`` is true; ``ForAllValues:`` is true and ``ForAnyValue:`` false (an empty set);
  ``Null`` tests exactly this (``true``: absent, ``false``: present).
- ``ForAnyValue:`` holds when some request value passes the operator, ``ForAllValues:`` when
  every one does; without a qualifier a multivalued key passes a positive operator when any of
  its values matches (and a negated one when none does).
- A value naming a policy variable that the request cannot fill makes the condition false.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import eq, ge, gt, le, lt
from typing import Any

from post3.policy.context import normalize_key
from post3.policy.errors import PolicyError
from post3.policy.variables import Template

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Value = Template | Decimal | dt.datetime | str | bool | IpNetwork

# Negated operator -> the positive operator it negates.
_NEGATIONS = {
    "StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}
_RELATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "Equals": eq, "LessThan": lt, "LessThanEquals": le,
    "GreaterThan": gt, "GreaterThanEquals": ge,
}
_STRING_TESTS = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}
_POSITIVE_TESTS = (_STRING_TESTS | {"Numeric" + t for t in _RELATIONS}
                   | {"Date" + t for t in _RELATIONS} | {"Bool", "IpAddress", "Null"})
_QUANTIFIERS = ("ForAnyValue", "ForAllValues")

# S3's own condition keys (any "aws:" global key is accepted: keys post3 never sets are absent).
_S3_KEYS = frozenset({
    "s3:prefix", "s3:delimiter", "s3:max-keys", "s3:versionid", "s3:x-amz-acl",
    "s3:x-amz-content-sha256", "s3:x-amz-copy-source", "s3:x-amz-metadata-directive",
    "s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:x-amz-server-side-encryption-customer-algorithm", "s3:x-amz-storage-class",
    "s3:x-amz-website-redirect-location", "s3:x-amz-object-ownership",
    "s3:x-amz-grant-read", "s3:x-amz-grant-write", "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write-acp", "s3:x-amz-grant-full-control", "s3:requestobjecttagkeys",
    "s3:object-lock-mode", "s3:object-lock-retain-until-date",
    "s3:object-lock-remaining-retention-days", "s3:object-lock-legal-hold",
    "s3:authtype", "s3:signatureversion", "s3:signatureage", "s3:tlsversion",
    "s3:locationconstraint", "s3:resourceaccount", "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount", "s3:accesspointnetworkorigin", "s3:if-match",
    "s3:if-none-match", "s3:objectcreationoperation",
})
# Keys that name a tag after "/": s3:ExistingObjectTag/<key>, s3:RequestObjectTag/<key>.
_TAG_KEYS = frozenset({"s3:existingobjecttag", "s3:requestobjecttag"})
_GLOBAL_KEY = re.compile(r"^aws:[a-z0-9_.-]+$")

# Keys S3 accepts only with some actions ("Conditions do not apply to combination of actions
# and resources in statement" otherwise), lower-case action names.
KEY_ACTIONS = {
    "s3:prefix": frozenset({"s3:listbucket", "s3:listbucketversions"}),
    "s3:delimiter": frozenset({"s3:listbucket", "s3:listbucketversions"}),
    "s3:max-keys": frozenset({"s3:listbucket", "s3:listbucketversions"}),
    "s3:x-amz-acl": frozenset({"s3:putobject", "s3:putobjectacl", "s3:putobjectversionacl",
                               "s3:putbucketacl"}),
}


@dataclass(frozen=True)
class Condition:
    operator: str  # as written: "ForAnyValue:StringLikeIfExists"
    key: str  # normalized (see context.normalize_key)
    test: str  # the positive operator underneath: "StringLike"
    negated: bool
    if_exists: bool
    quantifier: str | None  # "ForAnyValue", "ForAllValues" or None
    values: tuple[Value, ...]

    def holds(self, context: Mapping[str, tuple[str, ...]]) -> bool:
        policy_values = self._filled(context)
        if policy_values is None:
            return False
        present = context.get(self.key, ())
        if self.test == "Null":
            return (not present) in policy_values
        if not present:
            if self.if_exists or self.quantifier == "ForAllValues":
                return True
            return False if self.quantifier == "ForAnyValue" else self.negated
        compare = _COMPARE[self.test]

        def passes(value: str) -> bool:
            return self.negated != any(compare(value, wanted) for wanted in policy_values)

        if self.quantifier == "ForAllValues":
            return all(passes(value) for value in present)
        if self.quantifier == "ForAnyValue":
            return any(passes(value) for value in present)
        matched = any(compare(value, wanted) for value in present for wanted in policy_values)
        return self.negated != matched

    def _filled(self, context: Mapping[str, tuple[str, ...]]) -> list[Any] | None:
        """The policy values with their variables filled in: strings for the equality tests,
        patterns for the Like tests, the parsed value for the rest; None if one cannot be."""
        filled: list[Any] = []
        for value in self.values:
            if not isinstance(value, Template):
                filled.append(value)
                continue
            resolved = (value.string(context) if self.test in ("StringEquals",
                                                               "StringEqualsIgnoreCase")
                        else value.pattern(context))
            if resolved is None:
                return None
            filled.append(resolved)
        return filled


def parse_conditions(block: object, *, variables: bool) -> tuple[Condition, ...]:
    if not isinstance(block, dict):
        raise PolicyError("Condition must be an object of operators")
    conditions = []
    for operator, keys in block.items():
        test, negated, if_exists, quantifier = _parse_operator(operator)
        if not isinstance(keys, dict):
            raise PolicyError(f"Invalid Condition type : {operator}")
        for key, raw in keys.items():
            conditions.append(_parse_condition(operator, test, negated, if_exists, quantifier,
                                               key, raw, variables))
    return tuple(conditions)


def _parse_operator(operator: object) -> tuple[str, bool, bool, str | None]:
    if not isinstance(operator, str):
        raise PolicyError("Invalid Condition type")
    name, quantifier = operator, None
    prefix, colon, rest = operator.partition(":")
    if colon:
        if prefix not in _QUANTIFIERS:
            raise PolicyError(f"Invalid Condition type : {operator}")
        name, quantifier = rest, prefix
    if_exists = name.endswith("IfExists")
    if if_exists:
        name = name.removesuffix("IfExists")
    negated = name in _NEGATIONS
    test = _NEGATIONS.get(name, name)
    if test not in _POSITIVE_TESTS or (test == "Null" and (if_exists or quantifier)):
        raise PolicyError(f"Invalid Condition type : {operator}")
    return test, negated, if_exists, quantifier


def _parse_condition(operator: str, test: str, negated: bool, if_exists: bool,
                     quantifier: str | None, key: str, raw: object,
                     variables: bool) -> Condition:
    if not known_key(key):
        raise PolicyError("Policy has an invalid condition key")
    raws = raw if isinstance(raw, list) else [raw]
    if not raws:
        raise PolicyError(f"Condition {operator} on {key} has no values")
    values = tuple(_parse_value(test, _scalar(operator, key, r), variables) for r in raws)
    return Condition(operator, normalize_key(key), test, negated, if_exists, quantifier, values)


def known_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    name, slash, tag = normalize_key(key).partition("/")
    if name in _TAG_KEYS:
        return bool(slash and tag)
    if name.startswith("aws:"):
        # Global keys, some with a tag part (aws:PrincipalTag/team, aws:ResourceTag/env).
        return bool(_GLOBAL_KEY.match(name)) and (not slash or bool(tag))
    return not slash and name in _S3_KEYS


def _scalar(operator: str, key: str, raw: object) -> str:
    # JSON booleans and numbers are written unquoted in AWS's own examples.
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return str(raw)
    if isinstance(raw, str):
        return raw
    raise PolicyError(f"Invalid Condition value for {operator} on {key}")


def _parse_value(test: str, text: str, variables: bool) -> Value:
    if test in _STRING_TESTS:
        return Template.parse(text, variables=variables)
    if test.startswith("Numeric"):
        number = parse_number(text)
        if number is None:
            raise PolicyError(f"Invalid number in Conditions: {text}")
        return number
    if test.startswith("Date"):
        moment = parse_date(text)
        if moment is None:
            raise PolicyError(f"Invalid date in Conditions: {text}")
        return moment
    if test == "IpAddress":
        try:
            return ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise PolicyError("Invalid IP address in Conditions") from None
    if text.lower() not in ("true", "false"):
        raise PolicyError(f"Invalid {test} value in Conditions: {text}")
    return text.lower() == "true" if test == "Null" else text.lower()


def parse_number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_date(text: str) -> dt.datetime | None:
    """ISO 8601 (a date, or a date and time with ``Z`` or an offset; no zone means UTC) or
    seconds since the epoch, as IAM accepts for Date operators."""
    text = text.strip()
    number = parse_number(text) if re.fullmatch(r"-?\d+(\.\d+)?", text) else None
    try:
        if number is not None:
            return dt.datetime.fromtimestamp(float(number), dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _string_equals(value: str, wanted: Any) -> bool:
    return bool(value == wanted)


def _string_equals_ignore_case(value: str, wanted: Any) -> bool:
    return bool(value.lower() == wanted.lower())


def _string_like(value: str, wanted: Any) -> bool:
    return bool(wanted.matches(value))


def _arn_like(value: str, wanted: Any) -> bool:
    # Each of the six colon-separated components is matched on its own: a "*" in the region
    # never eats into the account.
    parts = value.split(":", 5)
    patterns = wanted.split(":", 5)
    return len(parts) == len(patterns) == 6 and all(
        p.matches(part) for p, part in zip(patterns, parts, strict=True))


def _ordered(parse: Callable[[str], Any], relation: str) -> Callable[[str, Any], bool]:
    holds = _RELATIONS[relation]

    def compare(value: str, wanted: Any) -> bool:
        parsed = parse(value)
        return parsed is not None and bool(holds(parsed, wanted))
    return compare


def _bool(value: str, wanted: Any) -> bool:
    return bool(value.lower() == wanted)


def _ip_address(value: str, wanted: Any) -> bool:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:192.0.2.1 is 192.0.2.1 (dual-stack sockets)
    return bool(address in wanted)


_COMPARE: dict[str, Callable[[str, Any], bool]] = {
    "StringEquals": _string_equals, "StringEqualsIgnoreCase": _string_equals_ignore_case,
    "StringLike": _string_like, "ArnEquals": _arn_like, "ArnLike": _arn_like,
    "Bool": _bool, "IpAddress": _ip_address,
    **{"Numeric" + r: _ordered(parse_number, r) for r in _RELATIONS},
    **{"Date" + r: _ordered(parse_date, r) for r in _RELATIONS},
}
