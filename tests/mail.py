"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives.

The ``smtp`` fixture (tests/conftest.py) starts one per test; point the app at it with
``smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from server.accounts.mail import RESET_SUBJECT, VERIFY_SUBJECT

ACCOUNT_SUBJECTS = frozenset({VERIFY_SUBJECT, RESET_SUBJECT})


@dataclass
class SmtpSink:
    """Every message received, parsed, in arrival order; ``port`` is where it listens.

    A test about other mail sets ``ignore_account_mail`` so that the confirmation mail
    every sign-up sends does not count among its messages.
    """

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    ignore_account_mail: bool = False
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        if self.ignore_account_mail and message["Subject"] in ACCOUNT_SUBJECTS:
            return "250 Message accepted for delivery"
        async with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int) -> list[EmailMessage]:
        """Until ``count`` messages have arrived in all (at most 10 s); then all of them."""
        async with asyncio.timeout(10), self._arrived:
            await self._arrived.wait_for(lambda: len(self.messages) >= count)
        return self.messages


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def link_in(message: EmailMessage) -> str:
    """The one http(s) link of a mail."""
    (url,) = re.findall(r"https?://\S+", body(message))
    return url


@contextlib.asynccontextmanager
async def smtp_server(*, ignore_account_mail: bool = False) -> AsyncIterator[SmtpSink]:
    sink = SmtpSink(ignore_account_mail=ignore_account_mail)
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(sink, hostname="sink.localhost", loop=loop)

    server = await loop.create_server(protocol, "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    yield sink
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()
