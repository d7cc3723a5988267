"""Rooms and their members, independent of the transport.

A ``Connection`` is anything that can send text and be closed (the WebSocket handler
wraps aiohttp's socket; tests may wrap a queue). The hub keeps, per room with a member
in this process, the local members, the roster of every peer in the room (here or in
another process) and the peers waiting to resume.

Across processes (``shared=True``) every message for a peer that is not local is
published on the room's bus channel ``room:<id>``, subscribed while this process holds a
member of the room; the roster of a newly joined process comes from the presence store.

When the bus comes back after losing Redis, the hub puts its members into the (possibly
empty) presence store again and publishes, per room, a ``sync`` of the peers it holds,
asking the other processes for theirs. Each process then adds the peers that joined
elsewhere during the outage and drops the ones that left, so rosters converge whichever
process reconnects first. Messages relayed during the outage are lost, as on any
network; the browsers' WebRTC links go on peer to peer meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from server.core import redis_client
from server.core.bus import BusUnavailable, EventBus
from server.core.ids import new_id
from server.live.presence import RedisPresence
from server.live.protocol import (
    Bye,
    Chat,
    ClientMessage,
    Error,
    Join,
    Media,
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
from server.live.rooms import RoomInfo

log = logging.getLogger(__name__)

CLOSE_REPLACED = 4001  # the same person joined again from elsewhere
CLOSE_ROOM_CLOSED = 4002  # the room's window ended
ROSTER_TYPES = frozenset(
    {"peer-joined", "peer-left", "peer-reconnecting", "media-state", "record-consent", "recording"}
)
SYNC = "sync"  # between processes only: the peers one process holds in a room
# How long a room emptied during an outage stays after it, to answer the others' syncs.
LINGER_SECONDS = 30.0


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


# (hub, room, roster, local): ``local`` is False when the change happened in another process.
ConsentHook = Callable[["Hub", RoomInfo, dict[str, PeerInfo], bool], Awaitable[None]]


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


class Hub:
    def __init__(
        self,
        *,
        bus: EventBus | None = None,
        presence: RedisPresence | None = None,
        resume_seconds: float = 30.0,
        wall: Callable[[], float] = time.time,
        on_rooms: Callable[[int], None] | None = None,
    ) -> None:
        self.shared = bus is not None and presence is not None
        self._bus = bus
        self._presence = presence
        self.resume_seconds = resume_seconds
        self._wall = wall
        self._on_rooms = on_rooms or (lambda n: None)
        self.process_id = uuid.uuid4().hex[:12]
        self.rooms: dict[str, LocalRoom] = {}
        self._refresher: asyncio.Task[None] | None = None
        self.consent_hooks: list[ConsentHook] = []
        # Messages for other processes, per room, published in batches by one task so
        # a burst costs one Redis round trip and each room's order is kept.
        self._outbox: dict[str, list[dict[str, Any]]] = {}
        self._publisher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._unrelayed = 0  # messages the bus could not take during the current outage
        self._stop_restored: Callable[[], None] | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.shared and self._presence is not None and self._bus is not None:
            self._refresher = asyncio.create_task(self._refresh(), name="presence-refresh")
            self._stop_restored = self._bus.on_restored(self._restored)

    async def close(self) -> None:
        if self._stop_restored is not None:
            self._stop_restored()
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        for room in list(self.rooms.values()):
            await self._drop_room(room, force=True)

    # --- joining and leaving ----------------------------------------------------------------

    async def join(
        self, room_info: RoomInfo, person: Person, conn: Connection, message: Join
    ) -> Member:
        room = await self._room(room_info)
        if self.shared:
            await self._load_roster(room)
        resumed = False
        peer_id = new_id()
        previous = room.roster.get(message.peer_id) if message.peer_id else None
        joined = self._wall()
        if previous is not None and previous.user_id == person.user_id:
            resumed, peer_id, joined = True, previous.peer_id, previous.joined
            await self._take_over(room, peer_id)
        for other in [p for p in room.roster.values() if p.user_id == person.user_id]:
            if other.peer_id != peer_id:
                # One place per person: an older tab or a stale peer gives way.
                await self._take_over(room, other.peer_id)
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
        await self._present(room, info, away=False)
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
            await self._present(room, info, away=True)
            await self._send(
                room, PeerReconnecting(member.peer_id, int(self.resume_seconds)), exclude=None
            )
            await self._consent_changed(room)
        await self._maybe_drop(room)

    def _expire(self, room: LocalRoom, peer_id: str) -> None:
        room.timers.pop(peer_id, None)
        if peer_id in room.away:
            task = asyncio.create_task(self._expired(room, peer_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _expired(self, room: LocalRoom, peer_id: str) -> None:
        await self._forget(room, peer_id)
        await self._maybe_drop(room)

    async def _forget(self, room: LocalRoom, peer_id: str) -> None:
        """The peer left for good: everyone is told and its presence goes."""
        room.away.discard(peer_id)
        timer = room.timers.pop(peer_id, None)
        if timer is not None:
            timer.cancel()
        room.homes.pop(peer_id, None)
        if room.roster.pop(peer_id, None) is None:
            return
        if self._presence is not None:
            try:
                await self._presence.remove(room.info.room_id, peer_id)
            except redis_client.redis_errors() as exc:
                # A restarted Redis is empty anyway; a live one expires the entry.
                log.warning("could not remove %s from presence: %r", peer_id, exc)
        await self._send(room, PeerLeft(peer_id), exclude=peer_id)
        await self._consent_changed(room)

    async def _take_over(self, room: LocalRoom, peer_id: str) -> None:
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
            await self._consent_changed(room)
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

    async def _consent_changed(self, room: LocalRoom, *, local: bool = True) -> None:
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
                await _deliver(member, text)
                return
        else:
            for pid, member in list(room.local.items()):
                if pid != exclude:
                    await _deliver(member, text)
        if (
            self.shared
            and self._bus is not None
            and (to is not None or message.type in ROSTER_TYPES or room.others_remote())
        ):
            self._queue(room, {"to": to, "x": exclude, "k": message.type, "t": text})

    async def _publish(self) -> None:
        assert self._bus is not None
        while self._outbox:
            outbox, self._outbox = self._outbox, {}
            for room_id, envelopes in outbox.items():
                try:
                    await self._bus.publish(
                        f"room:{room_id}", {"o": self.process_id, "b": envelopes}
                    )
                except BusUnavailable:
                    if not self._unrelayed:
                        log.warning("the bus is away: room messages are not relayed")
                    self._unrelayed += len(envelopes)
                except Exception:
                    log.exception(
                        "could not publish %d messages of room %s", len(envelopes), room_id
                    )

    async def _listen(self, room: LocalRoom, ready: asyncio.Event) -> None:
        assert self._bus is not None
        try:
            async with self._bus.subscribe(f"room:{room.info.room_id}") as sub:
                ready.set()
                async for event in sub:
                    origin = event.data.get("o")
                    if origin == self.process_id or not isinstance(origin, str):
                        continue
                    for envelope in event.data.get("b", ()):
                        await self._arrived(room, envelope, origin)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("room %s stopped listening to the bus", room.info.room_id)
        finally:
            ready.set()

    async def _arrived(self, room: LocalRoom, envelope: dict[str, Any], origin: str) -> None:
        kind, text = envelope.get("k"), envelope.get("t")
        if kind == SYNC:
            await self._synced(room, envelope, origin)
            return
        if not isinstance(text, str):
            return
        if kind in ROSTER_TYPES:
            await self._apply(room, json.loads(text), origin)
        to, exclude = envelope.get("to"), envelope.get("x")
        if to is not None:
            member = room.local.get(to)
            if member is not None:
                await _deliver(member, text)
            return
        for pid, member in list(room.local.items()):
            if pid != exclude:
                await _deliver(member, text)

    async def _apply(self, room: LocalRoom, message: dict[str, Any], origin: str) -> None:
        """Keep this process's roster in step with what happened in another process."""
        kind = message["type"]
        if kind == "peer-joined":
            info = PeerInfo.from_dict(message["peer"])
            if info.peer_id in room.local or info.peer_id in room.away:
                # It resumed (or joined again) elsewhere: our old hold on it ends quietly.
                await self._take_over(room, info.peer_id)
            for stale in [p for p, i in room.roster.items() if i.user_id == info.user_id]:
                if stale != info.peer_id:
                    room.roster.pop(stale, None)
                    room.homes.pop(stale, None)
            room.roster[info.peer_id] = info
            room.homes[info.peer_id] = origin
            room.away.discard(info.peer_id)
        elif kind == "peer-left":
            room.roster.pop(message["peer_id"], None)
            room.homes.pop(message["peer_id"], None)
            room.away.discard(message["peer_id"])
        elif kind == "peer-reconnecting":
            peer_id = message["peer_id"]
            if peer_id in room.roster:
                room.roster[peer_id] = replace(room.roster[peer_id], consent=False)
        elif kind == "media-state":
            sender = message.get("from")
            if sender in room.roster:
                media = Media.from_dict(message)
                room.roster[sender] = replace(room.roster[sender], media=media)
        elif kind == "record-consent":
            sender = message.get("from")
            if sender in room.roster:
                room.roster[sender] = replace(room.roster[sender], consent=bool(message["consent"]))
        elif kind == "recording":
            room.recording = bool(message["active"])
        if kind in ("peer-left", "peer-reconnecting", "record-consent"):
            await self._consent_changed(room, local=False)
        await self._maybe_drop(room)

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
        if self.shared:
            ready = asyncio.Event()
            room.listener = asyncio.create_task(self._listen(room, ready))
            await ready.wait()
        return room

    async def _load_roster(self, room: LocalRoom) -> None:
        assert self._presence is not None
        try:
            members = await self._presence.members(room.info.room_id)
        except redis_client.redis_errors() as exc:
            # Joining still works; the others appear when the bus is back (``sync``).
            log.warning("presence of room %s is unavailable: %r", room.info.room_id, exc)
            return
        for peer_id, (info, away, home) in members.items():
            if peer_id in room.local:
                continue
            room.roster[peer_id] = info
            if home is not None and home != self.process_id:
                room.homes[peer_id] = home
            if away and peer_id not in room.timers:
                room.away.add(peer_id)

    async def _present(self, room: LocalRoom, info: PeerInfo, *, away: bool) -> None:
        if self._presence is None:
            return
        try:
            await self._presence.put(room.info.room_id, info, away=away, home=self.process_id)
        except redis_client.redis_errors() as exc:
            log.warning("could not store presence of %s: %r", info.peer_id, exc)

    def _held(self, room: LocalRoom) -> list[tuple[PeerInfo, bool]]:
        """The peers this process holds: its members, and those it waits for to resume."""
        entries = [(room.roster[p], False) for p in room.local if p in room.roster]
        entries += [(room.roster[p], True) for p in room.timers if p in room.roster]
        return entries

    # --- after an outage of the bus ----------------------------------------------------------

    async def _restored(self) -> None:
        """The bus is back: be present again, and compare rosters with the other processes."""
        if self._unrelayed:
            log.warning("%d room messages were not relayed while the bus was away", self._unrelayed)
            self._unrelayed = 0
        for room in list(self.rooms.values()):
            held = self._held(room)
            if self._presence is not None:
                try:
                    await self._presence.put_many(room.info.room_id, held, home=self.process_id)
                except redis_client.redis_errors() as exc:
                    log.warning("could not restore presence of room %s: %r", room.info.room_id, exc)
            self._queue(room, _sync(held, ask=True))
            if not held and room.linger is None:
                loop = asyncio.get_running_loop()
                room.linger = loop.call_later(LINGER_SECONDS, self._linger_over, room)

    async def _synced(self, room: LocalRoom, envelope: dict[str, Any], origin: str) -> None:
        """Another process listed the peers it holds: add the new ones, drop the departed."""
        listed: dict[str, tuple[PeerInfo, bool]] = {}
        for item in envelope.get("peers", ()):
            info = PeerInfo.from_dict(item["info"])
            listed[info.peer_id] = (info, bool(item["away"]))
        for peer_id, (info, away) in listed.items():
            if peer_id in room.local or peer_id in room.timers:
                continue  # held here: this process is the one to say
            known = peer_id in room.roster
            room.roster[peer_id] = info
            room.homes[peer_id] = origin
            if away:
                room.away.add(peer_id)
            else:
                room.away.discard(peer_id)
            if not known:
                await self._tell_local(room, PeerJoined(peer=info, resumed=False))
        gone = [p for p, home in room.homes.items() if home == origin and p not in listed]
        for peer_id in gone:
            del room.homes[peer_id]
            if peer_id in room.local or peer_id in room.timers:
                continue
            room.away.discard(peer_id)
            if room.roster.pop(peer_id, None) is not None:
                await self._tell_local(room, PeerLeft(peer_id))
        if gone:
            await self._consent_changed(room, local=False)
        if envelope.get("ask"):
            self._queue(room, _sync(self._held(room), ask=False))

    async def _tell_local(self, room: LocalRoom, message: ServerMessage) -> None:
        text = to_json(message)
        for member in list(room.local.values()):
            await _deliver(member, text)

    def _queue(self, room: LocalRoom, envelope: dict[str, Any]) -> None:
        """Publish ``envelope`` on the room's channel after what is queued already."""
        batch = self._outbox.get(room.info.room_id)
        if batch is not None:
            batch.append(envelope)
            return
        self._outbox[room.info.room_id] = [envelope]
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.create_task(self._publish(), name="room-publisher")

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

    async def _maybe_drop(self, room: LocalRoom) -> None:
        if room.local or room.timers:
            return
        if self.shared and self._bus is not None and not self._bus.available:
            return  # kept until the bus is back: its sync tells the others who left
        if room.linger is not None:
            return  # still answering the other processes' syncs after an outage
        await self._drop_room(room)

    def _linger_over(self, room: LocalRoom) -> None:
        room.linger = None
        task = asyncio.create_task(self._maybe_drop(room))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

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

    async def _refresh(self) -> None:
        assert self._presence is not None
        while True:
            await asyncio.sleep(self._presence.ttl / 3)
            for room in list(self.rooms.values()):
                try:
                    await self._presence.put_many(
                        room.info.room_id, self._held(room), home=self.process_id
                    )
                except redis_client.redis_errors() as exc:
                    log.warning("could not refresh presence of room %s: %r", room.info.room_id, exc)
                except Exception:
                    log.exception("could not refresh presence of room %s", room.info.room_id)


def _sync(held: list[tuple[PeerInfo, bool]], *, ask: bool) -> dict[str, Any]:
    """The envelope listing the peers a process holds; ``ask`` asks the others for theirs."""
    peers = [{"info": info.to_dict(), "away": away} for info, away in held]
    return {"k": SYNC, "peers": peers, "ask": ask}


async def _deliver(member: Member, text: str) -> None:
    try:
        await member.conn.send(text)
    except Exception:
        log.debug("could not deliver to %s", member.peer_id, exc_info=True)
