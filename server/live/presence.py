"""Who is in a room across processes: a Redis hash per room, entries with an expiry.

Each process refreshes the entries of the peers it holds; an entry whose process died
stops being refreshed and drops out after ``ttl`` seconds, so a crash leaves no ghost.
Each entry names the process holding the peer (its ``home``). A Redis that restarts
comes back empty: the hub puts its entries again as soon as the bus reconnects.
With one process the hub's own roster is the truth and no presence store is used.
"""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

from server.core import redis_client
from server.live.protocol import PeerInfo


class Present(NamedTuple):
    info: PeerInfo
    away: bool
    home: str | None


class RedisPresence:
    PREFIX = "meridian:presence:room:"

    def __init__(self, url: str, ttl: float = 60.0) -> None:
        self._client = redis_client.connect(url)
        self.ttl = ttl

    def _entry(self, info: PeerInfo, away: bool, home: str) -> str:
        return json.dumps(
            {"info": info.to_dict(), "away": away, "home": home, "exp": time.time() + self.ttl}
        )

    async def put(self, room_id: str, info: PeerInfo, *, home: str, away: bool = False) -> None:
        key = self.PREFIX + room_id
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hset(key, info.peer_id, self._entry(info, away, home))
            pipe.expire(key, int(self.ttl * 2))
            await pipe.execute()

    async def put_many(
        self, room_id: str, entries: list[tuple[PeerInfo, bool]], *, home: str
    ) -> None:
        if not entries:
            return
        key = self.PREFIX + room_id
        mapping: dict[Any, Any] = {i.peer_id: self._entry(i, away, home) for i, away in entries}
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, int(self.ttl * 2))
            await pipe.execute()

    async def remove(self, room_id: str, peer_id: str) -> None:
        await self._client.hdel(self.PREFIX + room_id, peer_id)

    async def members(self, room_id: str) -> dict[str, Present]:
        """Live entries: peer id → what the others see, whether it is reconnecting, where."""
        raw = await self._client.hgetall(self.PREFIX + room_id)
        now = time.time()
        found: dict[str, Present] = {}
        for value in raw.values():
            entry = json.loads(value)
            if entry["exp"] > now:
                info = PeerInfo.from_dict(entry["info"])
                found[info.peer_id] = Present(info, bool(entry["away"]), entry.get("home"))
        return found

    async def close(self) -> None:
        await self._client.aclose()
