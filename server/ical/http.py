"""Calendar endpoints: invitations, feeds (tokens and the feed files), busy calendars."""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from server.accounts.auth import require_user
from server.config import RateLimit
from server.core.api import Routes, json_response, read_json, read_query
from server.core.edge import text_refused, why_not_text
from server.core.errors import NotFound, Problem, field_error
from server.core.ids import hash_token
from server.core.keys import BUS, CLOCK, DB, SETTINGS
from server.core.requests import enforce_rate
from server.core.wire import Strict
from server.ical import invites
from server.ical.feeds.service import CreatedFeed, calendars_changed, feed_urls
from server.ical.keys import BUSY_CALENDARS, FEEDS
from server.ical.models import BusyCalendar, CalendarFeed
from server.ical.schemas import (
    BusyCalendarList,
    BusyCalendarOut,
    BusyUrlIn,
    FeedCreated,
    FeedList,
    FeedOut,
)

routes = Routes("calendars")
CALENDAR = "text/calendar"
TOKEN_PATTERN = "[A-Za-z0-9_-]{43,128}"
# Adding and refreshing busy calendars makes this server fetch other people's URLs
# (and parse what comes back), so each person gets a budget for both together.
BUSY_RATE = RateLimit(20, 600)


class UploadQuery(Strict):
    name: str | None = None


def _created(request: web.Request, created: CreatedFeed) -> FeedCreated:
    url, webcal = feed_urls(request.app[SETTINGS], created.token)
    return FeedCreated(
        id=created.feed.id,
        url=url,
        webcal_url=webcal,
        created_at=created.feed.created_at,
        rotated_at=created.feed.rotated_at,
    )


def _feed(row: CalendarFeed) -> FeedOut:
    return FeedOut(id=row.id, created_at=row.created_at, rotated_at=row.rotated_at)


def _busy(row: BusyCalendar) -> BusyCalendarOut:
    return BusyCalendarOut(
        id=row.id,
        name=row.name,
        source="url" if row.url else "upload",
        url=row.url,
        status=row.status,
        error=row.error,
        event_count=row.event_count,
        created_at=row.created_at,
        last_attempt_at=row.last_attempt_at,
        last_success_at=row.last_success_at,
        next_poll_at=row.next_poll_at,
    )


# --- invitations ----------------------------------------------------------------------


@routes.route(
    "GET",
    "/api/bookings/{booking_id}/invite.ics",
    summary="The booking as an iCalendar invitation (REQUEST, or CANCEL once cancelled)",
    responses={200: CALENDAR},
)
async def invite(request: web.Request) -> web.Response:
    user = await require_user(request)
    app = request.app
    data = await invites.invitation_for(
        db=app[DB],
        settings=app[SETTINGS],
        user_id=user.id,
        booking_id=request.match_info["booking_id"],
        now=app[CLOCK].now(),
    )
    return web.Response(
        body=data,
        content_type=CALENDAR,
        charset="utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="invite.ics"',
            "Cache-Control": "private, no-store",
        },
    )


# --- feeds ----------------------------------------------------------------------------------


@routes.route(
    "POST",
    "/api/me/calendar-feeds",
    summary="Create a calendar feed; its secret address is shown once",
    responses={201: FeedCreated},
)
async def create_feed(request: web.Request) -> web.Response:
    user = await require_user(request)
    created = await request.app[FEEDS].create(user_id=user.id, now=request.app[CLOCK].now())
    return json_response(_created(request, created), status=201)


@routes.route(
    "GET",
    "/api/me/calendar-feeds",
    summary="The account's calendar feeds",
    responses={200: FeedList},
)
async def list_feeds(request: web.Request) -> web.Response:
    user = await require_user(request)
    rows = await request.app[FEEDS].of_user(user_id=user.id)
    return json_response(FeedList(items=[_feed(r) for r in rows]))


@routes.route(
    "POST",
    "/api/me/calendar-feeds/{feed_id}/rotate",
    summary="Give a feed a new secret address; the old one stops working at once",
    responses={200: FeedCreated},
)
async def rotate_feed(request: web.Request) -> web.Response:
    user = await require_user(request)
    created = await request.app[FEEDS].rotate(
        user_id=user.id, feed_id=request.match_info["feed_id"], now=request.app[CLOCK].now()
    )
    return json_response(_created(request, created))


@routes.route(
    "DELETE",
    "/api/me/calendar-feeds/{feed_id}",
    summary="Revoke a calendar feed; its address answers 404 at once",
    responses={204: None},
)
async def revoke_feed(request: web.Request) -> web.Response:
    user = await require_user(request)
    await request.app[FEEDS].revoke(user_id=user.id, feed_id=request.match_info["feed_id"])
    return web.Response(status=204)


@routes.route(
    "GET",
    "/calendars/{token:" + TOKEN_PATTERN + "}.ics",
    summary="A calendar feed, for calendar apps (no cookie needed)",
    responses={
        200: CALENDAR,
        304: None,
        404: "No calendar at this address: never made, or revoked",
    },
    auth=False,
)
async def serve_feed(request: web.Request) -> web.StreamResponse:
    served = request.app[FEEDS].files.read(hash_token(request.match_info["token"]))
    if served is None:
        raise NotFound("There is no calendar at this address.")
    headers = {
        "ETag": served.etag,
        "Last-Modified": served.last_modified,
        "Cache-Control": "private",
        "Referrer-Policy": "no-referrer",
    }
    match = request.headers.get("If-None-Match")
    if match is not None:
        if served.etag in (tag.strip().removeprefix("W/") for tag in match.split(",")) or (
            match.strip() == "*"
        ):
            return web.Response(status=304, headers=headers)
    else:
        since = request.if_modified_since
        if since is not None and served.modified_at <= since:
            return web.Response(status=304, headers=headers)
    return web.Response(body=served.body, content_type=CALENDAR, charset="utf-8", headers=headers)


# --- busy calendars ---------------------------------------------------------------------


@routes.route(
    "POST",
    "/api/me/busy-calendars",
    summary="Import busy time: JSON {url} to poll, or an .ics file (text/calendar or form)",
    body=BusyUrlIn,
    responses={201: BusyCalendarOut},
)
async def add_busy(request: web.Request) -> web.Response:
    user = await require_user(request)
    await enforce_rate(request, f"busy-calendars:{user.id}", BUSY_RATE, "calendar import")
    service = request.app[BUSY_CALENDARS]
    if request.content_type in (CALENDAR, "multipart/form-data"):
        query = read_query(request, UploadQuery)
        if request.content_type == CALENDAR:
            data, filename = await _read_upload(request), None
        else:
            data, filename = await _read_form_file(request)
        name = query.name or (filename.rsplit(".", 1)[0][:100] if filename else None)
        row = await service.add_upload(user_id=user.id, data=data, name=name)
    else:
        body = await read_json(request, BusyUrlIn)
        row = await service.add_url(user_id=user.id, url=body.url, name=body.name)
    await calendars_changed(request.app[BUS], user.id)
    return json_response(_busy(row), status=201)


def _too_large(limit: int) -> Problem:
    return Problem(
        413, f"The calendar is larger than the {limit // (1024 * 1024)} MiB Meridian accepts."
    )


async def _read_upload(request: web.Request) -> bytes:
    """The uploaded file, streamed with a cap rather than read whole and then checked."""
    limit = request.app[SETTINGS].busy_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    if not size:
        raise field_error("file", "The uploaded calendar is empty.")
    return b"".join(chunks)


async def _read_form_file(request: web.Request) -> tuple[bytes, str | None]:
    """The form's ``file`` part (as ``curl -F file=@work.ics`` sends it), with the same cap."""
    limit = request.app[SETTINGS].busy_max_bytes
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        raise _too_large(limit)
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name != "file":
                continue
            chunks, size = [], 0
            while chunk := await part.read_chunk(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
            if not size:
                raise field_error("file", "The uploaded calendar is empty.")
            filename = unquote(part.filename) if part.filename else None
            why = why_not_text(filename) if filename is not None else None
            if why is not None:
                raise text_refused("file", why)
            return b"".join(chunks), filename
    except (ValueError, AssertionError) as exc:
        raise Problem(400, f"The form could not be read: {exc}.") from None
    raise field_error("file", "Send the calendar as the form field named file.")


@routes.route(
    "GET",
    "/api/me/busy-calendars",
    summary="Imported busy calendars with their last sync and status",
    responses={200: BusyCalendarList},
)
async def list_busy(request: web.Request) -> web.Response:
    user = await require_user(request)
    rows = await request.app[BUSY_CALENDARS].of_user(user_id=user.id)
    return json_response(BusyCalendarList(items=[_busy(r) for r in rows]))


@routes.route(
    "POST",
    "/api/me/busy-calendars/{calendar_id}/refresh",
    summary="Fetch an imported calendar now",
    responses={200: BusyCalendarOut},
)
async def refresh_busy(request: web.Request) -> web.Response:
    user = await require_user(request)
    await enforce_rate(request, f"busy-calendars:{user.id}", BUSY_RATE, "calendar import")
    service = request.app[BUSY_CALENDARS]
    row = await service.owned(user_id=user.id, calendar_id=request.match_info["calendar_id"])
    if row.url is None:
        raise Problem(409, "An uploaded calendar cannot be fetched again; upload it anew.")
    fresh = await service.refresh(row.id)
    return json_response(_busy(fresh))


@routes.route(
    "DELETE",
    "/api/me/busy-calendars/{calendar_id}",
    summary="Stop importing a calendar and forget its busy time",
    responses={204: None},
)
async def remove_busy(request: web.Request) -> web.Response:
    user = await require_user(request)
    await request.app[BUSY_CALENDARS].remove(
        user_id=user.id, calendar_id=request.match_info["calendar_id"]
    )
    return web.Response(status=204)
