"""Room tokens: short-lived, scoped to one room and one person, signed with SECRET_KEY.

The token is ``<payload>.<signature>`` where the payload is base64url JSON
``{"r": room_id, "u": user_id, "e": expiry}`` and the signature an HMAC-SHA256 over it
with a key derived from SECRET_KEY for this purpose only. It travels in the WebSocket
URL (browsers cannot set headers on a WebSocket), so it lives minutes, not hours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime


class TokenError(ValueError):
    """Why a token was refused, in words for the person."""


@dataclass(frozen=True, slots=True)
class RoomClaim:
    room_id: str
    user_id: str
    expires: int


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"meridian room token v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(*, secret_key: str, room_id: str, user_id: str, expires: datetime) -> str:
    payload = _b64(
        json.dumps(
            {"r": room_id, "u": user_id, "e": int(expires.timestamp())}, separators=(",", ":")
        ).encode()
    )
    signature = _b64(hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def verify(token: str, *, secret_key: str, room_id: str, now: datetime) -> RoomClaim:
    """The claim in ``token`` if it is genuine, unexpired and for ``room_id``."""
    payload, dot, signature = token.partition(".")
    # Genuine tokens are base64url: anything else (é, a lone surrogate) is refused here,
    # before the comparison, which accepts only ASCII text.
    if not dot or len(token) > 1000 or not token.isascii():
        raise TokenError("This room link is not valid.")
    expected = _b64(hmac.new(_key(secret_key), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        raise TokenError("This room link is not valid.")
    try:
        raw = json.loads(_unb64(payload))
        claim = RoomClaim(room_id=str(raw["r"]), user_id=str(raw["u"]), expires=int(raw["e"]))
    except (ValueError, KeyError, TypeError):
        raise TokenError("This room link is not valid.") from None
    if claim.room_id != room_id:
        raise TokenError("This token is for another room.")
    if claim.expires <= now.timestamp():
        raise TokenError("This room token has expired; open the session again to get a new one.")
    return claim
