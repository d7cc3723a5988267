"""A tus 1.0.0 server on aiohttp: core protocol plus creation, creation-with-upload,
creation-defer-length, termination, expiration and checksum (sha1).

Request bodies are read from ``request.content`` piece by piece and appended to the
upload's part file, never held whole in memory (``client_max_size`` only limits
``request.read()``, so PATCH bodies of any size stream). Received bytes are fsync'ed
before their offset is recorded, and the offset is recorded before it is acknowledged;
during a long PATCH the offset is checkpointed every second, so a killed process loses
at most the bytes since the last checkpoint and the client resumes from ``HEAD``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
import time
from datetime import datetime
from email.utils import format_datetime

from aiohttp import web

from server import keys
from server.core.api import HeaderParam, Routes
from server.core.auth import require_user
from server.core.edge import text_refused, why_not_text
from server.core.errors import Problem
from server.db.models import Upload, User
from server.threads import uploads
from server.threads.storage import Locked, MediaStore, PartFile

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum"
OCTETS = "application/offset+octet-stream"
WRITE_BATCH = 1024 * 1024
SYNC_BYTES = 64 * 1024 * 1024
CHECKPOINT_SECONDS = 1.0
LOCK_WAIT_SECONDS = 3.0
FINISH_WAIT_SECONDS = 30.0  # inspecting a recording and making its poster takes a while
MAX_METADATA = 4096

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
log = logging.getLogger(__name__)


def store_of(app: web.Application) -> MediaStore:
    return app[keys.MEDIA_STORE]


def _problem(status: int, detail: str, *, title: str | None = None) -> Problem:
    return Problem(status, detail, title=title, headers={"Tus-Resumable": TUS_VERSION})


def _tus(problem: Problem) -> Problem:
    problem.headers.setdefault("Tus-Resumable", TUS_VERSION)
    return problem


async def _uploader(request: web.Request) -> User:
    try:
        return await require_user(request)
    except Problem as problem:
        raise _tus(problem) from None


def _check_version(request: web.Request) -> None:
    version = request.headers.get("Tus-Resumable")
    if version != TUS_VERSION:
        raise Problem(
            412,
            f"This server speaks tus {TUS_VERSION}; send the header Tus-Resumable: {TUS_VERSION}.",
            headers={"Tus-Version": TUS_VERSION, "Tus-Resumable": TUS_VERSION},
        )


def _int_header(request: web.Request, name: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise _problem(400, f"{name} must be a non-negative whole number, got {raw[:40]!r}.")
    return int(raw)


def parse_metadata(raw: str | None) -> dict[str, str]:
    """``key base64,key2 base64`` (values optional) into text; anything else is a 400."""
    if not raw:
        return {}
    if len(raw) > MAX_METADATA:
        raise _problem(400, f"Upload-Metadata is limited to {MAX_METADATA} characters.")
    meta: dict[str, str] = {}
    for pair in raw.split(","):
        key, _, value = pair.strip().partition(" ")
        if not key or " " in value.strip() or key in meta:
            raise _problem(400, "Upload-Metadata must be comma-separated 'key base64value' pairs.")
        try:
            meta[key] = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _problem(
                400, f"Upload-Metadata value of {key!r} is not base64-encoded UTF-8."
            ) from None
        why = why_not_text(meta[key])
        if why is not None:
            raise _tus(text_refused(f"Upload-Metadata.{key}", why))
    return meta


def encode_metadata(meta: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())


def _parse_checksum(request: web.Request) -> bytes | None:
    raw = request.headers.get("Upload-Checksum")
    if raw is None:
        return None
    algorithm, _, encoded = raw.strip().partition(" ")
    if algorithm.lower() != "sha1":
        raise _problem(400, f"Upload-Checksum algorithm {algorithm!r} is not supported; use sha1.")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise _problem(400, "Upload-Checksum must be 'sha1 <base64 digest>'.") from None
    if len(digest) != 20:
        raise _problem(400, "Upload-Checksum must carry a 20-byte sha1 digest.")
    return digest


def _expires(upload: Upload) -> dict[str, str]:
    if upload.state != "open":
        return {}
    return {"Upload-Expires": format_datetime(upload.expires_at, usegmt=True)}


def _now(request: web.Request) -> datetime:
    return request.app[keys.CLOCK].now()


def _limits(request: web.Request) -> uploads.Limits:
    return uploads.Limits.from_settings(request.app[keys.SETTINGS])


def _has_body(request: web.Request) -> bool:
    if request.content_length is not None:
        return request.content_length > 0
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


# --- endpoints ---------------------------------------------------------------------------


@routes.route(
    "OPTIONS",
    "/api/uploads/",
    summary="tus discovery: version, extensions, maximum size, checksum algorithms",
    responses={204: None},
    auth=False,
)
async def discover(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    return web.Response(
        status=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(settings.upload_max_bytes),
            "Tus-Checksum-Algorithm": "sha1",
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
async def create(request: web.Request) -> web.Response:
    user = await _uploader(request)
    _check_version(request)
    length = _int_header(request, "Upload-Length")
    deferred = request.headers.get("Upload-Defer-Length")
    if deferred is not None and deferred != "1":
        raise _problem(400, "Upload-Defer-Length must be 1.")
    if (length is None) == (deferred is None):
        raise _problem(400, "Send exactly one of Upload-Length and Upload-Defer-Length: 1.")
    meta = parse_metadata(request.headers.get("Upload-Metadata"))
    with_data = _has_body(request)
    if with_data and request.content_type != OCTETS:
        raise _problem(415, f"Data sent with the creation request must be {OCTETS}.")
    checksum = _parse_checksum(request) if with_data else None
    app = request.app
    try:
        upload = await uploads.create(
            db=app[keys.DB],
            store=store_of(app),
            limits=_limits(request),
            now=_now(request),
            user_id=user.id,
            length=length,
            meta=meta,
        )
    except Problem as problem:
        raise _tus(problem) from None
    headers = {"Tus-Resumable": TUS_VERSION, "Location": f"/api/uploads/{upload.id}"}
    if with_data:
        try:
            await _receive(request, upload, checksum)
        except Problem as problem:
            # The upload exists even when its first bytes were refused: say where it is.
            problem.headers["Location"] = headers["Location"]
            problem.headers["Upload-Offset"] = str(upload.received)
            raise
    if upload.length is not None and upload.received == upload.length:
        await _finish(request, upload)
    headers["Upload-Offset"] = str(upload.received)
    headers.update(_expires(upload))
    return web.Response(status=201, headers=headers)


@routes.route(
    "HEAD",
    "/api/uploads/{upload_id}",
    summary="tus offset of an upload",
    responses={200: None},
    headers=(VERSION_HEADER,),
)
async def head(request: web.Request) -> web.Response:
    user = await _uploader(request)
    _check_version(request)
    upload = await _load(request, user.id)
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(upload.received if upload.state == "open" else upload.length),
        "Cache-Control": "no-store",
    }
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.meta:
        headers["Upload-Metadata"] = encode_metadata(upload.meta)
    headers.update(_expires(upload))
    return web.Response(status=200, headers=headers)


@routes.route(
    "PATCH",
    "/api/uploads/{upload_id}",
    summary="tus: append bytes at Upload-Offset (application/offset+octet-stream)",
    responses={204: None},
    headers=PATCH_HEADERS,
    raw_body=OCTETS,
)
async def patch(request: web.Request) -> web.Response:
    user = await _uploader(request)
    _check_version(request)
    if request.content_type != OCTETS:
        raise _problem(415, f"Send the bytes with Content-Type: {OCTETS}.")
    offset = _int_header(request, "Upload-Offset")
    if offset is None:
        raise _problem(400, "Upload-Offset is required.")
    new_length = _int_header(request, "Upload-Length")
    checksum = _parse_checksum(request)
    upload = await _load(request, user.id)
    if upload.state != "open":
        if offset == upload.length and not _has_body(request):
            return web.Response(status=204, headers=_offset_headers(upload))
        raise _problem(409, "This upload is already complete.")
    if offset != upload.received:
        raise _conflict(upload)
    if new_length is not None:
        try:
            await uploads.set_length(
                db=request.app[keys.DB], upload=upload, length=new_length, limits=_limits(request)
            )
        except Problem as problem:
            raise _tus(problem) from None
    if _has_body(request):
        await _receive(request, upload, checksum, expected_offset=offset)
    if upload.length is not None and upload.received == upload.length:
        await _finish(request, upload)
    return web.Response(status=204, headers=_offset_headers(upload))


@routes.route(
    "DELETE",
    "/api/uploads/{upload_id}",
    summary="tus termination: remove an upload and its bytes",
    responses={204: None},
    headers=(VERSION_HEADER,),
)
async def terminate(request: web.Request) -> web.Response:
    user = await _uploader(request)
    _check_version(request)
    upload = await _load(request, user.id)
    app = request.app
    try:
        await uploads.terminate(
            db=app[keys.DB], store=store_of(app), upload=upload, now=_now(request)
        )
    except Problem as problem:
        raise _tus(problem) from None
    return web.Response(status=204, headers={"Tus-Resumable": TUS_VERSION})


# --- receiving bytes ---------------------------------------------------------------------


def _offset_headers(upload: Upload) -> dict[str, str]:
    received = upload.received if upload.state == "open" else (upload.length or 0)
    return {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(received), **_expires(upload)}


def _locked() -> Problem:
    return _problem(
        423,
        "Another request is still writing to this upload. Ask with HEAD and try again.",
        title="Locked",
    )


def _conflict(upload: Upload) -> Problem:
    problem = _problem(
        409,
        f"Upload-Offset does not match: the server has {upload.received} bytes. "
        "Ask with HEAD and continue from there.",
    )
    problem.headers["Upload-Offset"] = str(upload.received)
    return problem


async def _load(request: web.Request, user_id: str) -> Upload:
    try:
        return await uploads.load(
            db=request.app[keys.DB],
            upload_id=request.match_info["upload_id"],
            user_id=user_id,
            now=_now(request),
        )
    except Problem as problem:
        raise _tus(problem) from None


async def _finish(request: web.Request, upload: Upload) -> None:
    """Turn the complete upload into media, holding the part file's lock throughout.

    Two requests may both find the upload complete (say an empty PATCH at the final
    offset while the last bytes are being finished): the lock makes them take turns,
    and the second finds the upload already complete instead of finishing it again.
    """
    app = request.app
    store = store_of(app)
    try:
        part: PartFile | None = await PartFile.open(store.part(upload.id), wait=FINISH_WAIT_SECONDS)
    except Locked:
        raise _locked() from None
    except FileNotFoundError:
        part = None  # finished by another request meanwhile, or really missing
    try:
        fresh = await uploads.load(
            db=app[keys.DB], upload_id=upload.id, user_id=upload.user_id, now=_now(request)
        )
        if fresh.state != "open":
            upload.state, upload.length, upload.media_id = (
                fresh.state,
                fresh.length,
                fresh.media_id,
            )
            return
        if fresh.received != upload.received or fresh.length != upload.length:
            upload.received = fresh.received
            raise _conflict(fresh)
        await uploads.finish(db=app[keys.DB], store=store, upload=upload, now=_now(request))
    except Problem as problem:
        raise _tus(problem) from None
    finally:
        if part is not None:
            part.close()


async def _receive(
    request: web.Request,
    upload: Upload,
    checksum: bytes | None,
    *,
    expected_offset: int | None = None,
) -> None:
    """Append the request body to the upload, acknowledging only what is on disk."""
    app = request.app
    db = app[keys.DB]
    limits = _limits(request)
    if upload.length is not None:
        over = _problem(413, f"The upload is {upload.length} bytes long; this is more.")
        if (
            request.content_length is not None
            and upload.received + request.content_length > upload.length
        ):
            raise over
    try:
        part = await PartFile.open(store_of(app).part(upload.id), wait=LOCK_WAIT_SECONDS)
    except Locked:
        raise _locked() from None
    except FileNotFoundError:
        raise _tus(uploads.Gone("The bytes of this upload are missing.")) from None
    try:
        # Re-read the offset under the lock: another request may have moved it.
        fresh = await uploads.load(
            db=db, upload_id=upload.id, user_id=upload.user_id, now=_now(request)
        )
        if fresh.state != "open" or (
            expected_offset is not None and fresh.received != expected_offset
        ):
            upload.received = fresh.received
            raise _conflict(fresh)
        if upload.length is not None:
            await _stream(request, upload, part, checksum, upload.length, over, limits)
            return
        # Deferred length: the room this body may take is reserved against the quota
        # first, so parallel uploads of one person cannot each count on the same room.
        try:
            limit, too_large = await uploads.reserve(
                db=db, upload=upload, incoming=request.content_length, limits=limits
            )
        except Problem as problem:
            raise _tus(problem) from None
        try:
            await _stream(request, upload, part, checksum, limit, _tus(too_large), limits)
        finally:
            await asyncio.shield(uploads.release(db=db, upload=upload))
    finally:
        part.close()


async def _stream(
    request: web.Request,
    upload: Upload,
    part: PartFile,
    checksum: bytes | None,
    limit: int,
    over: Problem,
    limits: uploads.Limits,
) -> None:
    start = upload.received
    await part.start_at(start)
    receiver = _Receiver(request, upload, part, limits)
    digest = hashlib.sha1(usedforsecurity=False) if checksum is not None else None
    exceeded = False
    failure: BaseException | None = None
    try:
        received = start
        while True:
            if digest is None and receiver.unsynced:
                # Bytes are waiting to be made durable: do not let a slow or stalled
                # client keep them from being acknowledged for long.
                try:
                    async with asyncio.timeout(receiver.sync_due_in()):
                        data = await request.content.readany()
                except TimeoutError:
                    await receiver.sync_now()
                    continue
            else:
                data = await request.content.readany()
            if not data:
                break
            room = limit - received
            if len(data) > room:
                data = data[:room]
                exceeded = True
            received += len(data)
            if digest is not None:
                digest.update(data)
            await receiver.add(data, sync=digest is None)
            if exceeded:
                break
        await receiver.write_out()
    except Problem:
        raise
    except (asyncio.CancelledError, Exception) as exc:  # the client went away
        failure = exc
    if digest is not None:
        with contextlib.suppress(Exception):
            await receiver.write_out()
        if failure is not None or digest.digest() != checksum:
            # Unverified bytes are never acknowledged: back to where this request began.
            await part.discard_after(start)
            if failure is not None:
                raise _interrupted(failure, start)
            raise _problem(
                460,
                "Upload-Checksum does not match the bytes received; they were discarded. "
                "Send the chunk again.",
                title="Checksum Mismatch",
            )
    # Keep whatever arrived intact, even when the client went away mid-request.
    try:
        await asyncio.shield(receiver.sync_now())
    except OSError as exc:
        raise _interrupted(exc, receiver.acked) from None
    if failure is not None:
        raise _interrupted(failure, receiver.acked)
    if exceeded:
        raise _tus(over)


class _Receiver:
    """Batches received pieces into writes and acknowledges what fsync made durable.

    One write and one fsync may run in worker threads while the next bytes arrive, so
    the disk writes back while the network delivers. An fsync covers only writes that
    had finished when it started, and only those are acknowledged.
    """

    def __init__(
        self, request: web.Request, upload: Upload, part: PartFile, limits: uploads.Limits
    ) -> None:
        self.request = request
        self.upload = upload
        self.part = part
        self.limits = limits
        self.acked = upload.received
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.writing: asyncio.Task[None] | None = None
        self.syncing: asyncio.Task[None] | None = None
        self.synced_at = time.monotonic()
        self.metrics = request.app[keys.METRICS]

    @property
    def unsynced(self) -> bool:
        return bool(self.chunks) or self.writing is not None or self.part.offset > self.acked

    def sync_due_in(self) -> float:
        return max(0.0, self.synced_at + CHECKPOINT_SECONDS - time.monotonic())

    async def add(self, data: bytes, *, sync: bool) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered >= WRITE_BATCH:
            await self._hand_over()
        if sync and (
            self.part.offset - self.acked >= SYNC_BYTES
            or time.monotonic() - self.synced_at >= CHECKPOINT_SECONDS
        ):
            self._start_sync()

    async def _hand_over(self) -> None:
        if self.writing is not None:
            await self.writing
            self.writing = None
        if self.chunks:
            chunks, self.chunks, self.buffered = self.chunks, [], 0
            self.metrics.upload_bytes.inc(sum(len(c) for c in chunks))
            self.writing = asyncio.create_task(self.part.write_chunks(chunks))

    async def write_out(self) -> None:
        """Every received byte handed to the file (not yet necessarily durable)."""
        await self._hand_over()
        if self.writing is not None:
            await self.writing
            self.writing = None

    def _start_sync(self) -> None:
        if self.syncing is not None:
            if not self.syncing.done():
                return
            self.syncing.result()  # surfaces a failed acknowledgement
        if self.part.offset > self.acked:
            self.syncing = asyncio.create_task(self._sync(self.part.offset))

    async def _sync(self, target: int) -> None:
        started = time.monotonic()
        await self.part.sync()
        moved = await uploads.acknowledge(
            db=self.request.app[keys.DB],
            upload=self.upload,
            old=self.acked,
            new=target,
            now=_now(self.request),
            limits=self.limits,
        )
        if not moved:
            raise _problem(409, "This upload was changed by another request.")
        self.acked = target
        self.synced_at = started

    async def sync_now(self) -> None:
        """Write out, make durable and acknowledge everything received so far."""
        await self.write_out()
        if self.syncing is not None:
            await self.syncing
            self.syncing = None
        if self.part.offset > self.acked:
            await self._sync(self.part.offset)
        self.synced_at = time.monotonic()


def _interrupted(failure: BaseException, kept: int) -> BaseException:
    if isinstance(failure, asyncio.CancelledError):
        return failure
    if isinstance(failure, OSError) and not isinstance(failure, ConnectionError):
        log.error("could not store upload bytes: %s", failure)
        return _problem(
            507,
            f"The server could not store more of this upload ({failure.strerror or failure}); "
            f"it has {kept} bytes. Try again later.",
            title="Insufficient Storage",
        )
    return _problem(
        400,
        f"The request body ended before it was complete; the upload has {kept} bytes. "
        "Ask with HEAD and continue from there.",
    )
