"""Scheduling endpoints: availability, slots, bookings and their changes and content."""

from __future__ import annotations

from aiohttp import web

from server.accounts.auth import require_user
from server.core.api import Routes, json_response, read_json, read_query
from server.core.errors import Problem
from server.core.keys import BUS, CLOCK, DB, METRICS
from server.scheduling import availability, booking, changes, finding, moving, service, sessions
from server.scheduling.keys import BOOKINGS_CHANGED, BUSY_SOURCES, SLOT_CACHE
from server.scheduling.schemas import (
    AgendaIn,
    AvailabilityIn,
    AvailabilityOut,
    BookingCreated,
    BookingIn,
    BookingList,
    BookingOut,
    BookingPreview,
    BookingsQuery,
    CancelIn,
    ChangeOut,
    FeedbackIn,
    NotesIn,
    RescheduleIn,
    SlotsOut,
    SlotsQuery,
)

routes = Routes("scheduling")


def _ctx(request: web.Request) -> service.Context:
    app = request.app
    sources: list[service.BusySource] = app[BUSY_SOURCES]
    return service.Context(
        db=app[DB],
        bus=app[BUS],
        now=app[CLOCK].now(),
        sources=sources,
        changed=app[BOOKINGS_CHANGED],
    )


@routes.route(
    "GET",
    "/api/me/availability",
    summary="The signed-in person's availability (from the profile until saved)",
    responses={200: AvailabilityOut},
)
async def get_availability(request: web.Request) -> web.Response:
    user = await require_user(request)
    return json_response(
        await availability.get_availability(
            db=request.app[DB], now=request.app[CLOCK].now(), user_id=user.id
        )
    )


@routes.route(
    "PUT",
    "/api/me/availability",
    summary="Set weekly hours, date overrides, buffers, notice, horizon, slot step and limits",
    body=AvailabilityIn,
    responses={200: AvailabilityOut},
)
async def put_availability(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, AvailabilityIn)
    app = request.app
    return json_response(
        await availability.put_availability(
            db=app[DB],
            bus=app[BUS],
            changed=app[BOOKINGS_CHANGED],
            now=app[CLOCK].now(),
            user_id=user.id,
            data=data,
        )
    )


@routes.route(
    "GET",
    "/api/mentors/{mentor_id}/availability",
    summary="A mentor's availability, for the people in an active mentorship with them",
    responses={200: AvailabilityOut},
)
async def mentor_availability(request: web.Request) -> web.Response:
    user = await require_user(request)
    mentor_id = request.match_info["mentor_id"]
    return json_response(
        await availability.mentor_availability(
            db=request.app[DB],
            now=request.app[CLOCK].now(),
            viewer=user,
            mentor_id=mentor_id,
        )
    )


@routes.route(
    "GET",
    "/api/mentors/{mentor_id}/slots",
    summary="Bookable slots of a mentor, in the viewer's zone and the mentor's",
    query=SlotsQuery,
    responses={200: SlotsOut},
)
async def slots(request: web.Request) -> web.Response:
    user = await require_user(request)
    app = request.app
    mentor_id = request.match_info["mentor_id"]
    now = app[CLOCK].now()
    answers = app[SLOT_CACHE]
    # The same question in the same minute, nothing changed since: the same answer,
    # before any parsing.
    key = (mentor_id, user.id, user.timezone, request.query_string, now.timestamp() // 60)
    people = (mentor_id, user.id)
    body = answers.get(key, people)
    if body is None:
        query = read_query(request, SlotsQuery)
        stamp = answers.stamp(people)
        sources: list[service.BusySource] = app[BUSY_SOURCES]
        found = await finding.find_slots(
            db=app[DB],
            now=now,
            sources=sources,
            viewer=user,
            mentor_id=mentor_id,
            query=query,
        )
        body = found.model_dump_json().encode()
        answers.put(key, stamp, body)
    return web.Response(body=body, content_type="application/json")


@routes.route(
    "POST",
    "/api/bookings",
    summary="Book a session or a series (409 lists conflicts and the nearest free slots)",
    body=BookingIn,
    responses={201: BookingCreated, 409: "problem"},
)
async def create_booking(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, BookingIn)
    metrics = request.app[METRICS]
    try:
        created = await booking.create_booking(_ctx(request), user, data)
    except Problem as problem:
        metrics.bookings.labels(outcome=str(problem.status)).inc()
        raise
    metrics.bookings.labels(outcome="201").inc()
    return json_response(created, 201)


@routes.route(
    "POST",
    "/api/bookings/preview",
    summary="What a booking would give: occurrences, problems and DST shifts; stores nothing",
    body=BookingIn,
    responses={200: BookingPreview},
)
async def preview_booking(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, BookingIn)
    return json_response(await booking.preview(_ctx(request), user, data))


@routes.route(
    "GET",
    "/api/bookings",
    summary="The signed-in person's bookings in a time range",
    query=BookingsQuery,
    responses={200: BookingList},
)
async def list_bookings(request: web.Request) -> web.Response:
    user = await require_user(request)
    query = read_query(request, BookingsQuery)
    return json_response(
        await sessions.list_bookings(
            db=request.app[DB], now=request.app[CLOCK].now(), user=user, query=query
        )
    )


@routes.route(
    "GET",
    # Not "preview": that address is POST /api/bookings/preview's alone (so its 405 says so).
    "/api/bookings/{booking_id:(?!preview$)[^{}/]+}",
    summary="One booking",
    responses={200: BookingOut},
)
async def get_booking(request: web.Request) -> web.Response:
    user = await require_user(request)
    return json_response(
        await sessions.get_booking(
            db=request.app[DB], user=user, booking_id=request.match_info["booking_id"]
        )
    )


@routes.route(
    "POST",
    "/api/bookings/{booking_id}/reschedule",
    summary="Move this, this and following, or all upcoming occurrences",
    body=RescheduleIn,
    responses={200: ChangeOut, 409: "problem"},
)
async def reschedule(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, RescheduleIn)
    return json_response(
        await moving.reschedule(_ctx(request), user, request.match_info["booking_id"], data)
    )


@routes.route(
    "POST",
    "/api/bookings/{booking_id}/cancel",
    summary="Cancel this, this and following, or all upcoming occurrences",
    body=CancelIn,
    responses={200: ChangeOut},
)
async def cancel(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, CancelIn)
    return json_response(
        await changes.cancel(_ctx(request), user, request.match_info["booking_id"], data)
    )


@routes.route(
    "PUT",
    "/api/bookings/{booking_id}/agenda",
    summary="Replace the session's agenda items",
    body=AgendaIn,
    responses={200: BookingOut},
)
async def put_agenda(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, AgendaIn)
    return json_response(
        await sessions.put_agenda(
            db=request.app[DB],
            bus=request.app[BUS],
            now=request.app[CLOCK].now(),
            user=user,
            booking_id=request.match_info["booking_id"],
            data=data,
        )
    )


@routes.route(
    "PUT",
    "/api/bookings/{booking_id}/notes",
    summary="Replace the session's shared notes",
    body=NotesIn,
    responses={200: BookingOut},
)
async def put_notes(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, NotesIn)
    return json_response(
        await sessions.put_notes(
            db=request.app[DB],
            now=request.app[CLOCK].now(),
            user=user,
            booking_id=request.match_info["booking_id"],
            data=data,
        )
    )


@routes.route(
    "POST",
    "/api/bookings/{booking_id}/feedback",
    summary="Rate the session (1-5) with a comment, once per participant",
    body=FeedbackIn,
    responses={201: BookingOut, 409: "problem"},
)
async def add_feedback(request: web.Request) -> web.Response:
    user = await require_user(request)
    data = await read_json(request, FeedbackIn)
    return json_response(
        await sessions.add_feedback(
            db=request.app[DB],
            now=request.app[CLOCK].now(),
            user=user,
            booking_id=request.match_info["booking_id"],
            data=data,
        ),
        201,
    )
