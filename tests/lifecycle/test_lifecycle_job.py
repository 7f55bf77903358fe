"""Lifecycle passes on a real backend (the memory one here; the live tests run every backend),
with the clock moved forward instead of waiting days."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from post3.backend import ENABLED, ObjectAttributes
from post3.backends.memory import MemoryBackend
from post3.lifecycle import job, rules
from post3.testing.helpers import payload
from post3.versioning import new_version

BUCKET = "lifecycle"
NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def later(days: float):  # noqa: ANN201 - a clock
    return lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


async def configure(backend: MemoryBackend, *rule_bodies: str) -> None:
    body = (f"<LifecycleConfiguration {NS}>"
            + "".join(f"<Rule>{b}</Rule>" for b in rule_bodies)
            + "</LifecycleConfiguration>").encode()
    document = rules.render(rules.parse(body)).decode()
    await backend.put_bucket_config(BUCKET, rules.CONFIG, document)


async def put(backend: MemoryBackend, key: str, data: bytes = b"x",
              tags: dict[str, str] | None = None) -> str:
    info = await backend.put_object(BUCKET, key, payload(data), attributes=ObjectAttributes(),
                                    tags=tags or {}, version=new_version())
    return info.version_id


async def versions(backend: MemoryBackend) -> list[tuple[str, bool]]:
    page = await backend.list_object_versions_page(BUCKET)
    return [(entry.key, entry.delete_marker) for entry in page]


@pytest.fixture
async def backend() -> MemoryBackend:
    backend = MemoryBackend()
    await backend.create_bucket(BUCKET)
    return backend


async def test_current_versions_expire_after_their_days_and_others_stay(backend) -> None:
    await configure(backend, "<ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter>"
                    "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>")
    await put(backend, "tmp/a", b"12345")
    await put(backend, "keep/b")
    early = await job.LifecyclePass(backend, now=later(0.5)).run()
    assert early.by_kind()["current"] == 0
    dry = await job.LifecyclePass(backend, now=later(2), dry_run=True).run()
    assert dry.actions == ["expire lifecycle/tmp/a (rule tmp)"]
    assert await versions(backend) == [("keep/b", False), ("tmp/a", False)]
    report = await job.LifecyclePass(backend, now=later(2)).run()
    assert report.by_kind()["current"] == 1 and report.bytes_freed == 5
    assert await versions(backend) == [("keep/b", False)]


async def test_disabled_rules_and_tag_filters(backend) -> None:
    await configure(
        backend,
        "<ID>off</ID><Filter/><Status>Disabled</Status><Expiration><Days>1</Days></Expiration>",
        "<ID>tagged</ID><Filter><Tag><Key>expire</Key><Value>yes</Value></Tag></Filter>"
        "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>")
    await put(backend, "a", tags={"expire": "yes"})
    await put(backend, "b", tags={"expire": "no"})
    await put(backend, "c")
    await job.LifecyclePass(backend, now=later(3)).run()
    assert await versions(backend) == [("b", False), ("c", False)]


async def test_versioned_expiry_writes_a_marker_then_noncurrent_versions_go(backend) -> None:
    await backend.put_bucket_versioning(BUCKET, ENABLED)
    await configure(backend, "<ID>all</ID><Filter/><Status>Enabled</Status>"
                    "<Expiration><Days>1</Days></Expiration>"
                    "<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays>"
                    "</NoncurrentVersionExpiration>")
    await put(backend, "k", b"old")
    await put(backend, "k", b"new")
    # under a day: nothing is due (a day, then up to the next midnight)
    await job.LifecyclePass(backend, now=later(0.9)).run()
    assert await versions(backend) == [("k", False), ("k", False)]
    # day 3: the current version expires (a marker), the old noncurrent one is due too; the
    # version just made noncurrent by the marker starts its own clock now
    report = await job.LifecyclePass(backend, now=later(3)).run()
    assert report.by_kind()["current"] == 1 and report.by_kind()["noncurrent"] == 1
    assert await versions(backend) == [("k", True), ("k", False)]


async def test_newer_noncurrent_versions_are_kept(backend) -> None:
    await backend.put_bucket_versioning(BUCKET, ENABLED)
    await configure(backend, "<ID>keep2</ID><Filter/><Status>Enabled</Status>"
                    "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                    "<NewerNoncurrentVersions>2</NewerNoncurrentVersions>"
                    "</NoncurrentVersionExpiration>")
    ids = [await put(backend, "k", str(n).encode()) for n in range(5)]
    report = await job.LifecyclePass(backend, now=later(3)).run()
    assert report.by_kind()["noncurrent"] == 2
    left = [e.version_id for e in await backend.list_object_versions_page(BUCKET)]
    assert left == [ids[4], ids[3], ids[2]]


async def test_a_lone_delete_marker_is_removed(backend) -> None:
    await backend.put_bucket_versioning(BUCKET, ENABLED)
    await configure(backend,
                    "<ID>markers</ID><Filter/><Status>Enabled</Status>"
                    "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                    "</Expiration><NoncurrentVersionExpiration><NoncurrentDays>1"
                    "</NoncurrentDays></NoncurrentVersionExpiration>")
    await put(backend, "gone")
    await backend.delete_object(BUCKET, "gone", marker=new_version())
    await put(backend, "kept")
    await backend.delete_object(BUCKET, "kept", marker=new_version())
    await put(backend, "kept")  # a marker that is not the latest is no lone marker
    report = await job.LifecyclePass(backend, now=later(3)).run()
    # "gone": its old version expired as noncurrent, then its marker stood alone
    assert report.by_kind()["delete_marker"] == 1
    assert await versions(backend) == [("kept", False)]


async def test_abandoned_uploads_are_aborted(backend) -> None:
    await configure(backend, "<ID>mpu</ID><Filter><Prefix>up/</Prefix></Filter>"
                    "<Status>Enabled</Status><AbortIncompleteMultipartUpload>"
                    "<DaysAfterInitiation>1</DaysAfterInitiation>"
                    "</AbortIncompleteMultipartUpload>")
    stale = await backend.create_multipart_upload(BUCKET, "up/a", attributes=ObjectAttributes(),
                                                  tags={})
    await backend.upload_part(BUCKET, "up/a", stale.upload_id, 1, payload(b"p" * 10))
    await backend.create_multipart_upload(BUCKET, "other/b", attributes=ObjectAttributes(),
                                          tags={})
    report = await job.LifecyclePass(backend, now=later(3)).run()
    assert report.by_kind()["upload"] == 1 and report.bytes_freed == 10
    assert [u.key for u in await backend.list_multipart_uploads_page(BUCKET)] == ["other/b"]


async def test_work_is_bounded_and_the_next_pass_goes_on(backend) -> None:
    await configure(backend, "<ID>all</ID><Filter/><Status>Enabled</Status>"
                    "<Expiration><Days>1</Days></Expiration>")
    for n in range(10):
        await put(backend, f"k{n}")
    first = await job.LifecyclePass(backend, now=later(3), max_versions=4).run()
    assert first.unfinished == [BUCKET] and first.by_kind()["current"] == 4
    assert await backend.get_bucket_config(BUCKET, job.PROGRESS) is not None
    second = await job.LifecyclePass(backend, now=later(3), max_versions=4).run()
    third = await job.LifecyclePass(backend, now=later(3), max_versions=4).run()
    assert second.by_kind()["current"] + third.by_kind()["current"] == 6
    assert third.unfinished == [] and await versions(backend) == []
    assert await backend.get_bucket_config(BUCKET, job.PROGRESS) is None


async def test_one_pass_at_a_time(backend) -> None:
    async with backend.job_lock(job.JOB) as held:
        assert held
        assert await job.run_pass(backend) is None
    assert await job.run_pass(backend) is not None


class SlowRemovals(MemoryBackend):
    """A backend whose version removals take a while, as commits on a real disk do; it
    counts how many run at once and can fail one."""

    def __init__(self) -> None:
        super().__init__()
        self.running = self.most = 0
        self.fail_key: str | None = None

    async def delete_object_version(self, bucket, key, version_id, **kwargs):  # noqa: ANN001, ANN003, ANN201
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(0.01)
            if key == self.fail_key:
                raise RuntimeError("the disk is gone")
            return await super().delete_object_version(bucket, key, version_id, **kwargs)
        finally:
            self.running -= 1


async def slow_bucket() -> SlowRemovals:
    backend = SlowRemovals()
    await backend.create_bucket(BUCKET)
    await backend.put_bucket_versioning(BUCKET, ENABLED)
    await configure(backend,
                    "<ID>all</ID><Filter/><Status>Enabled</Status>"
                    "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                    "</Expiration><NoncurrentVersionExpiration><NoncurrentDays>1"
                    "</NoncurrentDays></NoncurrentVersionExpiration>")
    for n in range(6):
        for _ in range(4):
            await put(backend, f"k{n}")
    # a key whose noncurrent versions go, after which its marker stands alone
    for _ in range(5):
        await put(backend, "marked")
    await backend.delete_object(BUCKET, "marked", marker=new_version())
    return backend


async def test_removals_run_concurrently_and_a_lone_marker_still_goes() -> None:
    backend = await slow_bucket()
    report = await job.LifecyclePass(backend, now=later(3)).run()
    assert backend.most == job.CONCURRENT_REMOVALS
    assert report.by_kind()["noncurrent"] == 6 * 3 + 5
    assert report.by_kind()["delete_marker"] == 1
    assert await versions(backend) == [(f"k{n}", False) for n in range(6)]


async def test_a_failed_removal_fails_the_pass_and_leaves_nothing_running() -> None:
    backend = await slow_bucket()
    backend.fail_key = "k2"
    with pytest.raises(RuntimeError, match="the disk is gone"):
        await job.LifecyclePass(backend, now=later(3)).run()
    assert backend.running == 0
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    # the next pass finishes the work
    backend.fail_key = None
    await job.LifecyclePass(backend, now=later(3)).run()
    assert await versions(backend) == [(f"k{n}", False) for n in range(6)]
