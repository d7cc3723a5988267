"""tus 1.0.0 as values: versions, headers, Upload-Metadata, checksums, offsets, refusals.

Pure: strings and numbers in, values or a ``Refusal`` out, so the wire rules are read
(and tested) apart from the HTTP server and the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum"
CHECKSUM_ALGORITHMS = "sha1"
OCTETS = "application/offset+octet-stream"
MAX_METADATA = 4096
WHOLE_NUMBER_DIGITS = 19


class Refusal(Exception):
    """A request tus refuses: a status, what to do about it, and the headers that say so."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.headers = dict(headers or {})


# --- request headers ---------------------------------------------------------------------


def check_version(raw: str | None) -> None:
    """Every request but discovery names the version; any other is a 412."""
    if raw != TUS_VERSION:
        raise Refusal(
            412,
            f"This server speaks tus {TUS_VERSION}; send the header Tus-Resumable: {TUS_VERSION}.",
            headers={"Tus-Version": TUS_VERSION},
        )


def whole_number(name: str, raw: str | None) -> int | None:
    """A header that is a byte count or an offset: digits only, at most 19 of them."""
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > WHOLE_NUMBER_DIGITS:
        raise Refusal(400, f"{name} must be a non-negative whole number, got {raw[:40]!r}.")
    return int(raw)


def creation_length(length: int | None, deferred: str | None) -> int | None:
    """The declared size of a new upload; None when deferred (Upload-Defer-Length: 1)."""
    if deferred is not None and deferred != "1":
        raise Refusal(400, "Upload-Defer-Length must be 1.")
    if (length is None) == (deferred is None):
        raise Refusal(400, "Send exactly one of Upload-Length and Upload-Defer-Length: 1.")
    return length


def metadata_items(raw: str | None) -> Iterator[tuple[str, str]]:
    """``key base64,key2 base64`` (values optional) as decoded pairs, in order.

    A generator, so the caller can judge each value as text before the next pair is
    read, and a malformed later pair never hides a refused earlier one.
    """
    if not raw:
        return
    if len(raw) > MAX_METADATA:
        raise Refusal(400, f"Upload-Metadata is limited to {MAX_METADATA} characters.")
    seen: set[str] = set()
    for pair in raw.split(","):
        key, _, value = pair.strip().partition(" ")
        if not key or " " in value.strip() or key in seen:
            raise Refusal(400, "Upload-Metadata must be comma-separated 'key base64value' pairs.")
        seen.add(key)
        try:
            text = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Refusal(
                400, f"Upload-Metadata value of {key!r} is not base64-encoded UTF-8."
            ) from None
        yield key, text


def encode_metadata(meta: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())


def parse_checksum(raw: str | None) -> bytes | None:
    """The sha1 digest an ``Upload-Checksum: sha1 <base64>`` header promises."""
    if raw is None:
        return None
    algorithm, _, encoded = raw.strip().partition(" ")
    if algorithm.lower() != "sha1":
        raise Refusal(400, f"Upload-Checksum algorithm {algorithm!r} is not supported; use sha1.")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise Refusal(400, "Upload-Checksum must be 'sha1 <base64 digest>'.") from None
    if len(digest) != 20:
        raise Refusal(400, "Upload-Checksum must carry a 20-byte sha1 digest.")
    return digest


class Checksum:
    """The running sha1 of one request's bytes, against the digest its header promised."""

    def __init__(self, expected: bytes) -> None:
        self.expected = expected
        self._digest = hashlib.sha1(usedforsecurity=False)

    def update(self, data: bytes) -> None:
        self._digest.update(data)

    def matches(self) -> bool:
        return self._digest.digest() == self.expected


# --- response headers --------------------------------------------------------------------


def offset_of(state: str, received: int, length: int | None) -> int:
    """The Upload-Offset to report: what was acknowledged, or the whole size once complete."""
    return received if state == "open" else (length or 0)


def expires(state: str, expires_at: datetime) -> dict[str, str]:
    """Upload-Expires, for an upload that can still receive bytes."""
    if state != "open":
        return {}
    return {"Upload-Expires": format_datetime(expires_at, usegmt=True)}


# --- refusals ----------------------------------------------------------------------------


def conflict(received: int) -> Refusal:
    """The client's offset is not the server's: it asks with HEAD and continues."""
    return Refusal(
        409,
        f"Upload-Offset does not match: the server has {received} bytes. "
        "Ask with HEAD and continue from there.",
        headers={"Upload-Offset": str(received)},
    )


def already_complete() -> Refusal:
    return Refusal(409, "This upload is already complete.")


def locked() -> Refusal:
    return Refusal(
        423,
        "Another request is still writing to this upload. Ask with HEAD and try again.",
        title="Locked",
    )


def too_long(length: int) -> Refusal:
    return Refusal(413, f"The upload is {length} bytes long; this is more.")


def checksum_mismatch() -> Refusal:
    return Refusal(
        460,
        "Upload-Checksum does not match the bytes received; they were discarded. "
        "Send the chunk again.",
        title="Checksum Mismatch",
    )


def moved_on() -> Refusal:
    return Refusal(409, "This upload was changed by another request.")


def not_stored(reason: str, kept: int) -> Refusal:
    return Refusal(
        507,
        f"The server could not store more of this upload ({reason}); "
        f"it has {kept} bytes. Try again later.",
        title="Insufficient Storage",
    )


def body_ended(kept: int) -> Refusal:
    return Refusal(
        400,
        f"The request body ended before it was complete; the upload has {kept} bytes. "
        "Ask with HEAD and continue from there.",
    )
