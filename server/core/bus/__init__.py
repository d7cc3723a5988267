"""The event bus: publish a JSON message to a channel; receive while a subscription is open.

Two implementations share one contract (``contract.py``; tests/core/test_bus.py runs
against both):

* ``MemoryBus`` (``memory.py``) — the embedded default; one process, no dependencies.
* ``RedisBus`` (``redis_bus.py``) — several processes, through Redis pub/sub, with its
  own reconnecting reader.

Redis pub/sub delivers at most once, so what was published during an outage does not
reach the other processes: features that keep state across processes register
``on_lost`` and ``on_restored`` to stop trusting, and then re-announce, that state.
"""

from server.core.bus.contract import (
    BusClosed,
    BusUnavailable,
    Event,
    EventBus,
    Lost,
    Message,
    Restored,
    Subscription,
    publish_or_log,
)
from server.core.bus.memory import MemoryBus
from server.core.bus.redis_bus import RedisBus

__all__ = [
    "BusClosed",
    "BusUnavailable",
    "Event",
    "EventBus",
    "Lost",
    "MemoryBus",
    "Message",
    "RedisBus",
    "Restored",
    "Subscription",
    "publish_or_log",
]
