"""The tus protocol and the receiver on their own: no server, no database, no request."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.threads.storage import PartFile, create_empty
from server.threads.tus import protocol, receiver
from server.threads.tus.protocol import Refusal

KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=12)


@given(st.dictionaries(KEYS, st.text(max_size=40), max_size=6))
def test_metadata_reads_back_what_was_encoded(meta: dict[str, str]) -> None:
    assert dict(protocol.metadata_items(protocol.encode_metadata(meta))) == meta


@pytest.mark.parametrize("raw", ["name a b", "name aGk=,name aGk=", "name !!!", ",", "name /w=="])
def test_malformed_metadata_is_a_400(raw: str) -> None:
    with pytest.raises(Refusal) as refused:
        dict(protocol.metadata_items(raw))
    assert refused.value.status == 400


@pytest.mark.parametrize("raw", ["-1", "1.5", "", "1" * 20])
def test_offsets_are_plain_whole_numbers(raw: str) -> None:
    with pytest.raises(Refusal):
        protocol.whole_number("Upload-Offset", raw)
    assert protocol.whole_number("Upload-Offset", "9" * 19) == int("9" * 19)


def test_only_a_20_byte_sha1_is_a_checksum() -> None:
    digest = hashlib.sha1(b"x").digest()
    header = "sha1 " + base64.b64encode(digest).decode()
    assert protocol.parse_checksum(header) == digest
    for raw in ["md5 AAAA", "sha1 AAAA", "sha1 not base64"]:
        with pytest.raises(Refusal):
            protocol.parse_checksum(raw)


class Pieces:
    """An async iterator over fixed pieces, as a request body arrives."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if not self.pieces:
            raise StopAsyncIteration
        return self.pieces.pop(0)


async def _receive(
    path: Path, pieces: Pieces, *, limit: int, checksum: bytes | None = None
) -> tuple[bool, list[tuple[int, int]]]:
    acknowledged: list[tuple[int, int]] = []

    async def acknowledge(old: int, new: int) -> bool:
        acknowledged.append((old, new))
        return True

    part = await PartFile.open(path, wait=0)
    try:
        exceeded = await receiver.receive(
            pieces,
            part,
            start=0,
            limit=limit,
            checksum=checksum,
            acknowledge=acknowledge,
            counted=lambda n: None,
        )
    finally:
        part.close()
    return exceeded, acknowledged


async def test_the_receiver_stores_an_iterator_and_acknowledges_what_is_on_disk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "part"
    create_empty(path)
    exceeded, acknowledged = await _receive(path, Pieces(b"hello ", b"world"), limit=100)
    assert not exceeded
    assert path.read_bytes() == b"hello world"
    # Each acknowledgement starts where the last one ended, and the last covers it all.
    assert [old for old, _ in acknowledged] == [0] + [new for _, new in acknowledged[:-1]]
    assert acknowledged[-1][1] == 11


async def test_the_receiver_keeps_what_fits_and_says_the_rest_did_not(tmp_path: Path) -> None:
    path = tmp_path / "part"
    create_empty(path)
    exceeded, acknowledged = await _receive(path, Pieces(b"abc", b"defgh"), limit=5)
    assert exceeded
    assert path.read_bytes() == b"abcde"
    assert acknowledged[-1][1] == 5


async def test_the_receiver_discards_bytes_that_fail_their_checksum(tmp_path: Path) -> None:
    path = tmp_path / "part"
    create_empty(path)
    with pytest.raises(Refusal) as refused:
        await _receive(path, Pieces(b"hello"), limit=100, checksum=hashlib.sha1(b"no").digest())
    assert refused.value.status == 460
    assert path.read_bytes() == b""
