"""The store-wide job lock (``Capabilities(job_lock=True)``): one holder at a time, refused at
once rather than waited for, released on exit even when the holder fails. That another
*process* is refused too is the backend's own test (this suite runs in one process)."""

from __future__ import annotations

import pytest

from post3.backend import Backend
from post3.testing.base import ConformanceBase


class JobLockTests(ConformanceBase):
    @pytest.mark.asyncio
    async def test_one_holder_at_a_time_and_released_on_exit(self, backend: Backend) -> None:
        if not backend.capabilities.job_lock:
            pytest.skip("job_lock is not declared by this backend")
        async with backend.job_lock("lifecycle") as held:
            assert held
            async with backend.job_lock("lifecycle") as again:
                assert not again
            async with backend.job_lock("other-job") as other:
                assert other, "locks of different names are independent"
        with pytest.raises(RuntimeError):
            async with backend.job_lock("lifecycle") as held:
                assert held
                raise RuntimeError("the job failed")
        async with backend.job_lock("lifecycle") as held:
            assert held, "a failed holder released the lock"
