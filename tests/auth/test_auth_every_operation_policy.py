"""Every operation the router knows, sent with a valid signature by a user whose only right on
the bucket is a bucket-policy statement allowing ``s3:GetObject``, and anonymously while a
public ACL grants everyone READ but the public access block ignores it: only what S3
authorizes as ``s3:GetObject`` (GetObject, HeadObject, SelectObjectContent) gets through;
everything else is ``403 AccessDenied``, and nothing stored changes.

The operations come from :data:`post3.api.router.ROUTES`, so an operation added later is
covered without being named; the requests are the same as the unauthenticated-shape test's.
"""

from __future__ import annotations

import json
import re
import time
import uuid

from post3.api.router import ROUTES
from tests.auth.test_auth_every_operation import (
    OBJECT,
    Victim,
    api_state,
    botocore_signed,
    plain_request,
    send,
)
from tests.sdk.test_sdk_object_lock import Server, server  # noqa: F401 - fixture

#: what s3:GetObject authorizes (SelectObjectContent too, as in S3: post3 then answers 501)
ALLOWED = {"GetObject", "HeadObject", "SelectObjectContent"}


def _key(live: Server, user: str) -> tuple[str, str]:
    result = live.command("keys", "create", "--user", user)
    assert result.returncode == 0, result.stderr
    key_id = re.search(r"^Access key ID:\s+(\S+)$", result.stdout, re.M)
    secret = re.search(r"^Secret access key:\s+(\S+)$", result.stdout, re.M)
    assert key_id and secret
    return key_id.group(1), secret.group(1)


def test_a_policy_allows_exactly_what_it_says_on_every_operation(server: Server) -> None:  # noqa: F811
    s3 = server.s3
    bucket = f"policy-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerPreferred")
    s3.put_object(Bucket=bucket, Key=OBJECT, Body=b"the original bytes", Tagging="keep=yes")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=OBJECT)["UploadId"]
    s3.upload_part(Bucket=bucket, Key=OBJECT, UploadId=upload_id, PartNumber=1, Body=b"part")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/reader"},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    # everyone may READ, by ACL; then the public access block goes on with IgnorePublicAcls,
    # so that grant must count for nothing
    open_block = {"BlockPublicAcls": False, "IgnorePublicAcls": False,
                  "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=open_block)
    s3.put_bucket_acl(Bucket=bucket,
                      GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"')
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        name: True for name in open_block})
    time.sleep(1.5)  # the other worker's one-second cache of the bucket's settings
    key_id, secret = _key(server, "reader")
    victim = Victim(bucket, upload_id)
    endpoint = server.running.endpoint
    before = api_state(endpoint, victim)
    failures = []
    for route in ROUTES:
        if route.operation in ("OptionsObject", "ListBuckets"):
            continue  # a preflight takes no credentials; ListBuckets needs no bucket right
        base = plain_request(route, victim)
        signed = botocore_signed(endpoint, base, key_id, secret)
        for who, attempt in (("reader", signed), ("anonymous", base)):
            if route.operation == "PostObject":
                continue  # a browser form: its policy is what is signed (test_auth_live_post)
            answer = send(endpoint, attempt)
            allowed = who == "reader" and route.operation in ALLOWED
            if allowed and answer.status == 403:
                failures.append(f"{who} {route.operation}: {answer.status} {answer.code}")
            if not allowed and (answer.status, answer.code) != (403, "AccessDenied") \
                    and not (route.method == "HEAD" and answer.status == 403):
                failures.append(f"{who} {route.operation}: {answer.status} {answer.code}")
    assert not failures, "\n".join(failures)
    assert api_state(endpoint, victim) == before
