"""``post3 lifecycle run [--dry-run]`` on a filesystem root, as an operator runs it by hand."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from post3_filesystem import FilesystemBackend

from post3.backend import ObjectAttributes
from post3.lifecycle import rules
from post3.testing.helpers import payload
from post3.versioning import new_version

RULES = (b'<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
         b"<Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status>"
         b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>")


async def prepare(root: str) -> None:
    backend = FilesystemBackend.from_options({"root": root, "fsync": "false"})
    await backend.open()
    try:
        await backend.create_bucket("lifecycle-cli")
        await backend.put_bucket_config("lifecycle-cli", rules.CONFIG,
                                        rules.render(rules.parse(RULES)).decode())
        for key in ("tmp/a", "keep/b"):
            await backend.put_object("lifecycle-cli", key, payload(b"data"),
                                     attributes=ObjectAttributes(), version=new_version())
    finally:
        await backend.close()


async def keys(root: str) -> list[str]:
    backend = FilesystemBackend.from_options({"root": root})
    await backend.open()
    try:
        return [entry.key for entry in await backend.list_objects_page("lifecycle-cli")]
    finally:
        await backend.close()


def run(root: str, *flags: str) -> subprocess.CompletedProcess[str]:
    # a one-second "day": the objects written now are due two seconds later
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("POST3_")},
           "POST3_LIFECYCLE_DAY_SECONDS": "1"}
    return subprocess.run([sys.executable, "-m", "post3", "lifecycle", "run", "-b",
                           "filesystem", "-o", f"root={root}", *flags],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def test_dry_run_lists_and_run_expires(tmp_path) -> None:
    root = str(tmp_path / "data")
    asyncio.run(prepare(root))
    time.sleep(2.2)
    dry = run(root, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would expire lifecycle-cli/tmp/a (rule tmp)" in dry.stdout
    assert asyncio.run(keys(root)) == ["keep/b", "tmp/a"]
    done = run(root)
    assert done.returncode == 0, done.stderr
    assert "expire lifecycle-cli/tmp/a (rule tmp)" in done.stdout
    assert "removed 1 current version(s)" in done.stdout
    assert asyncio.run(keys(root)) == ["keep/b"]
