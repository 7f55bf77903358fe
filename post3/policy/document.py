"""Parsing and validating a bucket policy document into typed statements.

Every refusal raises PolicyError with the reason, in S3's words where S3's are known (the API
answers ``MalformedPolicy`` with it). A document is refused whole: nothing in it is guessed at,
and nothing is dropped. In particular a JSON object with the same field twice is refused, where
a JSON parser would keep the last one and silently forget, say, one of two ``StringEquals``
blocks, widening what an Allow grants.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from post3.policy import actions as s3_actions
from post3.policy.conditions import KEY_ACTIONS, Condition, parse_conditions
from post3.policy.context import Requester
from post3.policy.errors import PolicyError
from post3.policy.variables import Literal, Template
from post3.policy.wildcards import STAR, Part, Pattern

MAX_POLICY_BYTES = 20 * 1024  # "Bucket policies are limited to 20 KB in size"
VERSIONS = ("2012-10-17", "2008-10-17")
RESOURCE_PREFIX = "arn:aws:s3:::"

_TOP_FIELDS = {"Version", "Id", "Statement"}
_STATEMENT_FIELDS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                     "Resource", "NotResource", "Condition"}
_PRINCIPAL_TYPES = {"AWS", "CanonicalUser", "Service", "Federated"}
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ACTION = re.compile(r"^s3:[A-Za-z0-9*?]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Principals:
    """Whom a Principal (or NotPrincipal) element names. Service and federated principals are
    kept for what a policy says (``is_public``) but no post3 requester is ever one."""

    everyone: bool = False
    aws: frozenset[str] = frozenset()
    canonical: frozenset[str] = frozenset()
    other: frozenset[tuple[str, str]] = frozenset()

    def include(self, requester: Requester) -> bool:
        return (self.everyone or requester.canonical_id in self.canonical
                or bool(self.aws & requester.arns))


@dataclass(frozen=True)
class Statement:
    index: int  # position in the document, from 0
    sid: str | None
    effect: str  # "Allow" or "Deny"
    principals: Principals
    not_principal: bool
    actions: tuple[Pattern, ...]  # lower-case: action names are case-insensitive
    not_action: bool
    resources: tuple[Template, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]

    def __str__(self) -> str:
        name = f"statement {self.index + 1}"
        return f"{name} (Sid {self.sid!r})" if self.sid else name


@dataclass(frozen=True)
class Policy:
    version: str
    id: str | None
    statements: tuple[Statement, ...]


def parse_policy(document: str | bytes, bucket: str, *,
                 principal_exists: Callable[[str, str], bool] | None = None) -> Policy:
    """The policy in ``document`` for ``bucket``, or PolicyError. ``principal_exists(type,
    value)`` (type "AWS" or "CanonicalUser") lets the caller refuse principals it does not know,
    as S3 refuses ARNs of users that do not exist ("Invalid principal in policy")."""
    raw = document.encode() if isinstance(document, str) else document
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError("Policy exceeds the maximum allowed document size")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("This policy contains invalid Json") from None
    if not text.lstrip().startswith("{"):
        raise PolicyError("Policies must be valid JSON and the first byte must be '{'")
    try:
        top = json.loads(text, object_pairs_hook=_refuse_duplicates,
                         parse_constant=_refuse_constant)
    except PolicyError:
        raise
    except (ValueError, RecursionError):
        # ValueError: not JSON, or an integer too long to convert; RecursionError: nesting
        # deeper than the parser goes. Either way the document is refused, not the server.
        raise PolicyError("This policy contains invalid Json") from None
    _refuse_unknown(top, _TOP_FIELDS)
    version = top.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise PolicyError("The policy must contain a valid version string")
    policy_id = top.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise PolicyError("Id must be a string")
    if "Statement" not in top:
        raise PolicyError("Missing required field Statement")
    raw_statements = top["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise PolicyError("Could not parse the policy: Statement is empty!")
    statements = tuple(
        _statement(i, s, bucket, version == "2012-10-17", principal_exists)
        for i, s in enumerate(raw_statements))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise PolicyError("Statement IDs (SID) in a single policy must be unique")
    return Policy(version, policy_id, statements)


def _statement(index: int, raw: object, bucket: str, variables: bool,
               principal_exists: Callable[[str, str], bool] | None) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError("Could not parse the policy: Statement is not an object")
    _refuse_unknown(raw, _STATEMENT_FIELDS)
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError("Sid must be a string")
    if "Effect" not in raw:
        raise PolicyError("Missing required field Effect")
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"Invalid effect: {effect}")
    principal_field = _one_of(raw, "Principal", "NotPrincipal")
    action_field = _one_of(raw, "Action", "NotAction")
    resource_field = _one_of(raw, "Resource", "NotResource")
    principals = _principals(raw[principal_field], principal_exists)
    action_texts = _strings(raw[action_field], "Policy has invalid action")
    for action in action_texts:
        if action != "*" and not _ACTION.match(action):
            raise PolicyError("Policy has invalid action")
    resource_texts = _strings(raw[resource_field], "Policy has invalid resource")
    kinds: set[str] = set()
    for resource in resource_texts:
        kinds |= _resource_kinds(resource, bucket)
    conditions = parse_conditions(raw.get("Condition", {}), variables=variables)
    if action_field == "Action":
        _check_actions_apply(action_texts, kinds if resource_field == "Resource" else None,
                             conditions)
    return Statement(
        index, sid, effect, principals, principal_field == "NotPrincipal",
        tuple(Pattern.parse(a.lower()) for a in action_texts), action_field == "NotAction",
        tuple(Template.parse(r, variables=variables) for r in resource_texts),
        resource_field == "NotResource", conditions)


def _check_actions_apply(actions: list[str], kinds: set[str] | None,
                         conditions: tuple[Condition, ...]) -> None:
    """S3's checks that a statement can mean what it says: every action it names (wildcards
    aside) acts on a kind of resource (bucket, object) that its Resource can name, and a
    condition key that only some actions have (``s3:prefix``: listings) is used with those."""
    for action in (a.lower() for a in actions if "*" not in a and "?" not in a):
        kind = s3_actions.kind(action)
        if kinds is not None and kind is not None and kind not in kinds:
            raise PolicyError("Action does not apply to any resource(s) in statement")
        if any(c.key in KEY_ACTIONS and action not in KEY_ACTIONS[c.key] for c in conditions):
            raise PolicyError(
                "Conditions do not apply to combination of actions and resources in statement")


def _principals(raw: object,
                principal_exists: Callable[[str, str], bool] | None) -> Principals:
    if raw == "*":
        return Principals(everyone=True)
    if not isinstance(raw, dict) or not raw or not set(raw) <= _PRINCIPAL_TYPES:
        raise PolicyError("Invalid principal in policy")
    everyone, aws, canonical, other = False, set(), set(), set()
    for kind, values in raw.items():
        for value in _strings(values, "Invalid principal in policy"):
            if kind == "AWS" and value == "*":
                everyone = True
                continue
            if not value or "*" in value or "?" in value:
                # A wildcard names everyone or no one: "*" alone is the only one S3 takes.
                raise PolicyError("Invalid principal in policy")
            if kind == "AWS":
                value = _aws_principal(value)
                aws.add(value)
            elif kind == "CanonicalUser":
                canonical.add(value)
            else:
                other.add((kind, value))
            if (kind in ("AWS", "CanonicalUser") and principal_exists is not None
                    and not principal_exists(kind, value)):
                raise PolicyError("Invalid principal in policy")
    return Principals(everyone, frozenset(aws), frozenset(canonical), frozenset(other))


def _aws_principal(value: str) -> str:
    if _ACCOUNT_ID.match(value):
        return f"arn:aws:iam::{value}:root"  # S3 stores an account id as this ARN
    parts = value.split(":", 5)
    # arn:partition:service:region:account:resource; only region and account may be empty
    if len(parts) == 6 and parts[0] == "arn" and all(parts[i] for i in (1, 2, 5)):
        return value
    raise PolicyError("Invalid principal in policy")


def _resource_kinds(resource: str, bucket: str) -> set[str]:
    """Whether ``resource`` can name ``bucket`` itself and/or objects in it; a resource that
    names neither belongs to another bucket: "Policy has invalid resource"."""
    if resource == "*":
        return {"bucket", "object"}
    if not resource.startswith(RESOURCE_PREFIX):
        raise PolicyError("Policy has invalid resource")
    pattern = _any_value(resource.removeprefix(RESOURCE_PREFIX))
    kinds = ({"bucket"} if pattern.matches(bucket) else set()) | (
        {"object"} if pattern.matches_something_starting(bucket + "/") else set())
    if not kinds:
        raise PolicyError("Policy has invalid resource")
    return kinds


def _any_value(text: str) -> Pattern:
    """``text`` with each policy variable read as ``*``: the values it could take."""
    parts: list[Part] = []
    for piece in Template.parse(text, variables=True).pieces:
        if isinstance(piece, str):
            parts.extend(Pattern.parse(piece).parts)
        elif isinstance(piece, Literal):
            parts.extend(piece.text)
        else:
            parts.append(STAR)
    return Pattern(tuple(parts))


def _one_of(raw: dict[str, Any], field: str, negated: str) -> str:
    if field in raw and negated in raw:
        raise PolicyError(f"Statement has both {field} and {negated}")
    if negated in raw:
        return negated
    if field not in raw:
        raise PolicyError(f"Missing required field {field}")
    return field


def _strings(raw: object, message: str) -> list[str]:
    values = raw if isinstance(raw, list) else [raw]
    if not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(message)
    return [str(v) for v in values]


def _refuse_unknown(raw: dict[str, Any], known: set[str]) -> None:
    for name in raw:
        if name not in known:
            raise PolicyError(f"Unknown field {name}")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise PolicyError(f"Policy has a duplicate field {name}")
        out[name] = value
    return out


def _refuse_constant(name: str) -> None:
    raise PolicyError("This policy contains invalid Json")  # NaN, Infinity: not JSON
