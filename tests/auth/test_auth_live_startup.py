"""Safe defaults at start: with no key anywhere, ``post3 run`` makes an admin key once and
prints it; ``--no-auth`` serves anonymous requests on loopback only."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.config import Config

KEY_ID = re.compile(r"^\s*access key id:\s+(\S+)$", re.I | re.M)
SECRET = re.compile(r"^\s*secret access key:\s+(\S+)$", re.I | re.M)


def client(endpoint: str, key_id: str, secret: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def test_first_start_prints_an_admin_key_once(launch_post3, tmp_path):
    data_root = tmp_path / "fresh"
    first = launch_post3(data_root, root_key=False)
    assert first.endpoint, first.stderr()
    assert first.wait_for_output(lambda lines: bool(SECRET.search("\n".join(lines))), 10), (
        first.stdout_lines, first.stderr())
    output = "\n".join(first.stdout_lines)
    assert first.stdout_lines[0].startswith("post3 serving ")
    key_id, secret = KEY_ID.search(output).group(1), SECRET.search(output).group(1)
    assert "aws configure" in output
    assert secret not in first.stderr()

    s3 = client(first.endpoint, key_id, secret)
    bucket = f"first-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"first start")
    assert first.stop() == 0

    second = launch_post3(data_root, root_key=False)
    assert second.endpoint, second.stderr()
    # The key, if any, follows the serving and addressing lines at once; give it ample time.
    assert not second.wait_for_output(lambda lines: len(lines) > 2, 2.0), second.stdout_lines
    assert "secret" not in "\n".join(second.stdout_lines).lower()
    s3 = client(second.endpoint, key_id, secret)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first start"
    # Still refused without a key.
    try:
        urllib.request.urlopen(f"{second.endpoint}/{bucket}/k", timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 403
    else:
        raise AssertionError("an anonymous GET was served")


def test_a_root_key_in_the_environment_means_no_first_key(launch_post3, tmp_path):
    server = launch_post3(tmp_path / "with-root", root_key=True)
    assert server.endpoint, server.stderr()
    assert not server.wait_for_output(lambda lines: len(lines) > 2, 1.5), server.stdout_lines


def test_no_auth_serves_anonymous_requests_on_loopback(launch_post3, tmp_path):
    server = launch_post3(tmp_path / "open", "--no-auth", root_key=False)
    assert server.endpoint, server.stderr()
    bucket = f"open-{uuid.uuid4().hex[:12]}"
    request = urllib.request.Request(f"{server.endpoint}/{bucket}", method="PUT")
    assert urllib.request.urlopen(request, timeout=10).status == 200
    request = urllib.request.Request(f"{server.endpoint}/{bucket}/k", data=b"open",
                                     method="PUT")
    assert urllib.request.urlopen(request, timeout=10).status == 200
    with urllib.request.urlopen(f"{server.endpoint}/{bucket}/k", timeout=10) as response:
        assert response.read() == b"open"
    # No admin key is made for a server that asks for none.
    time.sleep(0.5)
    assert "secret" not in "\n".join(server.stdout_lines).lower()


def test_no_auth_refuses_a_non_loopback_address(launch_post3, tmp_path):
    server = launch_post3(tmp_path / "refused", "--no-auth", "--host", "0.0.0.0",
                          root_key=False)
    assert server.process.wait(30) != 0
    assert not server.endpoint and not server.stdout_lines
    errors = [line for line in server.stderr().splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, server.stderr()
    assert "--no-auth" in errors[0] and "loopback" in errors[0] and "0.0.0.0" in errors[0]
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
