"""Account endpoints: signup, login, logout, the current user, bearer tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from server import keys
from server.accounts import service
from server.accounts.schemas import (
    AccountUpdate,
    LoginIn,
    SignupIn,
    TimezoneList,
    TokenCreated,
    TokenIn,
    TokenList,
    TokenOut,
    UserEnvelope,
    UserOut,
)
from server.config import known_timezones
from server.core.api import Routes, json_response, read_json
from server.core.auth import (
    SESSION_COOKIE,
    current_identity,
    forget_credential,
    forget_user,
    require_user,
)
from server.core.requests import client_ip, enforce_rate
from server.db.models import User

routes = Routes("accounts")


def _user(user: User) -> UserEnvelope:
    return UserEnvelope(user=UserOut.model_validate(user, from_attributes=True))


def _set_cookie(
    request: web.Request, response: web.Response, secret: str, expires: datetime
) -> None:
    settings = request.app[keys.SETTINGS]
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int((expires - request.app[keys.CLOCK].now()).total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
    )


async def _sign_in(request: web.Request, user: User, status: int) -> web.Response:
    app = request.app
    secret, expires = await service.start_session(
        db=app[keys.DB],
        now=app[keys.CLOCK].now(),
        user_id=user.id,
        ttl=timedelta(days=app[keys.SETTINGS].session_ttl_days),
        user_agent=request.headers.get("User-Agent", ""),
    )
    response = json_response(_user(user), status=status)
    _set_cookie(request, response, secret, expires)
    return response


@routes.route(
    "POST",
    "/api/auth/signup",
    summary="Create an account and sign in",
    body=SignupIn,
    responses={201: UserEnvelope},
    auth=False,
)
async def signup(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    await enforce_rate(
        request, f"signup:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "sign-up"
    )
    data = await read_json(request, SignupIn)
    user = await service.signup(
        db=request.app[keys.DB], now=request.app[keys.CLOCK].now(), data=data
    )
    request.app[keys.METRICS].signups.inc()
    return await _sign_in(request, user, 201)


@routes.route(
    "POST",
    "/api/auth/login",
    summary="Sign in with email and password",
    body=LoginIn,
    responses={200: UserEnvelope},
    auth=False,
)
async def login(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    await enforce_rate(
        request, f"login:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "sign-in"
    )
    data = await read_json(request, LoginIn)
    await enforce_rate(
        request, f"login:account:{data.email}", settings.auth_rate_limit_account, "sign-in"
    )
    user = await service.authenticate(
        db=request.app[keys.DB], email=data.email, password=data.password
    )
    return await _sign_in(request, user, 200)


@routes.route(
    "POST", "/api/auth/logout", summary="End this session", responses={204: None}, auth=False
)
async def logout(request: web.Request) -> web.Response:
    identity = await current_identity(request)
    if identity is not None and identity.via == "cookie":
        await service.end_session(db=request.app[keys.DB], session_id=identity.credential_id)
        await forget_credential(request.app, identity.credential_id)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.route("GET", "/api/me", summary="The signed-in account", responses={200: UserEnvelope})
async def me(request: web.Request) -> web.Response:
    return json_response(_user(await require_user(request)))


@routes.route(
    "PATCH",
    "/api/me",
    summary="Change the account's name or time zone",
    body=AccountUpdate,
    responses={200: UserEnvelope},
)
async def update_me(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, AccountUpdate)
    updated = await service.update_account(db=request.app[keys.DB], user_id=user.id, data=data)
    await forget_user(request.app, user.id)
    return json_response(_user(updated))


@routes.route(
    "POST",
    "/api/auth/tokens",
    summary="Create a bearer token (shown once)",
    body=TokenIn,
    responses={201: TokenCreated},
)
async def create_token(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, TokenIn)
    token, secret = await service.create_token(
        db=request.app[keys.DB], now=request.app[keys.CLOCK].now(), user_id=user.id, name=data.name
    )
    created = TokenCreated(id=token.id, name=token.name, token=secret, created_at=token.created_at)
    return json_response(created, status=201)


@routes.route(
    "GET", "/api/auth/tokens", summary="The account's bearer tokens", responses={200: TokenList}
)
async def list_tokens(request: web.Request) -> web.Response:
    user = await require_user(request)
    tokens = await service.list_tokens(db=request.app[keys.DB], user_id=user.id)
    items = [TokenOut.model_validate(t, from_attributes=True) for t in tokens]
    return json_response(TokenList(items=items))


@routes.route(
    "DELETE", "/api/auth/tokens/{token_id}", summary="Revoke a bearer token", responses={204: None}
)
async def revoke_token(request: web.Request) -> web.Response:
    user = await require_user(request)
    await service.revoke_token(
        db=request.app[keys.DB], user_id=user.id, token_id=request.match_info["token_id"]
    )
    await forget_user(request.app, user.id)
    return web.Response(status=204)


@routes.route(
    "GET",
    "/api/timezones",
    summary="Every IANA time zone the server knows",
    responses={200: TimezoneList},
    auth=False,
)
async def timezones(request: web.Request) -> web.Response:
    return json_response(TimezoneList(items=sorted(known_timezones())))
