"""The credentials a request carries: the browser's session cookie or a bearer token.

Only how they are read from a request; who they belong to is the accounts feature's
(``server.accounts.auth``). The same-site rule needs both without a database.
"""

from __future__ import annotations

from aiohttp import web

SESSION_COOKIE = "meridian_session"


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None
