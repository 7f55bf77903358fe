"""The command line: one clear line and a non-zero exit for every mistake."""

import os
import socket
import subprocess
import sys

import pytest

from post3 import __version__


def post3(*args, env=None, timeout=30):
    return subprocess.run([sys.executable, "-m", "post3", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_version():
    result = post3("version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"post3 {__version__}"


def test_backends_lists_options():
    result = post3("backends")
    assert result.returncode == 0
    assert "memory" in result.stdout
    assert "filesystem" in result.stdout
    assert "-o root=" in result.stdout
    # each backend's declared capabilities, under its name
    lines = result.stdout.splitlines()
    memory = next(i for i, line in enumerate(lines) if line.startswith("memory "))
    assert lines[memory + 1].strip() == (
        "capabilities: multipart, tagging, bucket_config, versioning, job_lock, single_process")
    filesystem = next(i for i, line in enumerate(lines) if line.startswith("filesystem "))
    assert lines[filesystem + 1].strip() == (
        "capabilities: multipart, tagging, bucket_config, versioning, job_lock")


def test_unknown_backend_lists_installed():
    result = post3("run", "--backend", "nope", "--port", "0")
    assert result.returncode != 0
    assert "unknown backend 'nope'" in result.stderr
    assert "memory" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_option():
    result = post3("run", "--backend", "memory", "--port", "0", "-o", "colour=blue")
    assert result.returncode != 0
    assert "unknown option 'colour'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_option_without_equals():
    result = post3("run", "--backend", "memory", "-o", "colour")
    assert result.returncode != 0
    assert "KEY=VALUE" in result.stderr


def test_port_in_use():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = post3("run", "--backend", "memory", "--port", str(port))
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_data_directory_not_writable(tmp_path):
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o500)
    result = post3("run", "--port", "0", "-o", f"root={root}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


def test_data_directory_is_a_file(tmp_path):
    root = tmp_path / "file"
    root.write_text("not a directory")
    result = post3("run", "--port", "0", "-o", f"root={root}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_environment_configures_run(tmp_path):
    server = subprocess.Popen(
        [sys.executable, "-m", "post3", "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "POST3_BACKEND": "filesystem", "POST3_PORT": "0",
             "POST3_FILESYSTEM_ROOT": str(tmp_path / "data")},
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("post3 serving http://127.0.0.1:"), server.stderr.read()
        assert "(backend: filesystem)" in line
        assert (tmp_path / "data").is_dir()
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0


def test_data_directory_that_cannot_be_created():
    # /proc refuses new directories even to root, so this holds on any CI machine.
    result = post3("run", "--port", "0", "-o", "root=/proc/post3-data")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("args", "env", "message"), [
    (("--domain", "example.com", "--domain", "s3.example.com"), {}, "would be ambiguous"),
    ((), {"POST3_DOMAINS": "example.com,s3.example.com"}, "would be ambiguous"),
    (("--domain", "127.0.0.1"), {}, "is not a domain name"),
])
def test_bad_domains_are_refused(args, env, message):
    result = post3("run", "--backend", "memory", "--port", "0", *args, env=env)
    assert result.returncode != 0
    assert message in result.stderr


def test_domains_from_the_environment_are_announced():
    server = subprocess.Popen(
        [sys.executable, "-m", "post3", "run", "--backend", "memory", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "POST3_DOMAINS": "S3.Example.test, files.test"},
    )
    try:
        first, second = server.stdout.readline(), server.stdout.readline()
        assert first.startswith("post3 serving http://127.0.0.1:"), server.stderr.read()
        port = first.split()[2].rsplit(":", 1)[1]
        assert second.strip() == (
            f"addressing: path style, and virtual-hosted style at "
            f"http://BUCKET.s3.example.test:{port}/KEY, http://BUCKET.files.test:{port}/KEY")
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0


def test_kms_create_list_rotate(tmp_path):
    key_file = tmp_path / "keys.json"
    assert post3("kms", "create", "--key-file", str(key_file)).returncode == 0
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert post3("kms", "create", "photos", env={"POST3_KEY_FILE": str(key_file)}).returncode == 0
    again = post3("kms", "create", "photos", "--key-file", str(key_file))
    assert again.returncode != 0 and "exists" in again.stderr
    assert "version 2" in post3("kms", "rotate", "photos", "--key-file", str(key_file)).stdout
    listed = post3("kms", "list", "--key-file", str(key_file)).stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["default", "versions=1"],
                                                         ["photos", "versions=2"]]
    missing = post3("kms", "rotate", "nope", "--key-file", str(key_file))
    assert missing.returncode != 0 and "no key nope" in missing.stderr
    bad_id = post3("kms", "create", "a b", "--key-file", str(key_file))
    assert bad_id.returncode != 0 and "not a key id" in bad_id.stderr


@pytest.mark.parametrize(("env", "message"), [
    ({"POST3_MASTER_KEY": "dG9vIHNob3J0"}, "POST3_MASTER_KEY: a master key is 32 bytes"),
    ({"POST3_KEY_FILE": "{path}"}, "bad.json"),
])
def test_unusable_master_keys_stop_the_start(tmp_path, env, message):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    env = {name: value.format(path=bad) for name, value in env.items()}
    result = post3("run", "--backend", "memory", "--port", "0", env=env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
