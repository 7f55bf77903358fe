"""AWS's published bucket-policy examples (S3 user guide, "Examples of Amazon S3 bucket
policies", and the IAM guide's policy-variable and condition pages), each with requests that must
be allowed, denied, or left undecided (None: the policy says nothing, other rules decide).

The documents are AWS's, with the bucket name made one (two of the published ones name
``DOC-EXAMPLE-BUCKET`` and ``DOC-EXAMPLE-BUCKET1`` by mistake, and the object-tag one is not
valid JSON as published).
"""

from __future__ import annotations

import pytest

from post3.policy import ANONYMOUS, Requester, evaluate, parse_policy
from tests.policy.helpers import BUCKET, document, request, user

ACCOUNT_1 = Requester("c-1", frozenset({"arn:aws:iam::111122223333:root"}))
ACCOUNT_2 = Requester("c-2", frozenset({"arn:aws:iam::444455556666:root"}))
OTHER_ACCOUNT = Requester("c-3", frozenset({"arn:aws:iam::999999999999:root"}))
JOHN = user("arn:aws:iam::111122223333:user/JohnDoe")
JOHN_ROLE = user("arn:aws:iam::111122223333:role/JohnDoe")
ANA = user("arn:aws:iam::111122223333:user/Ana")
BOB = user("arn:aws:iam::111122223333:user/Bob")
DAVE = user("arn:aws:iam::111122223333:user/Dave")
OBJECTS = f"arn:aws:s3:::{BUCKET}/*"
THE_BUCKET = f"arn:aws:s3:::{BUCKET}"

EXAMPLES = {
    "multiple accounts, public-read canned ACL required": (
        document({
            "Sid": "AddPublicReadCannedAcl", "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111122223333:root",
                                  "arn:aws:iam::444455556666:root"]},
            "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": OBJECTS,
            "Condition": {"StringEquals": {"s3:x-amz-acl": ["public-read"]}}}),
        [
            (request("s3:PutObject", "a.txt", ACCOUNT_1, ctx={"s3:x-amz-acl": "public-read"}),
             "Allow"),
            (request("s3:PutObjectAcl", "a.txt", ACCOUNT_2, ctx={"s3:x-amz-acl": "public-read"}),
             "Allow"),
            (request("s3:PutObject", "a.txt", ACCOUNT_1, ctx={"s3:x-amz-acl": "private"}), None),
            (request("s3:PutObject", "a.txt", ACCOUNT_1), None),  # no ACL header: key absent
            (request("s3:PutObject", "a.txt", OTHER_ACCOUNT,
                     ctx={"s3:x-amz-acl": "public-read"}), None),
            (request("s3:PutObject", "a.txt", ctx={"s3:x-amz-acl": "public-read"}), None),
            (request("s3:GetObject", "a.txt", ACCOUNT_1, ctx={"s3:x-amz-acl": "public-read"}),
             None),
        ]),
    "read-only permission to anonymous users": (
        document({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                  "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": [OBJECTS]}),
        [
            (request("s3:GetObject", "index.html"), "Allow"),
            (request("s3:GetObject", "deep/path/with spaces/ü.txt", JOHN), "Allow"),
            (request("s3:GetObjectVersion", "index.html"), "Allow"),
            (request("S3:getobject", "index.html"), "Allow"),  # action names ignore case
            (request("s3:PutObject", "index.html"), None),
            (request("s3:ListBucket"), None),  # the bucket itself is not bucket/*
            (request("s3:GetObject", "index.html", bucket="other-bucket"), None),
        ]),
    "deny outside an IPv4 range": (
        document({"Sid": "IPAllow", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                  "Resource": [THE_BUCKET, OBJECTS],
                  "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}),
        [
            (request("s3:GetObject", "k", JOHN, aws__SourceIp="192.0.2.7"), None),
            (request("s3:GetObject", "k", JOHN, aws__SourceIp="203.0.113.1"), "Deny"),
            (request("s3:ListBucket", None, JOHN, aws__SourceIp="203.0.113.1"), "Deny"),
            (request("s3:GetObject", "k", aws__SourceIp="2001:db8::1"), "Deny"),
            # a dual-stack socket reports IPv4 clients as IPv4-mapped IPv6
            (request("s3:GetObject", "k", aws__SourceIp="::ffff:192.0.2.7"), None),
            (request("s3:GetObject", "k", aws__SourceIp="::ffff:203.0.113.1"), "Deny"),
        ]),
    "allow IPv4 and IPv6 ranges, minus two narrower ones": (
        document({"Sid": "AllowIPmix", "Effect": "Allow", "Principal": "*", "Action": "s3:*",
                  "Resource": [THE_BUCKET, OBJECTS],
                  "Condition": {
                      "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:DB8:1234:5678::/64"]},
                      "NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24",
                                                        "2001:DB8:1234:5678:ABCD::/80"]}}}),
        [
            (request("s3:GetObject", "k", aws__SourceIp="192.0.2.1"), "Allow"),
            (request("s3:GetObject", "k", aws__SourceIp="2001:DB8:1234:5678::1"), "Allow"),
            (request("s3:GetObject", "k", aws__SourceIp="203.0.113.1"), None),
            (request("s3:GetObject", "k", aws__SourceIp="2001:DB8:1234:5678:ABCD::1"), None),
            (request("s3:GetObject", "k"), None),  # no source address known
        ]),
    "only HTTPS, beside a public read": (
        document(
            {"Sid": "RestrictToTLSRequestsOnly", "Action": "s3:*", "Effect": "Deny",
             "Resource": [THE_BUCKET, OBJECTS],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}, "Principal": "*"},
            {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
             "Action": "s3:GetObject", "Resource": OBJECTS}),
        [
            (request("s3:GetObject", "k", aws__SecureTransport=True), "Allow"),
            (request("s3:GetObject", "k", aws__SecureTransport=False), "Deny"),  # deny wins
            (request("s3:PutObject", "k", JOHN, aws__SecureTransport=False), "Deny"),
            (request("s3:GetObject", "k"), "Allow"),  # Bool on an absent key is false
        ]),
    "a specific HTTP referer": (
        document({"Sid": "Allow only GET requests originating from www.example.com and "
                         "example.com.", "Effect": "Allow", "Principal": "*",
                  "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": OBJECTS,
                  "Condition": {"StringLike": {"aws:Referer": ["http://www.example.com/*",
                                                               "http://example.com/*"]}}}),
        [
            (request("s3:GetObject", "cat.jpg", aws__Referer="http://www.example.com/a/b"),
             "Allow"),
            (request("s3:GetObject", "cat.jpg", aws__Referer="http://example.com/"), "Allow"),
            (request("s3:GetObject", "cat.jpg", aws__Referer="http://example.com.evil/"), None),
            (request("s3:GetObject", "cat.jpg", aws__Referer="HTTP://EXAMPLE.COM/"), None),
            (request("s3:GetObject", "cat.jpg"), None),
        ]),
    "read only objects tagged environment: production": (
        document({"Principal": {"AWS": ["arn:aws:iam::111122223333:role/JohnDoe"]},
                  "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                  "Resource": OBJECTS,
                  "Condition": {"StringEquals": {"s3:ExistingObjectTag/environment":
                                                 "production"}}}),
        [
            (request("s3:GetObject", "r", JOHN_ROLE,
                     ctx={"s3:ExistingObjectTag/environment": "production"}), "Allow"),
            (request("s3:GetObject", "r", JOHN_ROLE,
                     ctx={"s3:ExistingObjectTag/environment": "staging"}), None),
            # tag keys are case-sensitive in S3
            (request("s3:GetObject", "r", JOHN_ROLE,
                     ctx={"s3:ExistingObjectTag/Environment": "production"}), None),
            (request("s3:GetObject", "r", JOHN_ROLE), None),
            (request("s3:GetObject", "r", JOHN,
                     ctx={"s3:ExistingObjectTag/environment": "production"}), None),
        ]),
    "restrict which tag keys may be added (ForAnyValue)": (
        document({"Principal": {"AWS": ["arn:aws:iam::111122223333:role/JohnDoe"]},
                  "Effect": "Allow", "Action": ["s3:PutObjectTagging"], "Resource": [OBJECTS],
                  "Condition": {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": [
                      "Owner", "CreationDate"]}}}),
        [
            (request("s3:PutObjectTagging", "r", JOHN_ROLE,
                     ctx={"s3:RequestObjectTagKeys": ["Owner"]}), "Allow"),
            (request("s3:PutObjectTagging", "r", JOHN_ROLE,
                     ctx={"s3:RequestObjectTagKeys": ["Owner", "Secret"]}), "Allow"),
            (request("s3:PutObjectTagging", "r", JOHN_ROLE,
                     ctx={"s3:RequestObjectTagKeys": ["Secret"]}), None),
            (request("s3:PutObjectTagging", "r", JOHN_ROLE), None),
        ]),
    "only these tag keys (ForAllValues, which an empty tag set passes)": (
        document({"Principal": {"AWS": "arn:aws:iam::111122223333:role/JohnDoe"},
                  "Effect": "Allow", "Action": "s3:PutObjectTagging", "Resource": OBJECTS,
                  "Condition": {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": [
                      "Owner", "CreationDate"]}}}),
        [
            (request("s3:PutObjectTagging", "r", JOHN_ROLE,
                     ctx={"s3:RequestObjectTagKeys": ["Owner", "CreationDate"]}), "Allow"),
            (request("s3:PutObjectTagging", "r", JOHN_ROLE,
                     ctx={"s3:RequestObjectTagKeys": ["Owner", "Secret"]}), None),
            (request("s3:PutObjectTagging", "r", JOHN_ROLE,
                     ctx={"s3:RequestObjectTagKeys": []}), "Allow"),
            (request("s3:PutObjectTagging", "r", JOHN_ROLE), "Allow"),
        ]),
    "a required tag on upload": (
        document({"Principal": {"AWS": ["arn:aws:iam::111122223333:user/JohnDoe"]},
                  "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [OBJECTS],
                  "Condition": {"StringEquals": {"s3:RequestObjectTag/Department": "Finance"}}}),
        [
            (request("s3:PutObject", "q3.csv", JOHN,
                     ctx={"s3:RequestObjectTag/Department": "Finance"}), "Allow"),
            (request("s3:PutObject", "q3.csv", JOHN,
                     ctx={"s3:RequestObjectTag/Department": "Sales"}), None),
            (request("s3:PutObject", "q3.csv", JOHN), None),
        ]),
    "only S3 server access log deliveries may write": (
        document(
            {"Sid": "AllowPutObjectS3ServerAccessLogsPolicy",
             "Principal": {"Service": "logging.s3.amazonaws.com"}, "Effect": "Allow",
             "Action": "s3:PutObject", "Resource": OBJECTS,
             "Condition": {"StringEquals": {"aws:SourceAccount": "111111111111"},
                           "ArnLike": {"aws:SourceArn": "arn:aws:s3:::EXAMPLE-SOURCE-BUCKET"}}},
            {"Sid": "RestrictToS3ServerAccessLogs", "Effect": "Deny", "Principal": "*",
             "Action": "s3:PutObject", "Resource": OBJECTS,
             "Condition": {"ForAllValues:StringNotEquals": {
                 "aws:PrincipalServiceNamesList": "logging.s3.amazonaws.com"}}}),
        [
            # post3 has no service principals: every writer is refused, as AWS refuses users
            (request("s3:PutObject", "log", JOHN), "Deny"),
            (request("s3:PutObject", "log"), "Deny"),
            (request("s3:PutObject", "log", JOHN,
                     ctx={"aws:PrincipalServiceNamesList": ["logging.s3.amazonaws.com"]}), None),
            (request("s3:GetObject", "log", JOHN), None),
        ]),
    "only principals of one organization": (
        document({"Sid": "AllowGetObject", "Principal": {"AWS": "*"}, "Effect": "Allow",
                  "Action": "s3:GetObject", "Resource": OBJECTS,
                  "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["o-aa111bb222"]}}}),
        [
            (request("s3:GetObject", "k", JOHN, aws__PrincipalOrgID="o-aa111bb222"), "Allow"),
            (request("s3:GetObject", "k", JOHN, aws__PrincipalOrgID="o-other"), None),
            (request("s3:GetObject", "k"), None),
        ]),
    "each user to a home folder": (
        document(
            {"Sid": "AllowRootAndHomeListingOfCompanyBucket",
             "Principal": {"AWS": ["arn:aws:iam::111122223333:user/JohnDoe"]}, "Effect": "Allow",
             "Action": ["s3:ListBucket"], "Resource": [THE_BUCKET],
             "Condition": {"StringEquals": {"s3:prefix": ["", "home/", "home/JohnDoe"],
                                            "s3:delimiter": ["/"]}}},
            {"Sid": "AllowListingOfUserFolder",
             "Principal": {"AWS": ["arn:aws:iam::111122223333:user/JohnDoe"]},
             "Action": ["s3:ListBucket"], "Effect": "Allow", "Resource": [THE_BUCKET],
             "Condition": {"StringLike": {"s3:prefix": ["home/JohnDoe/*"]}}},
            {"Sid": "AllowAllS3ActionsInUserFolder", "Effect": "Allow",
             "Principal": {"AWS": ["arn:aws:iam::111122223333:user/JohnDoe"]},
             "Action": ["s3:*"], "Resource": [f"arn:aws:s3:::{BUCKET}/home/JohnDoe/*"]}),
        [
            (request("s3:ListBucket", None, JOHN, s3__prefix="", s3__delimiter="/"), "Allow"),
            (request("s3:ListBucket", None, JOHN, s3__prefix="home/", s3__delimiter="/"),
             "Allow"),
            (request("s3:ListBucket", None, JOHN, s3__prefix="home/"), None),  # no delimiter
            (request("s3:ListBucket", None, JOHN, s3__prefix="home/JohnDoe/photos/"), "Allow"),
            (request("s3:ListBucket", None, JOHN, s3__prefix="home/Jane/"), None),
            (request("s3:ListBucket", None, JOHN), None),  # no prefix at all
            (request("s3:GetObject", "home/JohnDoe/tax.pdf", JOHN), "Allow"),
            (request("s3:DeleteObject", "home/JohnDoe/a/b", JOHN), "Allow"),
            (request("s3:PutObject", "home/Jane/tax.pdf", JOHN), None),
            (request("s3:GetObject", "home/JohnDoe/tax.pdf", ANA), None),
        ]),
    "home folders through ${aws:username} (IAM guide)": (
        document(
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": THE_BUCKET,
             "Principal": "*",
             "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}},
            {"Effect": "Allow", "Action": "s3:*", "Principal": "*",
             "Resource": [f"arn:aws:s3:::{BUCKET}/home/${{aws:username}}",
                          f"arn:aws:s3:::{BUCKET}/home/${{aws:username}}/*"]}),
        [
            (request("s3:GetObject", "home/David/cv.pdf", JOHN, aws__username="David"), "Allow"),
            (request("s3:GetObject", "home/David", JOHN, aws__username="David"), "Allow"),
            (request("s3:GetObject", "home/Eve/cv.pdf", JOHN, aws__username="David"), None),
            (request("s3:GetObject", "home/David/cv.pdf"), None),  # anonymous: no user name
            # a user name is literal text, never a wildcard
            (request("s3:GetObject", "home/David/cv.pdf", JOHN, aws__username="*"), None),
            (request("s3:ListBucket", None, JOHN, aws__username="David",
                     s3__prefix="home/David/"), "Allow"),
            (request("s3:ListBucket", None, JOHN, aws__username="David",
                     s3__prefix="home/Eve/"), None),
        ]),
    "MFA required under taxdocuments/, public read elsewhere": (
        document(
            {"Sid": "", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": f"arn:aws:s3:::{BUCKET}/taxdocuments/*",
             "Condition": {"Null": {"aws:MultiFactorAuthAge": True}}},
            {"Sid": "", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": f"arn:aws:s3:::{BUCKET}/taxdocuments/*",
             "Condition": {"NumericGreaterThan": {"aws:MultiFactorAuthAge": 3600}}},
            {"Sid": "", "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
             "Resource": OBJECTS}),
        [
            (request("s3:GetObject", "taxdocuments/2024.pdf"), "Deny"),
            (request("s3:GetObject", "taxdocuments/2024.pdf", aws__MultiFactorAuthAge=100),
             "Allow"),
            (request("s3:GetObject", "taxdocuments/2024.pdf", aws__MultiFactorAuthAge=7200),
             "Deny"),
            (request("s3:GetObject", "photos/cat.jpg"), "Allow"),
        ]),
    "cross-account upload only with bucket-owner-full-control": (
        document({"Sid": "PolicyForAllowUploadWithACL", "Effect": "Allow",
                  "Principal": {"AWS": "111122223333"}, "Action": "s3:PutObject",
                  "Resource": OBJECTS,
                  "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}),
        [
            (request("s3:PutObject", "k", ACCOUNT_1,
                     ctx={"s3:x-amz-acl": "bucket-owner-full-control"}), "Allow"),
            (request("s3:PutObject", "k", ACCOUNT_1, ctx={"s3:x-amz-acl": "private"}), None),
            (request("s3:PutObject", "k", ACCOUNT_2,
                     ctx={"s3:x-amz-acl": "bucket-owner-full-control"}), None),
        ]),
    "an inventory report only for Ana": (
        document(
            {"Sid": "AllowListBucket", "Action": ["s3:ListBucket"], "Effect": "Allow",
             "Resource": [THE_BUCKET, OBJECTS],
             "Principal": {"AWS": ["arn:aws:iam::111122223333:user/Ana"]}},
            {"Sid": "AllowACertainUserToReadObject", "Action": ["s3:GetObject"],
             "Effect": "Allow", "Resource": f"arn:aws:s3:::{BUCKET}/INVENTORY/*",
             "Principal": {"AWS": ["arn:aws:iam::111122223333:user/Ana"]}},
            {"Sid": "DenyAllTheOtherUsersToReadObject", "Action": ["s3:GetObject"],
             "Effect": "Deny", "Resource": f"arn:aws:s3:::{BUCKET}/INVENTORY/*",
             "Principal": {"AWS": "*"},
             "Condition": {"ArnNotEquals": {
                 "aws:PrincipalArn": "arn:aws:iam::111122223333:user/Ana"}}}),
        [
            (request("s3:GetObject", "INVENTORY/manifest.json", ANA,
                     aws__PrincipalArn="arn:aws:iam::111122223333:user/Ana"), "Allow"),
            (request("s3:GetObject", "INVENTORY/manifest.json", BOB,
                     aws__PrincipalArn="arn:aws:iam::111122223333:user/Bob"), "Deny"),
            (request("s3:GetObject", "INVENTORY/manifest.json"), "Deny"),  # no ARN: not Ana
            (request("s3:ListBucket", None, ANA), "Allow"),
            (request("s3:GetObject", "elsewhere.txt", ANA), None),
        ]),
    "SSE-KMS required, with one key": (
        document(
            {"Sid": "DenyObjectsThatAreNotSSEKMS", "Principal": "*", "Effect": "Deny",
             "Action": "s3:PutObject", "Resource": OBJECTS,
             "Condition": {"Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"}}},
            {"Sid": "DenyObjectsThatAreNotSSEKMSWithSpecificKey", "Principal": "*",
             "Effect": "Deny", "Action": "s3:PutObject", "Resource": OBJECTS,
             "Condition": {"ArnNotEqualsIfExists": {
                 "s3:x-amz-server-side-encryption-aws-kms-key-id":
                     "arn:aws:kms:us-east-2:111122223333:key/01234567-89ab-cdef"}}}),
        [
            (request("s3:PutObject", "k", JOHN), "Deny"),
            (request("s3:PutObject", "k", JOHN, ctx={
                "s3:x-amz-server-side-encryption-aws-kms-key-id":
                    "arn:aws:kms:us-east-2:111122223333:key/01234567-89ab-cdef"}), None),
            (request("s3:PutObject", "k", JOHN, ctx={
                "s3:x-amz-server-side-encryption-aws-kms-key-id":
                    "arn:aws:kms:us-east-2:111122223333:key/other"}), "Deny"),
        ]),
    "explicit deny of deletes beside a grant (Amazon S3 actions page)": (
        document(
            {"Sid": "statement1", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::111122223333:user/Dave"},
             "Action": ["s3:GetObjectVersion", "s3:GetBucketAcl"],
             "Resource": [THE_BUCKET, OBJECTS]},
            {"Sid": "statement2", "Effect": "Deny",
             "Principal": {"AWS": "arn:aws:iam::111122223333:user/Dave"},
             "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion",
                        "s3:PutLifecycleConfiguration"],
             "Resource": [THE_BUCKET, OBJECTS]}),
        [
            (request("s3:GetObjectVersion", "k", DAVE), "Allow"),
            (request("s3:GetBucketAcl", None, DAVE), "Allow"),
            (request("s3:DeleteObject", "k", DAVE), "Deny"),
            (request("s3:PutLifecycleConfiguration", None, DAVE), "Deny"),
            (request("s3:GetObject", "k", DAVE), None),
            (request("s3:DeleteObject", "k", ANA), None),
        ]),
    "S3 Inventory and analytics writes from one source bucket": (
        document({"Sid": "InventoryAndAnalyticsExamplePolicy", "Effect": "Allow",
                  "Principal": {"Service": "s3.amazonaws.com"}, "Action": "s3:PutObject",
                  "Resource": [OBJECTS],
                  "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::SOURCE-BUCKET"},
                                "StringEquals": {"aws:SourceAccount": "111122223333",
                                                 "s3:x-amz-acl": "bucket-owner-full-control"}}}),
        [
            # a service principal is never a post3 requester, whatever the request carries
            (request("s3:PutObject", "inv", ACCOUNT_1, ctx={
                "aws:SourceArn": "arn:aws:s3:::SOURCE-BUCKET",
                "aws:SourceAccount": "111122223333",
                "s3:x-amz-acl": "bucket-owner-full-control"}), None),
        ]),
}

CASES = [pytest.param(EXAMPLES[name][0], req, expected, id=f"{name} #{i}")
         for name in EXAMPLES for i, (req, expected) in enumerate(EXAMPLES[name][1])]


@pytest.mark.parametrize(("policy", "req", "expected"), CASES)
def test_aws_example(policy, req, expected):
    decision = evaluate(parse_policy(policy, BUCKET), req)
    assert decision.effect == expected, str(decision)


def test_decision_names_the_deciding_statement():
    policy = parse_policy(EXAMPLES["only HTTPS, beside a public read"][0], BUCKET)
    denied = evaluate(policy, request("s3:GetObject", "k", aws__SecureTransport=False))
    allowed = evaluate(policy, request("s3:GetObject", "k", aws__SecureTransport=True))
    undecided = evaluate(policy, request("s3:PutObject", "k", aws__SecureTransport=True))
    assert str(denied) == "Deny by statement 1 (Sid 'RestrictToTLSRequestsOnly')"
    assert str(allowed) == "Allow by statement 2 (Sid 'PublicRead')"
    assert str(undecided) == "no statement applies"
    assert denied.statement is policy.statements[0] and undecided.statement is None


def test_anonymous_is_nobody_in_particular():
    assert ANONYMOUS.anonymous and not JOHN.anonymous
