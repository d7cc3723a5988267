"""The application keys of mentorship: the mentor facts cache, and the hooks run when a
mentorship stops."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.mentorship.profiles import FactsCache
    from server.mentorship.stopping import StopHook

MENTOR_FACTS: Final[web.AppKey[FactsCache]] = web.AppKey("mentor_facts")
# What other features do when a mentorship ends or completes; filled by the app.
ON_STOP: Final[web.AppKey[tuple[StopHook, ...]]] = web.AppKey("mentorship_on_stop")
