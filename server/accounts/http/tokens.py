"""Bearer tokens: created (the secret shown once), listed and revoked, under /api/me and
/api/auth alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from server.accounts import service
from server.accounts.auth import forget_credential, require_user
from server.accounts.http.table import routes
from server.accounts.models import ApiToken
from server.accounts.schemas import TokenCreated, TokenIn, TokenList, TokenOut
from server.core.api import json_response, read_json
from server.core.keys import CLOCK, DB, SETTINGS


def _token_out(token: ApiToken, now: datetime) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        expires_at=token.expires_at,
        expired=token.expires_at <= now,
    )


@routes.route(
    "POST",
    "/api/auth/tokens",
    summary="Create a bearer token (shown once; expires after TOKEN_TTL_DAYS)",
    body=TokenIn,
    responses={201: TokenCreated},
)
async def create_token(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, TokenIn)
    token, secret = await service.create_token(
        db=request.app[DB],
        now=request.app[CLOCK].now(),
        user_id=user.id,
        name=data.name,
        ttl=timedelta(days=request.app[SETTINGS].token_ttl_days),
    )
    created = TokenCreated(
        id=token.id,
        name=token.name,
        token=secret,
        created_at=token.created_at,
        expires_at=token.expires_at,
    )
    return json_response(created, status=201)


async def _list_tokens(request: web.Request) -> web.Response:
    user = await require_user(request)
    tokens = await service.list_tokens(db=request.app[DB], user_id=user.id)
    now = request.app[CLOCK].now()
    return json_response(TokenList(items=[_token_out(t, now) for t in tokens]))


async def _revoke_token(request: web.Request) -> web.Response:
    user = await require_user(request)
    digest = await service.revoke_token(
        db=request.app[DB], user_id=user.id, token_id=request.match_info["token_id"]
    )
    await forget_credential(request.app, digest)
    return web.Response(status=204)


@routes.route(
    "GET",
    "/api/me/tokens",
    summary="The account's bearer tokens: name, created, last used, expiry (never the secret)",
    responses={200: TokenList},
)
async def list_tokens(request: web.Request) -> web.Response:
    return await _list_tokens(request)


@routes.route(
    "DELETE",
    "/api/me/tokens/{token_id}",
    summary="Revoke a bearer token, in every process at once",
    responses={204: None},
)
async def revoke_token(request: web.Request) -> web.Response:
    return await _revoke_token(request)


@routes.route(
    "GET",
    "/api/auth/tokens",
    summary="The account's bearer tokens (the same as GET /api/me/tokens)",
    responses={200: TokenList},
)
async def list_tokens_under_auth(request: web.Request) -> web.Response:
    return await _list_tokens(request)


@routes.route(
    "DELETE",
    "/api/auth/tokens/{token_id}",
    summary="Revoke a bearer token (the same as DELETE /api/me/tokens/{token_id})",
    responses={204: None},
)
async def revoke_token_under_auth(request: web.Request) -> web.Response:
    return await _revoke_token(request)
