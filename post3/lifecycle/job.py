"""The lifecycle job: one pass applies every bucket's rules; the server runs passes in the
background, one at a time across processes and hosts (``Backend.job_lock``).

A pass walks each bucket with a lifecycle configuration once, version by version (keys
ascending, newest first), and for each version decides with :mod:`.rules`:

* the current version of an object, past its Expiration: expired as a DELETE without a
  version id would (removed in a bucket that never had versioning, a delete marker
  otherwise, after which the old version is noncurrent from now on);
* a noncurrent version (delete markers included), past NoncurrentDays since its successor
  was written and with at least NewerNoncurrentVersions newer noncurrent versions: removed;
* a delete marker left alone as its key's only version, under ExpiredObjectDeleteMarker:
  removed;
* a pending multipart upload past DaysAfterInitiation: aborted.

Every action is one atomic backend call that re-reads nothing the pass decided on, so a pass
killed at any point leaves a consistent store and the next pass takes over: the work is
bounded (``max_versions`` a bucket, per pass), and where a bucket's walk stopped is kept as
the bucket's ``lifecycle-progress`` document, saved at key boundaries.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from post3 import errors, listing, versioning
from post3.backend import Backend, ListEntry, UploadCursor, VersionCursor, utcnow
from post3.lifecycle import rules
from post3.lifecycle.rules import Configuration, Rule

log = logging.getLogger("post3.lifecycle")

PROGRESS = "lifecycle-progress"
JOB = "lifecycle"
PAGE = 1000
#: Noncurrent versions a pass removes at once. Each removal is a commit of its own (on
#: PostgreSQL a WAL flush), and one at a time held a pass to ~250 removals a second on an idle
#: PostgreSQL and ~20 beside busy writers, fewer than a versioned bucket under churn gains.
CONCURRENT_REMOVALS = 8


@dataclass(slots=True)
class PassReport:
    """What a pass did (or, dry, would do)."""

    expired_objects: int = 0
    noncurrent_versions_removed: int = 0
    delete_markers_removed: int = 0
    uploads_aborted: int = 0
    #: versions a rule would remove that object lock keeps
    locked_kept: int = 0
    bytes_freed: int = 0
    duration: float = 0.0
    #: a bucket whose walk stopped at ``max_versions``, to go on next pass
    unfinished: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)

    def by_kind(self) -> dict[str, int]:
        return {"current": self.expired_objects, "noncurrent": self.noncurrent_versions_removed,
                "delete_marker": self.delete_markers_removed, "upload": self.uploads_aborted}


@dataclass(slots=True)
class _Key:
    """The walk's state within one key's versions."""

    key: str
    position: int = 0
    #: LastModified of the newer version just seen: when the next one became noncurrent
    successor: dt.datetime | None = None
    remaining: int = 0
    marker: ListEntry | None = None


class LifecyclePass:
    def __init__(self, backend: Backend, *, day_seconds: float = rules.DAY,
                 max_versions: int = 100_000, dry_run: bool = False,
                 now: Callable[[], dt.datetime] = utcnow) -> None:
        self.backend, self.day_seconds = backend, day_seconds
        self.max_versions, self.dry_run, self.now = max_versions, dry_run, now
        self.report = PassReport()
        self._slots = asyncio.Semaphore(CONCURRENT_REMOVALS)
        self._removing: set[asyncio.Task[None]] = set()
        #: the first removal that failed: the pass stops, as it did when removals ran in turn
        self._failed: BaseException | None = None

    async def run(self) -> PassReport:
        started = time.perf_counter()
        for bucket in await self.backend.list_buckets():
            try:
                document = await self.backend.get_bucket_config(bucket.name, rules.CONFIG)
                if document is None:
                    continue
                config = rules.parse(document.encode())
                try:
                    await self._bucket(bucket.name, config)
                finally:
                    await self._stop_removals()
            except errors.NoSuchBucket:
                continue  # deleted while the pass ran
        self.report.duration = time.perf_counter() - started
        return self.report

    # --------------------------------------------------------------------------- a bucket

    async def _bucket(self, bucket: str, config: Configuration) -> None:
        enabled = config.enabled()
        if any(rule.abort_days is not None for rule in enabled):
            await self._uploads(bucket, enabled)
        if not any(rule.expires_current or rule.noncurrent_days is not None
                   or rule.expired_object_delete_marker for rule in enabled):
            return
        after = await self._progress(bucket)
        scanned = 0
        state: _Key | None = None
        while True:
            page = await listing.versions_page(self.backend, bucket, prefix="", after=after,
                                               limit=PAGE)
            for entry in page:
                if state is None or entry.key != state.key:
                    if state is not None:
                        await self._end_of_key(bucket, enabled, state)
                        if scanned >= self.max_versions:
                            await self._wait()
                            await self._save(bucket, VersionCursor(state.key))
                            self.report.unfinished.append(bucket)
                            return
                    state = _Key(entry.key)
                scanned += 1
                await self._version(bucket, enabled, state, entry)
                after = VersionCursor(entry.key, entry.sequence)
            if len(page) < PAGE:
                break
        if state is not None:
            await self._end_of_key(bucket, enabled, state)
        await self._wait()
        await self._save(bucket, None)

    async def _progress(self, bucket: str) -> VersionCursor | None:
        document = await self.backend.get_bucket_config(bucket, PROGRESS)
        if document is None:
            return None
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return VersionCursor(str(json.loads(document)["after_key"]))
        return None

    async def _save(self, bucket: str, after: VersionCursor | None) -> None:
        if self.dry_run:
            return
        document = None if after is None else json.dumps({"after_key": after.key})
        await self.backend.put_bucket_config(bucket, PROGRESS, document)

    # --------------------------------------------------------------------------- versions

    async def _tags(self, bucket: str, entry: ListEntry, wanted: list[Rule]
                    ) -> dict[str, str] | None:
        """The version's tags, read only when a rule filters on tags."""
        if not any(rule.filter.tags for rule in wanted):
            return None
        version_id = entry.version_id if self.backend.capabilities.versioning else None
        try:
            return dict((await self.backend.head_object(bucket, entry.key, version_id)).tags)
        except (errors.NoSuchKey, errors.NoSuchVersion):
            return None

    async def _version(self, bucket: str, enabled: list[Rule], state: _Key,
                       entry: ListEntry) -> None:
        now = self.now()
        position, state.position = state.position, state.position + 1
        state.remaining += 1
        successor, state.successor = state.successor, entry.last_modified
        if position == 0:
            if entry.delete_marker:
                state.marker = entry
                return
            candidates = [r for r in enabled if r.expires_current]
            tags = await self._tags(bucket, entry, candidates)
            found = rules.current_expiry(Configuration(tuple(candidates)), entry.key,
                                         entry.size, tags, entry.last_modified,
                                         self.day_seconds)
            if found is None or now < found[0]:
                return
            await self._expire_current(bucket, entry, found[1], state)
            return
        # noncurrent: its clock started when its successor was written
        noncurrent_index = position - 1
        assert successor is not None
        candidates = [r for r in enabled if r.noncurrent_days is not None]
        tags = await self._tags(bucket, entry, candidates)
        for rule in candidates:
            if not rule.filter.matches(entry.key, entry.size, tags):
                continue
            if noncurrent_index < (rule.newer_noncurrent_versions or 0):
                continue
            if now < rules.expiry(successor, rule.noncurrent_days or 0, self.day_seconds):
                continue
            await self._start_removal(bucket, entry, rule.id, state)
            return

    async def _start_removal(self, bucket: str, entry: ListEntry, rule_id: str,
                             state: _Key) -> None:
        """Remove a noncurrent version while the walk goes on, at most
        ``CONCURRENT_REMOVALS`` at once. Removals are independent of each other: only the
        key's count of remaining versions depends on them, and that is read once they are done
        (:meth:`_end_of_key`)."""

        async def remove() -> None:
            if await self._remove_version(bucket, entry, rule_id, "noncurrent"):
                state.remaining -= 1

        await self._slots.acquire()
        if self._failed is not None:
            self._slots.release()
            raise self._failed
        task = asyncio.ensure_future(remove())
        self._removing.add(task)
        # a callback rather than a finally: a task cancelled before it started runs none
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._slots.release()
        self._removing.discard(task)
        if not task.cancelled() and task.exception() is not None and self._failed is None:
            self._failed = task.exception()

    async def _wait(self) -> None:
        """Until every removal started is done; the first that failed is raised."""
        await asyncio.gather(*self._removing, return_exceptions=True)
        if self._failed is not None:
            raise self._failed

    async def _stop_removals(self) -> None:
        """Cancel what still runs (the pass failed or was cancelled) and wait for it."""
        removing = list(self._removing)
        for task in removing:
            task.cancel()
        await asyncio.gather(*removing, return_exceptions=True)

    async def _end_of_key(self, bucket: str, enabled: list[Rule], state: _Key) -> None:
        marker = state.marker
        if marker is None:
            return
        await self._wait()  # this key's removals among them
        if state.remaining != 1:
            return
        for rule in enabled:
            if rule.expired_object_delete_marker and rule.filter.matches(marker.key, 0, None):
                await self._remove_version(bucket, marker, rule.id, "marker")
                return

    # --------------------------------------------------------------------------- actions

    async def _expire_current(self, bucket: str, entry: ListEntry, rule_id: str,
                              state: _Key) -> None:
        self.report.actions.append(f"expire {bucket}/{entry.key} (rule {rule_id})")
        self.report.expired_objects += 1
        if self.dry_run:
            return
        marker = await self.backend.delete_object(bucket, entry.key,
                                                  marker=versioning.new_version())
        if marker is None:
            self.report.bytes_freed += entry.size
            state.remaining -= 1
        else:
            # the old version is noncurrent from now: its clock starts now, not this pass
            state.remaining += 1
        log.info("lifecycle: expired %s/%s (rule %s)", bucket, entry.key, rule_id)

    async def _remove_version(self, bucket: str, entry: ListEntry, rule_id: str,
                              kind: str) -> bool:
        """Remove a noncurrent version or a delete marker; False when object lock keeps it."""
        what = "delete marker" if entry.delete_marker else "version"
        action = f"remove {what} {entry.version_id} of {bucket}/{entry.key} (rule {rule_id})"
        if not self.dry_run and self.backend.capabilities.versioning:
            try:
                removed = await self.backend.delete_object_version(bucket, entry.key,
                                                                   entry.version_id)
            except errors.AccessDenied:
                # under object lock: S3's lifecycle too leaves a locked version alone
                log.info("lifecycle: %s %s of %s/%s is locked; kept (rule %s)", what,
                         entry.version_id, bucket, entry.key, rule_id)
                self.report.locked_kept += 1
                return False
            if removed is not None and not removed.delete_marker:
                self.report.bytes_freed += removed.size
            log.info("lifecycle: removed %s %s of %s/%s (rule %s)", what, entry.version_id,
                     bucket, entry.key, rule_id)
        self.report.actions.append(action)
        if kind == "marker":
            self.report.delete_markers_removed += 1
        else:
            self.report.noncurrent_versions_removed += 1
        return True

    async def _uploads(self, bucket: str, enabled: list[Rule]) -> None:
        candidates = [r for r in enabled if r.abort_days is not None]
        now = self.now()
        after: UploadCursor | None = None
        while True:
            page = await self.backend.list_multipart_uploads_page(bucket, after=after,
                                                                  limit=PAGE)
            for upload in page:
                after = UploadCursor.after(upload)
                for rule in candidates:
                    if not upload.key.startswith(rule.filter.prefix):
                        continue
                    if now < rules.expiry(upload.initiated, rule.abort_days or 0,
                                          self.day_seconds):
                        continue
                    await self._abort(bucket, upload.key, upload.upload_id, rule.id)
                    break
            if len(page) < PAGE:
                return

    async def _abort(self, bucket: str, key: str, upload_id: str, rule_id: str) -> None:
        self.report.actions.append(f"abort upload {upload_id} of {bucket}/{key} (rule {rule_id})")
        self.report.uploads_aborted += 1
        if self.dry_run:
            return
        try:
            parts = await self.backend.list_parts(bucket, key, upload_id)
            await self.backend.abort_multipart_upload(bucket, key, upload_id)
        except errors.NoSuchUpload:
            return  # completed or aborted meanwhile
        self.report.bytes_freed += sum(part.size for part in parts)
        log.info("lifecycle: aborted upload %s of %s/%s (rule %s)", upload_id, bucket, key,
                 rule_id)


async def run_pass(backend: Backend, *, day_seconds: float = rules.DAY,
                   max_versions: int = 100_000, dry_run: bool = False) -> PassReport | None:
    """One pass under the store-wide lock; None when another process holds it."""
    async with backend.job_lock(JOB) as held:
        if not held:
            return None
        return await LifecyclePass(backend, day_seconds=day_seconds,
                                   max_versions=max_versions, dry_run=dry_run).run()


async def run_forever(backend: Backend, *, interval: float, day_seconds: float,
                      max_versions: int, on_pass: Callable[[PassReport], None]) -> None:
    """Passes every ``interval`` seconds until cancelled; a failed pass is logged and the
    next one runs on time."""
    while True:
        await asyncio.sleep(interval)
        try:
            report = await run_pass(backend, day_seconds=day_seconds,
                                    max_versions=max_versions)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("lifecycle pass failed")
            continue
        if report is not None:
            on_pass(report)


__all__ = ["JOB", "LifecyclePass", "PassReport", "run_forever", "run_pass"]
