"""A stranger's backend: a distribution with only an entry point, no change to post3.

The throwaway distribution is written to a directory as a real ``.dist-info`` (what pip
installs), put on ``PYTHONPATH`` of a real ``post3 run`` process, and must serve S3.
"""

import os
import subprocess
import sys
import textwrap
import urllib.request

import pytest

MODULE = textwrap.dedent('''
    import post3
    from post3.backends.memory import MemoryBackend


    class ThrowawayBackend(MemoryBackend):
        """Stores in memory under another name: enough to prove the path."""

        name = "throwaway"


    @post3.hookimpl
    def post3_register_backends(registry):
        registry.add(ThrowawayBackend)
''')


@pytest.fixture
def throwaway_dist(tmp_path):
    site = tmp_path / "site"
    (site / "post3_throwaway").mkdir(parents=True)
    (site / "post3_throwaway" / "__init__.py").write_text(MODULE)
    info = site / "post3_throwaway-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: post3-throwaway\nVersion: 0.1\nRequires-Dist: post3\n")
    (info / "entry_points.txt").write_text("[post3]\nthrowaway = post3_throwaway\n")
    (info / "RECORD").write_text("")
    return site


def post3_command(*args):
    return [sys.executable, "-m", "post3", *args]


def test_backends_lists_the_stranger(throwaway_dist):
    env = {**os.environ, "PYTHONPATH": str(throwaway_dist)}
    output = subprocess.run(post3_command("backends"), env=env, capture_output=True,
                            text=True, check=True).stdout
    assert "throwaway" in output
    plugins = subprocess.run(post3_command("plugins"), env=env, capture_output=True,
                             text=True, check=True).stdout
    assert "post3-throwaway 0.1" in plugins


def test_run_serves_s3_through_the_stranger(throwaway_dist):
    env = {**os.environ, "PYTHONPATH": str(throwaway_dist)}
    server = subprocess.Popen(
        post3_command("run", "--backend", "throwaway", "--port", "0", "--no-auth"),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("post3 serving http://127.0.0.1:"), server.stderr.read()
        assert line.rstrip().endswith("(backend: throwaway)")
        endpoint = line.split()[2]
        request = urllib.request.Request(f"{endpoint}/stranger", method="PUT")
        assert urllib.request.urlopen(request, timeout=10).status == 200
        request = urllib.request.Request(f"{endpoint}/stranger/k", data=b"via plugin", method="PUT")
        assert urllib.request.urlopen(request, timeout=10).status == 200
        with urllib.request.urlopen(f"{endpoint}/stranger/k", timeout=10) as response:
            assert response.read() == b"via plugin"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_disable_plugins_blocks_the_stranger(throwaway_dist):
    env = {**os.environ, "PYTHONPATH": str(throwaway_dist), "POST3_DISABLE_PLUGINS": "throwaway"}
    result = subprocess.run(post3_command("run", "--backend", "throwaway", "--port", "0"),
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "unknown backend 'throwaway'" in result.stderr


def test_a_single_process_backend_refuses_workers_whatever_its_name(throwaway_dist):
    """The stranger inherits the memory backend's declaration (single_process): the CLI reads
    it, and no longer recognises the memory backend by its name."""
    env = {**os.environ, "PYTHONPATH": str(throwaway_dist)}
    result = subprocess.run(
        post3_command("run", "--backend", "throwaway", "--port", "0", "--no-auth",
                      "--workers", "2"),
        env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "the throwaway backend lives in one process: use --workers 1" in result.stderr
    output = subprocess.run(post3_command("backends"), env=env, capture_output=True,
                            text=True, check=True).stdout
    throwaway = output.splitlines().index(next(
        line for line in output.splitlines() if line.startswith("throwaway ")))
    declared = output.splitlines()[throwaway + 1].strip()
    assert declared.startswith("capabilities: ") and declared.endswith(", single_process")
