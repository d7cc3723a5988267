"""Reading imported calendars in child processes: few at a time, each with a deadline.

A calendar file can make any parser work without end (a rule whose filters never
match keeps dateutil searching to the year 9999 without yielding anything), and a
thread cannot be stopped. So every read runs in a worker process of its own pool
(Pebble's ``ProcessPool``), never in the thread pool that uploads and media probes
share: the worker stops itself with an alarm at the deadline, and the pool kills it
if that does not work. The worker's address space is capped, so memory it takes is
bounded and given back when it ends. Workers are forked from a fork server that has
the parsers loaded already, so a replacement is ready in milliseconds and the
serving process never imports them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
from concurrent.futures import CancelledError
from datetime import datetime
from types import FrameType

from pebble import ProcessExpired, ProcessPool

from server.core.errors import Problem
from server.ical.busy import Reading
from server.ical.busy_parse import Budget, BusyCalendarError, OverBudget, too_slow

log = logging.getLogger(__name__)

MEMORY_BYTES = 768 * 1024 * 1024
"""Address space a worker may add to what it had when it started."""
KILL_GRACE_SECONDS = 0.3
"""How long past its own alarm a worker may run before the pool kills it."""
TASKS_PER_WORKER = 50
PRELOAD = ["server.ical.busy", "icalendar", "dateutil.rrule", "x_wr_timezone"]


class ReadersBusy(Problem):
    """Every calendar reader is taken and none came free soon enough."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "Meridian is reading other calendars right now; try again in a moment.",
            headers={"Retry-After": "5"},
        )


def too_much_memory() -> OverBudget:
    return OverBudget(
        "This calendar needs more memory to read than Meridian gives one calendar; "
        "export a shorter period or split it."
    )


def _limit_memory() -> None:
    """Worker initializer: cap the address space a little above what it has now."""
    import resource

    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        size = pages * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + MEMORY_BYTES
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def read_in_worker(
    data: bytes, zone: str, start: datetime, end: datetime, seconds: float
) -> Reading:
    """One read inside a worker: budget, deadline and alarm set; every failure explained."""
    import time

    from server.ical.busy import read_calendar

    def alarm(_signum: int, _frame: FrameType | None) -> None:
        raise too_slow(seconds)

    budget = Budget(deadline=time.monotonic() + seconds, seconds=seconds)
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return read_calendar(data, start=start, end=end, default_zone=zone, budget=budget)
    except BusyCalendarError:
        raise
    except MemoryError:
        raise too_much_memory() from None
    except RecursionError:
        raise BusyCalendarError("This calendar file is nested too deeply to read.") from None
    except Exception as exc:
        log.exception("reading a calendar failed")
        raise BusyCalendarError(
            f"This calendar cannot be read: {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class CalendarReader:
    """At most ``workers`` calendar reads at once, each given ``seconds``."""

    def __init__(self, *, workers: int, seconds: float) -> None:
        self.workers = workers
        self.seconds = seconds
        self._slots = asyncio.Semaphore(workers)
        self._pool: ProcessPool | None = None

    def _get_pool(self) -> ProcessPool:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            self._pool = ProcessPool(
                max_workers=self.workers,
                max_tasks=TASKS_PER_WORKER,
                initializer=_limit_memory,
                context=context,
            )
        return self._pool

    async def read(
        self, data: bytes, *, zone: str, start: datetime, end: datetime, wait: bool
    ) -> Reading:
        """The calendar's busy time, or BusyCalendarError saying why there is none.

        ``wait=False`` (someone is waiting for the answer) gives up with 503 when no
        reader comes free within a quarter of the time budget; ``wait=True`` (the
        background poller) queues.
        """
        if wait:
            await self._slots.acquire()
        else:
            try:
                async with asyncio.timeout(self.seconds / 4):
                    await self._slots.acquire()
            except TimeoutError:
                raise ReadersBusy() from None
        try:
            return await self._run(data, zone, start, end)
        finally:
            self._slots.release()

    async def _run(self, data: bytes, zone: str, start: datetime, end: datetime) -> Reading:
        future = self._get_pool().schedule(
            read_in_worker,
            args=(data, zone, start, end, self.seconds),
            timeout=self.seconds + KILL_GRACE_SECONDS,
        )
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError:
            raise too_slow(self.seconds) from None
        except ProcessExpired:
            raise too_much_memory() from None
        except CancelledError:
            raise asyncio.CancelledError() from None
        finally:
            future.cancel()  # type: ignore[no-untyped-call]  # a read nobody waits for any more stops (its worker is killed)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.stop()  # type: ignore[no-untyped-call]
        with contextlib.suppress(TimeoutError, RuntimeError):
            await asyncio.to_thread(pool.join, 5)
