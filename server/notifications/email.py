"""Sending email through the configured SMTP server: one place for every feature's mail."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import aiosmtplib

from server.config import Settings

log = logging.getLogger(__name__)


def new_message(settings: Settings, *, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    return message


async def send(settings: Settings, message: EmailMessage, *, what: str) -> bool:
    """Send ``message``; False (and a log line naming only the domain) if SMTP fails."""
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            start_tls=settings.smtp_starttls,
            timeout=20,
        )
    except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
        domain = str(message["To"]).rsplit("@", 1)[-1]
        log.warning("could not email %s to %s: %s", what, domain, exc)
        return False
    return True
