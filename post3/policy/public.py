"""Whether a bucket policy is "public", as S3 defines it for GetBucketPolicyStatus and the
public access block (BlockPublicPolicy refuses such a policy, RestrictPublicBuckets limits a
bucket that has one to its owner's users).

S3 (user guide, "The meaning of public") begins by assuming a policy is public, and it is not
only if every grant is limited to fixed values — no wildcard, no policy variable — of a
principal, or of one of a few condition keys: aws:SourceIp with a range no broader than /8 for
IPv4 (or inside a private RFC 1918 range) or /32 for IPv6, aws:SourceArn, aws:SourceVpc,
aws:SourceVpce, aws:SourceOwner, aws:SourceAccount, aws:userid, s3:DataAccessPointArn,
s3:DataAccessPointAccount, and the keys naming a principal such as aws:PrincipalOrgID.

Here a statement grants publicly when it is an Allow whose Principal is ``*`` (or a
NotPrincipal, which names everyone else) and none of its conditions is such a limit. Deny
statements are not taken into account: a Deny can only narrow a grant, so ignoring them can
only call more policies public, never fewer.
"""

from __future__ import annotations

import ipaddress

from post3.policy.conditions import Condition
from post3.policy.document import Policy, Statement
from post3.policy.variables import Template

_LIMITING_KEYS = frozenset({
    "aws:sourceip", "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner",
    "aws:sourceaccount", "aws:userid", "aws:principalorgid", "aws:principalaccount",
    "aws:principalarn", "s3:dataaccesspointarn", "s3:dataaccesspointaccount",
})
# Operators that hold only for the values written (negations, IfExists and ForAllValues also
# hold when the key is absent or different, so they limit nothing).
_FIXED_TESTS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals",
                          "ArnLike", "IpAddress"})
_PRIVATE = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12",
                                                  "192.168.0.0/16"))


def is_public(policy: Policy) -> bool:
    return any(grants_publicly(s) for s in policy.statements)


def grants_publicly(statement: Statement) -> bool:
    if statement.effect != "Allow":
        return False
    if not (statement.principals.everyone or statement.not_principal):
        return False
    return not any(_limits(c) for c in statement.conditions)


def _limits(condition: Condition) -> bool:
    if (condition.key not in _LIMITING_KEYS or condition.test not in _FIXED_TESTS
            or condition.negated or condition.if_exists
            or condition.quantifier == "ForAllValues"):
        return False
    return all(_fixed(value) for value in condition.values)


def _fixed(value: object) -> bool:
    if isinstance(value, Template):
        return not value.has_variables and "*" not in value.text and "?" not in value.text
    if isinstance(value, ipaddress.IPv4Network):
        return value.prefixlen >= 8 or any(value.subnet_of(p) for p in _PRIVATE)
    if isinstance(value, ipaddress.IPv6Network):
        return value.prefixlen >= 32
    return False
