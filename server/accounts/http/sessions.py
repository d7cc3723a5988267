"""Signing up, in and out: what the sign-up page asks first (the server's options, a
password's strength), and the session cookie a sign-in sets.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from server.accounts import mail, service, throttle
from server.accounts.auth import current_identity, forget_credential
from server.accounts.http.table import routes, user_envelope
from server.accounts.keys import ACCOUNT_MAIL
from server.accounts.models import User
from server.accounts.passwords import estimate_strength, refusal
from server.accounts.schemas import (
    AuthOptions,
    LoginIn,
    PasswordStrengthIn,
    PasswordStrengthOut,
    SignupIn,
    UserEnvelope,
)
from server.core.api import json_response, read_json
from server.core.credentials import SESSION_COOKIE
from server.core.errors import Unauthorized
from server.core.keys import CLOCK, DB, METRICS, SETTINGS
from server.core.requests import client_ip, enforce_rate


def _set_cookie(
    request: web.Request, response: web.Response, secret: str, expires: datetime
) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int((expires - request.app[CLOCK].now()).total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=settings.secure_cookies,
    )


async def _sign_in(request: web.Request, user: User, status: int) -> web.Response:
    app = request.app
    secret, expires = await service.start_session(
        db=app[DB],
        now=app[CLOCK].now(),
        user_id=user.id,
        ttl=timedelta(days=app[SETTINGS].session_ttl_days),
        user_agent=request.headers.get("User-Agent", ""),
    )
    response = json_response(user_envelope(user), status=status)
    _set_cookie(request, response, secret, expires)
    return response


@routes.route(
    "GET",
    "/api/auth/options",
    summary="What this server offers: mail links, the password rule, token lifetime",
    responses={200: AuthOptions},
    auth=False,
)
async def options(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return json_response(
        AuthOptions(
            email_enabled=settings.email_enabled,
            password_min_score=settings.password_min_score,
            token_ttl_days=settings.token_ttl_days,
        )
    )


@routes.route(
    "POST",
    "/api/auth/signup",
    summary="Create an account and sign in (a confirmation link is mailed)",
    body=SignupIn,
    responses={201: UserEnvelope},
    auth=False,
)
async def signup(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    await enforce_rate(
        request, f"signup:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "sign-up"
    )
    data = await read_json(request, SignupIn)
    user = await service.signup(
        db=request.app[DB],
        now=request.app[CLOCK].now(),
        data=data,
        min_score=settings.password_min_score,
    )
    request.app[METRICS].signups.inc()
    request.app[ACCOUNT_MAIL].spawn(mail.send_verification(request.app, user))
    return await _sign_in(request, user, 201)


@routes.route(
    "POST",
    "/api/auth/password-strength",
    summary="How hard a password is to guess, judged as sign-up, change and reset judge it",
    body=PasswordStrengthIn,
    responses={200: PasswordStrengthOut},
    auth=False,
)
async def password_strength(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    await enforce_rate(
        request,
        f"strength:ip:{client_ip(request)}",
        settings.password_check_rate_limit,
        "password check",
    )
    data = await read_json(request, PasswordStrengthIn)
    email, name = data.email, data.name
    identity = await current_identity(request) if not (email or name) else None
    if identity is not None:  # changing one's own password: judge it against the account
        email, name = identity.user.email, identity.user.name
    strength = await estimate_strength(data.password, email=email, name=name)
    acceptable = strength.score >= settings.password_min_score and len(data.password) >= 10
    if len(data.password) < 10:
        message = "Use at least 10 characters."
    elif acceptable:
        message = f"Strength: {strength.label}. Hard enough to guess."
    else:
        message = refusal(strength)
    return json_response(
        PasswordStrengthOut(
            score=strength.score,
            label=strength.label,
            min_score=settings.password_min_score,
            acceptable=acceptable,
            warning=strength.warning,
            suggestions=list(strength.suggestions),
            message=message,
        )
    )


@routes.route(
    "POST",
    "/api/auth/login",
    summary="Sign in with email and password",
    body=LoginIn,
    responses={200: UserEnvelope},
    auth=False,
)
async def login(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    await enforce_rate(
        request, f"login:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "sign-in"
    )
    data = await read_json(request, LoginIn)
    await throttle.refuse_while_slowed(request, data.email)
    try:
        user = await service.authenticate(
            db=request.app[DB], email=data.email, password=data.password
        )
    except Unauthorized:
        await throttle.record_failure(request, data.email)
        raise
    await throttle.record_success(request, data.email)
    return await _sign_in(request, user, 200)


@routes.route(
    "POST", "/api/auth/logout", summary="End this session", responses={204: None}, auth=False
)
async def logout(request: web.Request) -> web.Response:
    identity = await current_identity(request)
    if identity is not None and identity.via == "cookie":
        await service.end_session(db=request.app[DB], session_id=identity.credential_id)
        await forget_credential(request.app, identity.credential_id)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
