"""An access log that never writes secrets that travel in URLs."""

from __future__ import annotations

from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse


class RedactingAccessLogger(AccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if request.path.startswith("/calendars/") or request.query_string:
            request = request.clone(rel_url=_redacted(request.path))
        super().log(request, response, time)


def _redacted(path: str) -> str:
    if path.startswith("/calendars/"):
        return "/calendars/[redacted]"
    return path
