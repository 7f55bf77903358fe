"""Real clients in virtual-hosted style (``Host: <bucket>.localhost``) against
``post3 run --domain localhost``: the scenarios they pass in path style, with every signature
scheme (SigV4 header and presigned, SigV2 header and presigned) and a browser POST policy, and
path style still served by the same server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import urllib.parse
import uuid

import boto3
import pytest
import urllib3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.vhost.conftest import DOMAIN, port_of, run_with_hosts

KEYS = ["dir1/x", "a b+c=d&e~f!g'h(i)*j,k;l:m@n$o[p]%41#?é ü<x>.txt", "日本語/ファイル 😀.txt",
        "a+b", "%41", "_post3/health/live"]

pytestmark = pytest.mark.usefixtures("loopback_names")


def client(endpoint: str, style: str = "virtual", signature: str = "s3v4"):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing", region_name="us-east-1",
                        config=Config(signature_version=signature,
                                      s3={"addressing_style": style}))


@pytest.fixture
def bucket() -> str:
    return f"vh-{uuid.uuid4().hex[:12]}"


def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    """Exactly the request a browser's ``fetch`` would send (urllib3 adds no Content-Type,
    which SigV2 signs)."""
    response = urllib3.request(method, url, body=data, redirect=False)
    return response.status, response.data


def second_line(server) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while len(server.stdout_lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.stdout_lines[1]


def test_startup_lines_say_both_styles(vhost_server, path_server):
    assert "virtual-hosted style" in second_line(vhost_server)
    assert f"BUCKET.{DOMAIN}:{port_of(vhost_server)}" in second_line(vhost_server)
    assert "path style only" in second_line(path_server)


@pytest.mark.parametrize("signature", ["s3v4", "s3"])
def test_boto3_virtual_scenario(vhost_endpoint, bucket, signature):
    s3 = client(vhost_endpoint, signature=signature)
    path = client(vhost_endpoint, "path")
    s3.create_bucket(Bucket=bucket)
    s3.head_bucket(Bucket=bucket)
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    # The same objects, seen in path style on the same server.
    listed = path.list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(KEYS)
    assert "dir1" not in [b["Name"] for b in path.list_buckets()["Buckets"]]
    page = s3.list_objects_v2(Bucket=bucket, Delimiter="/", Prefix="")
    assert sorted(p["Prefix"] for p in page["CommonPrefixes"]) == ["_post3/", "dir1/", "日本語/"]
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket, Prefix="dir1/")["Contents"]] == [
        "dir1/x"]
    for key in KEYS:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": KEYS[1]})
    assert s3.get_object(Bucket=bucket, Key="copied")["Body"].read() == KEYS[1].encode()
    s3.put_object_tagging(Bucket=bucket, Key="copied",
                          Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="copied")["TagSet"] == [
        {"Key": "k", "Value": "v"}]
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in [*KEYS, "copied"]]})
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    with pytest.raises(ClientError) as missing:
        s3.head_bucket(Bucket=f"{bucket}-absent")
    assert missing.value.response["Error"]["Code"] == "404"
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in path.list_buckets()["Buckets"]]


def test_boto3_virtual_multipart(vhost_endpoint, bucket):
    s3 = client(vhost_endpoint)
    s3.create_bucket(Bucket=bucket)
    data = hashlib.sha256(b"x").digest() * (200 * 1024)  # 6.25 MiB
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big/file")["UploadId"]
    parts = []
    for number, start in enumerate(range(0, len(data), 5 * 1024 * 1024), 1):
        part = s3.upload_part(Bucket=bucket, Key="big/file", UploadId=upload, PartNumber=number,
                              Body=data[start:start + 5 * 1024 * 1024])
        parts.append({"PartNumber": number, "ETag": part["ETag"]})
    assert len(s3.list_parts(Bucket=bucket, Key="big/file", UploadId=upload)["Parts"]) == 2
    s3.complete_multipart_upload(Bucket=bucket, Key="big/file", UploadId=upload,
                                 MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key="big/file")["Body"].read() == data


@pytest.mark.parametrize("signature", ["s3v4", "s3"])
def test_presigned_urls_in_virtual_style(vhost_endpoint, bucket, signature):
    s3 = client(vhost_endpoint, signature=signature)
    s3.create_bucket(Bucket=bucket)
    key = "dir1/presigned é.txt"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key})
    assert urllib.parse.urlsplit(put_url).hostname == f"{bucket}.{DOMAIN}"
    assert fetch(put_url, "PUT", b"presigned body")[0] == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    assert fetch(get_url) == (200, b"presigned body")
    list_url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket})
    status, body = fetch(list_url)
    assert status == 200 and b"dir1/presigned" in body
    # A signature for another key does not open this one.
    forged = get_url.replace(urllib.parse.quote("presigned"), "other", 1)
    assert fetch(forged)[0] == 403


def test_post_policy_in_virtual_style(vhost_endpoint, bucket):
    s3 = client(vhost_endpoint)
    s3.create_bucket(Bucket=bucket)
    post = s3.generate_presigned_post(bucket, "uploads/${filename}",
                                      Fields={"success_action_status": "201"},
                                      Conditions=[["starts-with", "$key", "uploads/"],
                                                  {"success_action_status": "201"}])
    assert urllib.parse.urlsplit(post["url"]).hostname == f"{bucket}.{DOMAIN}"
    response = urllib3.request("POST", post["url"], fields={
        **post["fields"], "file": ("photo.jpg", b"jpeg bytes", "image/jpeg")})
    assert response.status == 201, response.data
    assert b"<Key>uploads/photo.jpg</Key>" in response.data
    assert f"<Location>http://{bucket}.{DOMAIN}:".encode() in response.data
    assert s3.get_object(Bucket=bucket, Key="uploads/photo.jpg")["Body"].read() == b"jpeg bytes"
    # A policy signed for another bucket is refused here.
    other = s3.generate_presigned_post(f"{bucket}-other", "uploads/x")
    refused = urllib3.request("POST", post["url"], fields={
        **other["fields"], "file": ("x", b"x", "text/plain")})
    assert refused.status == 403


def test_aiobotocore_virtual(vhost_endpoint, bucket):
    from aiobotocore.session import get_session

    async def scenario() -> None:
        session = get_session()
        async with session.create_client(
                "s3", endpoint_url=vhost_endpoint, region_name="us-east-1",
                aws_access_key_id="testing", aws_secret_access_key="testing",
                config=Config(s3={"addressing_style": "virtual"})) as s3:
            await s3.create_bucket(Bucket=bucket)
            for key in KEYS:
                await s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
            listed = await s3.list_objects_v2(Bucket=bucket)
            assert sorted(o["Key"] for o in listed["Contents"]) == sorted(KEYS)
            got = await s3.get_object(Bucket=bucket, Key=KEYS[1], Range="bytes=0-4")
            assert await got["Body"].read() == KEYS[1].encode()[:5]
            for key in KEYS:
                await s3.delete_object(Bucket=bucket, Key=key)
            await s3.delete_bucket(Bucket=bucket)

    asyncio.run(scenario())
    assert bucket not in [b["Name"] for b in client(vhost_endpoint, "path").list_buckets()[
        "Buckets"]]


def test_s3fs_virtual(vhost_endpoint, bucket):
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=vhost_endpoint,
                           config_kwargs={"s3": {"addressing_style": "virtual"}},
                           skip_instance_cache=True)
    fs.mkdir(bucket)
    fs.pipe(f"{bucket}/dir1/x", b"one")
    fs.pipe(f"{bucket}/dir1/sub/y", b"two")
    assert fs.cat(f"{bucket}/dir1/x") == b"one"
    assert sorted(fs.ls(f"{bucket}/dir1", detail=False)) == [f"{bucket}/dir1/sub",
                                                             f"{bucket}/dir1/x"]
    assert fs.find(bucket) == [f"{bucket}/dir1/sub/y", f"{bucket}/dir1/x"]
    fs.rm(f"{bucket}/dir1", recursive=True)
    assert fs.find(bucket) == []
    assert client(vhost_endpoint, "path").list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_minio_virtual(vhost_server, bucket):
    import io

    from minio import Minio

    mc = Minio(f"{DOMAIN}:{port_of(vhost_server)}", access_key="testing", secret_key="testing",
               secure=False, region="us-east-1")
    mc.enable_virtual_style_endpoint()
    mc.make_bucket(bucket)
    assert mc.bucket_exists(bucket)
    for key in KEYS:
        mc.put_object(bucket, key, io.BytesIO(key.encode()), len(key.encode()))
    assert sorted(o.object_name for o in mc.list_objects(bucket, recursive=True)) == sorted(KEYS)
    response = mc.get_object(bucket, KEYS[1])
    try:
        assert response.read() == KEYS[1].encode()
    finally:
        response.close()
        response.release_conn()
    listed = client(f"http://{DOMAIN}:{port_of(vhost_server)}", "path").list_objects_v2(
        Bucket=bucket)
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(KEYS)
    for key in KEYS:
        mc.remove_object(bucket, key)
    mc.remove_bucket(bucket)
    assert not mc.bucket_exists(bucket)


DUCKDB_SCRIPT = """
import json, os, sys
import duckdb, duckdb_extension_httpfs
ext = os.path.join(os.path.dirname(duckdb_extension_httpfs.__file__), "extensions",
                   "v" + duckdb.__version__, "httpfs.duckdb_extension")
con = duckdb.connect()
con.sql(f"LOAD '{ext}'")
args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else json.loads(os.environ["CASE"])
con.sql(f\"\"\"CREATE SECRET s (TYPE s3, KEY_ID 'testing', SECRET 'testing', REGION 'us-east-1',
            ENDPOINT '{args["endpoint"]}', URL_STYLE 'vhost', USE_SSL false)\"\"\")
bucket = args["bucket"]
for part in (1, 2):
    con.sql(f"COPY (SELECT range AS n, {part} AS part FROM range(1000)) "
            f"TO 's3://{bucket}/dir1/part-{part}.parquet' (FORMAT parquet)")
total = con.sql(f"SELECT count(*), sum(n), count(DISTINCT part) "
                f"FROM read_parquet('s3://{bucket}/dir1/*.parquet')").fetchone()
files = sorted(r[0] for r in con.sql(f"SELECT file FROM glob('s3://{bucket}/**')").fetchall())
print(json.dumps({"total": list(total), "files": files}))
"""


def test_duckdb_vhost(vhost_server, bucket, tmp_path, aws_env):
    """DuckDB's own HTTP client resolves names itself: it runs with a hosts file of its own."""
    path = client(f"http://{DOMAIN}:{port_of(vhost_server)}", "path")
    path.create_bucket(Bucket=bucket)
    env = {**aws_env, "CASE": json.dumps({"endpoint": f"{DOMAIN}:{port_of(vhost_server)}",
                                          "bucket": bucket})}
    done = run_with_hosts(tmp_path, [f"{bucket}.{DOMAIN}"], DUCKDB_SCRIPT, env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["total"] == [2000, 2 * sum(range(1000)), 2]
    assert result["files"] == [f"s3://{bucket}/dir1/part-1.parquet",
                               f"s3://{bucket}/dir1/part-2.parquet"]
    listed = path.list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["dir1/part-1.parquet", "dir1/part-2.parquet"]


OBSTORE_SCRIPT = """
import json, os
import obstore as obs
from obstore.store import S3Store
args = json.loads(os.environ["CASE"])
store = S3Store(args["bucket"], endpoint=args["endpoint"], access_key_id="testing",
                secret_access_key="testing", region="us-east-1",
                virtual_hosted_style_request=True, client_options={"allow_http": True})
obs.put(store, "dir1/x", b"one")
obs.put(store, "dir1/sub/y", b"two")
got = obs.get(store, "dir1/x").bytes().to_bytes()
top = obs.list_with_delimiter(store, "dir1")
obs.delete(store, "dir1/sub/y")
print(json.dumps({"got": got.decode(), "prefixes": top["common_prefixes"],
                  "objects": sorted(m["path"] for m in top["objects"]),
                  "left": sorted(m["path"] for m in obs.list(store).collect())}))
"""


def test_obstore_vhost(vhost_server, bucket, tmp_path, aws_env):
    """obstore's Rust HTTP client resolves names itself: it runs with a hosts file of its own."""
    path = client(f"http://{DOMAIN}:{port_of(vhost_server)}", "path")
    path.create_bucket(Bucket=bucket)
    # In virtual-hosted style obstore takes the bucket's own URL as its endpoint.
    env = {**aws_env, "CASE": json.dumps({
        "endpoint": f"http://{bucket}.{DOMAIN}:{port_of(vhost_server)}", "bucket": bucket})}
    done = run_with_hosts(tmp_path, [f"{bucket}.{DOMAIN}"], OBSTORE_SCRIPT, env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"got": "one", "prefixes": ["dir1/sub"], "objects": ["dir1/x"],
                      "left": ["dir1/x"]}
    assert [o["Key"] for o in path.list_objects_v2(Bucket=bucket)["Contents"]] == ["dir1/x"]


def test_cors_in_virtual_style(vhost_endpoint, bucket):
    s3 = client(vhost_endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["PUT", "GET"]}]})
    host = f"http://{bucket}.{DOMAIN}:{urllib.parse.urlsplit(vhost_endpoint).port}"
    allowed = urllib3.request("OPTIONS", f"{host}/dir1/x", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"})
    assert allowed.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    refused = urllib3.request("OPTIONS", f"{host}/dir1/x", headers={
        "Origin": "https://other.example.com", "Access-Control-Request-Method": "PUT"})
    assert refused.status == 403
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "dir1/x"})
    put = urllib3.request("PUT", url, body=b"x", headers={"Origin": "https://app.example.com"})
    assert put.status == 200
    assert put.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_other_routes_do_not_shadow_keys_on_a_bucket_host(vhost_endpoint, bucket):
    """The operations endpoints answer on the base domain; on a bucket host those paths are
    keys like any other."""
    s3 = client(vhost_endpoint)
    s3.create_bucket(Bucket=bucket)
    keys = ["health/live", "health/ready", "metrics", "_post3/metrics", "_post3/health/live"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=f"object {key}".encode())
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == f"object {key}".encode()
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(f"object {key}")
    # Unsigned, on the bucket host: S3 refuses it; on the base domain the probe answers.
    port = urllib.parse.urlsplit(vhost_endpoint).port
    assert fetch(f"http://{bucket}.{DOMAIN}:{port}/_post3/health/live")[0] == 403
    assert fetch(f"{vhost_endpoint}/_post3/health/live")[0] == 200


def test_access_log_names_the_bucket_from_host(vhost_server, vhost_endpoint, bucket):
    s3 = client(vhost_endpoint)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir1/logged", Body=b"x")
    deadline = time.monotonic() + 10
    line = f"operation=PutObject bucket={bucket} key=dir1/logged status=200"
    while line not in vhost_server.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert line in vhost_server.stderr()


S3CMD_SCRIPT = """
import json, os, subprocess, sys
args = json.loads(os.environ["CASE"])
out = {}
for name, command in args["commands"]:
    done = subprocess.run([sys.executable, args["s3cmd"], "-c", args["config"], *command],
                          capture_output=True, text=True, timeout=60)
    out[name] = [done.returncode, done.stdout + done.stderr]
print(json.dumps(out))
"""


@pytest.mark.parametrize("signature", ["v4", "v2"])
def test_s3cmd_host_bucket(vhost_server, bucket, tmp_path, aws_env, signature):
    """s3cmd with ``host_bucket = %(bucket)s.localhost:PORT``, SigV4 and ``signature_v2``."""
    import sys
    from pathlib import Path

    s3cmd = Path(sys.executable).with_name("s3cmd")
    host = f"{DOMAIN}:{port_of(vhost_server)}"
    config = tmp_path / "s3cfg"
    config.write_text("[default]\naccess_key = testing\nsecret_key = testing\n"
                      f"host_base = {host}\nhost_bucket = %(bucket)s.{host}\nuse_https = False\n"
                      f"signature_v2 = {signature == 'v2'}\n")
    (tmp_path / "file.txt").write_bytes(b"from s3cmd")
    (tmp_path / "cors.xml").write_text(
        "<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin>"
        "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")
    url = f"s3://{bucket}"
    commands = [
        ("mb", ["mb", url]),
        ("put", ["put", str(tmp_path / "file.txt"), f"{url}/dir1/x"]),
        ("ls", ["ls", "--recursive", url]),
        ("get", ["get", f"{url}/dir1/x", str(tmp_path / "got.txt")]),
        ("setcors", ["setcors", str(tmp_path / "cors.xml"), url]),
        ("info", ["info", url]),
        ("del", ["del", f"{url}/dir1/x"]),
        ("rb", ["rb", url]),
    ]
    case = {"s3cmd": str(s3cmd), "config": str(config), "commands": commands}
    done = run_with_hosts(tmp_path, [f"{bucket}.{DOMAIN}"], S3CMD_SCRIPT,
                          {**aws_env, "HOME": str(tmp_path), "CASE": json.dumps(case)})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert {name: code for name, (code, _) in result.items()} == dict.fromkeys(result, 0), result
    assert f"{url}/dir1/x" in result["ls"][1]
    assert (tmp_path / "got.txt").read_bytes() == b"from s3cmd"
    assert "https://app.example.com" in result["info"][1]
    assert bucket not in [b["Name"] for b in client(vhost_endpoint_of(vhost_server), "path")
                          .list_buckets()["Buckets"]]


def vhost_endpoint_of(server) -> str:  # type: ignore[no-untyped-def]
    return f"http://{DOMAIN}:{port_of(server)}"


@pytest.mark.parametrize("label", ["bad_name", "ab", "a..b", "-lead"])
def test_a_bucket_host_with_an_invalid_bucket_name_is_refused(vhost_server, label):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port_of(vhost_server), timeout=10)
    connection.request("GET", "/key", headers={"Host": f"{label}.{DOMAIN}:{port_of(vhost_server)}"})
    response = connection.getresponse()
    assert (response.status, b"<Code>InvalidBucketName</Code>" in response.read()) == (400, True)
    connection.close()


@pytest.mark.parametrize("signature", ["s3v4", "s3"])
def test_a_signature_for_one_bucket_host_opens_no_other(vhost_server, vhost_endpoint, signature):
    """Virtual-hosted requests are authenticated like path-style ones: unsigned or signed for
    another bucket, they are refused and store nothing."""
    import http.client

    s3 = client(vhost_endpoint, signature=signature)
    victim, other = (f"vh-{uuid.uuid4().hex[:12]}" for _ in range(2))
    for name in (victim, other):
        s3.create_bucket(Bucket=name)
    port = port_of(vhost_server)
    url = urllib.parse.urlsplit(s3.generate_presigned_url(
        "put_object", Params={"Bucket": other, "Key": "dir1/x"}))

    def put(host: str, target: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("PUT", target, body=b"forged", headers={"Host": f"{host}:{port}"})
        status = connection.getresponse().status
        connection.close()
        return status

    assert put(f"{victim}.{DOMAIN}", "/dir1/x") == 403  # unsigned
    assert put(f"{victim}.{DOMAIN}", f"{url.path}?{url.query}") == 403  # signed for another
    assert put(f"{other}.{DOMAIN}", f"{url.path}?{url.query}") == 200  # the one it was for
    assert s3.list_objects_v2(Bucket=victim)["KeyCount"] == 0
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=other)["Contents"]] == ["dir1/x"]
