"""Background work done every so often, as one step that can also be run on demand.

Each recurring job (reminders, sweepers, pollers, mailers) is a step coroutine that
finds its due work in the database. A `Periodic` runs the step when the app starts and
then every `interval` seconds until the app stops; `run_once()` runs one step now and
`wake()` cuts the current wait short, so whoever knows that work is due (or a test that
has just moved its clock) never waits out the interval. Steps of one job never overlap.

asyncio has no periodic task and aiohttp only offers cleanup contexts; the scheduling
libraries (APScheduler, aiocron) bring job stores and clocks of their own, where an
event, a lock and a loop are all this needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from server.core.keys import PERIODIC

log = logging.getLogger(__name__)


class Periodic:
    """One job: its step, run by a loop every `interval` seconds and on demand."""

    def __init__(self, name: str, interval: float, step: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.interval = interval
        self._step = step
        self._lock = asyncio.Lock()
        self._woken = asyncio.Event()
        self._finished = asyncio.Condition()
        self._begun = 0  # steps the loop has begun
        self._done = 0  # the last step the loop has finished
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def run_once(self) -> object:
        """One step now, in the caller's task, after any step under way; errors propagate."""
        async with self._lock:
            return await self._step()

    def wake(self) -> None:
        """Let the loop run its next step now instead of at the end of its interval."""
        self._woken.set()

    async def next_pass(self) -> None:
        """Wake the loop and return once it has finished a step that began after this call."""
        if not self.running:
            raise RuntimeError(f"the background job {self.name!r} is not running")
        wanted = self._begun + 1
        self.wake()
        async with self._finished:
            await self._finished.wait_for(lambda: self._done >= wanted)

    async def _loop(self) -> None:
        while True:
            self._woken.clear()
            async with self._lock:
                self._begun += 1
                step = self._begun
                try:
                    await self._step()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background job %s failed; trying again later", self.name)
            async with self._finished:
                self._done = step
                self._finished.notify_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self.interval)


CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def start(
    app: web.Application, name: str, interval: float, step: Callable[[], Awaitable[object]]
) -> Periodic:
    """Start a job and keep it in ``app[keys.PERIODIC][name]``; the caller stops it."""
    job = Periodic(name, interval, step)
    app[PERIODIC][name] = job
    job.start()
    return job


def periodic(
    name: str,
    interval: Callable[[web.Application], float],
    step: Callable[[web.Application], Awaitable[object]],
    *,
    enabled: Callable[[web.Application], bool] = lambda app: True,
) -> CleanupContext:
    """A cleanup context running `step(app)` every `interval(app)` seconds while enabled.

    The job is kept in ``app[keys.PERIODIC][name]``, where callers find `run_once()`,
    `wake()` and `next_pass()`.
    """

    async def context(app: web.Application) -> AsyncIterator[None]:
        if not enabled(app):
            yield
            return
        job = start(app, name, interval(app), lambda: step(app))
        try:
            yield
        finally:
            await job.stop()

    return context
