"""Crashes in the middle of a version move: every rename, link and unlink of the move fails in
turn (and so does every later one, as if the process had died there), then a fresh backend on
the same root must show each version once, readable with its tags, the latest being the old
one or the new one; the next write of the key removes what the crash left."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from post3_filesystem import FilesystemBackend
from post3_filesystem.files import remove_tree

from post3.backend import ENABLED, NULL_VERSION, SUSPENDED, Backend, NewVersion
from post3.testing import payload, read_stream
from post3.testing.helpers import attrs
from post3.versioning import new_version

BUCKET, KEY = "crash", "dir/k"
MUTATIONS = ("replace", "link", "unlink", "rename", "rmdir")


class Crash(Exception):
    """The process died here."""


@contextlib.contextmanager
def crash_at(monkeypatch: pytest.MonkeyPatch, step: int | None) -> Iterator[list[str]]:
    """Count the file system mutations; the ``step``-th one and all after it fail."""
    calls: list[str] = []

    def failing(name: str, real: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            if step is not None and len(calls) >= step:
                raise Crash(name)
            calls.append(name)
            return real(*args, **kwargs)
        return call

    with monkeypatch.context() as patched:
        for name in MUTATIONS:
            patched.setattr(os, name, failing(name, getattr(os, name)))
        yield calls


@dataclass
class History:
    """What the test wrote: bytes and tags by sequence."""

    contents: dict[str, bytes] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)

    async def put(self, backend: Backend, data: bytes, tags: dict[str, str] | None = None,
                  version: NewVersion | None = None) -> NewVersion:
        info = await backend.put_object(BUCKET, KEY, payload(data), attributes=attrs(),
                                        version=version or new_version())
        self.contents[info.sequence] = data
        self.tags[info.sequence] = {}
        if tags:
            await self.retag(backend, info.version_id, info.sequence, tags)
        return NewVersion(info.version_id, info.sequence)

    async def retag(self, backend: Backend, version_id: str, sequence: str,
                    tags: dict[str, str]) -> None:
        await backend.put_object_tags(BUCKET, KEY, tags, version_id)
        self.tags[sequence] = tags


async def listing(backend: Backend) -> list[tuple[str, str, bool, bool]]:
    """``(sequence, version id, is latest, delete marker)`` of the key's versions."""
    page = await backend.list_object_versions_page(BUCKET)
    return [(e.sequence, e.version_id, e.is_latest, e.delete_marker) for e in page]


def states(listed: list[tuple[str, str, bool, bool]]) -> list[tuple[str, bool]]:
    return [(sequence, latest) for sequence, _, latest, _ in listed]


# scenarios: (set-up, operation, expected (sequence, is latest) after it) -------------------


async def enabled_history(backend: Backend, history: History) -> None:
    await backend.put_bucket_versioning(BUCKET, ENABLED)
    one = await history.put(backend, b"one", {"v": "1"})   # t file of the latest ...
    await history.put(backend, b"two", {"v": "2"})          # ... moved with it to versions/
    await history.retag(backend, one.version_id, one.sequence, {"v": "1b"})  # noncurrent tags


async def untagged_latest_history(backend: Backend, history: History) -> None:
    """The latest has no tag file, the version under it has one in versions/."""
    await backend.put_bucket_versioning(BUCKET, ENABLED)
    one = await history.put(backend, b"one")
    await history.put(backend, b"two")
    await history.retag(backend, one.version_id, one.sequence, {"v": "1b"})


async def suspended_history(backend: Backend, history: History) -> None:
    await history.put(backend, b"null zero", {"v": "0"})   # the null version, unversioned
    await backend.put_bucket_versioning(BUCKET, ENABLED)
    await history.put(backend, b"one", {"v": "1"})
    await backend.put_bucket_versioning(BUCKET, SUSPENDED)


async def overwrite(backend: Backend, history: History, new: NewVersion) -> None:
    await history.put(backend, b"the new one", version=new)


async def delete(backend: Backend, history: History, new: NewVersion) -> None:
    await backend.delete_object(BUCKET, KEY, marker=new)


async def delete_latest(backend: Backend, history: History, new: NewVersion) -> None:
    [(_, latest_id, _, _), *_] = await listing(backend)
    await backend.delete_object_version(BUCKET, KEY, latest_id)


def on_top(before: list[tuple[str, bool]], new: NewVersion,
           replaces_null: str | None = None) -> list[tuple[str, bool]]:
    return [(new.sequence, True)] + [(s, False) for s, _ in before if s != replaces_null]


SCENARIOS = {
    "versioned overwrite": (enabled_history, overwrite, lambda b, n, null: on_top(b, n)),
    "versioned delete": (enabled_history, delete, lambda b, n, null: on_top(b, n)),
    "delete of the latest by id": (
        enabled_history, delete_latest, lambda b, n, null: [(b[1][0], True), *b[2:]]),
    "delete of an untagged latest by id": (
        untagged_latest_history, delete_latest, lambda b, n, null: [(b[1][0], True), *b[2:]]),
    "suspended overwrite": (suspended_history, overwrite, lambda b, n, null: on_top(b, n, null)),
    "suspended delete": (suspended_history, delete, lambda b, n, null: on_top(b, n, null)),
}

Scenario = tuple[Callable[[Backend, History], Awaitable[None]],
                 Callable[[Backend, History, NewVersion], Awaitable[None]],
                 Callable[..., list[tuple[str, bool]]]]


async def prepared(root: str, setup: Callable[[Backend, History], Awaitable[None]]
                   ) -> tuple[FilesystemBackend, History, list[tuple[str, str, bool, bool]]]:
    backend = FilesystemBackend(root=root)
    await backend.open()
    await backend.create_bucket(BUCKET)
    history = History()
    await setup(backend, history)
    return backend, history, await listing(backend)


async def check_versions(backend: Backend, history: History,
                         allowed: list[list[tuple[str, bool]]]
                         ) -> list[tuple[str, str, bool, bool]]:
    listed = await listing(backend)
    assert len({s for s, *_ in listed}) == len(listed), "a version shows twice"
    assert len({v for _, v, *_ in listed}) == len(listed), "a version id shows twice"
    assert states(listed) in allowed
    for sequence, version_id, latest, marker in listed:
        info = await backend.head_object(BUCKET, KEY, version_id)
        assert (info.sequence, info.delete_marker) == (sequence, marker)
        if marker:
            continue
        data = await read_stream(await backend.open_object(BUCKET, KEY, version_id=version_id))
        assert data == history.contents[sequence]
        assert dict(info.tags) == history.tags[sequence], (sequence, latest)
        if latest:
            assert (await backend.head_object(BUCKET, KEY)).sequence == sequence
    return listed


def stored_files(root: str) -> tuple[set[str], bool]:
    """The names in the key's versions directory, and whether its ``t`` file exists."""
    versions = os.path.join(root, BUCKET, "versions", "ddir", "vk")
    names = set(os.listdir(versions)) if os.path.isdir(versions) else set()
    return names, os.path.exists(os.path.join(root, BUCKET, "objects", "ddir", "tk"))


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_a_crash_at_any_step_loses_nothing_and_the_next_write_repairs(
        tmp_path, monkeypatch, name):
    setup, operation, expect = SCENARIOS[name]
    # a dry run counts the steps of the operation
    backend, history, before = await prepared(str(tmp_path / "dry"), setup)
    with crash_at(monkeypatch, None) as calls:
        await operation(backend, history, new_version())
    await backend.close()
    steps = len(calls)
    assert steps >= 2, calls

    for step in range(steps):
        root = str(tmp_path / f"step{step}")
        backend, history, before = await prepared(root, setup)
        new = new_version()
        null = next((s for s, v, _, _ in before if v == NULL_VERSION), None)
        expected_after = expect(states(before), new.in_bucket(
            await backend.get_bucket_versioning(BUCKET)), null)
        with crash_at(monkeypatch, step), pytest.raises(Crash):
            await operation(backend, history, new)
        await backend.close()

        restarted = FilesystemBackend(root=root)
        await restarted.open()
        try:
            history.contents.setdefault(new.sequence, b"the new one")
            history.tags.setdefault(new.sequence, {})
            survived = await check_versions(restarted, history,
                                            [states(before), expected_after])
            # the next write of the key removes the leftovers
            repair = await history.put(restarted, b"repair")
            null = next((s for s, v, _, _ in survived if v == NULL_VERSION), None)
            replaced = null if repair.version_id == NULL_VERSION else None
            listed = await check_versions(
                restarted, history, [on_top(states(survived), repair, replaced)])
            names, stale_tags = stored_files(root)
            noncurrent = {s + (".null" if v == NULL_VERSION else "")
                          for s, v, latest, _ in listed if not latest}
            assert {n for n in names if not n.endswith(".tags")} == noncurrent, step
            assert {n[:32] for n in names if n.endswith(".tags")} <= {n[:32] for n in noncurrent}
            assert not stale_tags
        finally:
            await restarted.close()
            remove_tree(root)
