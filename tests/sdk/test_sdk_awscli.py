"""The AWS CLI (v1, from pip) against a live ``post3 run``, run as a user runs it: a subprocess
with ``--endpoint-url`` and credentials from the environment, nothing from ``~/.aws``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def aws(endpoint_url, aws_env, tmp_path):
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "awscli", *args, "--endpoint-url", endpoint_url]
        result = subprocess.run(
            command, env=aws_env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"{' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    return run


@pytest.fixture
def bucket(aws, bucket_name):
    aws("s3", "mb", f"s3://{bucket_name}")
    return bucket_name


def api(aws, *args: str) -> dict:
    output = aws("s3api", *args, "--output", "json").stdout
    return json.loads(output) if output.strip() else {}


def test_mb_then_ls_lists_the_bucket(aws, bucket_name):
    made = aws("s3", "mb", f"s3://{bucket_name}")

    assert f"make_bucket: {bucket_name}" in made.stdout
    assert bucket_name in aws("s3", "ls").stdout.split()


def test_mb_of_own_existing_bucket_succeeds_in_us_east_1(aws, bucket, tmp_path):
    source = tmp_path / "kept.txt"
    source.write_bytes(b"kept")
    aws("s3", "cp", str(source), f"s3://{bucket}/kept.txt")
    made = aws("s3", "mb", f"s3://{bucket}")
    assert f"make_bucket: {bucket}" in made.stdout
    assert "kept.txt" in aws("s3", "ls", f"s3://{bucket}").stdout


def test_cp_up_and_down_keeps_the_bytes(aws, bucket, make_bytes, tmp_path):
    data = make_bytes(7 * 1024 * 1024 + 11)  # below the CLI's 8 MiB multipart threshold
    source = tmp_path / "up.bin"
    source.write_bytes(data)
    target = tmp_path / "down.bin"

    aws("s3", "cp", str(source), f"s3://{bucket}/dir/file name+1.bin")
    aws("s3", "cp", f"s3://{bucket}/dir/file name+1.bin", str(target))

    assert target.read_bytes() == data


def test_cp_recursive_and_ls(aws, bucket, tmp_path):
    tree = tmp_path / "tree"
    files = {"a.txt": b"a", "sub/b.txt": b"bb", "sub/deeper/c d.txt": b"ccc"}
    for name, content in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(content)

    aws("s3", "cp", "--recursive", str(tree), f"s3://{bucket}/up/")
    top = aws("s3", "ls", f"s3://{bucket}/up/").stdout
    everything = aws("s3", "ls", "--recursive", f"s3://{bucket}").stdout
    aws("s3", "cp", "--recursive", f"s3://{bucket}/up/", str(tmp_path / "down"))

    assert "PRE sub/" in top
    assert "a.txt" in top
    assert sorted(line.split(maxsplit=3)[3] for line in everything.splitlines()) == sorted(
        f"up/{name}" for name in files
    )
    for name, content in files.items():
        assert (tmp_path / "down" / name).read_bytes() == content


def test_rm_single_and_recursive(aws, bucket, tmp_path):
    source = tmp_path / "f"
    source.write_bytes(b"x")
    for key in ("one", "dir/two", "dir/three"):
        aws("s3", "cp", str(source), f"s3://{bucket}/{key}")

    aws("s3", "rm", f"s3://{bucket}/one")
    assert [o["Key"] for o in api(aws, "list-objects-v2", "--bucket", bucket)["Contents"]] == [
        "dir/three",
        "dir/two",
    ]
    aws("s3", "rm", "--recursive", f"s3://{bucket}/dir/")
    assert "Contents" not in api(aws, "list-objects-v2", "--bucket", bucket)
    aws("s3", "rb", f"s3://{bucket}")
    assert bucket not in aws("s3", "ls").stdout.split()


def test_s3api_object_calls(aws, bucket, make_bytes, tmp_path):
    data = make_bytes(300_000)
    source = tmp_path / "in.bin"
    source.write_bytes(data)
    key = "a b+c=d&e~f!g'h(i)*j,k;l:m@n$o[p]%41#?é ü<x>.txt"

    put = api(
        aws, "put-object", "--bucket", bucket, "--key", key, "--body", str(source),
        "--content-type", "application/x-test", "--metadata", "color=blue",
    )
    head = api(aws, "head-object", "--bucket", bucket, "--key", key)
    got = api(aws, "get-object", "--bucket", bucket, "--key", key, str(tmp_path / "out.bin"))
    ranged = api(
        aws, "get-object", "--bucket", bucket, "--key", key, "--range", "bytes=10-19",
        str(tmp_path / "range.bin"),
    )
    listed = api(aws, "list-objects-v2", "--bucket", bucket, "--prefix", "a b")

    etag = f'"{hashlib.md5(data).hexdigest()}"'
    assert put["ETag"] == head["ETag"] == got["ETag"] == etag
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "application/x-test"
    assert head["Metadata"] == {"color": "blue"}
    assert (tmp_path / "out.bin").read_bytes() == data
    assert ranged["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert (tmp_path / "range.bin").read_bytes() == data[10:20]
    assert [o["Key"] for o in listed["Contents"]] == [key]


def test_s3api_delete_objects(aws, bucket, tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    for key in ("x", "y z", "keep"):
        api(aws, "put-object", "--bucket", bucket, "--key", key, "--body", str(empty))
    request = tmp_path / "delete.json"
    request.write_text(json.dumps({"Objects": [{"Key": "x"}, {"Key": "y z"}], "Quiet": False}))

    result = api(aws, "delete-objects", "--bucket", bucket, "--delete", f"file://{request}")

    assert sorted(d["Key"] for d in result["Deleted"]) == ["x", "y z"]
    listed = api(aws, "list-objects-v2", "--bucket", bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["keep"]


def test_s3api_get_missing_key_reports_no_such_key(aws, bucket, tmp_path):
    result = aws(
        "s3api", "get-object", "--bucket", bucket, "--key", "missing", str(tmp_path / "o"),
        check=False,
    )
    assert result.returncode != 0
    assert "NoSuchKey" in result.stderr


def test_cp_between_keys_on_the_server(aws, bucket, tmp_path):
    source = tmp_path / "s"
    source.write_bytes(b"server side copy")
    aws("s3", "cp", str(source), f"s3://{bucket}/from")

    aws("s3", "cp", f"s3://{bucket}/from", f"s3://{bucket}/to")
    aws("s3", "cp", f"s3://{bucket}/to", str(tmp_path / "back"))

    assert Path(tmp_path / "back").read_bytes() == b"server side copy"
