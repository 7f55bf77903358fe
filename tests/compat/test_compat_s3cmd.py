"""s3cmd, run as a subprocess with a generated configuration file that sets only the endpoint
(path style: ``host_bucket`` without ``%(bucket)s``), plain http and credentials."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

MiB = 1024 * 1024
S3CMD = Path(sys.executable).with_name("s3cmd")


@pytest.fixture
def s3cmd(endpoint_url, tmp_path, aws_env):
    if not S3CMD.exists():
        pytest.fail(f"s3cmd is not installed beside {sys.executable}")
    host = urllib.parse.urlsplit(endpoint_url).netloc
    config = tmp_path / "s3cfg"
    config.write_text(
        "[default]\n"
        "access_key = testing\n"
        "secret_key = testing\n"
        f"host_base = {host}\n"
        f"host_bucket = {host}\n"
        "use_https = False\n"
    )
    env = {**aws_env, "HOME": str(tmp_path)}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, str(S3CMD), "-c", str(config), *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
        )
        if check and result.returncode != 0:
            pytest.fail(f"s3cmd {' '.join(args)} exited {result.returncode}:\n"
                        f"{result.stdout}\n{result.stderr}")
        return result

    return run


@pytest.fixture
def bucket(s3cmd, bucket_name):
    s3cmd("mb", f"s3://{bucket_name}")
    return bucket_name


def without_globs(keys: list[str]) -> list[str]:
    """s3cmd matches the remote part of ``get`` as a shell pattern (``*``, ``?``, ``[p]``), so a
    key holding those characters cannot be named literally; such keys are still put and listed."""
    return [k.translate(str.maketrans("", "", "*?[]")) for k in keys]


def listed(output: str) -> list[str]:
    """The s3:// URIs (or DIR entries) of ``s3cmd ls`` output, in order."""
    return [line.split("s3://", 1)[1] for line in output.splitlines() if "s3://" in line]


def test_scenario(s3cmd, bucket, tmp_path, special_keys, make_bytes):
    special_keys = [*special_keys, *without_globs(special_keys[:1])]
    assert f"s3://{bucket}" in s3cmd("ls").stdout
    small = make_bytes(3000, "s3cmd")
    (tmp_path / "small.bin").write_bytes(small)
    s3cmd("put", str(tmp_path / "small.bin"), f"s3://{bucket}/dir/small.bin")
    (tmp_path / "deeper.txt").write_bytes(b"deeper")
    s3cmd("put", str(tmp_path / "deeper.txt"), f"s3://{bucket}/dir/sub/deeper.txt")
    for index, key in enumerate(special_keys):
        source = tmp_path / f"special-{index}"
        source.write_bytes(key.encode())
        s3cmd("put", str(source), f"s3://{bucket}/{key}")

    # get, whole and (resuming a partial download) ranged
    s3cmd("get", f"s3://{bucket}/dir/small.bin", str(tmp_path / "got.bin"))
    assert (tmp_path / "got.bin").read_bytes() == small
    (tmp_path / "partial.bin").write_bytes(small[:1000])
    s3cmd("get", "--continue", f"s3://{bucket}/dir/small.bin", str(tmp_path / "partial.bin"))
    assert (tmp_path / "partial.bin").read_bytes() == small
    for index, key in enumerate(special_keys):
        if without_globs([key]) != [key]:
            continue
        target = tmp_path / f"got-special-{index}"
        s3cmd("get", f"s3://{bucket}/{key}", str(target))
        assert target.read_bytes() == key.encode()

    # head: `info` also reads ?acl, ?policy, ?cors... of the bucket and object
    info = s3cmd("info", f"s3://{bucket}/dir/small.bin").stdout
    assert f"{len(small)}" in info
    assert hashlib.md5(small).hexdigest() in info
    s3cmd("info", f"s3://{bucket}")

    # list (ListObjects v1) with a delimiter, with a prefix, and recursively
    top = listed(s3cmd("ls", f"s3://{bucket}/").stdout)
    assert sorted(top) == sorted([f"{bucket}/dir/", f"{bucket}/日本語/",
                                  *(f"{bucket}/{k}" for k in special_keys if "/" not in k)])
    level = listed(s3cmd("ls", f"s3://{bucket}/dir/").stdout)
    assert sorted(level) == [f"{bucket}/dir/small.bin", f"{bucket}/dir/sub/"]
    everything = listed(s3cmd("ls", "--recursive", f"s3://{bucket}").stdout)
    assert sorted(everything) == sorted(
        f"{bucket}/{k}" for k in ["dir/small.bin", "dir/sub/deeper.txt", *special_keys])

    # copy
    s3cmd("cp", f"s3://{bucket}/dir/small.bin", f"s3://{bucket}/copied.bin")
    s3cmd("get", f"s3://{bucket}/copied.bin", str(tmp_path / "copied.bin"))
    assert (tmp_path / "copied.bin").read_bytes() == small

    # delete one, then a whole prefix (DeleteObjects with Content-MD5)
    s3cmd("del", f"s3://{bucket}/copied.bin")
    missing = s3cmd("get", f"s3://{bucket}/copied.bin", str(tmp_path / "nothing"), check=False)
    assert missing.returncode != 0
    s3cmd("del", "--recursive", f"s3://{bucket}/dir/")
    remaining = listed(s3cmd("ls", "--recursive", f"s3://{bucket}").stdout)
    assert sorted(remaining) == sorted(f"{bucket}/{k}" for k in special_keys)
    s3cmd("del", "--recursive", "--force", f"s3://{bucket}")
    s3cmd("rb", f"s3://{bucket}")
    assert f"s3://{bucket}" not in s3cmd("ls").stdout


def test_multipart_put(s3cmd, bucket, tmp_path, make_bytes):
    data = make_bytes(11 * MiB, "s3cmd-multipart")
    (tmp_path / "big.bin").write_bytes(data)
    # 5 MiB chunks: three parts, completed with unquoted ETags and no namespace.
    upload = s3cmd("--debug", "put", "--multipart-chunk-size-mb=5", str(tmp_path / "big.bin"),
                   f"s3://{bucket}/big.bin")
    assert "in 3 parts" in upload.stderr
    assert "CompleteMultipartUploadResult" in upload.stderr
    info = s3cmd("info", f"s3://{bucket}/big.bin").stdout
    assert str(len(data)) in info
    s3cmd("get", f"s3://{bucket}/big.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == data
    # ListMultipartUploads: the completed upload is gone.
    pending = s3cmd("multipart", f"s3://{bucket}").stdout
    assert "Initiated\tPath\tId" in pending
    assert "big.bin" not in pending
