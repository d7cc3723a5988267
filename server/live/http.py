"""Live-session endpoints: the room of a booking, the signalling socket, the device check."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from aiohttp import WSCloseCode, WSMsgType, web
from sqlalchemy import select

from server.accounts.auth import current_identity, require_user
from server.accounts.models import User
from server.core.api import Routes, json_response, read_json
from server.core.errors import Forbidden, NotFound, Problem, Unauthorized, field_error
from server.core.keys import CLOCK, DB, METRICS, SETTINGS, WEBSOCKETS
from server.core.same_site import refuse_foreign_origin
from server.live import tokens
from server.live.echo import BadOffer, EchoFull
from server.live.keys import ECHO, HUB, ROOMS
from server.live.members import Member, Person
from server.live.protocol import (
    MAX_MESSAGE_BYTES,
    Bye,
    Error,
    Join,
    ProtocolError,
    TokenBucket,
    from_json,
    to_json,
)
from server.live.rooms import RoomInfo
from server.live.schemas import (
    DeviceCheckIn,
    DeviceCheckOut,
    RecordingList,
    RoomOut,
    SocketQuery,
)
from server.live.service import recordings_of, room_details
from server.live.socket import BatchedSocket
from server.live.turn import ice_servers

log = logging.getLogger(__name__)
routes = Routes("live")


@routes.route(
    "GET",
    "/api/bookings/{booking_id}/room",
    summary="The booking's room: signalling URL, token and ICE servers",
    responses={200: RoomOut, 404: "not a participant, or no such booking"},
)
async def booking_room(request: web.Request) -> web.Response:
    user = await require_user(request)
    app = request.app
    details = await room_details(
        directory=app[ROOMS],
        settings=app[SETTINGS],
        now=app[CLOCK].now(),
        booking_id=request.match_info["booking_id"],
        user_id=user.id,
        ws_base=_ws_base(request),
    )
    return json_response(details)


@routes.route(
    "GET",
    "/api/bookings/{booking_id}/recordings",
    summary="Consented recordings of the booking's live session",
    responses={200: RecordingList, 404: "not a participant, or no such booking"},
)
async def booking_recordings(request: web.Request) -> web.Response:
    user = await require_user(request)
    app = request.app
    found = await recordings_of(
        db=app[DB],
        directory=app[ROOMS],
        booking_id=request.match_info["booking_id"],
        user_id=user.id,
    )
    return json_response(found)


def _ws_base(request: web.Request) -> str:
    settings = request.app[SETTINGS]
    secure = request.secure or settings.public_url.startswith("https://")
    return f"{'wss' if secure else 'ws'}://{request.host}"


@routes.route(
    "GET",
    "/api/rooms/{room_id}/ws",
    summary="The signalling WebSocket of a room (docs/LIVE.md)",
    query=SocketQuery,
    responses={
        101: "switching to the WebSocket protocol",
        401: "no token, or a token that is invalid, expired or for another room",
        403: "another person's token, a foreign Origin, or the room is not open now",
        404: "no such room",
    },
    auth=False,
)
async def room_socket(request: web.Request) -> web.StreamResponse:
    room, person = await _admit(request)
    app = request.app
    closes_in = (room.closes_at - app[CLOCK].now()).total_seconds()
    ws = web.WebSocketResponse(
        compress=False,
        max_msg_size=MAX_MESSAGE_BYTES,
        heartbeat=app[SETTINGS].signal_heartbeat_seconds,
    )
    if not ws.can_prepare(request).ok:
        raise Problem(426, "This address speaks WebSocket only.", headers={"Upgrade": "websocket"})
    await ws.prepare(request)
    # The upgrade's headers are sent; keeping them costs a kilobyte per socket for hours.
    ws.headers.clear()
    app[WEBSOCKETS].add(ws)
    metrics = app[METRICS]
    metrics.websockets.inc()
    try:
        await _converse(app, ws, room, person, closes_in)
    finally:
        app[WEBSOCKETS].discard(ws)
        metrics.websockets.dec()
    return ws


async def _admit(request: web.Request) -> tuple[RoomInfo, Person]:
    """Every check of the socket, before the upgrade. (A function of its own, so that
    nothing it loads stays referenced for the hours a socket may live.)"""
    app = request.app
    settings, now = app[SETTINGS], app[CLOCK].now()
    # Without an Origin it is not a browser, and the room token is what counts.
    refuse_foreign_origin(request, what="Connections")
    token = request.query.get("token")
    if not token:
        raise Unauthorized("Open the room from its session: the link needs a room token.")
    room_id = request.match_info["room_id"]
    try:
        claim = tokens.verify(token, secret_key=settings.secret_key, room_id=room_id, now=now)
    except tokens.TokenError as exc:
        raise Unauthorized(str(exc)) from None
    room = await app[ROOMS].room(room_id)
    if room is None:
        raise NotFound("This room does not exist (any more).")
    if claim.user_id not in room.participants:
        raise Forbidden("Only the two participants of this session may enter its room.")
    identity = await current_identity(request)
    if identity is not None and identity.user.id != claim.user_id:
        raise Forbidden("This room token belongs to someone else.")
    if now < room.opens_at:
        raise Forbidden("The room is not open yet.", extra={"opens_at": room.opens_at.isoformat()})
    if now >= room.closes_at:
        raise Forbidden("The room has closed.", extra={"closed_at": room.closes_at.isoformat()})
    async with app[DB].read() as s:
        found = (
            await s.execute(select(User.name, User.timezone).where(User.id == claim.user_id))
        ).first()
    if found is None:
        raise Forbidden("This account no longer exists.")
    return room, Person(user_id=claim.user_id, name=found.name, timezone=found.timezone)


async def _converse(
    app: web.Application,
    ws: web.WebSocketResponse,
    room: RoomInfo,
    person: Person,
    closes_in: float,
) -> None:
    hub = app[HUB]
    conn = BatchedSocket(ws)
    limit = app[SETTINGS].signal_rate_limit
    bucket = TokenBucket(limit.count / limit.seconds, limit.count)
    member: Member | None = None
    left = False
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                if msg.type == WSMsgType.BINARY:
                    await conn.send(to_json(Error("bad-frame", "Send JSON as text frames.")))
                continue
            if not bucket.allow(time.monotonic()):
                await conn.send(to_json(Error("rate-limited", "Too many messages; slow down.")))
                await conn.close(WSCloseCode.POLICY_VIOLATION, "too many messages")
                break
            try:
                message = from_json(msg.data)
            except ProtocolError as exc:
                await conn.send(to_json(Error(exc.code, exc.message)))
                continue
            if member is None:
                if isinstance(message, Bye):
                    left = True
                    break
                if not isinstance(message, Join):
                    await conn.send(to_json(Error("not-joined", "Send `join` first.")))
                    continue
                member = await hub.join(room, person, conn, message)
                hub.close_room_at(room.room_id, closes_in)
                continue
            await hub.handle(member, message)
            if isinstance(message, Bye):
                left = True
                break
    finally:
        if member is not None and not left:
            await hub.disconnect(member, graceful=False)
        if not ws.closed:
            await conn.close(WSCloseCode.OK, "")


@routes.route(
    "POST",
    "/api/device-check",
    summary="Answer an SDP offer with the server's echo peer",
    body=DeviceCheckIn,
    responses={
        200: DeviceCheckOut,
        422: "not an SDP offer this peer can answer",
        503: "every device-check slot is taken (Retry-After)",
    },
)
async def device_check(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, DeviceCheckIn)
    app = request.app
    settings = app[SETTINGS]
    servers = ice_servers(
        stun_urls=settings.stun_urls,
        turn_urls=settings.turn_urls,
        turn_secret=settings.turn_secret,
        user_id="meridian-echo",
        expires=app[CLOCK].now() + timedelta(seconds=settings.turn_ttl_seconds),
    )
    try:
        check_id, answer = await app[ECHO].answer(
            sdp=data.sdp, kind=data.type, ice_servers=servers, owner=user.id
        )
    except EchoFull:
        raise Problem(
            503,
            "Every device-check line is busy. Try again in a few seconds.",
            headers={"Retry-After": "10"},
            extra={"retry_after": 10},
        ) from None
    except BadOffer as exc:
        raise field_error("sdp", f"This offer cannot be answered: {exc}") from None
    return json_response(DeviceCheckOut(id=check_id, sdp=answer.sdp, type=answer.type))


@routes.route(
    "DELETE",
    "/api/device-check/{check_id}",
    summary="Hang up a device check",
    responses={204: None, 404: "no such device check"},
)
async def hang_up(request: web.Request) -> web.Response:
    user = await require_user(request)
    if not await request.app[ECHO].hang_up(request.match_info["check_id"], owner=user.id):
        raise NotFound("This device check has already ended.")
    return web.Response(status=204)
