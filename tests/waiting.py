"""Waiting for a condition, not for a length of time.

Some outcomes arrive through another task or process (a cache told through Redis, a
file a process writes); `eventually` looks again until the outcome is there and
returns at once when it is. Its deadline only bounds a failure, so it is generous: a
loaded machine makes a test slower, never wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
DEADLINE_SECONDS = 30.0


async def eventually(
    look: Callable[[], Awaitable[T]],
    until: Callable[[T], bool] = bool,
    *,
    what: str = "the condition",
    within: float = DEADLINE_SECONDS,
) -> T:
    """What `look()` returns once `until` holds for it; fails after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = await look()
        if until(found):
            return found
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not come about within {within} s: last {found!r}")
        await asyncio.sleep(0.01)
