"""The server with a real third-party tus client (tuspy), as a script would use it."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from server.core.keys import DB
from server.threads.keys import MEDIA_STORE
from server.threads.models import MediaFile, Upload
from tests.factories import sign_up

Client = TestClient[web.Request, web.Application]


async def _tus(client: Client) -> tus_client.TusClient:
    await sign_up(client)
    resp = await client.post("/api/auth/tokens", json={"name": "uploader script"})
    token = (await resp.json())["token"]
    return tus_client.TusClient(
        str(client.make_url("/api/uploads/")), headers={"Authorization": f"Bearer {token}"}
    )


async def test_tuspy_uploads_a_recording_in_chunks_with_checksums(
    client: Client, samples: dict[str, Path]
) -> None:
    tus = await _tus(client)
    data = samples["long.webm"].read_bytes()
    uploader = tus.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=16 * 1024,
        metadata={"filename": "long.webm", "filetype": "video/webm"},
        upload_checksum=True,
    )
    await asyncio.to_thread(uploader.upload)
    upload_id = uploader.url.rsplit("/", 1)[1]
    async with client.app[DB].read() as s:
        upload = await s.get(Upload, upload_id)
        assert upload is not None and upload.state == "complete"
        assert upload.meta == {"filename": "long.webm", "filetype": "video/webm"}
        media = await s.get(MediaFile, upload.media_id)
    assert media is not None
    assert media.kind == "video" and media.content_type == "video/webm"
    assert 5.9 < media.duration_seconds < 6.1
    stored = client.app[MEDIA_STORE].absolute(media.path).read_bytes()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()


async def test_tuspy_resumes_a_stopped_upload(client: Client, samples: dict[str, Path]) -> None:
    tus = await _tus(client)
    data = samples["audio.ogg"].read_bytes()
    first = tus.uploader(file_stream=io.BytesIO(data), chunk_size=4096)
    await asyncio.to_thread(first.upload, stop_at=12_288)
    url = first.url
    # A new process of the script picks the upload up from the URL it kept.
    second = await asyncio.to_thread(
        tus.uploader, file_stream=io.BytesIO(data), url=url, chunk_size=4096
    )
    assert second.offset == 12_288
    await asyncio.to_thread(second.upload)
    async with client.app[DB].read() as s:
        upload = await s.get(Upload, url.rsplit("/", 1)[1])
    assert upload is not None and upload.state == "complete"


async def test_tuspy_sees_a_refused_file(client: Client, samples: dict[str, Path]) -> None:
    tus = await _tus(client)
    uploader = tus.uploader(file_path=str(samples["program.exe"]), chunk_size=1 << 20)
    with pytest.raises(TusUploadFailed) as failed:
        await asyncio.to_thread(uploader.upload)
    assert failed.value.status_code == 422
    assert not any(client.app[MEDIA_STORE].uploads_dir.iterdir())
    assert not any(client.app[MEDIA_STORE].media_dir.iterdir())


async def test_tuspy_without_credentials_cannot_create(client: Client) -> None:
    tus = tus_client.TusClient(str(client.make_url("/api/uploads/")))
    uploader: Any = tus.uploader(file_stream=io.BytesIO(b"abc"), chunk_size=10)
    with pytest.raises(TusCommunicationError) as failed:
        await asyncio.to_thread(uploader.upload)
    assert failed.value.status_code == 401
