"""Hostile busy calendars: how long each one takes to be refused by the calendar reader.

Target: every answer within 2 s (the read deadline is BUSY_READ_MILLISECONDS, 1.5 s by
default), also with other work on the machine (try it under `stress-ng --cpu 2`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.ical.busy_parse import BusyCalendarError
from server.ical.busy_reader import CalendarReader
from tests.ical.hostile import HOSTILE, ordinary

TARGET_SECONDS = 2.0


async def main() -> int:
    reader = CalendarReader(workers=2, seconds=1.5)
    now = datetime.now(UTC)
    start, end = now - timedelta(days=1), now + timedelta(days=365)
    worst = 0.0
    try:
        await reader.read(ordinary(), zone="UTC", start=start, end=end, wait=True)  # warm up
        for name, data in HOSTILE.items():
            began = time.perf_counter()
            try:
                await reader.read(data, zone="UTC", start=start, end=end, wait=True)
                outcome = "accepted"
            except BusyCalendarError as exc:
                outcome = str(exc)[:60]
            seconds = time.perf_counter() - began
            worst = max(worst, seconds)
            print(f"{name:28} {seconds:6.2f} s  {outcome}")
    finally:
        await reader.close()
    verdict = "ok" if worst < TARGET_SECONDS else "SLOWER THAN TARGET"
    print(f"slowest {worst:.2f} s (target < {TARGET_SECONDS} s): {verdict}")
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    asyncio.run(main())
