"""Recordings older than the agreement's retention are removed; the message says so."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from server.core.clock import FrozenClock
from server.core.keys import BUS, DB
from server.threads import retention
from server.threads.keys import MEDIA_STORE
from tests.factories import make_mentorship, sign_up
from tests.threads.conftest import upload_file

Client = TestClient[web.Request, web.Application]


async def test_retention_removes_old_recordings_and_leaves_a_tombstone(
    client: Client, another_client: Any, clock: FrozenClock, samples: dict[str, Path]
) -> None:
    app = client.app
    mentor = await sign_up(client, name="Greta Berlin")
    mentee = await sign_up(await another_client(), name="Paulo Santos")
    mentorship_id = await make_mentorship(app, mentor, mentee, retention_days=30)
    thread = f"/api/mentorships/{mentorship_id}/messages"
    upload_id = await upload_file(mentee.client, samples["video.webm"].read_bytes())
    resp = await mentee.client.post(thread, json={"kind": "video", "upload_id": upload_id})
    video = await resp.json()
    await mentee.client.post(thread, json={"kind": "text", "body": "Words stay."})
    store = app[MEDIA_STORE]
    assert len(list(store.media_dir.iterdir())) == 2

    async def sweep(later: timedelta) -> int:
        # The sweeper runs later; the people stay signed in on today's clock.
        return await retention.apply(db=app[DB], bus=app[BUS], store=store, now=clock.now() + later)

    assert await sweep(timedelta(days=29, hours=23)) == 0
    assert (await mentor.client.get(video["media"]["url"])).status == 200
    assert await sweep(timedelta(days=30)) == 1
    assert await sweep(timedelta(days=31)) == 0
    assert list(store.media_dir.iterdir()) == []
    page = await (await mentor.client.get(thread)).json()
    by_kind = {m["kind"]: m for m in page["items"]}
    assert by_kind["text"]["body"] == "Words stay." and not by_kind["text"]["removed"]
    gone = by_kind["video"]
    assert gone["removed"] and gone["removed_reason"] == "retention"
    assert gone["media"] is None
    assert gone["tombstone"] == (
        "This recording was removed after 30 days, as the mentorship's agreement says."
    )
    assert (await mentor.client.get(video["media"]["url"])).status == 410


async def test_no_retention_keeps_recordings(
    client: Client, another_client: Any, clock: FrozenClock, samples: dict[str, Path]
) -> None:
    app = client.app
    mentor = await sign_up(client)
    mentee = await sign_up(await another_client(), name="Paulo Santos")
    mentorship_id = await make_mentorship(app, mentor, mentee)
    upload_id = await upload_file(mentee.client, samples["audio.ogg"].read_bytes())
    resp = await mentee.client.post(
        f"/api/mentorships/{mentorship_id}/messages", json={"kind": "audio", "upload_id": upload_id}
    )
    assert resp.status == 201
    clock.advance(timedelta(days=3650))
    removed = await retention.apply(
        db=app[DB], bus=app[BUS], store=app[MEDIA_STORE], now=clock.now()
    )
    assert removed == 0
    assert len(list(app[MEDIA_STORE].media_dir.iterdir())) == 1
