"""Who is in a room, as the hub holds it: people, members, their connections, local rooms.

A ``Connection`` is anything that can send text and be closed (the WebSocket handler
wraps aiohttp's socket; tests may wrap a queue). A ``LocalRoom`` is one room with a
member in this process: the local members, the roster of every peer in the room (here
or in another process), the peers waiting to resume and the timers that run for them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from server.live.protocol import PeerInfo
from server.live.rooms import RoomInfo

log = logging.getLogger(__name__)

CLOSE_REPLACED = 4001  # the same person joined again from elsewhere
CLOSE_ROOM_CLOSED = 4002  # the room's window ended


class Connection(Protocol):
    async def send(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Person:
    user_id: str
    name: str
    timezone: str
    recorder: bool = False


@dataclass(eq=False, slots=True)
class Member:
    room_id: str
    info: PeerInfo
    conn: Connection

    @property
    def peer_id(self) -> str:
        return self.info.peer_id


@dataclass(eq=False, slots=True)
class LocalRoom:
    info: RoomInfo
    local: dict[str, Member] = field(default_factory=dict)
    roster: dict[str, PeerInfo] = field(default_factory=dict)
    away: set[str] = field(default_factory=set)
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    # The process holding each remote peer, where known: a ``sync`` from that process
    # that no longer lists the peer means it left.
    homes: dict[str, str] = field(default_factory=dict)
    listener: asyncio.Task[None] | None = None
    closer: asyncio.TimerHandle | None = None
    linger: asyncio.TimerHandle | None = None
    recording: bool = False

    def others_remote(self) -> bool:
        return any(p not in self.local for p in self.roster)


async def deliver(member: Member, text: str) -> None:
    """Send ``text`` to one member; a connection that just died is not the sender's problem."""
    try:
        await member.conn.send(text)
    except Exception:
        log.debug("could not deliver to %s", member.peer_id, exc_info=True)
