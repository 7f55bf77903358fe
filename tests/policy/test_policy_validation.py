"""Documents S3 refuses with MalformedPolicy, and the reason given (S3's words where known)."""

from __future__ import annotations

import json

import pytest

from post3.policy import MAX_POLICY_BYTES, PolicyError, parse_policy
from tests.policy.helpers import BUCKET, document

OBJECTS = f"arn:aws:s3:::{BUCKET}/*"
GOOD = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJECTS}


def statement(**changes):
    out = dict(GOOD)
    for name, value in changes.items():
        if value is None:
            out.pop(name)
        else:
            out[name] = value
    return out


REFUSED = [
    ("", "Policies must be valid JSON and the first byte must be '{'"),
    ('["not", "an", "object"]', "Policies must be valid JSON and the first byte must be '{'"),
    ('{"Version": "2012-10-17",', "This policy contains invalid Json"),
    (b'{"Version": "\xff"}', "This policy contains invalid Json"),
    ('{"Statement": [{"Effect": "Allow", "Condition": {"NumericLessThan": {"aws:EpochTime": NaN}}'
     ', "Principal": "*", "Action": "s3:GetObject", "Resource": "' + OBJECTS + '"}]}',
     "This policy contains invalid Json"),
    ('{"Statement": ' + "[" * 5000 + "]" * 5000 + "}", "This policy contains invalid Json"),
    ('{"Version": ' + "9" * 5000 + "}", "This policy contains invalid Json"),
    ('{"Version": "2012-10-17"}', "Missing required field Statement"),
    (json.dumps({"Statement": []}), "Could not parse the policy: Statement is empty!"),
    (json.dumps({"Statement": "Allow everything"}),
     "Could not parse the policy: Statement is empty!"),
    (json.dumps({"Version": "2012-10-18", "Statement": [GOOD]}),
     "The policy must contain a valid version string"),
    (json.dumps({"Statement": [GOOD], "Extra": 1}), "Unknown field Extra"),
    (document(statement(Effect=None)), "Missing required field Effect"),
    (document(statement(Effect="allow")), "Invalid effect: allow"),
    (document(statement(Principal=None)), "Missing required field Principal"),
    (document(statement(NotPrincipal={"AWS": "arn:aws:iam::111122223333:root"})),
     "Statement has both Principal and NotPrincipal"),
    (document(statement(Action=None)), "Missing required field Action"),
    (document(statement(Resource=None)), "Missing required field Resource"),
    (document(statement(Condtion={})), "Unknown field Condtion"),
    (document(statement(Sid=7)), "Sid must be a string"),
    (document(statement(Sid="one"), statement(Sid="one")),
     "Statement IDs (SID) in a single policy must be unique"),
    # principals
    (document(statement(Principal="everyone")), "Invalid principal in policy"),
    (document(statement(Principal={})), "Invalid principal in policy"),
    (document(statement(Principal={"AWS": []})), "Invalid principal in policy"),
    (document(statement(Principal={"Users": "x"})), "Invalid principal in policy"),
    (document(statement(Principal={"AWS": "arn:aws:iam::111122223333:user/*"})),
     "Invalid principal in policy"),  # no partial wildcards in a principal
    (document(statement(Principal={"AWS": "JohnDoe"})), "Invalid principal in policy"),
    (document(statement(Principal={"AWS": "arn:aws::iam::111122223333:root"})),
     "Invalid principal in policy"),
    (document(statement(Principal={"CanonicalUser": "*"})), "Invalid principal in policy"),
    # actions
    (document(statement(Action="GetObject")), "Policy has invalid action"),
    (document(statement(Action="iam:CreateUser")), "Policy has invalid action"),
    (document(statement(Action=[])), "Policy has invalid action"),
    (document(statement(Action=["s3:GetObject", 3])), "Policy has invalid action"),
    (document(statement(Action="s3:Get Object")), "Policy has invalid action"),
    # resources
    (document(statement(Resource="arn:aws:s3:::other-bucket/*")), "Policy has invalid resource"),
    (document(statement(Resource=f"arn:aws:s3:::{BUCKET}x/*")), "Policy has invalid resource"),
    (document(statement(Resource=BUCKET + "/*")), "Policy has invalid resource"),
    (document(statement(Resource=f"arn:aws:iam:::{BUCKET}/*")), "Policy has invalid resource"),
    (document(statement(Resource=[])), "Policy has invalid resource"),
    (document(statement(Action="s3:ListBucket")),
     "Action does not apply to any resource(s) in statement"),
    (document(statement(Resource=f"arn:aws:s3:::{BUCKET}")),
     "Action does not apply to any resource(s) in statement"),
    (document(statement(Action="s3:ListAllMyBuckets", Resource="*")),
     "Action does not apply to any resource(s) in statement"),
    # conditions
    (document(statement(Condition={"StringEqualz": {"aws:UserAgent": "x"}})),
     "Invalid Condition type : StringEqualz"),
    (document(statement(Condition={"ForSomeValues:StringEquals": {"aws:UserAgent": "x"}})),
     "Invalid Condition type : ForSomeValues:StringEquals"),
    (document(statement(Condition={"NullIfExists": {"aws:UserAgent": "true"}})),
     "Invalid Condition type : NullIfExists"),
    (document(statement(Condition={"StringEquals": "aws:UserAgent"})),
     "Invalid Condition type : StringEquals"),
    (document(statement(Condition=["StringEquals"])), "Condition must be an object of operators"),
    (document(statement(Condition={"StringEquals": {"aws:UserAgent": {"x": 1}}})),
     "Invalid Condition value for StringEquals on aws:UserAgent"),
    (document(statement(Condition={"StringEquals": {"aws:UserAgent": []}})),
     "Condition StringEquals on aws:UserAgent has no values"),
    (document(statement(Condition={"StringEquals": {"s3:NoSuchKey": "x"}})),
     "Policy has an invalid condition key"),
    (document(statement(Condition={"StringEquals": {"ec2:InstanceType": "x"}})),
     "Policy has an invalid condition key"),
    (document(statement(Condition={"StringEquals": {"s3:ExistingObjectTag/": "x"}})),
     "Policy has an invalid condition key"),
    (document(statement(Condition={"StringEquals": {"s3:prefix": "home/"}})),
     "Conditions do not apply to combination of actions and resources in statement"),
    (document(statement(Action=["s3:PutObject", "s3:GetObject"],
                        Condition={"StringEquals": {"s3:x-amz-acl": "private"}})),
     "Conditions do not apply to combination of actions and resources in statement"),
    (document(statement(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}})),
     "Invalid IP address in Conditions"),
    (document(statement(Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "soon"}})),
     "Invalid number in Conditions: soon"),
    (document(statement(Condition={"DateLessThan": {"aws:CurrentTime": "next tuesday"}})),
     "Invalid date in Conditions: next tuesday"),
    (document(statement(Condition={"Bool": {"aws:SecureTransport": "yes"}})),
     "Invalid Bool value in Conditions: yes"),
    (document(statement(Condition={"Null": {"aws:SecureTransport": "maybe"}})),
     "Invalid Null value in Conditions: maybe"),
    # a field given twice would otherwise lose one of them silently
    ('{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", '
     '"Resource": "' + OBJECTS + '", "Condition": {"StringEquals": {"s3:x-amz-acl": "private"}, '
     '"StringEquals": {"aws:SourceAccount": "111122223333"}}}}',
     "Policy has a duplicate field StringEquals"),
    ('{"Statement": {"Effect": "Deny", "Effect": "Allow", "Principal": "*", '
     '"Action": "s3:GetObject", "Resource": "' + OBJECTS + '"}}',
     "Policy has a duplicate field Effect"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refused(text, message):
    with pytest.raises(PolicyError) as refused:
        parse_policy(text, BUCKET)
    assert str(refused.value) == message


ACCEPTED = [
    # whitespace before the object, a single statement object, no Version (2008-10-17)
    "\n  " + json.dumps({"Statement": GOOD}),
    document(statement(Resource="*")),
    document(statement(Resource=f"arn:aws:s3:::{BUCKET[:4]}*")),
    document(statement(Action="s3:ListBucket", Resource=f"arn:aws:s3:::{BUCKET}*")),
    document(statement(Resource=f"arn:aws:s3:::{BUCKET}/home/${{aws:username}}/*")),
    document(statement(Resource="arn:aws:s3:::${aws:username}/x")),  # could be this bucket
    document(statement(Action="s3:*", Resource=f"arn:aws:s3:::{BUCKET}")),
    document(statement(Action="s3:Get*")),
    document(statement(Action="S3:GETOBJECT")),
    document(statement(Action="s3:NotASupportedAction")),  # S3 accepts unknown S3 actions
    document(statement(Action=None, NotAction="s3:ListBucket", Principal={"AWS": "*"})),
    document(statement(Principal=None, NotPrincipal={"AWS": ["111122223333"]})),
    document(statement(Principal={"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eac"
                                                   "f8f8d5218e7cd47ef2be"})),
    document(statement(Principal={"Service": "logging.s3.amazonaws.com"})),
    document(statement(Action=["s3:PutObject", "s3:PutObjectAcl"],
                       Condition={"StringEquals": {"s3:x-amz-acl": "private"}})),
    document(statement(Action="s3:*", Condition={"StringLike": {"s3:prefix": "x"}})),
    document(statement(Condition={"StringEquals": {"aws:PrincipalTag/team": "a"}})),
    document(statement(Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
                                  "NumericLessThan": {"aws:EpochTime": 1.9e9},
                                  "IpAddress": {"aws:SourceIp": ["::1", "10.1.2.3"]}})),
    document(statement(Sid=""), statement(Sid="")),  # empty Sids are not names
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted(text):
    assert parse_policy(text, BUCKET).statements


def test_size_limit_is_20_kib():
    def padded(size):
        text = document(statement(Sid="x"))
        return text.replace('"x"', '"' + "x" * (size - len(text) + 1) + '"')

    assert len(padded(MAX_POLICY_BYTES)) == MAX_POLICY_BYTES
    parse_policy(padded(MAX_POLICY_BYTES), BUCKET)
    with pytest.raises(PolicyError, match="maximum allowed document size"):
        parse_policy(padded(MAX_POLICY_BYTES + 1), BUCKET)


def test_unknown_principals_refused_through_the_callback():
    seen = []

    def exists(kind, value):
        seen.append((kind, value))
        return value != "arn:aws:iam::111122223333:user/ghost"

    text = document(statement(Principal={"AWS": ["111122223333", "*"],
                                          "CanonicalUser": "abc"}))
    parse_policy(text, BUCKET, principal_exists=exists)
    assert seen == [("AWS", "arn:aws:iam::111122223333:root"), ("CanonicalUser", "abc")]
    with pytest.raises(PolicyError, match="Invalid principal in policy"):
        parse_policy(document(statement(Principal={
            "AWS": "arn:aws:iam::111122223333:user/ghost"})), BUCKET, principal_exists=exists)


def test_parsed_statement_keeps_what_was_written():
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Id": "P1", "Statement": [
        statement(Sid="A", Principal={"AWS": "111122223333"}), statement(Effect="Deny")]}),
        BUCKET)
    first, second = policy.statements
    assert (policy.version, policy.id) == ("2012-10-17", "P1")
    assert first.principals.aws == {"arn:aws:iam::111122223333:root"}
    assert (first.sid, first.effect, second.effect, second.index) == ("A", "Allow", "Deny", 1)
    assert str(second) == "statement 2"
