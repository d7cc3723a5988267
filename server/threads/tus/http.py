"""The tus 1.0.0 endpoints: core protocol plus creation, creation-with-upload,
creation-defer-length, termination, expiration and checksum (sha1).

Each handler reads the tus headers (``protocol``), hands the body to the use case as
an async iterator of bytes (``request.content.iter_any()``: ``client_max_size`` only
limits ``request.read()``, so bodies of any size stream), and answers with the offset.
Every refusal carries ``Tus-Resumable``, as the protocol asks.
"""

from __future__ import annotations

import functools

from aiohttp import web
from aiohttp.typedefs import Handler

from server.accounts.auth import require_user
from server.accounts.models import User
from server.core.api import HeaderParam, Routes
from server.core.edge import text_refused, why_not_text
from server.core.errors import Problem
from server.core.keys import CLOCK, DB, METRICS, SETTINGS
from server.threads import uploads
from server.threads.keys import MEDIA_STORE
from server.threads.models import Upload
from server.threads.quota import Limits
from server.threads.tus import protocol
from server.threads.tus import service as tus
from server.threads.tus.protocol import MAX_METADATA, OCTETS, TUS_VERSION, Refusal

routes = Routes("uploads")

# The headers the document declares, so a client (or a fuzzer) knows what tus expects.
VERSION_HEADER = HeaderParam(
    "Tus-Resumable", {"type": "string", "enum": [TUS_VERSION]}, required=True
)
_WHOLE_NUMBER = {"type": "string", "pattern": "^[0-9]{1,19}$"}
CREATION_HEADERS = (
    VERSION_HEADER,
    HeaderParam("Upload-Length", _WHOLE_NUMBER, description="Total size in bytes"),
    HeaderParam(
        "Upload-Defer-Length",
        {"type": "string", "enum": ["1"]},
        description="1 when the size is not known yet (instead of Upload-Length)",
    ),
    HeaderParam(
        "Upload-Metadata",
        {"type": "string", "maxLength": MAX_METADATA},
        description="Comma-separated 'key base64value' pairs",
    ),
)
PATCH_HEADERS = (
    VERSION_HEADER,
    HeaderParam("Upload-Offset", _WHOLE_NUMBER, required=True),
    HeaderParam("Upload-Length", _WHOLE_NUMBER, description="Once a deferred size is known"),
    HeaderParam("Upload-Checksum", {"type": "string"}, description="sha1 <base64 digest>"),
)


def _problem(refused: Problem | Refusal) -> Problem:
    """The problem document of a refusal, with the header every tus answer carries."""
    if isinstance(refused, Refusal):
        refused = Problem(
            refused.status, refused.detail, title=refused.title, headers=refused.headers
        )
    refused.headers.setdefault("Tus-Resumable", TUS_VERSION)
    return refused


def _speaks_tus(handler: Handler) -> Handler:
    """Answer the handler's refusals (the protocol's and the services') as tus problems."""

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (Problem, Refusal) as refused:
            raise _problem(refused) from None

    return answer


async def _uploader(request: web.Request) -> User:
    user = await require_user(request)
    protocol.check_version(request.headers.get("Tus-Resumable"))
    return user


def _number(request: web.Request, name: str) -> int | None:
    return protocol.whole_number(name, request.headers.get(name))


def _metadata(raw: str | None) -> dict[str, str]:
    """Upload-Metadata as text; a value that is not text is refused by name."""
    meta: dict[str, str] = {}
    for key, value in protocol.metadata_items(raw):
        why = why_not_text(value)
        if why is not None:
            raise text_refused(f"Upload-Metadata.{key}", why)
        meta[key] = value
    return meta


def _has_body(request: web.Request) -> bool:
    if request.content_length is not None:
        return request.content_length > 0
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _body(request: web.Request, checksum: bytes | None) -> tus.Body | None:
    if not _has_body(request):
        return None
    return tus.Body(request.content.iter_any(), request.content_length, checksum)


def _limits(request: web.Request) -> Limits:
    return Limits.from_settings(request.app[SETTINGS])


def _intake(request: web.Request) -> tus.Intake:
    app = request.app
    return tus.Intake(
        db=app[DB],
        store=app[MEDIA_STORE],
        limits=_limits(request),
        clock=app[CLOCK],
        counted=app[METRICS].upload_bytes.inc,
    )


async def _load(request: web.Request, user_id: str) -> Upload:
    return await uploads.load(
        db=request.app[DB],
        upload_id=request.match_info["upload_id"],
        user_id=user_id,
        now=request.app[CLOCK].now(),
    )


def _offset_headers(upload: Upload) -> dict[str, str]:
    return {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(protocol.offset_of(upload.state, upload.received, upload.length)),
        **protocol.expires(upload.state, upload.expires_at),
    }


# --- endpoints ---------------------------------------------------------------------------


@routes.route(
    "OPTIONS",
    "/api/uploads/",
    summary="tus discovery: version, extensions, maximum size, checksum algorithms",
    responses={204: None},
    auth=False,
)
async def discover(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return web.Response(
        status=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": protocol.EXTENSIONS,
            "Tus-Max-Size": str(settings.upload_max_bytes),
            "Tus-Checksum-Algorithm": protocol.CHECKSUM_ALGORITHMS,
        },
    )


@routes.route(
    "POST",
    "/api/uploads/",
    summary="tus creation (Upload-Length or Upload-Defer-Length: 1), optionally with data",
    responses={201: None},
    headers=CREATION_HEADERS,
    raw_body=OCTETS,
)
@_speaks_tus
async def create(request: web.Request) -> web.Response:
    user = await _uploader(request)
    length = protocol.creation_length(
        _number(request, "Upload-Length"), request.headers.get("Upload-Defer-Length")
    )
    meta = _metadata(request.headers.get("Upload-Metadata"))
    with_data = _has_body(request)
    if with_data and request.content_type != OCTETS:
        raise Refusal(415, f"Data sent with the creation request must be {OCTETS}.")
    checksum = (
        protocol.parse_checksum(request.headers.get("Upload-Checksum")) if with_data else None
    )
    intake = _intake(request)
    upload = await uploads.create(
        db=intake.db,
        store=intake.store,
        limits=intake.limits,
        now=intake.clock.now(),
        user_id=user.id,
        length=length,
        meta=meta,
    )
    location = f"/api/uploads/{upload.id}"
    body = _body(request, checksum)
    if body is not None:
        try:
            await tus.receive(intake, upload, body)
        except (Problem, Refusal) as refused:
            # The upload exists even when its first bytes were refused: say where it is.
            problem = _problem(refused)
            problem.headers["Location"] = location
            problem.headers["Upload-Offset"] = str(upload.received)
            raise problem from None
    await tus.complete(intake, upload)
    return web.Response(status=201, headers={"Location": location, **_offset_headers(upload)})


@routes.route(
    "HEAD",
    "/api/uploads/{upload_id}",
    summary="tus offset of an upload",
    responses={200: None},
    headers=(VERSION_HEADER,),
)
@_speaks_tus
async def head(request: web.Request) -> web.Response:
    user = await _uploader(request)
    upload = await _load(request, user.id)
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(protocol.offset_of(upload.state, upload.received, upload.length)),
        "Cache-Control": "no-store",
    }
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.meta:
        headers["Upload-Metadata"] = protocol.encode_metadata(upload.meta)
    headers.update(protocol.expires(upload.state, upload.expires_at))
    return web.Response(status=200, headers=headers)


@routes.route(
    "PATCH",
    "/api/uploads/{upload_id}",
    summary="tus: append bytes at Upload-Offset (application/offset+octet-stream)",
    responses={204: None},
    headers=PATCH_HEADERS,
    raw_body=OCTETS,
)
@_speaks_tus
async def patch(request: web.Request) -> web.Response:
    user = await _uploader(request)
    if request.content_type != OCTETS:
        raise Refusal(415, f"Send the bytes with Content-Type: {OCTETS}.")
    offset = _number(request, "Upload-Offset")
    if offset is None:
        raise Refusal(400, "Upload-Offset is required.")
    length = _number(request, "Upload-Length")
    checksum = protocol.parse_checksum(request.headers.get("Upload-Checksum"))
    upload = await tus.append(
        _intake(request),
        upload_id=request.match_info["upload_id"],
        user_id=user.id,
        offset=offset,
        length=length,
        body=_body(request, checksum),
    )
    return web.Response(status=204, headers=_offset_headers(upload))


@routes.route(
    "DELETE",
    "/api/uploads/{upload_id}",
    summary="tus termination: remove an upload and its bytes",
    responses={204: None},
    headers=(VERSION_HEADER,),
)
@_speaks_tus
async def terminate(request: web.Request) -> web.Response:
    user = await _uploader(request)
    upload = await _load(request, user.id)
    await uploads.terminate(
        db=request.app[DB],
        store=request.app[MEDIA_STORE],
        upload=upload,
        now=request.app[CLOCK].now(),
    )
    return web.Response(status=204, headers={"Tus-Resumable": TUS_VERSION})
