"""Who may do what, as users set it up: boto3 with the keys of two users (alice owns the
buckets, bob is another team) and anonymous ``curl``, against a live server on the filesystem
and on PostgreSQL.

The scenarios are the ones S3's user guide walks through: a public-read bucket (bucket policy
examples, "Granting read-only permission to a public anonymous user"); a key that may write
only under a prefix; a bucket another user may read, by ACL and by policy; an explicit Deny
that beats an Allow; Block Public Access overriding a public policy; and BucketOwnerEnforced
ignoring object ACLs ("Controlling ownership of objects and disabling ACLs").
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.sdk.test_sdk_object_lock import Server, server  # noqa: F401 - fixture
from tests.sdk.test_sdk_owners import user_key

PROPAGATION = 1.5  # seconds: bucket access settings are cached for one second per process


def curl(url: str, *args: str) -> int:
    """The HTTP status of an anonymous request made by curl."""
    result = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *args, url],
                            capture_output=True, text=True, timeout=30, check=True)
    return int(result.stdout)


def code_of(call) -> str:  # noqa: ANN001
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response["Error"]["Code"]


def eventually(check, timeout: float = 3 * PROPAGATION) -> bool:  # noqa: ANN001
    """Bucket settings reach the other worker within the cache's second."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.fixture
def owned(server: Server):  # noqa: ANN201, F811
    """A bucket of alice's, with alice's key (owner grant) and bob's key (no grant on it)."""
    bucket = f"pol-{uuid.uuid4().hex[:12]}"
    alice = user_key(server, "alice", f"{bucket}:owner")
    bob = user_key(server, "bob")
    alice.create_bucket(Bucket=bucket)
    alice.put_object(Bucket=bucket, Key="report.txt", Body=b"numbers")
    return bucket, alice, bob


def public_read(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
        "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]}]})


def test_a_public_read_bucket_serves_anonymous_gets_and_refuses_anonymous_puts(
        server: Server, owned) -> None:  # noqa: ANN001, F811
    bucket, alice, _ = owned
    url = f"{server.running.endpoint}/{bucket}/report.txt"
    assert curl(url) == 403
    # new buckets block public access: the public policy is refused until it is turned off
    assert code_of(lambda: alice.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))) \
        == "AccessDenied"
    alice.delete_public_access_block(Bucket=bucket)
    alice.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    assert alice.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    assert eventually(lambda: curl(url) == 200)
    assert curl(url, "-X", "PUT", "--data-binary", "overwritten") == 403
    assert curl(f"{server.running.endpoint}/{bucket}?list-type=2") == 403
    assert curl(f"{server.running.endpoint}/{bucket}/report.txt", "-X", "DELETE") == 403
    body = alice.get_object(Bucket=bucket, Key="report.txt")["Body"].read()
    assert body == b"numbers"
    # and once the policy goes, so does the access
    alice.delete_bucket_policy(Bucket=bucket)
    assert eventually(lambda: curl(url) == 403)


def test_blocked_public_access_overrides_a_public_policy(server: Server, owned) -> None:  # noqa: ANN001, F811
    bucket, alice, _ = owned
    url = f"{server.running.endpoint}/{bucket}/report.txt"
    alice.delete_public_access_block(Bucket=bucket)
    alice.put_bucket_policy(Bucket=bucket, Policy=public_read(bucket))
    assert eventually(lambda: curl(url) == 200)
    alice.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    assert eventually(lambda: curl(url) == 403)
    assert alice.get_bucket_policy(Bucket=bucket)["Policy"]  # kept, not honoured


def test_a_prefix_limited_write_policy(server: Server, owned) -> None:  # noqa: ANN001, F811
    bucket, alice, bob = owned
    alice.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/bob"},
            "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/uploads/*"}]}))
    assert eventually(lambda: _may(lambda: bob.put_object(
        Bucket=bucket, Key="uploads/a.csv", Body=b"a")))
    assert code_of(lambda: bob.put_object(Bucket=bucket, Key="report.txt", Body=b"x")) == \
        "AccessDenied"
    assert code_of(lambda: bob.get_object(Bucket=bucket, Key="uploads/a.csv")) == "AccessDenied"
    assert code_of(lambda: bob.delete_object(Bucket=bucket, Key="uploads/a.csv")) == \
        "AccessDenied"
    assert alice.get_object(Bucket=bucket, Key="report.txt")["Body"].read() == b"numbers"


def test_a_cross_user_read_grant_by_policy(server: Server, owned) -> None:  # noqa: ANN001, F811
    bucket, alice, bob = owned
    assert code_of(lambda: bob.get_object(Bucket=bucket, Key="report.txt")) == "AccessDenied"
    alice.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::000000000000:user/bob"]},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}))
    assert eventually(lambda: _may(lambda: bob.get_object(Bucket=bucket, Key="report.txt")))
    assert [o["Key"] for o in bob.list_objects_v2(Bucket=bucket)["Contents"]] == ["report.txt"]
    assert code_of(lambda: bob.put_object(Bucket=bucket, Key="x", Body=b"x")) == "AccessDenied"


def test_a_cross_user_read_grant_by_acl(server: Server, owned) -> None:  # noqa: ANN001, F811
    bucket, alice, bob = owned
    bob_id = bob.list_buckets()["Owner"]["ID"]
    # ACLs are disabled (BucketOwnerEnforced) until the owner enables them
    assert code_of(lambda: alice.put_object_acl(
        Bucket=bucket, Key="report.txt", GrantRead=f'id="{bob_id}"')) == \
        "AccessControlListNotSupported"
    alice.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
    alice.put_object_acl(Bucket=bucket, Key="report.txt", GrantRead=f'id="{bob_id}"')
    grants = alice.get_object_acl(Bucket=bucket, Key="report.txt")["Grants"]
    assert {"Grantee": {"ID": bob_id, "Type": "CanonicalUser"}, "Permission": "READ"} in grants
    assert eventually(lambda: _may(lambda: bob.get_object(Bucket=bucket, Key="report.txt")))
    assert code_of(lambda: bob.list_objects_v2(Bucket=bucket)) == "AccessDenied"
    alice.put_bucket_acl(Bucket=bucket, GrantRead=f'id="{bob_id}"')
    assert eventually(lambda: _may(lambda: bob.list_objects_v2(Bucket=bucket)))


def test_bucket_owner_enforced_ignores_object_acls(server: Server, owned) -> None:  # noqa: ANN001, F811
    bucket, alice, bob = owned
    bob_id = bob.list_buckets()["Owner"]["ID"]
    alice.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    alice.put_object(Bucket=bucket, Key="shared.txt", Body=b"s", GrantRead=f'id="{bob_id}"')
    assert eventually(lambda: _may(lambda: bob.get_object(Bucket=bucket, Key="shared.txt")))
    alice.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert eventually(lambda: not _may(lambda: bob.get_object(Bucket=bucket, Key="shared.txt")))
    owner = alice.get_object_acl(Bucket=bucket, Key="shared.txt")
    assert [g["Permission"] for g in owner["Grants"]] == ["FULL_CONTROL", "READ"]  # kept
    assert code_of(lambda: alice.put_object(Bucket=bucket, Key="p", Body=b"p",
                                            ACL="public-read")) == "AccessControlListNotSupported"


def test_a_deny_beats_an_allow(server: Server, owned) -> None:  # noqa: ANN001, F811
    bucket, alice, bob = owned
    alice.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/bob"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
            {"Sid": "NoReports", "Effect": "Deny", "Principal": "*",
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/report.*"}]}))
    alice.put_object(Bucket=bucket, Key="notes.txt", Body=b"n")
    assert eventually(lambda: _may(lambda: bob.get_object(Bucket=bucket, Key="notes.txt")))
    assert code_of(lambda: bob.get_object(Bucket=bucket, Key="report.txt")) == "AccessDenied"
    # the Deny names everyone: alice's own key, whose grant allows it, is refused too
    assert code_of(lambda: alice.get_object(Bucket=bucket, Key="report.txt")) == "AccessDenied"
    assert server.s3.get_object(Bucket=bucket, Key="report.txt")["Body"].read() == b"numbers"


def test_delete_objects_is_decided_key_by_key(server: Server, owned) -> None:  # noqa: ANN001, F811
    """S3 authorizes each key of a DeleteObjects as a DeleteObject of its own."""
    bucket, alice, bob = owned
    alice.put_object(Bucket=bucket, Key="tmp/a", Body=b"a")
    alice.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/bob"},
             "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/tmp/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
             "Resource": f"arn:aws:s3:::{bucket}/report.txt"}]}))
    time.sleep(PROPAGATION)
    result = bob.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "tmp/a"}, {"Key": "report.txt"}]})
    assert [d["Key"] for d in result.get("Deleted", [])] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("report.txt", "AccessDenied")]
    # the Deny holds for the owner's key too, whose grant would allow it
    result = alice.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "report.txt"}]})
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("report.txt", "AccessDenied")]
    assert alice.get_object(Bucket=bucket, Key="report.txt")["Body"].read() == b"numbers"


def test_a_presigned_url_carries_exactly_its_key_s_rights(server: Server, owned) -> None:  # noqa: ANN001, F811
    bucket, alice, bob = owned
    reader = user_key(server, "carol", f"{bucket}:read")
    params = {"Bucket": bucket, "Key": "report.txt"}
    assert curl(alice.generate_presigned_url("get_object", Params=params)) == 200
    assert curl(reader.generate_presigned_url("get_object", Params=params)) == 200
    assert curl(bob.generate_presigned_url("get_object", Params=params)) == 403
    put = reader.generate_presigned_url("put_object", Params=params)
    assert curl(put, "-X", "PUT", "--data-binary", "overwritten") == 403
    assert alice.get_object(**params)["Body"].read() == b"numbers"


def test_a_malformed_policy_is_refused_with_the_reason(owned) -> None:  # noqa: ANN001
    bucket, alice, _ = owned
    with pytest.raises(ClientError) as raised:
        alice.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::another-bucket/*"}]}))
    error = raised.value.response["Error"]
    assert error["Code"] == "MalformedPolicy" and error["Message"]


def _may(call) -> bool:  # noqa: ANN001
    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AccessDenied":
            raise
        return False
    return True


def test_every_decision_is_explained_at_debug_level(tmp_path) -> None:  # noqa: ANN001
    """``--log-level debug``: the statement, grant or rule that decided each request."""
    from tests.conftest import start_server
    from tests.sdk.test_sdk_object_lock import client

    running = start_server("filesystem", {"root": str(tmp_path / "data"), "fsync": "false"},
                           workdir=tmp_path, args=("--log-level", "debug"))
    try:
        s3 = client(running.endpoint)
        s3.create_bucket(Bucket="explained")
        s3.delete_public_access_block(Bucket="explained")
        s3.put_bucket_policy(Bucket="explained", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Sid": "Downloads", "Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::explained/pub/*"}]}))
        s3.put_object(Bucket="explained", Key="pub/a", Body=b"a")
        assert curl(f"{running.endpoint}/explained/pub/a") == 200
        assert curl(f"{running.endpoint}/explained/secret") == 403
    finally:
        running.stop()
    log = running.stderr()
    assert re.search(r"GetObject on explained/pub/a: anonymous allowed: Allow by statement "
                     r".*Downloads", log), log[-2000:]
    assert "GetObject on explained/secret: anonymous refused" in log
