"""Owners as S3 clients see them: keys of two users (``post3 keys create --user``) against a
live server on the filesystem and on PostgreSQL. ListBuckets names the requester as
``Owner``; a bucket is owned by the user whose key created it, and GetBucketAcl,
GetObjectAcl, ListObjectsV2 with ``FetchOwner``, ListObjects and ListObjectVersions name that
owner (every object of a bucket is its owner's, as under S3's BucketOwnerEnforced); the keys
of one user share its canonical id."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.sdk.test_sdk_object_lock import Server, client, server  # noqa: F401 - fixture


def user_key(live: Server, user: str, *grants: str):  # noqa: ANN201
    """A client for a new key of ``user`` with ``--allow`` grants."""
    result = live.command("keys", "create", "--user", user,
                            *(a for g in grants for a in ("--allow", g)))
    assert result.returncode == 0, result.stderr
    key_id = re.search(r"^Access key ID:\s+(\S+)$", result.stdout, re.M)
    secret = re.search(r"^Secret access key:\s+(\S+)$", result.stdout, re.M)
    assert key_id and secret, result.stdout
    assert f"user {user}" in result.stdout
    return client(live.running.endpoint, key_id.group(1), secret.group(1))


def test_buckets_and_objects_show_the_user_who_owns_them(server: Server) -> None:  # noqa: F811
    bucket = f"own-{uuid.uuid4().hex[:12]}"
    alice = user_key(server, "alice", f"{bucket}:owner")
    alice_again = user_key(server, "alice", f"{bucket}:read")
    bob = user_key(server, "bob", f"{bucket}:read")
    alice.create_bucket(Bucket=bucket)
    alice.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    alice.put_object(Bucket=bucket, Key="k", Body=b"x")

    owner = alice.get_bucket_acl(Bucket=bucket)["Owner"]
    assert owner["DisplayName"] == "alice" and re.fullmatch(r"[0-9a-f]{64}", owner["ID"])
    grant = alice.get_bucket_acl(Bucket=bucket)["Grants"]
    assert grant == [{"Grantee": {**owner, "Type": "CanonicalUser"},
                      "Permission": "FULL_CONTROL"}]
    assert bob.get_object_acl(Bucket=bucket, Key="k")["Owner"] == owner
    listed = bob.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
    assert [item["Owner"] for item in listed] == [owner]
    assert "Owner" not in bob.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert [item["Owner"] for item in bob.list_objects(Bucket=bucket)["Contents"]] == [owner]
    assert [v["Owner"] for v in bob.list_object_versions(Bucket=bucket)["Versions"]] == [owner]

    # ListBuckets names whoever asks; keys of one user are one owner
    assert alice_again.list_buckets()["Owner"] == owner
    bob_owner = bob.list_buckets()["Owner"]
    assert bob_owner["DisplayName"] == "bob" and bob_owner["ID"] != owner["ID"]
    assert [b["Name"] for b in bob.list_buckets()["Buckets"]] == [bucket]
    # a name another user owns is taken; the owner's own retry is answered as before
    bob_admin = user_key(server, "bob", f"{bucket}:owner")
    with pytest.raises(Exception) as raised:
        bob_admin.create_bucket(Bucket=bucket)
    assert "BucketAlreadyExists" in str(raised.value)
    alice.create_bucket(Bucket=bucket)  # us-east-1: creating your own bucket succeeds
    # the root key's user owns what it makes
    server.s3.create_bucket(Bucket=bucket + "-root")
    assert server.s3.get_bucket_acl(Bucket=bucket + "-root")["Owner"]["DisplayName"] == "post3"


def test_with_acls_disabled_only_the_owner_s_full_control_can_be_put(server: Server) -> None:  # noqa: F811
    bucket = f"own-{uuid.uuid4().hex[:12]}"
    carol = user_key(server, "carol", f"{bucket}:owner")
    carol.create_bucket(Bucket=bucket)
    policy = carol.get_bucket_acl(Bucket=bucket)
    carol.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
        "Owner": policy["Owner"], "Grants": policy["Grants"]})
    other = dict(policy["Grants"][0], Grantee={"ID": "0" * 64, "Type": "CanonicalUser"})
    with pytest.raises(Exception) as raised:
        carol.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
            "Owner": policy["Owner"], "Grants": [other]})
    assert "AccessControlListNotSupported" in str(raised.value)  # ACLs are disabled
