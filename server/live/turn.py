"""ICE servers for a call: STUN, plus TURN with coturn ``use-auth-secret`` credentials.

coturn's REST scheme: ``username = "<expiry unix time>:<user>"`` and
``credential = base64(HMAC-SHA1(secret, username))``; coturn recomputes the HMAC and
refuses the credential after the expiry, so nothing is stored per call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any


def turn_credentials(*, secret: str, user_id: str, expires: datetime) -> tuple[str, str]:
    username = f"{int(expires.timestamp())}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(
    *,
    stun_urls: tuple[str, ...],
    turn_urls: tuple[str, ...],
    turn_secret: str | None,
    user_id: str,
    expires: datetime,
) -> list[dict[str, Any]]:
    """The RTCIceServer list for a browser (the shape RTCPeerConnection takes)."""
    servers: list[dict[str, Any]] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_urls and turn_secret:
        username, credential = turn_credentials(
            secret=turn_secret, user_id=user_id, expires=expires
        )
        servers.append({"urls": list(turn_urls), "username": username, "credential": credential})
    return servers
