"""Requests racing on one upload: finishing twice, and parallel uploads against the quota."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.core.keys import CLOCK, DB, SETTINGS
from server.threads import media, quota, uploads
from server.threads.keys import MEDIA_STORE
from server.threads.models import MediaFile, Upload
from tests.factories import Pair
from tests.threads.conftest import OCTETS, TUS, create_upload
from tests.waiting import DEADLINE_SECONDS, eventually

Client = TestClient[web.Request, web.Application]


async def _until(flag: threading.Event, what: str) -> None:
    async def look() -> bool:
        return flag.is_set()

    await eventually(look, what=what)


async def test_a_second_finishing_request_keeps_the_first_ones_recording(
    pair: Pair, samples: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty PATCH at the final offset while the last bytes are being finished.

    The second request reads the upload while it is still open and reaches ``finish``
    only after the first one turned it into media and removed the part file.
    """
    client = pair.mentee.client
    app = client.app
    data = samples["audio.ogg"].read_bytes()
    location = await create_upload(client, len(data))
    upload_id = location.rsplit("/", 1)[1]
    part = app[MEDIA_STORE].part(upload_id)

    first_inspecting = threading.Event()
    second_loaded = threading.Event()
    real_inspect, real_load = media.inspect, uploads.load
    inspections = 0

    def inspect(path: Path) -> media.Info:
        nonlocal inspections
        inspections += 1
        if inspections == 1:
            first_inspecting.set()
            assert second_loaded.wait(DEADLINE_SECONDS), "the second request never read it"
        else:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while path.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        return real_inspect(path)

    async def load(**kwargs: Any) -> Upload:
        upload = await real_load(**kwargs)
        if first_inspecting.is_set():
            second_loaded.set()
        return upload

    monkeypatch.setattr(media, "inspect", inspect)
    monkeypatch.setattr(uploads, "load", load)

    headers = {**TUS, "Content-Type": OCTETS}
    first = asyncio.ensure_future(
        client.patch(location, data=data, headers={**headers, "Upload-Offset": "0"})
    )
    await _until(first_inspecting, "the first request inspects the recording")
    second = await client.patch(location, headers={**headers, "Upload-Offset": str(len(data))})
    first_resp = await asyncio.wait_for(first, 20)
    assert first_resp.status == 204, await first_resp.text()
    assert second.status == 204, await second.text()
    assert second.headers["Upload-Offset"] == str(len(data))
    assert not part.exists()

    async with app[DB].read() as s:
        rows = list(await s.scalars(select(Upload).where(Upload.user_id == pair.mentee.id)))
        records = list(
            await s.scalars(select(MediaFile).where(MediaFile.owner_id == pair.mentee.id))
        )
    assert [(r.id, r.state) for r in rows] == [(upload_id, "complete")]
    assert [r.id for r in records] == [rows[0].media_id]
    assert await quota.used_bytes(app[DB], pair.mentee.id) == len(data)
    media_dir = app[MEDIA_STORE].media_dir
    assert sorted(p.name for p in media_dir.iterdir()) == [Path(records[0].path).name]

    resp = await client.post(
        f"/api/mentorships/{pair.mentorship_id}/messages",
        json={"kind": "audio", "upload_id": upload_id},
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["media"]["id"] == records[0].id


async def test_a_late_finish_never_removes_a_completed_upload(
    client: Client, samples: dict[str, Path]
) -> None:
    from tests.factories import sign_up
    from tests.threads.conftest import upload_file

    person = await sign_up(client)
    app = client.app
    data = samples["audio.ogg"].read_bytes()
    upload_id = await upload_file(client, data)
    async with app[DB].read() as s:
        done = await s.get(Upload, upload_id)
    assert done is not None and done.state == "complete"
    # A finisher that read the upload while it was open finds its bytes gone.
    stale = Upload(
        id=upload_id, user_id=person.id, length=len(data), received=len(data), state="open"
    )
    with pytest.raises(uploads.Conflict):
        await uploads.finish(db=app[DB], store=app[MEDIA_STORE], upload=stale, now=app[CLOCK].now())
    async with app[DB].read() as s:
        kept = await s.get(Upload, upload_id)
        record = await s.get(MediaFile, done.media_id)
    assert kept is not None and kept.state == "complete" and kept.media_id == done.media_id
    assert record is not None and record.removed_at is None


async def test_parallel_uploads_cannot_share_the_same_room_in_the_quota(
    aiohttp_client: Any, make_settings: Any, database_url: str, clock: Any
) -> None:
    """Two deferred-length uploads, each under the quota, together over it."""
    from server.app import create_app
    from tests.factories import sign_up

    client = await aiohttp_client(
        create_app(make_settings(database_url, upload_quota_bytes=10_000), clock=clock)
    )
    person = await sign_up(client)
    app = client.app
    store = app[MEDIA_STORE]
    first = await create_upload(client, None)
    second = await create_upload(client, None)
    first_part = store.part(first.rsplit("/", 1)[1])
    second_part = store.part(second.rsplit("/", 1)[1])

    rest_may_go = asyncio.Event()

    async def slow_body() -> Any:
        yield b"a" * 3000
        await rest_may_go.wait()
        yield b"b" * 3000

    headers = {**TUS, "Content-Type": OCTETS, "Upload-Offset": "0"}
    sending = asyncio.ensure_future(
        client.patch(first, data=slow_body(), headers={**headers, "Content-Length": "6000"})
    )

    # The first request is streaming: part of its body is on disk, the rest on the way.
    async def written() -> int:
        return first_part.stat().st_size

    assert await eventually(written, lambda size: size >= 3000, what="the first half") == 3000

    resp = await client.patch(second, data=b"c" * 6000, headers=headers)
    assert resp.status == 413, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert resp.headers["Tus-Resumable"] == "1.0.0"
    problem = await resp.json(content_type=None)
    assert problem["title"] == "Quota exceeded"
    assert "quota of 9.8 KiB" in problem["detail"]
    assert second_part.stat().st_size == 0
    head = await client.head(second, headers=TUS)
    assert head.headers["Upload-Offset"] == "0"

    rest_may_go.set()
    done = await asyncio.wait_for(sending, 10)
    assert done.status == 204, await done.text()
    assert done.headers["Upload-Offset"] == "6000"
    assert first_part.stat().st_size == 6000
    assert await quota.used_bytes(app[DB], person.id) == 6000
    async with app[DB].read() as s:
        reserved = list(await s.scalars(select(Upload.reserved)))
    assert reserved == [0, 0]  # every reservation ended with its request

    # What is left still fits: 4000 more bytes are accepted, a byte beyond is not.
    resp = await client.patch(second, data=b"c" * 4000, headers=headers)
    assert resp.status == 204, await resp.text()
    resp = await client.patch(second, data=b"c", headers={**headers, "Upload-Offset": "4000"})
    assert resp.status == 413
    assert second_part.stat().st_size == 4000


async def test_refused_creation_leaves_no_file(
    aiohttp_client: Any, make_settings: Any, database_url: str, clock: Any
) -> None:
    from server.app import create_app
    from tests.factories import sign_up

    client = await aiohttp_client(
        create_app(make_settings(database_url, upload_quota_bytes=3000), clock=clock)
    )
    await sign_up(client)
    await create_upload(client, 2500)
    resp = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": "1000"})
    assert resp.status == 413
    assert (await resp.json(content_type=None))["title"] == "Quota exceeded"
    uploads_dir = client.app[MEDIA_STORE].uploads_dir
    assert len(list(uploads_dir.iterdir())) == 1
    async with client.app[DB].read() as s:
        assert len(list(await s.scalars(select(Upload.id)))) == 1


async def test_simultaneous_reservations_never_exceed_the_quota(
    aiohttp_client: Any, make_settings: Any, database_url: str, clock: Any
) -> None:
    from server.app import create_app
    from tests.factories import sign_up

    client = await aiohttp_client(
        create_app(make_settings(database_url, upload_quota_bytes=10_000), clock=clock)
    )
    person = await sign_up(client)
    app = client.app
    locations = [await create_upload(client, None) for _ in range(5)]
    async with app[DB].read() as s:
        rows = list(
            await s.scalars(
                select(Upload).where(Upload.id.in_([loc.rsplit("/", 1)[1] for loc in locations]))
            )
        )
    limits = quota.Limits.from_settings(app[SETTINGS])
    results = await asyncio.gather(
        *(quota.reserve(db=app[DB], upload=row, incoming=3000, limits=limits) for row in rows),
        return_exceptions=True,
    )
    granted = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, quota.TooLarge)]
    assert (len(granted), len(refused)) == (3, 2), results
    assert await quota.used_bytes(app[DB], person.id) == 9000
