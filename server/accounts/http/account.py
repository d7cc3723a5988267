"""The signed-in account: reading and changing it, its password, and the time zones it
may choose from.
"""

from __future__ import annotations

from aiohttp import web

from server.accounts import service, throttle
from server.accounts.auth import current_identity, forget_user, require_user
from server.accounts.http.table import routes, user_envelope
from server.accounts.schemas import AccountUpdate, PasswordChangeIn, TimezoneList, UserEnvelope
from server.config import known_timezones
from server.core.api import json_response, read_json
from server.core.errors import Problem, Unauthorized
from server.core.keys import DB, SETTINGS


@routes.route("GET", "/api/me", summary="The signed-in account", responses={200: UserEnvelope})
async def me(request: web.Request) -> web.Response:
    return json_response(user_envelope(await require_user(request)))


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
    updated = await service.update_account(db=request.app[DB], user_id=user.id, data=data)
    await forget_user(request.app, user.id)
    return json_response(user_envelope(updated))


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
            db=request.app[DB],
            user=user,
            current=data.current_password,
            new=data.password,
            min_score=request.app[SETTINGS].password_min_score,
            keep_session=identity.credential_id if identity.via == "cookie" else None,
        )
    except Problem as problem:
        if problem.errors and problem.errors[0]["field"] == "current_password":
            await throttle.record_failure(request, user.email)
        raise
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
