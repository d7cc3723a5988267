"""Background jobs run by themselves every interval, and on demand without overlapping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from server.app import create_app
from server.config import Settings
from server.core.clock import FrozenClock
from server.core.keys import PERIODIC
from server.core.periodic import Periodic
from server.ical import busy_service
from server.mentorship import sweeper
from server.notifications import outbox
from server.threads import tasks

HOUR = 3600.0


class Counter:
    """A step that counts its runs, tells when one ends, and notices any overlap."""

    def __init__(self, fail_first: bool = False) -> None:
        self.runs = 0
        self.running = 0
        self.overlapped = False
        self.fail_first = fail_first
        self.ran = asyncio.Event()
        self.began = asyncio.Event()
        self.release: asyncio.Event | None = None

    async def __call__(self) -> int:
        self.running += 1
        self.overlapped |= self.running > 1
        self.began.set()
        try:
            if self.release is not None:
                await self.release.wait()
            self.runs += 1
            if self.fail_first and self.runs == 1:
                raise RuntimeError("the first step fails")
            return self.runs
        finally:
            self.running -= 1
            self.ran.set()

    async def wait_for_runs(self, n: int) -> None:
        async with asyncio.timeout(10):
            while self.runs < n:
                self.ran.clear()
                await self.ran.wait()


async def test_the_loop_runs_at_start_and_again_after_each_interval() -> None:
    step = Counter()
    job = Periodic("counting", 0.01, step)
    job.start()
    try:
        await step.wait_for_runs(3)
    finally:
        await job.stop()
    assert not job.running


async def test_a_failing_step_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    step = Counter(fail_first=True)
    job = Periodic("flaky", 0.01, step)
    job.start()
    try:
        await step.wait_for_runs(2)
    finally:
        await job.stop()
    assert "background job flaky failed" in caplog.text


async def test_run_once_steps_now_in_the_caller_and_raises_what_the_step_raises() -> None:
    step = Counter(fail_first=True)
    job = Periodic("on demand", HOUR, step)  # never started: only run_once steps
    with pytest.raises(RuntimeError, match="the first step fails"):
        await job.run_once()
    assert await job.run_once() == 2
    assert step.runs == 2


async def test_run_once_waits_for_the_loops_step_instead_of_overlapping_it() -> None:
    step = Counter()
    step.release = asyncio.Event()
    job = Periodic("serial", HOUR, step)
    job.start()
    try:
        await step.began.wait()  # the loop's first step has begun and is held
        asked = asyncio.create_task(job.run_once())
        await asyncio.sleep(0)  # one turn of the loop: enough for the task to reach the step
        assert not asked.done() and step.running == 1
        step.release.set()
        assert await asked == 2
        assert not step.overlapped
    finally:
        await job.stop()


async def test_wake_and_next_pass_run_the_loop_now_instead_of_in_an_hour() -> None:
    step = Counter()
    job = Periodic("sleepy", HOUR, step)
    with pytest.raises(RuntimeError, match="not running"):
        await job.next_pass()
    job.start()
    try:
        await step.wait_for_runs(1)
        await job.next_pass()
        assert step.runs == 2
        job.wake()
        await step.wait_for_runs(3)
        async with asyncio.timeout(10):
            await asyncio.gather(job.next_pass(), job.next_pass())
        assert step.runs == 4  # both waited for the same fresh pass
    finally:
        await job.stop()


async def test_the_app_runs_its_background_jobs_where_tests_can_drive_them(
    make_settings: Callable[..., Settings],
    sqlite_url: str,
    clock: FrozenClock,
    aiohttp_client: Callable[..., Any],
) -> None:
    settings = make_settings(sqlite_url, smtp_host="127.0.0.1", smtp_port=1)
    client = await aiohttp_client(create_app(settings, clock=clock))
    jobs = client.app[PERIODIC]
    assert set(jobs) == {
        outbox.JOB,
        sweeper.JOB,
        tasks.SWEEP_JOB,
        busy_service.JOB,
    }
    assert all(job.running for job in jobs.values())
    async with asyncio.timeout(30):
        await asyncio.gather(*(job.next_pass() for job in jobs.values()))
    await client.close()
    assert not any(job.running for job in jobs.values())
