"""Builders for thread tests: recordings and uploads; the pair of people in a mentorship."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.factories import Pair, make_mentorship, sign_up
from tests.threads.samples import png, record

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Recordings of every accepted kind, plus files that must be refused."""
    d = tmp_path_factory.mktemp("samples")
    made = {
        "video.webm": record(d / "video.webm", container="webm", video="libvpx", audio="libopus"),
        "vp9.webm": record(d / "vp9.webm", container="webm", video="libvpx-vp9", audio="libopus"),
        "av1.webm": record(
            d / "av1.webm", container="webm", video="libsvtav1", audio=None, size=(128, 96)
        ),
        "audio.webm": record(d / "audio.webm", container="webm", video=None, audio="libopus"),
        "vorbis.ogg": record(d / "vorbis.ogg", container="ogg", video=None, audio="vorbis"),
        "audio.ogg": record(d / "audio.ogg", container="ogg", video=None, audio="libopus"),
        "video.mp4": record(d / "video.mp4", container="mp4", video="libx264", audio="aac"),
        "audio.m4a": record(d / "audio.m4a", container="mp4", video=None, audio="aac"),
        "long.webm": record(
            d / "long.webm",
            container="webm",
            video="libvpx",
            audio="libopus",
            seconds=6.0,
            size=(320, 240),
        ),
    }
    made["image.png"] = png(d / "image.png")
    made["program.exe"] = d / "program.exe"
    made["program.exe"].write_bytes(b"MZ\x90\x00\x03" + bytes(range(256)) * 40)
    made["empty.webm"] = d / "empty.webm"
    made["empty.webm"].write_bytes(b"")
    for name in ("video.webm", "video.mp4", "audio.ogg"):
        whole = made[name].read_bytes()
        made[f"truncated-{name}"] = d / f"truncated-{name}"
        made[f"truncated-{name}"].write_bytes(whole[: len(whole) * 3 // 5])
    made["flac.ogg"] = record(d / "flac.ogg", container="ogg", video=None, audio="flac")
    made["mpeg4.mkv"] = record(d / "mpeg4.mkv", container="matroska", video="mpeg4", audio=None)
    return made


def sha1_header(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def create_upload(client: TestClient[Any, Any], length: int | None, **headers: str) -> str:
    sent = {**TUS, **headers}
    if length is None:
        sent["Upload-Defer-Length"] = "1"
    else:
        sent["Upload-Length"] = str(length)
    resp = await client.post("/api/uploads/", headers=sent)
    assert resp.status == 201, await resp.text()
    location = resp.headers["Location"]
    assert location.startswith("/api/uploads/")
    return location


async def upload_file(client: TestClient[Any, Any], data: bytes, chunk: int = 64 * 1024) -> str:
    """Upload ``data`` with a deferred length in several PATCHes, as the recorder does."""
    location = await create_upload(client, None)
    offset = 0
    while offset < len(data):
        part = data[offset : offset + chunk]
        resp = await client.patch(
            location,
            data=part,
            headers={**TUS, "Content-Type": OCTETS, "Upload-Offset": str(offset)},
        )
        assert resp.status == 204, await resp.text()
        offset += len(part)
    resp = await client.patch(
        location,
        headers={
            **TUS,
            "Content-Type": OCTETS,
            "Upload-Offset": str(offset),
            "Upload-Length": str(len(data)),
        },
    )
    assert resp.status == 204, await resp.text()
    return location.rsplit("/", 1)[1]


@pytest.fixture
async def pair(client: TestClient[web.Request, web.Application], another_client: Any) -> Pair:
    """A mentor in Berlin (this client) and a mentee in São Paulo, in an active mentorship."""
    mentor = await sign_up(client, name="Greta Berlin", timezone="Europe/Berlin")
    mentee = await sign_up(
        await another_client(), name="Paulo Santos", timezone="America/Sao_Paulo"
    )
    mentorship_id = await make_mentorship(client.app, mentor, mentee)
    return Pair(mentor, mentee, mentorship_id)
