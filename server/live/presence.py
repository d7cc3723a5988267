"""Who is in a room across processes: a Redis hash per room, entries with an expiry.

Each process refreshes the entries of the peers it holds; an entry whose process died
stops being refreshed and drops out after ``ttl`` seconds, so a crash leaves no ghost.
With one process the hub's own roster is the truth and no presence store is used.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from server.live.protocol import PeerInfo

if TYPE_CHECKING:
    import redis.asyncio as aioredis


class RedisPresence:
    PREFIX = "meridian:presence:room:"

    def __init__(self, url: str, ttl: float = 60.0) -> None:
        import redis.asyncio as aioredis  # loaded only when Redis is configured

        self._client: aioredis.Redis = aioredis.Redis.from_url(url)
        self.ttl = ttl

    def _entry(self, info: PeerInfo, away: bool) -> str:
        return json.dumps({"info": info.to_dict(), "away": away, "exp": time.time() + self.ttl})

    async def put(self, room_id: str, info: PeerInfo, *, away: bool = False) -> None:
        key = self.PREFIX + room_id
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hset(key, info.peer_id, self._entry(info, away))
            pipe.expire(key, int(self.ttl * 2))
            await pipe.execute()

    async def put_many(self, room_id: str, entries: list[tuple[PeerInfo, bool]]) -> None:
        if not entries:
            return
        key = self.PREFIX + room_id
        mapping: dict[Any, Any] = {i.peer_id: self._entry(i, away) for i, away in entries}
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, int(self.ttl * 2))
            await pipe.execute()

    async def remove(self, room_id: str, peer_id: str) -> None:
        await self._client.hdel(self.PREFIX + room_id, peer_id)

    async def members(self, room_id: str) -> dict[str, tuple[PeerInfo, bool]]:
        """Live entries: peer id → (what the others see, whether it is reconnecting)."""
        raw = await self._client.hgetall(self.PREFIX + room_id)
        now = time.time()
        found: dict[str, tuple[PeerInfo, bool]] = {}
        for value in raw.values():
            entry = json.loads(value)
            if entry["exp"] > now:
                info = PeerInfo.from_dict(entry["info"])
                found[info.peer_id] = (info, bool(entry["away"]))
        return found

    async def close(self) -> None:
        await self._client.aclose()
