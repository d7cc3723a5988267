"""The signalling protocol: typed messages and their JSON form. No I/O.

Clients send ``join``, ``signal``, ``chat``, ``media-state``, ``record-consent`` and
``bye``. The server answers with ``peers``, ``peer-joined``, ``peer-left``,
``peer-reconnecting``, ``recording`` and ``error``, and relays the client messages with
``from`` stamped by itself (a client can never speak for another peer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

from server.core.jsontext import loads

MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_CHAT_CHARS: Final = 4000
PEER_ID_CHARS: Final = 64


class ProtocolError(ValueError):
    """A message the server refuses; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Media:
    audio: bool = True
    video: bool = True
    screen: bool = False

    def to_dict(self) -> dict[str, bool]:
        return {"audio": self.audio, "video": self.video, "screen": self.screen}

    @classmethod
    def from_dict(cls, raw: Any) -> Media:
        if not isinstance(raw, dict):
            return cls()
        return cls(
            audio=raw.get("audio") is not False,
            video=raw.get("video") is not False,
            screen=raw.get("screen") is True,
        )


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """What the others see of a peer. ``joined`` orders peers: the later one is polite."""

    peer_id: str
    user_id: str
    name: str
    timezone: str
    joined: float
    media: Media = field(default_factory=Media)
    consent: bool = False
    recorder: bool = False  # the server's recording peer, not a person

    def to_dict(self) -> dict[str, Any]:
        return {
            "peer_id": self.peer_id,
            "user_id": self.user_id,
            "name": self.name,
            "timezone": self.timezone,
            "joined": self.joined,
            "media": self.media.to_dict(),
            "consent": self.consent,
            "recorder": self.recorder,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PeerInfo:
        return cls(
            peer_id=str(raw["peer_id"]),
            user_id=str(raw["user_id"]),
            name=str(raw.get("name", "")),
            timezone=str(raw.get("timezone", "UTC")),
            joined=float(raw.get("joined", 0)),
            media=Media.from_dict(raw.get("media")),
            consent=raw.get("consent") is True,
            recorder=raw.get("recorder") is True,
        )


# --- messages from clients (``from`` is stamped by the server) -----------------------------


@dataclass(frozen=True, slots=True)
class Join:
    type: ClassVar[str] = "join"
    peer_id: str | None = None
    media: Media = field(default_factory=Media)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "peer_id": self.peer_id, "media": self.media.to_dict()}


@dataclass(frozen=True, slots=True)
class Signal:
    """A session description or ICE candidate for one other peer."""

    type: ClassVar[str] = "signal"
    to: str
    data: dict[str, Any]
    sender: str | None = None
    # The client's own text when it holds exactly type, to and data: relaying it with
    # ``from`` appended saves encoding a session description again (the hot path).
    raw: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "to": self.to, "from": self.sender, "data": self.data}


@dataclass(frozen=True, slots=True)
class Chat:
    type: ClassVar[str] = "chat"
    text: str
    sender: str | None = None
    at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "from": self.sender, "text": self.text, "at": self.at}


@dataclass(frozen=True, slots=True)
class MediaState:
    type: ClassVar[str] = "media-state"
    media: Media
    sender: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "from": self.sender, **self.media.to_dict()}


@dataclass(frozen=True, slots=True)
class RecordConsent:
    type: ClassVar[str] = "record-consent"
    consent: bool
    sender: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "from": self.sender, "consent": self.consent}


@dataclass(frozen=True, slots=True)
class Bye:
    type: ClassVar[str] = "bye"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type}


# --- messages from the server -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Peers:
    """The answer to ``join``: who you are, who else is here, whether recording runs."""

    type: ClassVar[str] = "peers"
    you: PeerInfo
    peers: tuple[PeerInfo, ...]
    recording: bool = False
    recording_allowed: bool = False
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "you": self.you.to_dict(),
            "peers": [p.to_dict() for p in self.peers],
            "recording": self.recording,
            "recording_allowed": self.recording_allowed,
            "resumed": self.resumed,
        }


@dataclass(frozen=True, slots=True)
class PeerJoined:
    type: ClassVar[str] = "peer-joined"
    peer: PeerInfo
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "peer": self.peer.to_dict(), "resumed": self.resumed}


@dataclass(frozen=True, slots=True)
class PeerLeft:
    type: ClassVar[str] = "peer-left"
    peer_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "peer_id": self.peer_id}


@dataclass(frozen=True, slots=True)
class PeerReconnecting:
    type: ClassVar[str] = "peer-reconnecting"
    peer_id: str
    seconds: int

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "peer_id": self.peer_id, "seconds": self.seconds}


@dataclass(frozen=True, slots=True)
class Recording:
    """The recording indicator: shown to both participants while the server records."""

    type: ClassVar[str] = "recording"
    active: bool

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "active": self.active}


@dataclass(frozen=True, slots=True)
class Error:
    type: ClassVar[str] = "error"
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "code": self.code, "message": self.message}


ClientMessage = Join | Signal | Chat | MediaState | RecordConsent | Bye
ServerMessage = (
    Peers
    | PeerJoined
    | PeerLeft
    | PeerReconnecting
    | Recording
    | Error
    | Signal
    | Chat
    | MediaState
    | RecordConsent
)
CLIENT_TYPES: Final = ("join", "signal", "chat", "media-state", "record-consent", "bye")


def to_json(message: ClientMessage | ServerMessage) -> str:
    if isinstance(message, Signal) and message.raw is not None and message.sender is not None:
        raw = message.raw
        return raw[: raw.rindex("}")] + ',"from":' + json.dumps(message.sender) + "}"
    return json.dumps(message.to_dict(), separators=(",", ":"))


def from_json(text: str | bytes) -> ClientMessage:
    """Parse one client message; raise ProtocolError with a stable code on anything else."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too-big", f"Messages are limited to {MAX_MESSAGE_BYTES} bytes.")
    try:
        raw = loads(text)  # nesting capped: a deep document must not exhaust the stack
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("bad-json", "The message is not valid JSON.") from None
    if not isinstance(raw, dict):
        raise ProtocolError("bad-json", "A message is a JSON object with a type.")
    kind = raw.get("type")
    if kind not in CLIENT_TYPES:
        raise ProtocolError("unknown-type", f"Unknown message type {str(kind)[:40]!r}.")
    if kind == "signal":
        to, data = raw.get("to"), raw.get("data")
        if not isinstance(to, str) or not _is_peer_id(to):
            raise ProtocolError("invalid", "A signal needs `to`: the peer id it is for.")
        if not isinstance(data, dict):
            raise ProtocolError("invalid", "A signal needs `data`: a description or candidate.")
        exact = isinstance(text, str) and len(raw) == 3  # exactly type, to and data
        return Signal(to=to, data=data, raw=text if exact and isinstance(text, str) else None)
    if kind == "chat":
        text_ = raw.get("text")
        if not isinstance(text_, str) or not text_.strip():
            raise ProtocolError("invalid", "A chat message needs some `text`.")
        if len(text_) > MAX_CHAT_CHARS:
            raise ProtocolError(
                "invalid", f"Chat messages are limited to {MAX_CHAT_CHARS} characters."
            )
        return Chat(text=text_)
    if kind == "media-state":
        flags = {k: raw.get(k) for k in ("audio", "video", "screen")}
        if not all(isinstance(v, bool) for v in flags.values() if v is not None):
            raise ProtocolError("invalid", "audio, video and screen are true or false.")
        return MediaState(media=Media.from_dict(raw))
    if kind == "record-consent":
        consent = raw.get("consent")
        if not isinstance(consent, bool):
            raise ProtocolError("invalid", "record-consent needs `consent`: true or false.")
        return RecordConsent(consent=consent)
    if kind == "join":
        peer_id = raw.get("peer_id")
        if peer_id is not None and not _is_peer_id(peer_id):
            raise ProtocolError("invalid", "`peer_id` is the id this server gave you earlier.")
        return Join(peer_id=peer_id, media=Media.from_dict(raw.get("media")))
    return Bye()


def _is_peer_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= PEER_ID_CHARS


@dataclass(slots=True)
class TokenBucket:
    """Per-socket rate limit: ``rate`` messages a second on average, bursts up to ``burst``."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def allow(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
