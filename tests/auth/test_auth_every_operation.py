"""Every operation the router knows, sent by someone who may not: refused, and nothing stored.

The operations come from :data:`post3.api.router.ROUTES`, so an operation added later is
covered here without being named. Each is sent in every shape an attacker tried — a forged
signature (with and without ``x-amz-content-sha256``, with a body of one byte or an empty
chunked one), a real client's signature under a wrong secret or an unknown key id, no signature
at all, a stale date, forged and expired presigned URLs (SigV4 and SigV2), a forged SigV2
header and a forged signed-chunk stream — and must get S3's error. The stored state is
compared before and after each operation, through the S3 API with the root key and in the
storage itself (every file under the filesystem root, temporary files included; every row of
every PostgreSQL table), on the memory, filesystem and PostgreSQL backends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import http.client
import os
import socket
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from post3.api.router import ROUTES, Route
from tests.conftest import SERVER_BACKENDS, RunningServer, start_server

ACCESS_KEY = SECRET_KEY = "testing"
REGION = "us-east-1"
ZEROS = "0" * 64
OBJECT = "victim.txt"
CONTENT = b"the original bytes"


# --------------------------------------------------------------------------- requests


@dataclass
class Attempt:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False


@dataclass
class Answer:
    status: int
    body: bytes

    @property
    def code(self) -> str | None:
        if not self.body.lstrip().startswith(b"<"):
            return None
        node = ET.fromstring(self.body).find("Code")
        return None if node is None else node.text


def send(endpoint: str, attempt: Attempt) -> Answer:
    """Send exactly this request (http.client adds nothing but what is asked)."""
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(attempt.method, attempt.target, skip_host=True,
                              skip_accept_encoding=True)
        names = {name.lower() for name in attempt.headers}
        if "host" not in names:
            connection.putheader("Host", parts.netloc)
        for name, value in attempt.headers.items():
            connection.putheader(name, value)
        if attempt.chunked:
            connection.putheader("Transfer-Encoding", "chunked")
            body = (f"{len(attempt.body):x}\r\n".encode() + attempt.body + b"\r\n"
                    if attempt.body else b"") + b"0\r\n\r\n"
        else:
            body = attempt.body
            if body or attempt.method in ("PUT", "POST"):
                connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return Answer(response.status, response.read())
    finally:
        connection.close()


def amz_now(offset: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) + offset).strftime("%Y%m%dT%H%M%SZ")


def forged_authorization(amz_date: str, signed: str = "host;x-amz-date") -> str:
    return (f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{amz_date[:8]}/{REGION}/s3/aws4_request, "
            f"SignedHeaders={signed}, Signature={ZEROS}")


def signed_names(base: Attempt, *names: str) -> str:
    """``names`` plus the request's own ``x-amz-*`` headers (a copy source): a forgery that
    leaves one unsigned is refused for that alone, which is not what is under test."""
    own = [name.lower() for name in base.headers if name.lower().startswith("x-amz-")]
    return ";".join(sorted({"host", *names, *own}))


def botocore_signed(endpoint: str, base: Attempt, access_key: str, secret: str) -> Attempt:
    """``base`` as botocore signs it (a hex payload hash over http)."""
    request = AWSRequest(base.method, endpoint + base.target, headers=dict(base.headers),
                         data=base.body)
    S3SigV4Auth(Credentials(access_key, secret), "s3", REGION).add_auth(request)
    return Attempt(base.method, base.target, dict(request.headers.items()), base.body)


def presigned_target(base: Attempt, *, signed_at: str, expires: int, signature: str) -> str:
    query = urlencode({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{ACCESS_KEY}/{signed_at[:8]}/{REGION}/s3/aws4_request",
        "X-Amz-Date": signed_at,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": signed_names(base),
        "X-Amz-Signature": signature,
    })
    return base.target + ("&" if "?" in base.target else "?") + query


#: (variant, expected S3 error code, how to make it from the plain request)
Variant = tuple[str, str, Callable[[str, Attempt], Attempt]]


def _with(base: Attempt, *, target: str | None = None, headers: dict[str, str] | None = None,
          body: bytes | None = None, chunked: bool = False) -> Attempt:
    return Attempt(base.method, base.target if target is None else target,
                   {**base.headers, **(headers or {})},
                   base.body if body is None else body, chunked)


def _stream_body() -> bytes:
    data = b"x" * 10
    return (f"{len(data):x};chunk-signature={ZEROS}\r\n".encode() + data + b"\r\n"
            + f"0;chunk-signature={ZEROS}\r\n\r\n".encode())


HEADER_VARIANTS: list[Variant] = [
    ("forged-signature", "SignatureDoesNotMatch", lambda ep, b: _with(b, headers={
        "x-amz-date": (d := amz_now()), "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "Authorization": forged_authorization(
            d, signed_names(b, "x-amz-content-sha256", "x-amz-date"))})),
    ("forged-no-content-sha256-one-byte", "InvalidRequest", lambda ep, b: _with(b, headers={
        "x-amz-date": (d := amz_now()), "Authorization": forged_authorization(d)}, body=b"x")),
    ("forged-no-content-sha256-empty-chunked", "InvalidRequest", lambda ep, b: _with(b, headers={
        "x-amz-date": (d := amz_now()), "Authorization": forged_authorization(d)}, body=b"",
        chunked=True)),
    ("forged-signed-stream", "SignatureDoesNotMatch", lambda ep, b: _with(b, headers={
        "x-amz-date": (d := amz_now()),
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": "10", "Content-Encoding": "aws-chunked",
        "Authorization": forged_authorization(d, signed_names(
            b, "content-encoding", "x-amz-content-sha256", "x-amz-date",
            "x-amz-decoded-content-length"))}, body=_stream_body())),
    ("wrong-secret", "SignatureDoesNotMatch",
     lambda ep, b: botocore_signed(ep, b, ACCESS_KEY, "not-the-secret")),
    ("unknown-key-id", "InvalidAccessKeyId",
     lambda ep, b: botocore_signed(ep, b, "P3NOSUCHKEY0000", SECRET_KEY)),
    ("no-signature", "AccessDenied", lambda ep, b: b),
    ("stale-date", "RequestTimeTooSkewed", lambda ep, b: _with(b, headers={
        "x-amz-date": (d := amz_now(-dt.timedelta(hours=1))),
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "Authorization": forged_authorization(d, "host;x-amz-content-sha256;x-amz-date")})),
    ("forged-presigned", "SignatureDoesNotMatch", lambda ep, b: _with(b, target=presigned_target(
        b, signed_at=amz_now(), expires=600, signature=ZEROS))),
    ("expired-presigned", "AccessDenied", lambda ep, b: _with(b, target=presigned_target(
        b, signed_at=amz_now(-dt.timedelta(hours=2)), expires=60, signature=ZEROS))),
    ("forged-sigv2-header", "SignatureDoesNotMatch", lambda ep, b: _with(b, headers={
        "Date": dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Authorization": f"AWS {ACCESS_KEY}:AAAAAAAAAAAAAAAAAAAAAAAAAAA="})),
    ("forged-sigv2-presigned", "SignatureDoesNotMatch", lambda ep, b: _with(
        b, target=b.target + ("&" if "?" in b.target else "?") + urlencode({
            "AWSAccessKeyId": ACCESS_KEY, "Expires": str(int(dt.datetime.now().timestamp()) + 600),
            "Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}))),
]


def post_form(endpoint: str, bucket: str, *, access_key: str = ACCESS_KEY,
              secret: str = SECRET_KEY, expires_in: int = 600, forge: bool = False,
              signed: bool = True) -> Attempt:
    """A browser POST upload (boto3's ``generate_presigned_post`` fields), file last."""
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id=access_key, aws_secret_access_key=secret,
                          config=Config(signature_version="s3v4"))
    presigned = client.generate_presigned_post(bucket, "posted.txt", ExpiresIn=expires_in)
    fields = dict(presigned["fields"])
    if forge:
        fields["x-amz-signature"] = ZEROS
    if not signed:
        fields = {"key": fields["key"]}
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in [*fields.items(), ("file", "posted bytes")]:
        filename = '; filename="f.txt"' if name == "file" else ""
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{filename}'
                 f"\r\n\r\n{value}\r\n").encode()
    body += f"--{boundary}--\r\n".encode()
    return Attempt("POST", f"/{bucket}",
                   {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body)


def post_variants(endpoint: str, bucket: str) -> list[tuple[str, str, Attempt]]:
    return [
        ("forged-form-signature", "SignatureDoesNotMatch", post_form(endpoint, bucket,
                                                                     forge=True)),
        ("form-wrong-secret", "SignatureDoesNotMatch", post_form(endpoint, bucket,
                                                                 secret="not-the-secret")),
        ("form-unknown-key-id", "InvalidAccessKeyId",
         post_form(endpoint, bucket, access_key="P3NOSUCHKEY0000")),
        ("form-unsigned", "AccessDenied", post_form(endpoint, bucket, signed=False)),
        ("form-expired-policy", "AccessDenied", post_form(endpoint, bucket, expires_in=-3600)),
    ]


# --------------------------------------------------------------------------- stored state


@dataclass
class Victim:
    """A bucket holding an object with tags and a pending multipart upload with one part."""

    bucket: str
    upload_id: str


def root_client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def api_state(endpoint: str, victim: Victim) -> dict[str, object]:
    s3 = root_client(endpoint)
    state: dict[str, object] = {"buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"])}
    listing = s3.list_objects_v2(Bucket=victim.bucket).get("Contents", [])
    state["objects"] = [(o["Key"], o["ETag"], o["Size"]) for o in listing]
    for item in listing:
        got = s3.get_object(Bucket=victim.bucket, Key=item["Key"])
        state[f"object:{item['Key']}"] = (hashlib.sha256(got["Body"].read()).hexdigest(),
                                          got["ContentType"], got["Metadata"])
        state[f"tags:{item['Key']}"] = s3.get_object_tagging(
            Bucket=victim.bucket, Key=item["Key"])["TagSet"]
    uploads = s3.list_multipart_uploads(Bucket=victim.bucket).get("Uploads", [])
    state["uploads"] = sorted((u["Key"], u["UploadId"]) for u in uploads)
    state["parts"] = [(p["PartNumber"], p["ETag"]) for p in s3.list_parts(
        Bucket=victim.bucket, Key=OBJECT, UploadId=victim.upload_id).get("Parts", [])]
    return state


def files_state(root: Path) -> dict[str, tuple[int, str]]:
    """Every file under the data root (temporary files included), with its size and hash;
    but empty lock files, which a reader of the key store may create and which hold nothing."""
    state = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            if path.parent.name == "locks" and path.stat().st_size == 0:
                continue
            state[str(path.relative_to(root))] = (path.stat().st_size,
                                                  hashlib.sha256(path.read_bytes()).hexdigest())
    return state


async def _rows_state(dsn: str) -> dict[str, tuple[int, str]]:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        tables = [row["tablename"] for row in await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        state = {}
        for table in sorted(tables):
            # The table names come from the catalogue: quote_ident makes them safe.
            name = await connection.fetchval("SELECT quote_ident($1)", table)
            count, digest = await connection.fetchrow(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) "
                f"FROM {name} t")
            state[table] = (count, digest)
        return state
    finally:
        await connection.close()


def stored_state(server, victim: Victim) -> dict[str, object]:  # type: ignore[no-untyped-def]
    state: dict[str, object] = {"api": api_state(server.endpoint, victim)}
    if server.backend == "filesystem":
        state["files"] = files_state(Path(server.options["root"]))
    elif server.backend == "postgres":
        state["rows"] = asyncio.run(_rows_state(server.options["dsn"]))
    return state


# --------------------------------------------------------------------------- the test


@pytest.fixture(scope="module", params=SERVER_BACKENDS)
def post3_server(request, tmp_path_factory) -> Iterator[RunningServer]:  # type: ignore[no-untyped-def]
    """A server of this module's own, on a store nothing else writes: these tests compare
    every stored row and file before and after, and the session's shared server holds other
    tests' retired versions, which its clean-up deletes whenever its timer fires."""
    backend = request.param
    workdir = tmp_path_factory.mktemp(f"auth-every-{backend}")
    options: dict[str, str] = {}
    dropped = None
    if backend == "filesystem":
        options = {"root": str(workdir / "data"), "fsync": "false"}
    elif backend == "postgres":
        from post3_postgres import testing

        admin = testing.server_dsn()
        name, dsn = asyncio.run(testing.create_database(admin, migrated=False))
        dropped = (admin, name)
        options = {"dsn": dsn, "auto_migrate": "true"}
    server = start_server(backend, options, workdir=workdir)
    server.options = options
    try:
        yield server
    finally:
        server.stop()
        if dropped is not None:
            asyncio.run(testing.drop_database(*dropped))


@pytest.fixture
def victim(post3_server) -> Iterator[Victim]:  # type: ignore[no-untyped-def]
    s3 = root_client(post3_server.endpoint)
    bucket = f"victim-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=OBJECT, Body=CONTENT, ContentType="text/plain",
                  Metadata={"owner": "alice"}, Tagging="keep=yes")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=OBJECT)["UploadId"]
    s3.upload_part(Bucket=bucket, Key=OBJECT, UploadId=upload_id, PartNumber=1, Body=b"part")
    yield Victim(bucket, upload_id)
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)


_QUERY_VALUES = {"uploadId": None, "partNumber": "1", "list-type": "2"}


def plain_request(route: Route, victim: Victim) -> Attempt:
    """The route as a request on the victim's bucket and object, unsigned."""
    bucket = f"new-{uuid.uuid4().hex[:12]}" if route.operation == "CreateBucket" else victim.bucket
    path = {"service": "/", "bucket": f"/{bucket}", "object": f"/{bucket}/{OBJECT}"}[route.target]
    query = "&".join(
        f"{name}={quote(victim.upload_id if name == 'uploadId' else _QUERY_VALUES.get(name, ''))}"
        for name in route.query)
    headers = {}
    if route.copy_source:
        headers["x-amz-copy-source"] = f"/{victim.bucket}/{OBJECT}"
    body = b"<x/>" if route.method in ("PUT", "POST") else b""
    return Attempt(route.method, path + (f"?{query}" if query else ""), headers, body)


def describe(before: dict[str, object], after: dict[str, object]) -> str:
    changes = []
    for part in sorted({*before, *after}):
        old, new = before.get(part), after.get(part)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changes += [f"{part}[{k}]: {old.get(k)} -> {new.get(k)}"
                        for k in sorted({*old, *new}) if old.get(k) != new.get(k)]
        else:
            changes.append(f"{part}: {old} -> {new}")
    return "; ".join(changes)


def test_every_operation_refuses_every_unauthenticated_shape(post3_server, victim):
    endpoint = post3_server.endpoint
    before = stored_state(post3_server, victim)
    failures = []
    for route in ROUTES:
        base = plain_request(route, victim)
        if route.operation == "PostObject":
            attempts = post_variants(endpoint, victim.bucket)
        elif route.operation == "OptionsObject":
            # The one exception S3 makes: a CORS preflight carries no credentials and is
            # answered from the bucket's CORS rules. The victim's bucket has none, so every
            # shape, signed or not, gets the preflight's refusal (403 AccessForbidden).
            base = _with(base, headers={"Origin": "https://attacker.example",
                                        "Access-Control-Request-Method": "PUT"})
            attempts = [(name, "AccessForbidden", make(endpoint, base))
                        for name, _, make in HEADER_VARIANTS]
        else:
            attempts = [(name, code, make(endpoint, base)) for name, code, make in HEADER_VARIANTS]
        for name, code, attempt in attempts:
            answer = send(endpoint, attempt)
            expected_status = 400 if code == "InvalidRequest" else 403
            got = answer.code if route.method != "HEAD" else code
            if answer.status != expected_status or got != code:
                failures.append(f"{route.operation} {name}: {answer.status} {answer.code} "
                                f"(expected {expected_status} {code})")
        after = stored_state(post3_server, victim)
        if after != before:
            failures.append(f"{route.operation}: stored state changed: {describe(before, after)}")
            before = after
    assert not failures, "\n".join(failures)


def test_a_forged_upload_is_answered_before_its_body_and_stores_nothing(post3_server, victim):
    """A forged PUT declaring 5 GiB is refused after its head: nothing it sent is kept."""
    before = stored_state(post3_server, victim)
    parts = urlsplit(post3_server.endpoint)
    date = amz_now()
    head = (f"PUT /{victim.bucket}/huge HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"x-amz-date: {date}\r\nAuthorization: {forged_authorization(date)}\r\n"
            f"Content-Length: {5 * 1024**3}\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < 8 * 1024**2:  # the answer must not wait for the body
                sock.sendall(b"\0" * 65536)
                sent += 65536
        except OSError:
            pass  # the server answered and closed: what we want
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"<Code>InvalidRequest</Code>" in answer
    assert stored_state(post3_server, victim) == before
