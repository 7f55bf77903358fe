"""deploy/: the Dockerfile installs what the README installs; the compose file is sound.

No container engine runs in CI, so the files are read: the Dockerfile's ``pip install`` must
name the same local distributions as the README's, and the compose file must apply migrations
before post3 starts and take every secret from the environment. ``docker compose config``
runs too when the compose plugin is installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def local_pip_targets(commands: list[str]) -> set[str]:
    """The local paths (``.``, ``plugins/...``) that ``pip install`` commands install."""
    targets = set()
    for command in commands:
        for segment in command.split("&&"):
            words = shlex.split(segment)
            if "pip" not in " ".join(words[:2]) or "install" not in words:
                continue
            for word in words[words.index("install") + 1:]:
                path = os.path.normpath(word)
                if not word.startswith("-") and (path == "." or path.startswith("plugins/")):
                    targets.add(path)
    return targets


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_installs_what_the_readme_installs() -> None:
    readme = (ROOT / "README.md").read_text()
    readme_commands = [line for line in readme.splitlines() if "pip install" in line]
    readme_targets = local_pip_targets(readme_commands)
    assert {".", "plugins/post3-filesystem", "plugins/post3-postgres"} <= readme_targets

    instructions = dockerfile_instructions()
    runs = [rest for keyword, rest in instructions if keyword == "RUN" and "pip install" in rest]
    assert local_pip_targets(runs) == readme_targets
    copied = {os.path.normpath(source) for keyword, rest in instructions if keyword == "COPY"
              for source in rest.split()[:-1]}
    # "." is the core distribution: its project file and its package must be in the image
    assert {"pyproject.toml", "post3"} <= copied
    for target in readme_targets - {"."}:
        assert target in copied, f"{target} is installed but never copied into the image"


def test_dockerfile_is_slim_unprivileged_and_health_checked() -> None:
    instructions = dockerfile_instructions()
    base = next(rest for keyword, rest in instructions if keyword == "FROM")
    assert re.fullmatch(r"python:3\.\d+-slim", base)
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = next(rest for keyword, rest in instructions if keyword == "HEALTHCHECK")
    assert "/_post3/health/live" in health
    command = next(rest for keyword, rest in reversed(instructions) if keyword == "CMD")
    assert "post3" in command and "run" in command


@pytest.fixture
def compose() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_migrates_before_serving_with_secrets_from_the_environment(compose) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["post3", "postgres", "migrate"]
    run = services["post3"]
    assert run["command"][:4] == ["post3", "run", "--backend", "postgres"]
    assert run["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["build"]["dockerfile"] == "deploy/Dockerfile"
    for name in ("migrate", "post3"):
        assert "${POSTGRES_PASSWORD" in services[name]["environment"]["DATABASE_URL"]
    for name in ("POST3_ACCESS_KEY", "POST3_SECRET_KEY"):
        assert run["environment"][name].startswith("${"), f"{name} must come from the environment"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${")
    # the probe paths are post3's reserved ones, which no bucket name can shadow
    assert "/_post3/health/ready" in " ".join(run["healthcheck"]["test"])


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="the docker compose plugin is not installed")
def test_docker_compose_config_accepts_the_file() -> None:
    env = {**os.environ, "POSTGRES_PASSWORD": "pw", "POST3_ACCESS_KEY": "ak",
           "POST3_SECRET_KEY": "sk"}
    done = subprocess.run(["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "post3 postgres migrate" in done.stdout or "migrate" in done.stdout
