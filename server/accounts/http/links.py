"""The mailed links: email confirmation and password reset, each single use and
expiring; a reset answers alike whether or not the address has an account.
"""

from __future__ import annotations

from aiohttp import web

from server.accounts import mail, service, throttle
from server.accounts.auth import forget_user, require_user
from server.accounts.http.table import no_mail_unless_enabled, routes, user_envelope
from server.accounts.keys import ACCOUNT_MAIL
from server.accounts.schemas import (
    Accepted,
    PasswordResetConfirmIn,
    PasswordResetIn,
    UserEnvelope,
    VerifyEmailIn,
)
from server.core.api import json_response, read_json
from server.core.credentials import SESSION_COOKIE
from server.core.errors import Conflict
from server.core.ids import hash_token
from server.core.keys import CLOCK, DB, SETTINGS
from server.core.requests import client_ip, enforce_rate


@routes.route(
    "POST",
    "/api/auth/verify-email",
    summary="Confirm an email address with the link's token (single use, 48 hours)",
    body=VerifyEmailIn,
    responses={200: UserEnvelope},
    auth=False,
)
async def verify_email(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    await enforce_rate(
        request, f"link:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "link"
    )
    data = await read_json(request, VerifyEmailIn)
    user = await service.verify_email(
        db=request.app[DB], now=request.app[CLOCK].now(), secret=data.token
    )
    await forget_user(request.app, user.id)
    return json_response(user_envelope(user))


@routes.route(
    "POST",
    "/api/me/email-verification",
    summary="Mail a new confirmation link to the account's address",
    responses={202: Accepted},
)
async def resend_verification(request: web.Request) -> web.Response:
    user = await require_user(request)
    no_mail_unless_enabled(request)
    if user.email_verified:
        raise Conflict("Your email address is already confirmed.")
    await enforce_rate(
        request,
        f"verify:user:{user.id}",
        request.app[SETTINGS].email_rate_limit,
        "confirmation mail",
    )
    request.app[ACCOUNT_MAIL].spawn(mail.send_verification(request.app, user))
    return json_response(
        Accepted(detail=f"We sent a new link to {user.email}. It works for 48 hours."), 202
    )


@routes.route(
    "POST",
    "/api/auth/password-reset",
    summary="Mail a password reset link (answers 202 whether or not the address has an account)",
    body=PasswordResetIn,
    responses={202: Accepted},
    auth=False,
)
async def request_password_reset(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    await enforce_rate(
        request, f"reset:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "password reset"
    )
    data = await read_json(request, PasswordResetIn)
    no_mail_unless_enabled(request)
    await enforce_rate(
        request,
        f"reset:email:{hash_token(data.email)[:32]}",
        settings.email_rate_limit,
        "password reset",
    )
    # The lookup and the mail happen off the request: the answer takes the same time
    # and says the same thing whether or not the address has an account.
    request.app[ACCOUNT_MAIL].spawn(mail.send_reset(request.app, data.email))
    return json_response(
        Accepted(
            detail=(
                f"If {data.email} belongs to an account, a reset link is on its way. "
                "It works once, for an hour."
            )
        ),
        202,
    )


@routes.route(
    "POST",
    "/api/auth/password-reset/confirm",
    summary="Set a new password with a reset link's token; every session of the account ends",
    body=PasswordResetConfirmIn,
    responses={204: None},
    auth=False,
)
async def confirm_password_reset(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    await enforce_rate(
        request, f"link:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "link"
    )
    data = await read_json(request, PasswordResetConfirmIn)
    user = await service.reset_password(
        db=request.app[DB],
        now=request.app[CLOCK].now(),
        secret=data.token,
        password=data.password,
        min_score=settings.password_min_score,
    )
    await forget_user(request.app, user.id)
    await throttle.record_success(request, user.email)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
