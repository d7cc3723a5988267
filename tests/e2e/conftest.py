"""Page helpers for browser tests: a fresh context per person, console errors collected.

Every browser's clock is fixed at the server's (a page's `Date` answers the `clock`
fixture's now, while timers and `performance` keep running, so WebRTC, polling and
animations work as usual), so the pages and the API agree on what "today" is.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from playwright.async_api import expect

from server.core.clock import FrozenClock
from tests.waiting import DEADLINE_SECONDS

# A page waits for what it needs as long as any test does: on a loaded machine a calendar
# fetch or a first paint can take longer than Playwright's 5 s default, and that is not a bug.
expect.set_options(timeout=DEADLINE_SECONDS * 1000)

# Reports Content-Security-Policy violations as console errors, so they fail a test
# even when the browser itself would only note them quietly.
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  const what = event.blockedURI || "inline code";
  console.error(`CSP violation: ${event.violatedDirective} blocked ${what}`);
});
"""


FAILED_LOAD = re.compile(r"^console: Failed to load resource: .* status of (\d{3}) .*\((.+)\)$")


@dataclass
class Watched:
    """A page whose console errors, uncaught exceptions and CSP violations are kept.

    Chromium logs every 4xx answer as "Failed to load resource"; a test names the ones
    it provokes on purpose with `allow_http(status, path)`. A signed-out visit asks
    GET /api/me and gets 401, so that one is always expected.
    """

    page: Any
    base_url: str
    clock: FrozenClock
    errors: list[str] = field(default_factory=list)
    allowed: set[tuple[int, str]] = field(default_factory=lambda: {(401, "/api/me")})

    @property
    def now(self) -> datetime:
        """The instant the server and this browser stand at."""
        return self.clock.now()

    async def follow_clock(self) -> None:
        """Fix this browser's clock again at the server's, after a test moved that one."""
        await self.page.context.clock.set_fixed_time(self.clock.now())

    async def goto(self, path: str) -> None:
        await self.page.goto(self.base_url + path)

    def allow_http(self, status: int, path: str) -> None:
        self.allowed.add((status, path))

    def unexpected_errors(self) -> list[str]:
        def expected(error: str) -> bool:
            found = FAILED_LOAD.match(error)
            if found is None:
                return False
            url = found.group(2)
            return any(
                int(found.group(1)) == status and url == self.base_url + path
                for status, path in self.allowed
            )

        return [e for e in self.errors if not expected(e)]

    def assert_no_errors(self) -> None:
        errors = self.unexpected_errors()
        assert errors == [], "the page reported errors:\n" + "\n".join(errors)


def _watch(page: Any, base_url: str, clock: FrozenClock) -> Watched:
    watched = Watched(page=page, base_url=base_url, clock=clock)

    def on_console(message: Any) -> None:
        if message.type == "error":
            watched.errors.append(f"console: {message.text} ({message.location.get('url')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.errors.append(f"uncaught: {exc}"))
    return watched


OpenPage = Callable[..., Awaitable[Watched]]


@pytest.fixture
async def open_page(browser: Any, live_server: str, clock: FrozenClock) -> AsyncIterator[OpenPage]:
    """`await open_page(timezone_id="Asia/Kolkata")`: one person's browser on the live app,
    its clock fixed at the server's."""
    contexts: list[Any] = []

    async def make(**context_options: Any) -> Watched:
        options = {"locale": "en-GB", "timezone_id": "Europe/Berlin", **context_options}
        context = await browser.new_context(base_url=live_server, **options)
        contexts.append(context)
        await context.clock.set_fixed_time(clock.now())
        await context.add_init_script(REPORT_CSP)
        context.set_default_timeout(DEADLINE_SECONDS * 1000)
        page = await context.new_page()
        return _watch(page, live_server, clock)

    yield make
    for context in contexts:
        await context.close()
