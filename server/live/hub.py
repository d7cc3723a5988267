"""Rooms and their members, independent of the transport.

The hub keeps, per room with a member in this process, the local members, the roster
of every peer in the room (here or in another process) and the peers waiting to resume
(``members.py``), and relays what members say. With several processes (``shared``) it
hands what is for peers elsewhere to its ``Relay`` (``relay.py``), which also keeps
presence and brings rosters back in step after the bus was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from server.core.bus import EventBus
from server.core.ids import new_id
from server.live.members import (
    CLOSE_REPLACED,
    CLOSE_ROOM_CLOSED,
    Connection,
    LocalRoom,
    Member,
    Person,
    deliver,
)
from server.live.presence import RedisPresence
from server.live.protocol import (
    Bye,
    Chat,
    ClientMessage,
    Error,
    Join,
    MediaState,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    PeerReconnecting,
    Peers,
    RecordConsent,
    Recording,
    ServerMessage,
    Signal,
    to_json,
)
from server.live.relay import ROSTER_TYPES, Relay
from server.live.rooms import RoomInfo

log = logging.getLogger(__name__)

# (hub, room, roster, local): ``local`` is False when the change happened in another process.
ConsentHook = Callable[["Hub", RoomInfo, dict[str, PeerInfo], bool], Awaitable[None]]


class Hub:
    """The rooms with a member in this process, one hub per app, whatever the transport."""

    def __init__(
        self,
        *,
        bus: EventBus | None = None,
        presence: RedisPresence | None = None,
        resume_seconds: float = 30.0,
        wall: Callable[[], float] = time.time,
        on_rooms: Callable[[int], None] | None = None,
    ) -> None:
        self._relay = (
            Relay(self, bus=bus, presence=presence)
            if bus is not None and presence is not None
            else None
        )
        self.shared = self._relay is not None
        self.resume_seconds = resume_seconds
        self._wall = wall
        self._on_rooms = on_rooms or (lambda n: None)
        self.rooms: dict[str, LocalRoom] = {}
        self.consent_hooks: list[ConsentHook] = []
        self._background: set[asyncio.Task[None]] = set()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._relay is not None:
            self._relay.start()

    async def close(self) -> None:
        if self._relay is not None:
            await self._relay.close()
        for room in list(self.rooms.values()):
            await self._drop_room(room, force=True)

    # --- joining and leaving ----------------------------------------------------------------

    async def join(
        self, room_info: RoomInfo, person: Person, conn: Connection, message: Join
    ) -> Member:
        room = await self._room(room_info)
        if self._relay is not None:
            await self._relay.load_roster(room)
        resumed = False
        peer_id = new_id()
        previous = room.roster.get(message.peer_id) if message.peer_id else None
        joined = self._wall()
        if previous is not None and previous.user_id == person.user_id:
            resumed, peer_id, joined = True, previous.peer_id, previous.joined
            await self.take_over(room, peer_id)
        for other in [p for p in room.roster.values() if p.user_id == person.user_id]:
            if other.peer_id != peer_id:
                # One place per person: an older tab or a stale peer gives way.
                await self.take_over(room, other.peer_id)
                await self._forget(room, other.peer_id)
        info = PeerInfo(
            peer_id=peer_id,
            user_id=person.user_id,
            name=person.name,
            timezone=person.timezone,
            joined=joined,
            media=message.media,
            recorder=person.recorder,
        )
        member = Member(room_info.room_id, info, conn)
        room.local[peer_id] = member
        room.roster[peer_id] = info
        room.homes.pop(peer_id, None)
        if self._relay is not None:
            await self._relay.present(room, info, away=False)
        others = tuple(p for p in room.roster.values() if p.peer_id != peer_id)
        await conn.send(
            to_json(
                Peers(
                    you=info,
                    peers=others,
                    recording=room.recording,
                    recording_allowed=room.info.recording_allowed,
                    resumed=resumed,
                )
            )
        )
        await self._send(room, PeerJoined(peer=info, resumed=resumed), exclude=peer_id)
        return member

    async def disconnect(self, member: Member, *, graceful: bool) -> None:
        """The member's transport ended; without a ``bye`` it may come back and resume."""
        room = self.rooms.get(member.room_id)
        if room is None or room.local.get(member.peer_id) is not member:
            return  # already replaced by a newer connection
        del room.local[member.peer_id]
        if graceful or self.resume_seconds <= 0:
            await self._forget(room, member.peer_id)
        else:
            info = replace(member.info, consent=False)
            room.roster[member.peer_id] = info
            room.away.add(member.peer_id)
            loop = asyncio.get_running_loop()
            room.timers[member.peer_id] = loop.call_later(
                self.resume_seconds, self._expire, room, member.peer_id
            )
            if self._relay is not None:
                await self._relay.present(room, info, away=True)
            await self._send(
                room, PeerReconnecting(member.peer_id, int(self.resume_seconds)), exclude=None
            )
            await self.consent_changed(room)
        await self.maybe_drop(room)

    def _expire(self, room: LocalRoom, peer_id: str) -> None:
        room.timers.pop(peer_id, None)
        if peer_id in room.away:
            task = asyncio.create_task(self._expired(room, peer_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _expired(self, room: LocalRoom, peer_id: str) -> None:
        await self._forget(room, peer_id)
        await self.maybe_drop(room)

    async def _forget(self, room: LocalRoom, peer_id: str) -> None:
        """The peer left for good: everyone is told and its presence goes."""
        room.away.discard(peer_id)
        timer = room.timers.pop(peer_id, None)
        if timer is not None:
            timer.cancel()
        room.homes.pop(peer_id, None)
        if room.roster.pop(peer_id, None) is None:
            return
        if self._relay is not None:
            await self._relay.absent(room, peer_id)
        await self._send(room, PeerLeft(peer_id), exclude=peer_id)
        await self.consent_changed(room)

    async def take_over(self, room: LocalRoom, peer_id: str) -> None:
        """A newer connection takes ``peer_id``'s place: drop the old one without goodbyes."""
        room.away.discard(peer_id)
        timer = room.timers.pop(peer_id, None)
        if timer is not None:
            timer.cancel()
        old = room.local.pop(peer_id, None)
        if old is not None:
            with contextlib.suppress(Exception):
                await old.conn.close(CLOSE_REPLACED, "joined again from another connection")

    # --- messages from a member ---------------------------------------------------------------

    async def handle(self, member: Member, message: ClientMessage) -> None:
        room = self.rooms.get(member.room_id)
        if room is None or room.local.get(member.peer_id) is not member:
            return
        peer_id = member.peer_id
        if isinstance(message, Signal):
            target = message.to
            if target not in room.roster or target == peer_id:
                await member.conn.send(to_json(Error("no-such-peer", f"{target} is not here.")))
                return
            if target in room.away:
                await member.conn.send(
                    to_json(Error("peer-away", "That peer is reconnecting; try again soon."))
                )
                return
            relayed = Signal(target, message.data, sender=peer_id, raw=message.raw)
            await self._send(room, relayed, to=target)
        elif isinstance(message, Chat):
            await self._send(
                room, Chat(message.text, sender=peer_id, at=self._wall()), exclude=peer_id
            )
        elif isinstance(message, MediaState):
            member.info = replace(member.info, media=message.media)
            room.roster[peer_id] = member.info
            await self._send(room, MediaState(message.media, sender=peer_id), exclude=peer_id)
        elif isinstance(message, RecordConsent):
            if not room.info.recording_allowed:
                await member.conn.send(
                    to_json(
                        Error(
                            "recording-not-allowed",
                            "The agreement of this mentorship does not allow recording.",
                        )
                    )
                )
                return
            member.info = replace(member.info, consent=message.consent)
            room.roster[peer_id] = member.info
            await self._send(room, RecordConsent(message.consent, sender=peer_id), exclude=peer_id)
            await self.consent_changed(room)
        elif isinstance(message, Bye):
            await self.disconnect(member, graceful=True)
        elif isinstance(message, Join):
            await member.conn.send(to_json(Error("already-joined", "You are in this room.")))

    async def set_recording(self, room_id: str, active: bool) -> None:
        """Show or hide the recording indicator for everyone in the room."""
        room = self.rooms.get(room_id)
        if room is None or room.recording == active:
            return
        room.recording = active
        await self._send(room, Recording(active), exclude=None)

    def roster(self, room_id: str) -> dict[str, PeerInfo]:
        room = self.rooms.get(room_id)
        return dict(room.roster) if room else {}

    async def consent_changed(self, room: LocalRoom, *, local: bool = True) -> None:
        """Tell the hooks (the recorder) who in the room consents now."""
        for hook in self.consent_hooks:
            try:
                await hook(self, room.info, dict(room.roster), local)
            except Exception:
                log.exception("a consent hook failed in room %s", room.info.room_id)

    # --- delivery -------------------------------------------------------------------------------

    async def _send(
        self,
        room: LocalRoom,
        message: ServerMessage,
        *,
        to: str | None = None,
        exclude: str | None = None,
    ) -> None:
        text = to_json(message)
        if to is not None:
            member = room.local.get(to)
            if member is not None:
                await deliver(member, text)
                return
        else:
            for pid, member in list(room.local.items()):
                if pid != exclude:
                    await deliver(member, text)
        if self._relay is not None and (
            to is not None or message.type in ROSTER_TYPES or room.others_remote()
        ):
            self._relay.queue(room, {"to": to, "x": exclude, "k": message.type, "t": text})

    # --- rooms ------------------------------------------------------------------------------------

    async def _room(self, info: RoomInfo) -> LocalRoom:
        room = self.rooms.get(info.room_id)
        if room is not None:
            room.info = info
            if room.linger is not None:
                room.linger.cancel()
                room.linger = None
            return room
        room = LocalRoom(info)
        self.rooms[info.room_id] = room
        self._on_rooms(len(self.rooms))
        if self._relay is not None:
            ready = asyncio.Event()
            room.listener = asyncio.create_task(self._relay.listen(room, ready))
            await ready.wait()
        return room

    def close_room_at(self, room_id: str, delay: float) -> None:
        """Close every local member's connection when the room's window ends."""
        room = self.rooms.get(room_id)
        if room is None or room.closer is not None:
            return
        loop = asyncio.get_running_loop()
        room.closer = loop.call_later(max(0.0, delay), self._spawn_close, room)

    def _spawn_close(self, room: LocalRoom) -> None:
        task = asyncio.create_task(self._close_members(room))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _close_members(self, room: LocalRoom) -> None:
        for member in list(room.local.values()):
            with contextlib.suppress(Exception):
                await member.conn.close(CLOSE_ROOM_CLOSED, "the room has closed")

    async def maybe_drop(self, room: LocalRoom) -> None:
        """Forget a room nobody here holds any more, unless an outage needs it kept."""
        if room.local or room.timers:
            return
        if self._relay is not None and not self._relay.available:
            return  # kept until the bus is back: its sync tells the others who left
        if room.linger is not None:
            return  # still answering the other processes' syncs after an outage
        await self._drop_room(room)

    async def _drop_room(self, room: LocalRoom, *, force: bool = False) -> None:
        if self.rooms.get(room.info.room_id) is not room:
            return
        del self.rooms[room.info.room_id]
        self._on_rooms(len(self.rooms))
        for timer in room.timers.values():
            timer.cancel()
        if room.closer is not None:
            room.closer.cancel()
        if room.linger is not None:
            room.linger.cancel()
        if room.listener is not None:
            room.listener.cancel()
            if room.listener is not asyncio.current_task():
                with contextlib.suppress(asyncio.CancelledError):
                    await room.listener
