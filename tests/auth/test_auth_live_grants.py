"""Keys made with ``post3 keys`` against the data root of a running filesystem server: each
key gets as far as its grants and no further, changes reach the running server within
seconds, and the CLI prints a secret only when it creates it."""

from __future__ import annotations

import re
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError

#: The server caches a found key for 5 s; a change must show within this.
PROPAGATION = 8.0


@dataclass
class Key:
    access_key_id: str
    secret: str
    created_output: str


def create_key(api, *args: str) -> Key:  # type: ignore[no-untyped-def]
    result = api.keys("create", *args)
    assert result.returncode == 0, result.stderr
    key_id = re.search(r"^Access key ID:\s+(\S+)$", result.stdout, re.M)
    secret = re.search(r"^Secret access key:\s+(\S+)$", result.stdout, re.M)
    assert key_id and secret, result.stdout
    return Key(key_id.group(1), secret.group(1), result.stdout + result.stderr)


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response["Error"]["Code"]


def eventually(check: Callable[[], bool], timeout: float = PROPAGATION) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)


@pytest.fixture(scope="module")
def buckets(api) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Two buckets with one object each, made with the root key."""
    names = (f"grant-a-{uuid.uuid4().hex[:12]}", f"grant-b-{uuid.uuid4().hex[:12]}")
    for name in names:
        api.root.create_bucket(Bucket=name)
        api.root.put_object(Bucket=name, Key="existing", Body=name.encode())
    yield names
    for name in names:
        for page in api.root.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", []):
                api.root.delete_object(Bucket=name, Key=item["Key"])
        api.root.delete_bucket(Bucket=name)


def test_a_read_key_reads_but_cannot_write(api, buckets):
    a, _ = buckets
    key = create_key(api, "--name", "reader", "--allow", f"{a}:read")
    client = api.client(key.access_key_id, key.secret)
    assert client.get_object(Bucket=a, Key="existing")["Body"].read() == a.encode()
    assert [o["Key"] for o in client.list_objects_v2(Bucket=a)["Contents"]] == ["existing"]
    assert client.head_bucket(Bucket=a)["ResponseMetadata"]["HTTPStatusCode"] == 200

    assert code_of(lambda: client.put_object(Bucket=a, Key="by-reader", Body=b"x")) \
        == "AccessDenied"
    assert api.stored(a, "by-reader") is None
    assert code_of(lambda: client.delete_object(Bucket=a, Key="existing")) == "AccessDenied"
    assert api.stored(a, "existing") == a.encode()
    assert code_of(lambda: client.copy_object(
        Bucket=a, Key="copied", CopySource={"Bucket": a, "Key": "existing"})) == "AccessDenied"
    assert api.stored(a, "copied") is None


def test_a_read_key_cannot_delete_in_bulk_or_start_uploads(api, buckets):
    a, _ = buckets
    key = create_key(api, "--allow", f"{a}:read")
    client = api.client(key.access_key_id, key.secret)
    assert code_of(lambda: client.delete_objects(
        Bucket=a, Delete={"Objects": [{"Key": "existing"}]})) == "AccessDenied"
    assert api.stored(a, "existing") == a.encode()
    assert code_of(lambda: client.create_multipart_upload(Bucket=a, Key="mpu")) \
        == "AccessDenied"
    assert api.root.list_multipart_uploads(Bucket=a).get("Uploads", []) == []
    # Uploading a part into someone else's upload needs write too.
    upload = api.root.create_multipart_upload(Bucket=a, Key="mpu")["UploadId"]
    try:
        assert code_of(lambda: client.upload_part(
            Bucket=a, Key="mpu", UploadId=upload, PartNumber=1, Body=b"x")) == "AccessDenied"
        assert api.root.list_parts(Bucket=a, Key="mpu", UploadId=upload).get("Parts", []) == []
        assert code_of(lambda: client.complete_multipart_upload(
            Bucket=a, Key="mpu", UploadId=upload, MultipartUpload={"Parts": []})) \
            == "AccessDenied"
    finally:
        api.root.abort_multipart_upload(Bucket=a, Key="mpu", UploadId=upload)
    assert api.stored(a, "mpu") is None


def test_a_key_is_denied_on_buckets_it_holds_no_grant_for(api, buckets):
    a, b = buckets
    key = create_key(api, "--allow", f"{a}:owner")
    client = api.client(key.access_key_id, key.secret)
    assert code_of(lambda: client.get_object(Bucket=b, Key="existing")) == "AccessDenied"
    assert code_of(lambda: client.list_objects_v2(Bucket=b)) == "AccessDenied"
    assert code_of(lambda: client.put_object(Bucket=b, Key="stray", Body=b"x")) \
        == "AccessDenied"
    assert api.stored(b, "stray") is None
    # A copy needs read on its source too: writing into a granted bucket is not enough.
    assert code_of(lambda: client.copy_object(
        Bucket=a, Key="from-b", CopySource={"Bucket": b, "Key": "existing"})) == "AccessDenied"
    assert api.stored(a, "from-b") is None
    new_bucket = f"grant-new-{uuid.uuid4().hex[:12]}"
    assert code_of(lambda: client.create_bucket(Bucket=new_bucket)) == "AccessDenied"
    assert new_bucket not in [x["Name"] for x in api.root.list_buckets()["Buckets"]]


def test_a_write_key_writes_but_cannot_delete_the_bucket(api, buckets):
    a, _ = buckets
    key = create_key(api, "--allow", f"{a}:write")
    client = api.client(key.access_key_id, key.secret)
    client.put_object(Bucket=a, Key="by-writer", Body=b"written")
    assert api.stored(a, "by-writer") == b"written"
    assert client.get_object(Bucket=a, Key="by-writer")["Body"].read() == b"written"
    client.delete_object(Bucket=a, Key="by-writer")
    assert api.stored(a, "by-writer") is None
    assert code_of(lambda: client.delete_bucket(Bucket=a)) == "AccessDenied"
    assert code_of(lambda: client.put_bucket_versioning(
        Bucket=a, VersioningConfiguration={"Status": "Enabled"})) == "AccessDenied"
    assert api.root.head_bucket(Bucket=a)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_an_owner_key_may_delete_its_bucket(api):
    name = f"grant-own-{uuid.uuid4().hex[:12]}"
    key = create_key(api, "--allow", f"{name}:owner")
    client = api.client(key.access_key_id, key.secret)
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"v")
    client.delete_object(Bucket=name, Key="k")
    client.delete_bucket(Bucket=name)
    assert name not in [x["Name"] for x in api.root.list_buckets()["Buckets"]]


def test_list_buckets_shows_only_granted_buckets(api, buckets):
    a, b = buckets
    reader = create_key(api, "--allow", f"{a}:read")
    nobody = create_key(api, "--name", "no grants")
    admin = create_key(api, "--admin")
    def listed(key: Key) -> set[str]:
        client = api.client(key.access_key_id, key.secret)
        return {x["Name"] for x in client.list_buckets()["Buckets"]}

    assert listed(reader) == {a}
    assert listed(nobody) == set()
    everything = {x["Name"] for x in api.root.list_buckets()["Buckets"]}
    assert {a, b} <= everything
    assert listed(admin) == everything


def test_an_admin_key_may_do_everything(api):
    admin = create_key(api, "--admin")
    client = api.client(admin.access_key_id, admin.secret)
    name = f"grant-adm-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    client.put_object(Bucket=name, Key="k", Body=b"v")
    assert api.stored(name, "k") == b"v"
    client.delete_object(Bucket=name, Key="k")
    client.delete_bucket(Bucket=name)


def test_a_presigned_url_carries_the_keys_grant(api, buckets):
    a, _ = buckets
    key = create_key(api, "--allow", f"{a}:read")
    for config in ({}, {"signature_version": "s3v4"}):
        client = api.client(key.access_key_id, key.secret, **config)
        get_url = client.generate_presigned_url(
            "get_object", Params={"Bucket": a, "Key": "existing"})
        assert api.send("GET", get_url).body == a.encode()
        put_url = client.generate_presigned_url(
            "put_object", Params={"Bucket": a, "Key": "presigned-by-reader"})
        reply = api.send("PUT", put_url, body=b"x")
        assert (reply.status, reply.code) == (403, "AccessDenied")
    assert api.stored(a, "presigned-by-reader") is None


def test_deny_allow_and_delete_take_effect_on_the_running_server(api, buckets):
    """All three changes at once: each waits out the same few seconds of key caching."""
    a, b = buckets
    denied_key, allowed_key, deleted_key = (create_key(api, "--allow", f"{a}:read")
                                            for _ in range(3))
    denied, allowed, deleted = (api.client(k.access_key_id, k.secret)
                                for k in (denied_key, allowed_key, deleted_key))
    # Each key is used first, so the server has it cached when it changes.
    assert denied.get_object(Bucket=a, Key="existing")["Body"].read() == a.encode()
    assert code_of(lambda: allowed.get_object(Bucket=b, Key="existing")) == "AccessDenied"
    deleted.get_object(Bucket=a, Key="existing")
    for args in (("deny", denied_key.access_key_id, f"{a}:read"),
                 ("allow", allowed_key.access_key_id, f"{b}:read"),
                 ("delete", deleted_key.access_key_id)):
        result = api.keys(*args)
        assert result.returncode == 0, result.stderr

    def outcome(call: Callable[[], object]) -> str:
        try:
            call()
        except ClientError as error:
            return error.response["Error"]["Code"]
        return "ok"

    expected = {"deny": "AccessDenied", "allow": "ok", "delete": "InvalidAccessKeyId"}
    calls = {
        "deny": lambda: denied.get_object(Bucket=a, Key="existing"),
        "allow": lambda: allowed.get_object(Bucket=b, Key="existing"),
        "delete": lambda: deleted.get_object(Bucket=a, Key="existing"),
    }
    seen: dict[str, str] = {}

    def all_applied() -> bool:
        seen.update({name: outcome(call) for name, call in calls.items()})
        return seen == expected

    assert eventually(all_applied), f"after {PROPAGATION} s: {seen}, expected {expected}"
    assert api.keys("show", deleted_key.access_key_id).returncode != 0


def test_a_new_key_works_at_once(api, buckets):
    """Unknown keys are not cached: a key made a moment ago needs no wait."""
    a, _ = buckets
    key = create_key(api, "--allow", f"{a}:read")
    client = api.client(key.access_key_id, key.secret)
    assert client.get_object(Bucket=a, Key="existing")["Body"].read() == a.encode()


def test_list_and_show_never_print_secrets(api, buckets):
    a, _ = buckets
    key = create_key(api, "--name", "visible", "--allow", f"{a}:write")
    assert key.secret in key.created_output  # shown once, at creation
    listing = api.keys("list")
    shown = api.keys("show", key.access_key_id)
    changed = api.keys("allow", key.access_key_id, f"{a}:owner")
    for result in (listing, shown, changed):
        assert result.returncode == 0, result.stderr
        assert key.secret not in result.stdout + result.stderr
        assert "testing" not in result.stdout  # nor the root key's
    assert key.access_key_id in listing.stdout
    assert key.access_key_id in shown.stdout and f"{a}:write" in shown.stdout
    assert f"{a}:owner" in changed.stdout


def test_the_key_file_is_private_to_the_server_user(live, api):
    create_key(api, "--name", "mode check")
    files = list((live.data_root / ".post3").glob("*key*"))
    assert files, list(live.data_root.rglob("*"))
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, oct(path.stat().st_mode)


def test_the_server_never_logs_a_secret(live, api, buckets):
    a, _ = buckets
    key = create_key(api, "--allow", f"{a}:read")
    api.client(key.access_key_id, key.secret).get_object(Bucket=a, Key="existing")
    with pytest.raises(ClientError):
        api.client(key.access_key_id, key.secret + "x").get_object(Bucket=a, Key="existing")
    assert key.secret not in live.stderr()
    assert key.secret not in "\n".join(live.stdout_lines)
