"""Which policies S3 calls public (user guide, "The meaning of public"): the examples it gives,
and the edges of its rule (fixed values of a few keys, no wildcard, no variable, no IP range
broader than /8 for IPv4 or /32 for IPv6)."""

from __future__ import annotations

import pytest

from post3.policy import is_public, parse_policy
from tests.policy.helpers import BUCKET, document


def grant(condition=None, principal="*", effect="Allow", **fields):
    out = {"Principal": principal, "Resource": "*", "Action": "s3:PutObject", "Effect": effect}
    if condition is not None:
        out["Condition"] = condition
    out.update(fields)
    return out


def fixed(key, value, operator="StringEquals"):
    return grant({operator: {key: value}})


CASES = [
    # S3's examples
    ("everyone, no condition", [grant()], True),
    ("a wildcard VPC", [grant({"StringLike": {"aws:SourceVpc": "vpc-*"}})], True),
    ("a fixed VPC", [fixed("aws:SourceVpc", "vpc-91237329")], False),
    ("a service, an account and everyone",
     [grant(principal={"Service": "cloudtrail.amazonaws.com"}),
      grant(principal={"AWS": "arn:aws:iam::444455556666:root"}), grant()], True),
    ("a service and an account",
     [grant(principal={"Service": "cloudtrail.amazonaws.com"}),
      grant(principal={"AWS": "arn:aws:iam::444455556666:root"})], False),
    ("0.0.0.0/1", [fixed("aws:SourceIp", "0.0.0.0/1", "IpAddress")], True),
    # principals
    ('{"AWS": "*"}', [grant(principal={"AWS": "*"})], True),
    ("a list with * in it", [grant(principal={"AWS": ["111122223333", "*"]})], True),
    ("a canonical user", [grant(principal={"CanonicalUser": "abc123"})], False),
    ("NotPrincipal names everyone else",
     [grant(principal=None, NotPrincipal={"AWS": "111122223333"})], True),
    ("only Deny", [grant(effect="Deny")], False),
    # the limiting keys, fixed
    ("fixed SourceIp /24", [fixed("aws:SourceIp", "203.0.113.0/24", "IpAddress")], False),
    ("fixed SourceIp /8", [fixed("aws:SourceIp", "12.0.0.0/8", "IpAddress")], False),
    ("SourceIp /7", [fixed("aws:SourceIp", "12.0.0.0/7", "IpAddress")], True),
    ("SourceIp one of them broad",
     [fixed("aws:SourceIp", ["203.0.113.0/24", "0.0.0.0/0"], "IpAddress")], True),
    ("private range", [fixed("aws:SourceIp", "192.168.0.0/16", "IpAddress")], False),
    ("IPv6 /32", [fixed("aws:SourceIp", "2001:db8::/32", "IpAddress")], False),
    ("IPv6 /16", [fixed("aws:SourceIp", "2001::/16", "IpAddress")], True),
    ("SourceArn", [fixed("aws:SourceArn", "arn:aws:s3:::logs", "ArnEquals")], False),
    ("SourceArn with a wildcard", [fixed("aws:SourceArn", "arn:aws:s3:::logs-*", "ArnLike")],
     True),
    ("SourceAccount", [fixed("aws:SourceAccount", "111122223333")], False),
    ("SourceOwner", [fixed("aws:SourceOwner", "111122223333")], False),
    ("SourceVpce", [fixed("aws:SourceVpce", "vpce-1a2b3c4d")], False),
    ("PrincipalOrgID", [fixed("aws:PrincipalOrgID", "o-aa111bb222")], False),
    ("userid", [fixed("aws:userid", "AIDAEXAMPLE")], False),
    ("userid of any session of a role", [fixed("aws:userid", "AROAEXAMPLE:*", "StringLike")],
     True),
    ("StringLike without a wildcard is fixed",
     [fixed("aws:SourceVpc", "vpc-1", "StringLike")], False),
    ("a policy variable is not fixed", [fixed("aws:SourceAccount", "${aws:username}")], True),
    ("? is a wildcard", [fixed("aws:SourceVpc", "vpc-?")], True),
    # operators that do not limit to the values written
    ("negated", [fixed("aws:SourceVpc", "vpc-1", "StringNotEquals")], True),
    ("NotIpAddress", [fixed("aws:SourceIp", "203.0.113.0/24", "NotIpAddress")], True),
    ("IfExists", [fixed("aws:SourceVpc", "vpc-1", "StringEqualsIfExists")], True),
    ("ForAllValues", [fixed("aws:SourceVpc", "vpc-1", "ForAllValues:StringEquals")], True),
    ("ForAnyValue", [fixed("aws:SourceVpc", "vpc-1", "ForAnyValue:StringEquals")], False),
    # other keys limit nothing, but one limiting key among them is enough
    ("SecureTransport", [fixed("aws:SecureTransport", "true", "Bool")], True),
    ("Referer", [fixed("aws:Referer", "https://example.com/")], True),
    ("Referer and a fixed VPC",
     [grant({"StringEquals": {"aws:Referer": "https://example.com/",
                              "aws:SourceVpc": "vpc-1"}})], False),
    ("one public statement among private ones",
     [fixed("aws:SourceVpc", "vpc-1"), grant(principal={"AWS": "111122223333"}),
      grant(Action="s3:GetBucketPolicyStatus")], True),
]


@pytest.mark.parametrize(("statements", "public"),
                         [pytest.param(s, p, id=name) for name, s, p in CASES])
def test_public(statements, public):
    for s in statements:
        if s.get("Principal") is None:
            s.pop("Principal", None)
    assert is_public(parse_policy(document(*statements), BUCKET)) is public
