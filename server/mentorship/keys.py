"""The application keys of mentorship."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

if TYPE_CHECKING:
    from server.mentorship.profiles import FactsCache

MENTOR_FACTS: Final[web.AppKey[FactsCache]] = web.AppKey("mentor_facts")
