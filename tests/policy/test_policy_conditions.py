"""Condition operators, one row each: the block, the request context, whether it holds."""

from __future__ import annotations

import datetime as dt

import pytest

from post3.policy import context
from post3.policy.conditions import parse_conditions

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def holds(block, values, *, variables=True):
    ctx = context(values)
    return all(c.holds(ctx) for c in parse_conditions(block, variables=variables))


ROWS = [
    # strings: case-sensitive, any policy value may match
    ({"StringEquals": {"s3:prefix": ["a", "b"]}}, {"s3:prefix": "b"}, True),
    ({"StringEquals": {"s3:prefix": "a"}}, {"s3:prefix": "A"}, False),
    ({"StringEquals": {"s3:prefix": "a*"}}, {"s3:prefix": "abc"}, False),  # no wildcards
    ({"StringEquals": {"s3:prefix": "a*"}}, {"s3:prefix": "a*"}, True),
    ({"StringEqualsIgnoreCase": {"aws:UserAgent": "Boto3"}}, {"aws:UserAgent": "BOTO3"}, True),
    ({"StringNotEquals": {"s3:prefix": ["a", "b"]}}, {"s3:prefix": "c"}, True),
    ({"StringNotEquals": {"s3:prefix": ["a", "b"]}}, {"s3:prefix": "b"}, False),  # none may match
    ({"StringNotEqualsIgnoreCase": {"s3:prefix": "a"}}, {"s3:prefix": "A"}, False),
    ({"StringLike": {"s3:prefix": "home/*/x?"}}, {"s3:prefix": "home/a/b/xy"}, True),
    ({"StringLike": {"s3:prefix": "home/*/x?"}}, {"s3:prefix": "home/a/x"}, False),
    ({"StringLike": {"s3:prefix": "*"}}, {"s3:prefix": ""}, True),
    ({"StringNotLike": {"s3:prefix": "tmp/*"}}, {"s3:prefix": "tmp/a"}, False),
    ({"StringNotLike": {"s3:prefix": "tmp/*"}}, {"s3:prefix": "docs/a"}, True),
    # an absent key: positive operators false, negated ones true (IAM's rule)
    ({"StringEquals": {"s3:prefix": "a"}}, {}, False),
    ({"StringNotEquals": {"s3:prefix": "a"}}, {}, True),
    ({"StringNotLike": {"s3:prefix": "a*"}}, {}, True),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {}, True),
    ({"NumericNotEquals": {"s3:max-keys": "10"}}, {}, True),
    ({"DateNotEquals": {"aws:CurrentTime": "2026-01-01"}}, {}, True),
    # ...IfExists: an absent key passes, a present one is tested
    ({"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}, {}, True),
    ({"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}, {"s3:x-amz-acl": "public-read"},
     False),
    ({"StringNotEqualsIfExists": {"s3:x-amz-acl": "private"}}, {"s3:x-amz-acl": "private"},
     False),
    ({"NumericLessThanIfExists": {"s3:max-keys": "10"}}, {"s3:max-keys": 5}, True),
    # Null: true means absent, false means present
    ({"Null": {"s3:x-amz-acl": "true"}}, {}, True),
    ({"Null": {"s3:x-amz-acl": "true"}}, {"s3:x-amz-acl": "private"}, False),
    ({"Null": {"s3:x-amz-acl": False}}, {"s3:x-amz-acl": "private"}, True),
    ({"Null": {"s3:x-amz-acl": "false"}}, {}, False),
    # numbers compare as numbers
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": 10}, True),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": 11}, False),
    ({"NumericLessThan": {"s3:max-keys": 10}}, {"s3:max-keys": "9"}, True),
    ({"NumericGreaterThan": {"s3:max-keys": "1.5"}}, {"s3:max-keys": "2"}, True),
    ({"NumericGreaterThanEquals": {"s3:max-keys": "2"}}, {"s3:max-keys": "1"}, False),
    ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10.0"}, True),
    ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"}, False),
    ({"NumericNotEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"}, True),
    # dates: ISO 8601 or epoch seconds, zones honoured, no zone is UTC
    ({"DateGreaterThan": {"aws:CurrentTime": "2026-11-30T23:59:59Z"}}, {"aws:CurrentTime": T0},
     True),
    ({"DateLessThan": {"aws:CurrentTime": "2026-12-01"}}, {"aws:CurrentTime": T0}, False),
    ({"DateLessThan": {"aws:CurrentTime": "2026-12-01T13:00:00+02:00"}},
     {"aws:CurrentTime": T0}, False),  # 11:00 UTC
    ({"DateEquals": {"aws:CurrentTime": "2026-12-01T12:00:00"}}, {"aws:CurrentTime": T0}, True),
    ({"DateLessThanEquals": {"aws:CurrentTime": str(int(T0.timestamp()))}},
     {"aws:CurrentTime": T0}, True),
    ({"DateGreaterThanEquals": {"aws:EpochTime": "2026-12-01T12:00:00Z"}},
     {"aws:EpochTime": str(int(T0.timestamp()))}, True),
    ({"DateNotEquals": {"aws:CurrentTime": "2026-12-01T12:00:00Z"}}, {"aws:CurrentTime": T0},
     False),
    ({"DateEquals": {"aws:CurrentTime": "2026-12-01"}}, {"aws:CurrentTime": "yesterday"}, False),
    # booleans
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
    ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": False}, False),
    ({"Bool": {"aws:SecureTransport": "FALSE"}}, {"aws:SecureTransport": False}, True),
    # IP addresses, IPv4 and IPv6, a bare address is /32 (/128)
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.255"}, True),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.114.0"}, False),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.9"}}, {"aws:SourceIp": "203.0.113.9"}, True),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.9"}}, {"aws:SourceIp": "203.0.113.10"}, False),
    ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:SourceIp": "2001:DB8:ffff::1"}, True),
    ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:SourceIp": "203.0.113.9"}, False),
    ({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, {"aws:SourceIp": "2001:db8::1"}, False),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.7/24"}}, {"aws:SourceIp": "203.0.113.1"}, True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "not an address"}, False),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "192.0.2.1"}, True),
    # ARNs: each of the six components on its own
    ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::logs-*"}},
     {"aws:SourceArn": "arn:aws:s3:::logs-2026"}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
     {"aws:SourceArn": "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:"
                       "finance/document.txt"}, False),
    ({"StringLike": {"aws:SourceArn": "arn:aws:someservice:*:111122223333:finance/*"}},
     {"aws:SourceArn": "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:"
                       "finance/document.txt"}, True),  # IAM's own contrast
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:topic"}},
     {"aws:SourceArn": "arn:aws:sns:eu-west-1:123456789012:topic"}, True),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:topic"}},
     {"aws:SourceArn": "not-an-arn"}, False),
    ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/*"}},
     {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/Ana"}, False),
    # sets
    ({"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
     {"s3:RequestObjectTagKeys": ["c", "b"]}, True),
    ({"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}}, {}, False),
    ({"ForAnyValue:StringEqualsIfExists": {"s3:RequestObjectTagKeys": ["a"]}}, {}, True),
    ({"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
     {"s3:RequestObjectTagKeys": ["a", "b", "a"]}, True),
    ({"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]}},
     {"s3:RequestObjectTagKeys": ["a", "c"]}, False),
    ({"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a"]}}, {}, True),
    ({"ForAllValues:StringLike": {"s3:RequestObjectTagKeys": ["team-*"]}},
     {"s3:RequestObjectTagKeys": ["team-a", "team-b"]}, True),
    ({"ForAnyValue:StringNotEquals": {"s3:RequestObjectTagKeys": ["a"]}},
     {"s3:RequestObjectTagKeys": ["a", "b"]}, True),
    ({"ForAllValues:StringNotEquals": {"s3:RequestObjectTagKeys": ["a"]}},
     {"s3:RequestObjectTagKeys": ["a", "b"]}, False),
    # several keys and operators: all must hold
    ({"StringEquals": {"s3:prefix": "a", "s3:delimiter": "/"}},
     {"s3:prefix": "a", "s3:delimiter": "/"}, True),
    ({"StringEquals": {"s3:prefix": "a", "s3:delimiter": "/"}}, {"s3:prefix": "a"}, False),
    ({"StringEquals": {"s3:prefix": "a"}, "NumericLessThan": {"s3:max-keys": 5}},
     {"s3:prefix": "a", "s3:max-keys": 50}, False),
    ({}, {}, True),
    # key names ignore case; tag keys after "/" do not
    ({"StringEquals": {"AWS:USERAGENT": "x"}}, {"aws:UserAgent": "x"}, True),
    ({"StringEquals": {"S3:ExistingObjectTag/Env": "x"}}, {"s3:existingobjecttag/Env": "x"}, True),
    ({"StringEquals": {"s3:ExistingObjectTag/Env": "x"}}, {"s3:ExistingObjectTag/env": "x"},
     False),
    # policy variables: filled in as literal text, escapes, defaults, unfillable
    ({"StringEquals": {"s3:prefix": "home/${aws:username}/"}},
     {"s3:prefix": "home/ana/", "aws:username": "ana"}, True),
    ({"StringLike": {"s3:prefix": "home/${aws:username}/*"}},
     {"s3:prefix": "home/bob/x", "aws:username": "*"}, False),
    ({"StringLike": {"s3:prefix": "home/${aws:username}/*"}},
     {"s3:prefix": "home/*/x", "aws:username": "*"}, True),
    ({"StringLike": {"s3:prefix": "${*}literal"}}, {"s3:prefix": "*literal"}, True),
    ({"StringLike": {"s3:prefix": "${*}literal"}}, {"s3:prefix": "xliteral"}, False),
    ({"StringEquals": {"s3:prefix": "${$}{x}"}}, {"s3:prefix": "${x}"}, True),
    ({"StringEquals": {"s3:prefix": "${aws:username, 'guest'}/"}}, {"s3:prefix": "guest/"}, True),
    ({"StringEquals": {"s3:prefix": "${AWS:UserName}"}},
     {"s3:prefix": "ana", "aws:username": "ana"}, True),
    ({"StringEquals": {"s3:prefix": "${aws:username}"}}, {"s3:prefix": ""}, False),
    # a variable the request cannot fill makes the condition false, negated or not
    ({"StringNotEquals": {"s3:prefix": "${aws:username}"}}, {"s3:prefix": "x"}, False),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::${aws:username}"}},
     {"aws:SourceArn": "arn:aws:s3:::ana", "aws:username": "ana"}, True),
]


@pytest.mark.parametrize(("block", "values", "expected"), ROWS)
def test_condition(block, values, expected):
    assert holds(block, values) is expected


def test_variables_are_plain_text_in_2008_policies():
    block = {"StringEquals": {"s3:prefix": "${aws:username}"}}
    assert holds(block, {"s3:prefix": "${aws:username}", "aws:username": "ana"},
                 variables=False)
    assert not holds(block, {"s3:prefix": "ana", "aws:username": "ana"}, variables=False)


def test_context_refuses_naive_times():
    with pytest.raises(ValueError):
        context({"aws:CurrentTime": dt.datetime(2026, 1, 1)})
