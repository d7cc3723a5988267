"""Account endpoints: signup, login, logout, passwords, email links, bearer tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from server import keys
from server.accounts import mail, service, throttle
from server.accounts.passwords import estimate_strength, refusal
from server.accounts.schemas import (
    Accepted,
    AccountUpdate,
    AuthOptions,
    LoginIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PasswordStrengthIn,
    PasswordStrengthOut,
    SignupIn,
    TimezoneList,
    TokenCreated,
    TokenIn,
    TokenList,
    TokenOut,
    UserEnvelope,
    UserOut,
    VerifyEmailIn,
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
from server.core.errors import Conflict, Problem, Unauthorized
from server.core.ids import hash_token
from server.core.requests import client_ip, enforce_rate
from server.db.models import ApiToken, User

routes = Routes("accounts")

NO_MAIL = (
    "This server has no mail set up, so it cannot send links. "
    "Ask the person who runs it to set SMTP_HOST."
)


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


def _no_mail_unless_enabled(request: web.Request) -> None:
    if not request.app[keys.SETTINGS].email_enabled:
        raise Problem(503, NO_MAIL, title="Mail is not configured")


@routes.route(
    "GET",
    "/api/auth/options",
    summary="What this server offers: mail links, the password rule, token lifetime",
    responses={200: AuthOptions},
    auth=False,
)
async def options(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
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
    settings = request.app[keys.SETTINGS]
    await enforce_rate(
        request, f"signup:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "sign-up"
    )
    data = await read_json(request, SignupIn)
    user = await service.signup(
        db=request.app[keys.DB],
        now=request.app[keys.CLOCK].now(),
        data=data,
        min_score=settings.password_min_score,
    )
    request.app[keys.METRICS].signups.inc()
    request.app[keys.ACCOUNT_MAIL].spawn(mail.send_verification(request.app, user))
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
    settings = request.app[keys.SETTINGS]
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
    settings = request.app[keys.SETTINGS]
    await enforce_rate(
        request, f"login:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "sign-in"
    )
    data = await read_json(request, LoginIn)
    await throttle.refuse_while_slowed(request, data.email)
    try:
        user = await service.authenticate(
            db=request.app[keys.DB], email=data.email, password=data.password
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
        await service.end_session(db=request.app[keys.DB], session_id=identity.credential_id)
        await forget_credential(request.app, identity.credential_id)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.route(
    "POST",
    "/api/auth/verify-email",
    summary="Confirm an email address with the link's token (single use, 48 hours)",
    body=VerifyEmailIn,
    responses={200: UserEnvelope},
    auth=False,
)
async def verify_email(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    await enforce_rate(
        request, f"link:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "link"
    )
    data = await read_json(request, VerifyEmailIn)
    user = await service.verify_email(
        db=request.app[keys.DB], now=request.app[keys.CLOCK].now(), secret=data.token
    )
    await forget_user(request.app, user.id)
    return json_response(_user(user))


@routes.route(
    "POST",
    "/api/me/email-verification",
    summary="Mail a new confirmation link to the account's address",
    responses={202: Accepted},
)
async def resend_verification(request: web.Request) -> web.Response:
    user = await require_user(request)
    _no_mail_unless_enabled(request)
    if user.email_verified:
        raise Conflict("Your email address is already confirmed.")
    await enforce_rate(
        request,
        f"verify:user:{user.id}",
        request.app[keys.SETTINGS].email_rate_limit,
        "confirmation mail",
    )
    request.app[keys.ACCOUNT_MAIL].spawn(mail.send_verification(request.app, user))
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
    settings = request.app[keys.SETTINGS]
    await enforce_rate(
        request, f"reset:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "password reset"
    )
    data = await read_json(request, PasswordResetIn)
    _no_mail_unless_enabled(request)
    await enforce_rate(
        request,
        f"reset:email:{hash_token(data.email)[:32]}",
        settings.email_rate_limit,
        "password reset",
    )
    # The lookup and the mail happen off the request: the answer takes the same time
    # and says the same thing whether or not the address has an account.
    request.app[keys.ACCOUNT_MAIL].spawn(mail.send_reset(request.app, data.email))
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
    settings = request.app[keys.SETTINGS]
    await enforce_rate(
        request, f"link:ip:{client_ip(request)}", settings.auth_rate_limit_ip, "link"
    )
    data = await read_json(request, PasswordResetConfirmIn)
    user = await service.reset_password(
        db=request.app[keys.DB],
        now=request.app[keys.CLOCK].now(),
        secret=data.token,
        password=data.password,
        min_score=settings.password_min_score,
    )
    await forget_user(request.app, user.id)
    await throttle.record_success(request, user.email)
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
    "/api/me/password",
    summary="Change the password; every other session of the account ends",
    body=PasswordChangeIn,
    responses={204: None},
)
async def change_password(request: web.Request) -> web.Response:
    identity = await current_identity(request)
    if identity is None:
        raise Unauthorized()
    user = identity.user
    await throttle.refuse_while_slowed(request, user.email)
    data = await read_json(request, PasswordChangeIn)
    try:
        await service.change_password(
            db=request.app[keys.DB],
            user=user,
            current=data.current_password,
            new=data.password,
            min_score=request.app[keys.SETTINGS].password_min_score,
            keep_session=identity.credential_id if identity.via == "cookie" else None,
        )
    except Problem as problem:
        if problem.errors and problem.errors[0]["field"] == "current_password":
            await throttle.record_failure(request, user.email)
        raise
    await forget_user(request.app, user.id)
    return web.Response(status=204)


# --- bearer tokens ------------------------------------------------------------------------


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
        db=request.app[keys.DB],
        now=request.app[keys.CLOCK].now(),
        user_id=user.id,
        name=data.name,
        ttl=timedelta(days=request.app[keys.SETTINGS].token_ttl_days),
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
    tokens = await service.list_tokens(db=request.app[keys.DB], user_id=user.id)
    now = request.app[keys.CLOCK].now()
    return json_response(TokenList(items=[_token_out(t, now) for t in tokens]))


async def _revoke_token(request: web.Request) -> web.Response:
    user = await require_user(request)
    digest = await service.revoke_token(
        db=request.app[keys.DB], user_id=user.id, token_id=request.match_info["token_id"]
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


@routes.route(
    "GET",
    "/api/timezones",
    summary="Every IANA time zone the server knows",
    responses={200: TimezoneList},
    auth=False,
)
async def timezones(request: web.Request) -> web.Response:
    return json_response(TimezoneList(items=sorted(known_timezones())))
