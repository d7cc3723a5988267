"""Hostile busy-calendar uploads through the API: a clear 422, nothing stored, and other
requests, uploads and media probes carrying on meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from server.config import Settings
from server.core.keys import DB
from server.ical.models import BusyCalendar, BusyInterval
from tests.factories import sign_up
from tests.ical.hostile import HOSTILE, SPINNING, ordinary
from tests.threads.conftest import upload_file
from tests.threads.samples import record

Client = Any


async def stored(client: Client) -> tuple[int, int]:
    async with client.app[DB].read() as s:
        calendars = await s.scalar(select(func.count()).select_from(BusyCalendar))
        intervals = await s.scalar(select(func.count()).select_from(BusyInterval))
    return int(calendars or 0), int(intervals or 0)


@pytest.fixture
def recording(tmp_path: Path) -> bytes:
    return record(
        tmp_path / "voice.webm", container="webm", video=None, audio="libopus"
    ).read_bytes()


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database_url: str) -> Settings:
    return make_settings(database_url, busy_read_milliseconds=1000)


@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_upload_is_a_clear_422_and_stores_nothing(client: Client, name: str) -> None:
    person = await sign_up(client)
    resp = await person.client.post(
        "/api/me/busy-calendars", data=HOSTILE[name], headers={"Content-Type": "text/calendar"}
    )
    assert resp.status == 422, await resp.text()
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert problem["errors"][0]["field"] == "file"
    assert problem["errors"][0]["message"].startswith("This calendar")
    assert await stored(client) == (0, 0)


async def test_other_requests_and_media_uploads_go_on_while_hostile_calendars_are_read(
    client: Client, recording: bytes
) -> None:
    people = [await sign_up(client, name=f"Hostile {i}") for i in range(4)]
    honest = await sign_up(client, name="Honest Person")
    hostile = [HOSTILE["minutely-from-year-1"], HOSTILE[SPINNING[0]]] * 4

    async def send(i: int, data: bytes) -> int:
        resp = await people[i % 4].client.post(
            "/api/me/busy-calendars", data=data, headers={"Content-Type": "text/calendar"}
        )
        return resp.status

    async with asyncio.timeout(60):  # a hang fails the test instead of stalling the run
        attacks = [asyncio.create_task(send(i, d)) for i, d in enumerate(hostile)]
        media_id = await upload_file(honest.client, recording)
        me = await honest.client.get("/api/me")
        statuses = await asyncio.gather(*attacks)
    assert media_id and me.status == 200
    assert set(statuses) <= {422, 503} and 422 in statuses
    assert await stored(client) == (0, 0)

    resp = await honest.client.post(
        "/api/me/busy-calendars", data=ordinary(), headers={"Content-Type": "text/calendar"}
    )
    assert resp.status == 201, await resp.text()
