"""Runs the app until SIGINT/SIGTERM, then shuts down gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from sqlalchemy.engine import make_url

from server.app import create_app
from server.config import Settings
from server.core.logs import RedactingAccessLogger

log = logging.getLogger("server")


def describe(settings: Settings) -> str:
    """What this process runs on, in one line without secrets (no password, no key)."""
    url = make_url(settings.database_url)
    if settings.is_sqlite:
        database = f"SQLite {url.database}"
    else:
        database = f"PostgreSQL {url.host}:{url.port or 5432}/{url.database}"
    bus = "Redis between processes" if settings.redis_url else "one process (no REDIS_URL)"
    mail = f"mail via {settings.smtp_host}" if settings.smtp_host else "no mail (no SMTP_HOST)"
    links = f"links point to {settings.public_url}"
    return f"{database}; {bus}; media in {settings.media_dir}; {mail}; {links}"


async def serve_forever(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log_class=RedactingAccessLogger, shutdown_timeout=10)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log.info("Meridian is listening on http://%s:%s", settings.host, settings.port)
    log.info("%s", describe(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
