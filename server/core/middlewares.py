"""Middlewares and response hooks shared by every route."""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from server.core.errors import Problem, problem_response
from server.core.keys import METRICS, SETTINGS
from server.core.same_site import refuse_cross_site

log = logging.getLogger(__name__)

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": (
        "camera=(self), microphone=(self), display-capture=(self), geolocation=(), "
        "payment=(), usb=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
}


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every 4xx and 5xx leaves as application/problem+json."""
    try:
        return await handler(request)
    except Problem as problem:
        return problem.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = _HTTP_DETAILS.get(exc.status, exc.reason)
        if exc.status == 413:
            limit = request.app[SETTINGS].max_body_bytes
            detail = (
                f"The request body is larger than the {limit // 1024} KiB this endpoint accepts."
            )
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return problem_response(
            exc.status,
            {
                "type": "about:blank",
                "title": exc.reason,
                "status": exc.status,
                "detail": detail,
            },
            headers,
        )
    except Exception:
        log.exception("unhandled error on %s %s", request.method, _safe_path(request))
        return problem_response(
            500,
            {
                "type": "about:blank",
                "title": "Internal Server Error",
                "status": 500,
                "detail": "Something went wrong on our side. It has been logged.",
            },
        )


_HTTP_DETAILS = {
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
}


@web.middleware
async def same_site_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse cross-site unsafe requests unless they carry a bearer token (no ambient cookie)."""
    if request.method in UNSAFE:
        refuse_cross_site(request)
    return await handler(request)


@web.middleware
async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except (web.HTTPException, Problem) as exc:
        status = exc.status  # a refused request is its 4xx, not a 500
        raise
    finally:
        info = request.match_info.route.resource
        route = info.canonical if info is not None else "unmatched"
        request.app[METRICS].request_seconds.labels(request.method, route, str(status)).observe(
            time.perf_counter() - started
        )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def _safe_path(request: web.Request) -> str:
    """The path without secrets: feed tokens and query strings never reach the logs."""
    path = request.path
    if path.startswith("/calendars/"):
        return "/calendars/[redacted]"
    return path
