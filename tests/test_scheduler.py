"""Timed jobs: tracked for a clean shutdown, and run by one replica at a time
when Redis is configured (P-4)."""

from __future__ import annotations

import asyncio
import os

import pytest

from notifications.scheduler import JobRunner


async def test_shutdown_waits_for_a_running_job():
    runner = JobRunner()
    finished = []

    async def job():
        await asyncio.sleep(0.3)
        finished.append(True)

    task = asyncio.create_task(runner.wrap("slow", job)())
    await asyncio.sleep(0.05)
    await runner.wait_idle(5)
    assert finished == [True]
    await task


async def test_a_failing_job_is_logged_not_raised(caplog):
    async def job():
        raise RuntimeError("job broke")

    await JobRunner().wrap("broken", job)()
    assert any("job broken failed" in r.getMessage() for r in caplog.records)


async def test_two_replicas_run_a_job_once():
    import redis.asyncio as aioredis

    url = os.environ.get("KONTAKT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    probe = aioredis.from_url(url)
    try:
        await probe.ping()
    except Exception:  # noqa: BLE001
        pytest.skip(f"no Redis at {url}")
    await probe.delete("kontakt:job:digest")
    await probe.aclose()
    runs = []

    async def job():
        runs.append(1)
        await asyncio.sleep(0.2)

    a, b = JobRunner(aioredis.from_url(url)), JobRunner(aioredis.from_url(url))
    try:
        await asyncio.gather(a.wrap("digest", job)(), b.wrap("digest", job)())
        assert runs == [1]
        await a.wrap("digest", job)()  # the lock is released afterwards
        assert runs == [1, 1]
    finally:
        await a.close()
        await b.close()
