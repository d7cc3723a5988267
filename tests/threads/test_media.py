"""What is accepted as a recording, what is refused, and that refused bytes leave no trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.core.keys import DB
from server.threads import media
from server.threads.keys import MEDIA_STORE
from server.threads.models import MediaFile, Upload
from tests.factories import sign_up
from tests.threads.conftest import OCTETS, TUS, create_upload
from tests.threads.samples import record

Client = TestClient[web.Request, web.Application]

ACCEPTED = {
    "video.webm": ("video", "video/webm", ("vp8", "opus")),
    "vp9.webm": ("video", "video/webm", ("vp9", "opus")),
    "av1.webm": ("video", "video/webm", ("av1",)),
    "audio.webm": ("audio", "audio/webm", ("opus",)),
    "audio.ogg": ("audio", "audio/ogg", ("opus",)),
    "vorbis.ogg": ("audio", "audio/ogg", ("vorbis",)),
    "video.mp4": ("video", "video/mp4", ("h264", "aac")),
    "audio.m4a": ("audio", "audio/mp4", ("aac",)),
}
REFUSED = [
    "program.exe",
    "empty.webm",
    "image.png",
    "truncated-video.webm",
    "truncated-video.mp4",
    "truncated-audio.ogg",
    "flac.ogg",
    "mpeg4.mkv",
]


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_recordings_are_measured(name: str, samples: dict[str, Path]) -> None:
    info = media.inspect(samples[name])
    kind, content_type, codecs = ACCEPTED[name]
    assert (info.kind, info.content_type, info.codecs) == (kind, content_type, codecs)
    assert 1.9 <= info.duration_seconds <= 2.1


def test_a_recording_whose_media_begins_late_is_not_called_truncated(tmp_path: Path) -> None:
    """The live recorder's files start late when their first frames arrive late (a busy
    machine): the file still ends where the recording does, so it is whole."""
    late = record(
        tmp_path / "late.webm", container="webm", video="libvpx", audio="libopus", late=1.5
    )
    info = media.inspect(late)
    assert info.kind == "video" and 1.9 <= info.duration_seconds <= 2.1


@pytest.mark.parametrize("name", REFUSED)
def test_refused_files_say_why(name: str, samples: dict[str, Path]) -> None:
    with pytest.raises(media.Refused) as refused:
        media.inspect(samples[name])
    assert str(refused.value)


def test_video_poster_is_a_jpeg_of_the_first_picture(
    samples: dict[str, Path], tmp_path: Path
) -> None:
    poster = tmp_path / "poster.jpg"
    assert media.poster_jpeg(samples["long.webm"], poster)
    data = poster.read_bytes()
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    # The JPEG decodes to the recording's size.
    import av

    with av.open(str(poster)) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (320, 240)


def test_audio_waveform_follows_the_loudness(samples: dict[str, Path]) -> None:
    peaks = media.waveform(samples["audio.ogg"])
    assert len(peaks) == 100
    assert all(0 <= p <= 1 for p in peaks)
    assert max(peaks) == 1.0
    # The test tone swells from quiet to loud.
    assert sum(peaks[:20]) < sum(peaks[-20:]) * 0.6


@pytest.mark.parametrize("name", REFUSED)
async def test_refused_upload_is_422_and_nothing_is_left(
    name: str, client: Client, samples: dict[str, Path]
) -> None:
    await sign_up(client)
    data = samples[name].read_bytes()
    location = await create_upload(client, None)
    if data:
        resp = await client.patch(
            location,
            data=data,
            headers={**TUS, "Content-Type": OCTETS, "Upload-Offset": "0"},
        )
        assert resp.status == 204
    resp = await client.patch(
        location,
        headers={
            **TUS,
            "Content-Type": OCTETS,
            "Upload-Offset": str(len(data)),
            "Upload-Length": str(len(data)),
        },
    )
    assert resp.status == 422
    problem = await resp.json()
    assert resp.content_type == "application/problem+json"
    assert problem["title"] == "Unplayable media" and problem["detail"]
    assert (await client.head(location, headers=TUS)).status == 404
    store = client.app[MEDIA_STORE]
    assert list(store.uploads_dir.iterdir()) == []
    assert list(store.media_dir.iterdir()) == []
    async with client.app[DB].read() as s:
        assert await s.scalar(select(func.count()).select_from(Upload)) == 0
        assert await s.scalar(select(func.count()).select_from(MediaFile)) == 0


async def test_zero_length_creation_is_refused_at_once(client: Client) -> None:
    await sign_up(client)
    resp = await client.post("/api/uploads/", headers={**TUS, "Upload-Length": "0"})
    assert resp.status == 422
    store = client.app[MEDIA_STORE]
    assert list(store.uploads_dir.iterdir()) == []
    async with client.app[DB].read() as s:
        assert await s.scalar(select(func.count()).select_from(Upload)) == 0


def test_every_type_a_recording_is_served_as_is_in_the_api_document() -> None:
    from server.threads import media
    from server.threads.schemas import SERVED_TYPES

    given = {
        media._content_type(family, kind, codecs)
        for family in ("matroska", "ogg", "mp4")
        for kind in ("audio", "video")
        for codecs in ((), ("vp8", "opus"), ("h264", "aac"))
    }
    assert given == set(SERVED_TYPES)
