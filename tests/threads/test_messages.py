"""Threads over HTTP: posting, paging, receipts, deletion, playback with Range."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError, web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.core.clock import FrozenClock
from server.core.keys import DB, SETTINGS
from server.threads import expiry
from server.threads.keys import MEDIA_STORE
from server.threads.models import Message, MessageSeen, Upload
from tests.factories import Pair, Person, make_mentorship, sign_up
from tests.threads.conftest import upload_file

Client = TestClient[web.Request, web.Application]


async def post(person: Person, mentorship_id: str, **body: Any) -> Any:
    resp = await person.client.post(f"/api/mentorships/{mentorship_id}/messages", json=body)
    return resp


async def send_recording(
    person: Person, mentorship_id: str, sample: Path, kind: str, **extra: Any
) -> dict[str, Any]:
    upload_id = await upload_file(person.client, await asyncio.to_thread(sample.read_bytes))
    resp = await post(person, mentorship_id, kind=kind, upload_id=upload_id, **extra)
    assert resp.status == 201, await resp.text()
    message: dict[str, Any] = await resp.json()
    return message


async def test_text_message_is_listed_newest_first(pair: Pair, clock: FrozenClock) -> None:
    for i in range(5):
        resp = await post(pair.mentee, pair.mentorship_id, kind="text", body=f"note {i}")
        assert resp.status == 201
        clock.advance(timedelta(minutes=1))
    resp = await pair.mentor.client.get(
        f"/api/mentorships/{pair.mentorship_id}/messages", params={"limit": "2"}
    )
    page = await resp.json()
    assert [m["body"] for m in page["items"]] == ["note 4", "note 3"]
    assert page["unread_count"] == 5
    seen_bodies = [m["body"] for m in page["items"]]
    while page["next_before"]:
        resp = await pair.mentor.client.get(
            f"/api/mentorships/{pair.mentorship_id}/messages",
            params={"limit": "2", "before": page["next_before"]},
        )
        page = await resp.json()
        seen_bodies += [m["body"] for m in page["items"]]
    assert seen_bodies == ["note 4", "note 3", "note 2", "note 1", "note 0"]


async def test_video_message_plays_with_range_and_poster(
    pair: Pair, samples: dict[str, Path]
) -> None:
    data = samples["long.webm"].read_bytes()
    message = await send_recording(pair.mentee, pair.mentorship_id, samples["long.webm"], "video")
    media = message["media"]
    assert media["kind"] == "video" and media["content_type"] == "video/webm"
    assert 5.9 < media["duration_seconds"] < 6.1
    assert (media["width"], media["height"]) == (320, 240)
    mentor = pair.mentor.client

    resp = await mentor.get(media["url"])
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "video/webm"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert await resp.read() == data

    resp = await mentor.get(media["url"], headers={"Range": "bytes=100-1099"})
    assert resp.status == 206
    assert resp.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert await resp.read() == data[100:1100]

    resp = await mentor.get(media["url"], headers={"Range": "bytes=-500"})
    assert resp.status == 206
    assert await resp.read() == data[-500:]

    resp = await mentor.get(media["url"], headers={"Range": f"bytes={len(data) + 10}-"})
    assert resp.status == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(data)}"

    resp = await mentor.get(media["poster_url"])
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert (await resp.read())[:2] == b"\xff\xd8"


async def test_audio_message_carries_its_waveform(pair: Pair, samples: dict[str, Path]) -> None:
    message = await send_recording(pair.mentor, pair.mentorship_id, samples["audio.m4a"], "audio")
    media = message["media"]
    assert media["kind"] == "audio" and media["content_type"] == "audio/mp4"
    assert media["poster_url"] is None
    assert len(media["waveform"]) == 100
    resp = await pair.mentee.client.get(media["url"], headers={"Range": "bytes=0-9"})
    assert resp.status == 206 and resp.headers["Content-Type"] == "audio/mp4"


async def test_message_kind_must_match_the_recording(pair: Pair, samples: dict[str, Path]) -> None:
    upload_id = await upload_file(pair.mentee.client, samples["audio.ogg"].read_bytes())
    resp = await post(pair.mentee, pair.mentorship_id, kind="video", upload_id=upload_id)
    assert resp.status == 422
    assert (await resp.json())["errors"][0]["field"] == "kind"
    resp = await post(pair.mentee, pair.mentorship_id, kind="audio", upload_id=upload_id)
    assert resp.status == 201
    # A recording is sent once.
    resp = await post(pair.mentee, pair.mentorship_id, kind="audio", upload_id=upload_id)
    assert resp.status == 409


async def test_unfinished_or_foreign_uploads_cannot_be_sent(
    pair: Pair, samples: dict[str, Path]
) -> None:
    resp = await pair.mentee.client.post(
        "/api/uploads/", headers={"Tus-Resumable": "1.0.0", "Upload-Defer-Length": "1"}
    )
    unfinished = resp.headers["Location"].rsplit("/", 1)[1]
    resp = await post(pair.mentee, pair.mentorship_id, kind="video", upload_id=unfinished)
    assert resp.status == 409
    theirs = await upload_file(pair.mentor.client, samples["video.webm"].read_bytes())
    resp = await post(pair.mentee, pair.mentorship_id, kind="video", upload_id=theirs)
    assert resp.status == 422
    async with pair.mentee.client.app[DB].read() as s:
        assert await s.scalar(select(func.count()).select_from(Message)) == 0


async def test_bad_message_bodies_store_nothing(pair: Pair) -> None:
    for body in (
        {"kind": "text", "body": "   "},
        {"kind": "text"},
        {"kind": "poem", "body": "roses"},
        {"kind": "audio"},
        {"kind": "text", "body": "x" * 5001},
        {"kind": "text", "body": "hi", "extra": 1},
        {"kind": "text", "body": "hi", "upload_id": "abc"},
        {"kind": "text", "body": "hi", "reply_to": "nope"},
        {"kind": "text", "body": "hi", "goal_id": "nope"},
        {"kind": "text", "body": "hi", "action_item_id": "nope"},
    ):
        resp = await post(pair.mentee, pair.mentorship_id, **body)
        assert resp.status == 422, body
        assert resp.content_type == "application/problem+json"
    resp = await pair.mentee.client.post(
        f"/api/mentorships/{pair.mentorship_id}/messages", data=b"{not json"
    )
    assert resp.status in (400, 415)
    async with pair.mentee.client.app[DB].read() as s:
        assert await s.scalar(select(func.count()).select_from(Message)) == 0


async def test_reply_and_links(pair: Pair) -> None:
    first = await (await post(pair.mentee, pair.mentorship_id, kind="text", body="Q?")).json()
    resp = await post(pair.mentor, pair.mentorship_id, kind="text", body="A!", reply_to=first["id"])
    assert resp.status == 201
    assert (await resp.json())["reply_to"] == first["id"]


async def test_seen_receipts_and_unread_counts(pair: Pair) -> None:
    ids = []
    for body in ("one", "two"):
        resp = await post(pair.mentee, pair.mentorship_id, kind="text", body=body)
        ids.append((await resp.json())["id"])
    mentor = pair.mentor.client
    resp = await mentor.get("/api/threads/unread")
    unread = await resp.json()
    assert unread["total"] == 2
    assert unread["items"] == [
        {
            "mentorship_id": pair.mentorship_id,
            "unread_count": 2,
            "last_message_at": unread["items"][0]["last_message_at"],
        }
    ]
    resp = await mentor.post(f"/api/messages/{ids[0]}/seen")
    assert resp.status == 200
    assert (await resp.json())["unread_count"] == 1
    # Seeing twice keeps the first time; the author's own view is no receipt.
    resp = await mentor.post(f"/api/messages/{ids[0]}/seen")
    assert resp.status == 200
    await pair.mentee.client.post(f"/api/messages/{ids[1]}/seen")
    page = await (
        await pair.mentee.client.get(f"/api/mentorships/{pair.mentorship_id}/messages")
    ).json()
    by_id = {m["id"]: m for m in page["items"]}
    assert [s["user_id"] for s in by_id[ids[0]]["seen_by"]] == [pair.mentor.id]
    assert by_id[ids[1]]["seen_by"] == []
    assert page["unread_count"] == 0
    async with mentor.app[DB].read() as s:
        assert await s.scalar(select(func.count()).select_from(MessageSeen)) == 1


async def test_delete_leaves_a_tombstone_and_removes_the_media(
    pair: Pair, samples: dict[str, Path]
) -> None:
    message = await send_recording(pair.mentee, pair.mentorship_id, samples["video.webm"], "video")
    store = pair.mentee.client.app[MEDIA_STORE]
    assert len(list(store.media_dir.iterdir())) == 2  # the recording and its poster
    resp = await pair.mentor.client.delete(f"/api/messages/{message['id']}")
    assert resp.status == 403
    resp = await pair.mentee.client.delete(f"/api/messages/{message['id']}")
    assert resp.status == 200
    gone = await resp.json()
    assert gone["removed"] and gone["removed_reason"] == "deleted"
    assert gone["media"] is None and gone["tombstone"] == "This message was deleted."
    assert list(store.media_dir.iterdir()) == []
    resp = await pair.mentor.client.get(message["media"]["url"])
    assert resp.status == 410
    page = await (
        await pair.mentor.client.get(f"/api/mentorships/{pair.mentorship_id}/messages")
    ).json()
    assert page["items"][0]["removed"] is True
    assert page["unread_count"] == 0


async def test_closed_mentorship_thread_is_read_only(pair: Pair, another_client: Any) -> None:
    app = pair.mentor.client.app
    mentee2 = await sign_up(await another_client(), name="Later Mentee")
    ended = await make_mentorship(app, pair.mentor, mentee2, state="ended")
    resp = await post(pair.mentor, ended, kind="text", body="hello?")
    assert resp.status == 409
    resp = await pair.mentor.client.get(f"/api/mentorships/{ended}/messages")
    assert resp.status == 200


async def test_outsider_learns_nothing(
    pair: Pair, another_client: Any, samples: dict[str, Path]
) -> None:
    message = await send_recording(pair.mentee, pair.mentorship_id, samples["video.webm"], "video")
    pending = await upload_file(pair.mentee.client, samples["audio.ogg"].read_bytes())
    outsider = await sign_up(await another_client(), name="Mallory Outside")
    c = outsider.client
    thread = f"/api/mentorships/{pair.mentorship_id}"
    assert (await c.get(f"{thread}/messages")).status == 404
    assert (await c.post(f"{thread}/messages", json={"kind": "text", "body": "hi"})).status == 404
    assert (await c.post(f"/api/messages/{message['id']}/seen")).status == 404
    assert (await c.delete(f"/api/messages/{message['id']}")).status == 404
    assert (await c.get(message["media"]["url"])).status == 403
    assert (await c.get(message["media"]["poster_url"])).status == 403
    assert (await c.get(message["media"]["url"], headers={"Range": "bytes=0-9"})).status == 403
    assert (
        await c.head(f"/api/uploads/{pending}", headers={"Tus-Resumable": "1.0.0"})
    ).status == 404
    with pytest.raises(WSServerHandshakeError) as refused:
        await c.ws_connect(f"{thread}/thread/ws")
    assert refused.value.status == 404
    assert (await c.get("/api/threads/unread")).status == 200
    assert (await (await c.get("/api/threads/unread")).json())["items"] == []
    # Signed out: 401 everywhere.
    anonymous = await another_client()
    assert (await anonymous.get(message["media"]["url"])).status == 401
    assert (await anonymous.get(f"{thread}/messages")).status == 401
    async with c.app[DB].read() as s:
        upload = await s.get(Upload, pending)
        assert upload is not None and upload.state == "complete"
        assert await s.scalar(select(func.count()).select_from(MessageSeen)) == 0


async def test_recordings_never_sent_expire_but_sent_ones_stay(
    pair: Pair, samples: dict[str, Path], clock: FrozenClock
) -> None:
    app = pair.mentee.client.app
    store = app[MEDIA_STORE]
    sent = await send_recording(pair.mentee, pair.mentorship_id, samples["audio.ogg"], "audio")
    forgotten = await upload_file(pair.mentee.client, samples["audio.m4a"].read_bytes())
    assert len(list(store.media_dir.iterdir())) == 2
    later = clock.now() + timedelta(hours=app[SETTINGS].upload_expiry_hours, seconds=1)
    swept = await expiry.sweep(db=app[DB], store=store, now=later)
    assert swept == 1
    remaining = list(store.media_dir.iterdir())
    assert [p.name for p in remaining] == [sent["media"]["id"] + ".ogg"]
    async with app[DB].read() as s:
        upload = await s.get(Upload, forgotten)
        assert upload is not None and upload.state == "expired"
    resp = await post(pair.mentee, pair.mentorship_id, kind="audio", upload_id=forgotten)
    assert resp.status == 422
