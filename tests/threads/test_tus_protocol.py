"""The tus 1.0.0 protocol with raw requests: every header and every status code."""

from __future__ import annotations

import os
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.core.clock import FrozenClock
from server.core.keys import CLOCK, DB, SETTINGS
from server.threads import expiry
from server.threads.keys import MEDIA_STORE
from server.threads.models import Upload
from tests.factories import sign_up
from tests.threads.conftest import OCTETS, TUS, create_upload, metadata, sha1_header

Client = TestClient[web.Request, web.Application]


def _part(client: Client, location: str) -> Path:
    return client.app[MEDIA_STORE].part(location.rsplit("/", 1)[1])


async def _row(client: Client, location: str) -> Upload | None:
    async with client.app[DB].read() as s:
        return await s.get(Upload, location.rsplit("/", 1)[1])


async def _offset(client: Client, location: str) -> int:
    resp = await client.head(location, headers=TUS)
    assert resp.status == 200
    return int(resp.headers["Upload-Offset"])


def _patch_headers(offset: int, **more: str) -> dict[str, str]:
    return {**TUS, "Content-Type": OCTETS, "Upload-Offset": str(offset), **more}


async def test_options_describes_the_server(client: Client) -> None:
    resp = await client.options("/api/uploads/")
    assert resp.status == 204
    assert resp.headers["Tus-Version"] == "1.0.0"
    extensions = set(resp.headers["Tus-Extension"].split(","))
    assert extensions == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "expiration",
        "checksum",
    }
    assert int(resp.headers["Tus-Max-Size"]) == client.app[SETTINGS].upload_max_bytes
    assert resp.headers["Tus-Checksum-Algorithm"] == "sha1"


async def test_create_head_patch_round_trip(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(
        client, 10, **{"Upload-Metadata": metadata(filename="hello.webm", filetype="video/webm")}
    )
    resp = await client.head(location, headers=TUS)
    assert resp.status == 200
    assert resp.headers["Upload-Offset"] == "0"
    assert resp.headers["Upload-Length"] == "10"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Tus-Resumable"] == "1.0.0"
    assert resp.headers["Upload-Metadata"] == metadata(filename="hello.webm", filetype="video/webm")
    expires = parsedate_to_datetime(resp.headers["Upload-Expires"])
    now = client.app[CLOCK].now()
    assert expires == now + timedelta(hours=client.app[SETTINGS].upload_expiry_hours)
    assert await resp.read() == b""

    resp = await client.patch(location, data=b"01234", headers=_patch_headers(0))
    assert resp.status == 204
    assert resp.headers["Upload-Offset"] == "5"
    assert "Upload-Expires" in resp.headers
    assert _part(client, location).read_bytes() == b"01234"
    assert await _offset(client, location) == 5


async def test_unsupported_version_is_412(client: Client) -> None:
    await sign_up(client)
    for headers in ({"Tus-Resumable": "0.2.2"}, {}):
        resp = await client.post("/api/uploads/", headers={**headers, "Upload-Length": "5"})
        assert resp.status == 412
        assert resp.headers["Tus-Version"] == "1.0.0"
        assert resp.content_type == "application/problem+json"
    async with client.app[DB].read() as s:
        assert (await s.scalars(select(Upload))).all() == []


async def test_wrong_content_type_is_415(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, 5)
    resp = await client.patch(
        location,
        data=b"abc",
        headers={**TUS, "Content-Type": "application/octet-stream", "Upload-Offset": "0"},
    )
    assert resp.status == 415
    assert await _offset(client, location) == 0
    assert _part(client, location).read_bytes() == b""


async def test_wrong_offset_is_409_and_changes_nothing(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, 10)
    await client.patch(location, data=b"abc", headers=_patch_headers(0))
    for wrong in (0, 2, 4):
        resp = await client.patch(location, data=b"zz", headers=_patch_headers(wrong))
        assert resp.status == 409
        assert resp.headers["Upload-Offset"] == "3"
    assert _part(client, location).read_bytes() == b"abc"
    assert await _offset(client, location) == 3


async def test_checksum_mismatch_is_460_and_the_chunk_is_discarded(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, 8)
    resp = await client.patch(
        location,
        data=b"good",
        headers=_patch_headers(0, **{"Upload-Checksum": sha1_header(b"good")}),
    )
    assert resp.status == 204
    resp = await client.patch(
        location,
        data=b"evil",
        headers=_patch_headers(4, **{"Upload-Checksum": sha1_header(b"nice")}),
    )
    assert resp.status == 460
    assert (await resp.json())["title"] == "Checksum Mismatch"
    assert await _offset(client, location) == 4
    assert _part(client, location).read_bytes() == b"good"


async def test_unknown_checksum_algorithm_is_400(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, 4)
    resp = await client.patch(
        location, data=b"abcd", headers=_patch_headers(0, **{"Upload-Checksum": "md5 AAAA"})
    )
    assert resp.status == 400
    assert await _offset(client, location) == 0


async def test_over_max_size_is_413(
    client: Client, aiohttp_client: Any, make_settings: Any, database_url: str, clock: FrozenClock
) -> None:
    from server.app import create_app

    small = await aiohttp_client(
        create_app(make_settings(database_url, upload_max_bytes=1000), clock=clock)
    )
    await sign_up(small)
    resp = await small.options("/api/uploads/")
    assert resp.headers["Tus-Max-Size"] == "1000"
    resp = await small.post("/api/uploads/", headers={**TUS, "Upload-Length": "1001"})
    assert resp.status == 413
    # A deferred upload may not declare, nor send, more than the maximum either.
    location = await create_upload(small, None)
    resp = await small.patch(location, headers=_patch_headers(0, **{"Upload-Length": "5000"}))
    assert resp.status == 413
    resp = await small.patch(location, data=b"x" * 1200, headers=_patch_headers(0))
    assert resp.status == 413
    resp = await small.head(location, headers=TUS)
    assert resp.headers["Upload-Defer-Length"] == "1"
    assert int(resp.headers["Upload-Offset"]) == 0


async def test_quota_counts_every_unfinished_upload(
    aiohttp_client: Any, make_settings: Any, database_url: str, clock: FrozenClock
) -> None:
    from server.app import create_app

    client = await aiohttp_client(
        create_app(make_settings(database_url, upload_quota_bytes=3000), clock=clock)
    )
    await sign_up(client)
    await create_upload(client, 2000)
    resp = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": "1001"})
    assert resp.status == 413
    assert (await resp.json())["title"] == "Quota exceeded"
    await create_upload(client, 1000)
    # Someone else has their own quota.
    other = await aiohttp_client(client.server)
    await sign_up(other)
    await create_upload(other, 3000)


async def test_deferred_length_may_be_set_once(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, None)
    resp = await client.head(location, headers=TUS)
    assert resp.headers["Upload-Defer-Length"] == "1"
    assert "Upload-Length" not in resp.headers
    resp = await client.patch(location, data=b"abc", headers=_patch_headers(0))
    assert resp.status == 204
    resp = await client.patch(
        location, data=b"de", headers=_patch_headers(3, **{"Upload-Length": "9"})
    )
    assert resp.status == 204
    resp = await client.head(location, headers=TUS)
    assert resp.headers["Upload-Length"] == "9"
    assert "Upload-Defer-Length" not in resp.headers
    resp = await client.patch(location, headers=_patch_headers(5, **{"Upload-Length": "12"}))
    assert resp.status == 400
    resp = await client.patch(location, headers=_patch_headers(5, **{"Upload-Length": "2"}))
    assert resp.status == 400
    assert (await _row(client, location)).length == 9  # type: ignore[union-attr]


async def test_length_below_the_received_bytes_is_refused(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, None)
    await client.patch(location, data=b"abcdef", headers=_patch_headers(0))
    resp = await client.patch(location, headers=_patch_headers(6, **{"Upload-Length": "4"}))
    assert resp.status == 400
    assert (await _row(client, location)).length is None  # type: ignore[union-attr]


async def test_creation_with_upload(client: Client, samples: dict[str, Path]) -> None:
    await sign_up(client)
    data = samples["audio.ogg"].read_bytes()
    resp = await client.post(
        "/api/uploads/",
        data=data[:1000],
        headers={**TUS, "Upload-Length": str(len(data)), "Content-Type": OCTETS},
    )
    assert resp.status == 201
    assert resp.headers["Upload-Offset"] == "1000"
    location = resp.headers["Location"]
    resp = await client.patch(location, data=data[1000:], headers=_patch_headers(1000))
    assert resp.status == 204
    assert resp.headers["Upload-Offset"] == str(len(data))
    row = await _row(client, location)
    assert row is not None and row.state == "complete" and row.media_id


async def test_creation_needs_exactly_one_length(client: Client) -> None:
    await sign_up(client)
    for headers in (
        {},
        {"Upload-Length": "5", "Upload-Defer-Length": "1"},
        {"Upload-Defer-Length": "2"},
        {"Upload-Length": "-1"},
        {"Upload-Length": "five"},
    ):
        resp = await client.post("/api/uploads/", headers={**TUS, **headers})
        assert resp.status == 400, headers
    resp = await client.post(
        "/api/uploads/", headers={**TUS, "Upload-Length": "5", "Upload-Metadata": "name !!!"}
    )
    assert resp.status == 400
    async with client.app[DB].read() as s:
        assert (await s.scalars(select(Upload))).all() == []
    assert not any(client.app[MEDIA_STORE].uploads_dir.iterdir())


async def test_termination_removes_the_upload_and_its_bytes(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, 10)
    await client.patch(location, data=b"abc", headers=_patch_headers(0))
    part = _part(client, location)
    assert part.exists()
    resp = await client.delete(location, headers=TUS)
    assert resp.status == 204
    assert not part.exists()
    assert await _row(client, location) is None
    resp = await client.head(location, headers=TUS)
    assert resp.status == 404
    resp = await client.patch(location, data=b"de", headers=_patch_headers(3))
    assert resp.status == 404


async def test_unfinished_uploads_expire_and_are_swept(client: Client, clock: FrozenClock) -> None:
    await sign_up(client)
    location = await create_upload(client, 10)
    await client.patch(location, data=b"abc", headers=_patch_headers(0))
    expires = parsedate_to_datetime(
        (await client.head(location, headers=TUS)).headers["Upload-Expires"]
    )
    clock.set(expires + timedelta(seconds=1))
    resp = await client.patch(location, data=b"de", headers=_patch_headers(3))
    assert resp.status == 410
    resp = await client.head(location, headers=TUS)
    assert resp.status == 410
    part = _part(client, location)
    assert part.exists()
    app = client.app
    swept = await expiry.sweep(db=app[DB], store=app[MEDIA_STORE], now=clock.now())
    assert swept == 1
    assert not part.exists()
    resp = await client.head(location, headers=TUS)
    assert resp.status == 410
    # A second sweep (another process, say) finds nothing left to do.
    assert await expiry.sweep(db=app[DB], store=app[MEDIA_STORE], now=clock.now()) == 0


async def test_activity_pushes_expiry_forward(client: Client, clock: FrozenClock) -> None:
    await sign_up(client)
    location = await create_upload(client, 10)
    clock.advance(timedelta(hours=20))
    await client.patch(location, data=b"abc", headers=_patch_headers(0))
    clock.advance(timedelta(hours=20))
    assert await _offset(client, location) == 3


async def test_only_the_uploader_may_touch_an_upload(client: Client, another_client: Any) -> None:
    await sign_up(client)
    location = await create_upload(client, 10)
    await client.patch(location, data=b"abc", headers=_patch_headers(0))
    outsider = await another_client()
    await sign_up(outsider, name="Mallory Outside")
    assert (await outsider.head(location, headers=TUS)).status == 404
    assert (await outsider.patch(location, data=b"x", headers=_patch_headers(3))).status == 404
    assert (await outsider.delete(location, headers=TUS)).status == 404
    assert _part(client, location).read_bytes() == b"abc"
    anonymous = await another_client()
    resp = await anonymous.head(location, headers=TUS)
    assert resp.status == 401
    assert resp.headers["Tus-Resumable"] == "1.0.0"
    resp = await anonymous.post("/api/uploads/", headers={**TUS, "Upload-Length": "4"})
    assert resp.status == 401


async def test_patch_bodies_larger_than_the_json_limit_stream(client: Client) -> None:
    await sign_up(client)
    limit = client.app[SETTINGS].max_body_bytes
    data = os.urandom(limit * 3 + 17)
    location = await create_upload(client, None)
    resp = await client.patch(location, data=data, headers=_patch_headers(0))
    assert resp.status == 204, await resp.text()
    assert int(resp.headers["Upload-Offset"]) == len(data)
    assert _part(client, location).read_bytes() == data


async def test_chunked_body_streams(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, None)

    async def body() -> Any:
        for i in range(5):
            yield bytes([i]) * 300_000

    resp = await client.patch(location, data=body(), headers=_patch_headers(0))
    assert resp.status == 204, await resp.text()
    assert await _offset(client, location) == 1_500_000


async def test_cross_site_patch_is_refused(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, 5)
    resp = await client.patch(
        location,
        data=b"abc",
        headers=_patch_headers(0, Origin="https://evil.example"),
    )
    assert resp.status == 403
    assert await _offset(client, location) == 0


async def test_sweep_removes_files_a_crash_left_behind(client: Client, clock: FrozenClock) -> None:
    await sign_up(client)
    location = await create_upload(client, 10)
    store = client.app[MEDIA_STORE]
    live_part = _part(client, location)
    orphan_part = store.uploads_dir / "gone-upload.part"
    orphan_media = store.media_dir / "gone-media.webm"
    fresh_media = store.media_dir / "being-written.webm"
    for path in (orphan_part, orphan_media, fresh_media):
        path.write_bytes(b"x")
    for path in (orphan_part, orphan_media, live_part):
        hour_earlier = path.stat().st_mtime - 3700  # files age by the disk's clock
        os.utime(path, (hour_earlier, hour_earlier))
    await expiry.sweep(db=client.app[DB], store=store, now=clock.now())
    assert not orphan_part.exists() and not orphan_media.exists()
    assert live_part.exists() and fresh_media.exists()


async def test_more_bytes_than_the_declared_length_is_413(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, 4)
    resp = await client.patch(location, data=b"abcdef", headers=_patch_headers(0))
    assert resp.status == 413
    assert await _offset(client, location) == 0
    assert _part(client, location).read_bytes() == b""


async def test_creation_with_a_bad_checksum_still_says_where_the_upload_is(client: Client) -> None:
    await sign_up(client)
    resp = await client.post(
        "/api/uploads/",
        data=b"hello",
        headers={
            **TUS,
            "Upload-Length": "10",
            "Content-Type": OCTETS,
            "Upload-Checksum": sha1_header(b"other"),
        },
    )
    assert resp.status == 460
    location = resp.headers["Location"]
    assert resp.headers["Upload-Offset"] == "0"
    assert await _offset(client, location) == 0
    resp = await client.patch(
        location,
        data=b"hello",
        headers=_patch_headers(0, **{"Upload-Checksum": sha1_header(b"hello")}),
    )
    assert resp.status == 204 and resp.headers["Upload-Offset"] == "5"


async def test_a_full_disk_is_507_and_acknowledges_nothing(client: Client) -> None:
    await sign_up(client)
    location = await create_upload(client, None)
    part = _part(client, location)
    part.unlink()
    part.symlink_to("/dev/full")  # every write fails with ENOSPC
    resp = await client.patch(location, data=os.urandom(3 << 20), headers=_patch_headers(0))
    assert resp.status == 507
    assert resp.content_type == "application/problem+json"
    assert await _offset(client, location) == 0
