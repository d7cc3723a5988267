"""Runs the app until SIGINT/SIGTERM, then shuts down gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from server.app import create_app
from server.config import Settings
from server.core.logs import RedactingAccessLogger

log = logging.getLogger("server")


async def serve_forever(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log_class=RedactingAccessLogger, shutdown_timeout=10)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log.info("Meridian is listening on http://%s:%s", settings.host, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
