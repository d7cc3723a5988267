"""The hub's link to the other processes: room channels on the bus, and presence.

Across processes every message for a peer that is not local is published on the room's
bus channel ``room:<id>``, subscribed while this process holds a member of the room;
the roster of a newly joined process comes from the presence store.

When the bus comes back after losing Redis, the relay puts this process's members into
the (possibly empty) presence store again and publishes, per room, a ``sync`` of the
peers it holds, asking the other processes for theirs. Each process then adds the peers
that joined elsewhere during the outage and drops the ones that left, so rosters
converge whichever process reconnects first. Messages relayed during the outage are
lost, as on any network; the browsers' WebRTC links go on peer to peer meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from server.core import redis_client
from server.core.bus import BusUnavailable, EventBus
from server.live.members import LocalRoom, deliver
from server.live.presence import RedisPresence
from server.live.protocol import Media, PeerInfo, PeerJoined, PeerLeft, ServerMessage, to_json

if TYPE_CHECKING:
    from server.live.hub import Hub

log = logging.getLogger(__name__)

ROSTER_TYPES = frozenset(
    {"peer-joined", "peer-left", "peer-reconnecting", "media-state", "record-consent", "recording"}
)
SYNC = "sync"  # between processes only: the peers one process holds in a room
# How long a room emptied during an outage stays after it, to answer the others' syncs.
LINGER_SECONDS = 30.0


class Relay:
    """Publishes what local members say for peers elsewhere, and applies what arrives."""

    def __init__(self, hub: Hub, *, bus: EventBus, presence: RedisPresence) -> None:
        self._hub = hub
        self._bus = bus
        self._presence = presence
        self.process_id = uuid.uuid4().hex[:12]
        self._refresher: asyncio.Task[None] | None = None
        # Messages for other processes, per room, published in batches by one task so
        # a burst costs one Redis round trip and each room's order is kept.
        self._outbox: dict[str, list[dict[str, Any]]] = {}
        self._publisher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._unrelayed = 0  # messages the bus could not take during the current outage
        self._stop_restored: Callable[[], None] | None = None

    @property
    def available(self) -> bool:
        return self._bus.available

    def start(self) -> None:
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

    async def absent(self, room: LocalRoom, peer_id: str) -> None:
        """The peer left for good: its presence goes."""
        try:
            await self._presence.remove(room.info.room_id, peer_id)
        except redis_client.redis_errors() as exc:
            # A restarted Redis is empty anyway; a live one expires the entry.
            log.warning("could not remove %s from presence: %r", peer_id, exc)

    # --- messages between processes ------------------------------------------------------------

    async def _publish(self) -> None:
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

    async def listen(self, room: LocalRoom, ready: asyncio.Event) -> None:
        """The room's task while it has a member here; ``ready`` once subscribed."""
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
                await deliver(member, text)
            return
        for pid, member in list(room.local.items()):
            if pid != exclude:
                await deliver(member, text)

    async def _apply(self, room: LocalRoom, message: dict[str, Any], origin: str) -> None:
        """Keep this process's roster in step with what happened in another process."""
        kind = message["type"]
        if kind == "peer-joined":
            info = PeerInfo.from_dict(message["peer"])
            if info.peer_id in room.local or info.peer_id in room.away:
                # It resumed (or joined again) elsewhere: our old hold on it ends quietly.
                await self._hub.take_over(room, info.peer_id)
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
            await self._hub.consent_changed(room, local=False)
        await self._hub.maybe_drop(room)

    # --- presence --------------------------------------------------------------------------------

    async def load_roster(self, room: LocalRoom) -> None:
        """Learn from presence who is in the room on the other processes."""
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

    async def present(self, room: LocalRoom, info: PeerInfo, *, away: bool) -> None:
        """Record in presence that this process holds the peer (``away``: waiting to resume)."""
        try:
            await self._presence.put(room.info.room_id, info, away=away, home=self.process_id)
        except redis_client.redis_errors() as exc:
            log.warning("could not store presence of %s: %r", info.peer_id, exc)

    def held(self, room: LocalRoom) -> list[tuple[PeerInfo, bool]]:
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
        for room in list(self._hub.rooms.values()):
            held = self.held(room)
            try:
                await self._presence.put_many(room.info.room_id, held, home=self.process_id)
            except redis_client.redis_errors() as exc:
                log.warning("could not restore presence of room %s: %r", room.info.room_id, exc)
            self.queue(room, _sync(held, ask=True))
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
            await self._hub.consent_changed(room, local=False)
        if envelope.get("ask"):
            self.queue(room, _sync(self.held(room), ask=False))

    async def _tell_local(self, room: LocalRoom, message: ServerMessage) -> None:
        """Tell this process's members of a change learnt from another process."""
        text = to_json(message)
        for member in list(room.local.values()):
            await deliver(member, text)

    def queue(self, room: LocalRoom, envelope: dict[str, Any]) -> None:
        """Publish ``envelope`` on the room's channel after what is queued already."""
        batch = self._outbox.get(room.info.room_id)
        if batch is not None:
            batch.append(envelope)
            return
        self._outbox[room.info.room_id] = [envelope]
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.create_task(self._publish(), name="room-publisher")

    def _linger_over(self, room: LocalRoom) -> None:
        room.linger = None
        task = asyncio.create_task(self._hub.maybe_drop(room))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _refresh(self) -> None:
        """Keep the presence entries of the peers held here from expiring."""
        while True:
            await asyncio.sleep(self._presence.ttl / 3)
            for room in list(self._hub.rooms.values()):
                try:
                    await self._presence.put_many(
                        room.info.room_id, self.held(room), home=self.process_id
                    )
                except redis_client.redis_errors() as exc:
                    log.warning("could not refresh presence of room %s: %r", room.info.room_id, exc)
                except Exception:
                    log.exception("could not refresh presence of room %s", room.info.room_id)


def _sync(held: list[tuple[PeerInfo, bool]], *, ask: bool) -> dict[str, Any]:
    """The envelope listing the peers a process holds; ``ask`` asks the others for theirs."""
    peers = [{"info": info.to_dict(), "away": away} for info, away in held]
    return {"k": SYNC, "peers": peers, "ask": ask}
