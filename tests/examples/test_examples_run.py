"""Every file in examples/ runs against a live post3 and does what it says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMEOUT = 120

# The examples are about clients, not storage: one backend is enough.
pytestmark = pytest.mark.parametrize("post3_server", ["memory"], indirect=True)


def run_example(command: list[str], endpoint_url: str, aws_env: dict[str, str]) -> str:
    env = {
        **aws_env,
        "POST3_ENDPOINT_URL": endpoint_url,
        "POST3_ACCESS_KEY": aws_env["AWS_ACCESS_KEY_ID"],
        "POST3_SECRET_KEY": aws_env["AWS_SECRET_ACCESS_KEY"],
        # the scripts call `aws` and `python`: the ones of this environment
        "PATH": f"{Path(sys.executable).parent}:{aws_env.get('PATH', '')}",
    }
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                          cwd=EXAMPLES.parent)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_sdk_basics(endpoint_url: str, aws_env: dict[str, str], bucket_name: str) -> None:
    out = run_example([sys.executable, str(EXAMPLES / "sdk_basics.py"), bucket_name],
                      endpoint_url, aws_env)
    assert f"bucket {bucket_name}: created" in out
    assert "read back: Hello, post3!" in out
    listed = [line for line in out.splitlines() if line.startswith("listed: ")]
    assert listed == [
        "listed: greetings/a.txt (1 bytes)",
        "listed: greetings/b.txt (1 bytes)",
        "listed: greetings/c.txt (1 bytes)",
        "listed: greetings/hello.txt (13 bytes)",
    ]
    assert "missing object: NoSuchKey (404)" in out
    assert out.rstrip().endswith(f"bucket {bucket_name}: deleted")


def test_user_metadata(endpoint_url: str, aws_env: dict[str, str], bucket_name: str) -> None:
    out = run_example([sys.executable, str(EXAMPLES / "user_metadata.py"), bucket_name],
                      endpoint_url, aws_env)
    assert "content type: text/csv" in out
    assert "metadata author = ada" in out
    assert "metadata source = ledger" in out
    assert "after copy: author=ada, reviewed=yes" in out


def test_raw_aiobotocore(endpoint_url: str, aws_env: dict[str, str], bucket_name: str) -> None:
    out = run_example([sys.executable, str(EXAMPLES / "raw_aiobotocore.py"), bucket_name],
                      endpoint_url, aws_env)
    assert out.splitlines() == ["range 3-9: wrapper", "listed: raw.txt",
                                "head of a missing key: 404"]


def test_aws_cli_script(endpoint_url: str, aws_env: dict[str, str], bucket_name: str) -> None:
    if shutil.which("aws", path=f"{Path(sys.executable).parent}:{aws_env.get('PATH', '')}") is None:
        pytest.skip("the AWS CLI (aws) is not installed")
    out = run_example(["bash", str(EXAMPLES / "aws_cli.sh"), bucket_name], endpoint_url, aws_env)
    assert "photos/cat.jpg" in out and "photos/dog.jpg" in out
    assert '"size": 23' in out
    assert "downloaded copy is identical" in out
    assert f"remove_bucket: {bucket_name}" in out


def test_curl_sigv4_script(endpoint_url: str, aws_env: dict[str, str], bucket_name: str) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the curl binary is not installed")
    out = run_example(["bash", str(EXAMPLES / "curl_sigv4.sh"), bucket_name], endpoint_url,
                      aws_env)
    assert out.splitlines() == [
        f"created bucket {bucket_name}",
        "uploaded hello.txt",
        "read back: hello from curl",
        "<Key>hello.txt</Key>",
        f"deleted bucket {bucket_name}",
    ]


def test_stress_large_file_small(endpoint_url: str, aws_env: dict[str, str],
                                 bucket_name: str) -> None:
    # Small, but above the part size, so it goes through the multipart path both ways.
    out = run_example(
        [sys.executable, str(EXAMPLES / "stress_large_file.py"), "--size", "12MiB",
         "--part-size", "5MiB", "--bucket", bucket_name],
        endpoint_url, aws_env,
    )
    assert f"verified {12 * 1024**2} bytes" in out
