"""Mail about the account itself: confirm an address, reset a password.

These mails carry a secret link, so unlike reminders and invitations they do not go
through a stored outbox (which would keep the secret in the database): they are sent
straight away, off the request, by ``AccountMail``. Sending off the request also means
``POST /api/auth/password-reset`` answers at once and alike whether or not the address
has an account. Without ``SMTP_HOST`` nothing is sent and no link is made; the links
never reach a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web

from server.accounts import service
from server.accounts.keys import ACCOUNT_MAIL
from server.accounts.models import User
from server.config import Settings
from server.core.keys import CLOCK, DB, SETTINGS
from server.notifications import email

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 10  # a mail still being sent at shutdown gets this long to finish
VERIFY_SUBJECT = "Confirm your email address for Meridian"
RESET_SUBJECT = "Reset your Meridian password"


class AccountMail:
    """Background sends of account mail, awaited on shutdown (and by tests via ``drain``)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="account-mail")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("account mail failed: %s", type(task.exception()).__name__)

    async def drain(self) -> None:
        """Wait until every mail started so far has been sent (or has failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), SHUTDOWN_SECONDS)
        for task in list(self._tasks):
            task.cancel()


async def account_mail(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: mails being sent when the server stops are finished first."""
    mail = AccountMail()
    app[ACCOUNT_MAIL] = mail
    yield
    await mail.close()


def _link(settings: Settings, page: str, secret: str) -> str:
    # In the fragment, so the secret never reaches a server log or a Referer header.
    return f"{settings.public_url}/{page}#token={secret}"


def verification_message(settings: Settings, link: service.Link) -> Any:
    url = _link(settings, "verify-email", link.secret)
    text = (
        f"Hello {link.name},\n\n"
        "please confirm that this is your email address for Meridian by opening this "
        f"link within 48 hours:\n\n{url}\n\n"
        "If you did not create a Meridian account, ignore this mail; nothing happens.\n"
    )
    return email.new_message(settings, to=link.email, subject=VERIFY_SUBJECT, text=text)


def reset_message(settings: Settings, link: service.Link) -> Any:
    url = _link(settings, "reset-password", link.secret)
    text = (
        f"Hello {link.name},\n\n"
        "someone (we hope you) asked to reset the password of your Meridian account. "
        f"To choose a new one, open this link within an hour:\n\n{url}\n\n"
        "The link works once. If you did not ask, ignore this mail: your password stays "
        "as it is.\n"
    )
    return email.new_message(settings, to=link.email, subject=RESET_SUBJECT, text=text)


async def send_verification(app: web.Application, user: User) -> None:
    settings = app[SETTINGS]
    if not settings.email_enabled:
        return
    link = await service.issue_link(db=app[DB], now=app[CLOCK].now(), user=user, purpose="verify")
    await email.send(settings, verification_message(settings, link), what="address confirmation")


async def send_reset(app: web.Application, address: str) -> None:
    """Mail a reset link if ``address`` has an account; otherwise do nothing, silently."""
    settings = app[SETTINGS]
    user = await service.find_user(db=app[DB], email=address)
    if user is None or not settings.email_enabled:
        return
    link = await service.issue_link(db=app[DB], now=app[CLOCK].now(), user=user, purpose="reset")
    await email.send(settings, reset_message(settings, link), what="password reset")
