"""The local half both buses share: subscribers per channel, and the outage callbacks."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from server.core.bus.contract import Event, Lost, Restored, Subscription


class Callbacks:
    """The ``on_lost``/``on_restored`` registrations of one bus."""

    def __init__(self) -> None:
        self.lost: list[Lost] = []
        self.restored: list[Restored] = []

    def add_lost(self, callback: Lost) -> Callable[[], None]:
        self.lost.append(callback)
        return lambda: _discard(self.lost, callback)

    def add_restored(self, callback: Restored) -> Callable[[], None]:
        self.restored.append(callback)
        return lambda: _discard(self.restored, callback)


def _discard(items: list[Any], item: Any) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)


class Fanout:
    """Local subscribers per channel; shared by both buses."""

    def __init__(self) -> None:
        self.subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)

    def add(self, sub: Subscription) -> list[str]:
        """Register ``sub``; return the channels that had no local subscriber before."""
        fresh = [c for c in sub.channels if not self.subscribers.get(c)]
        for c in sub.channels:
            self.subscribers[c].add(sub)
        return fresh

    def remove(self, sub: Subscription) -> list[str]:
        """Unregister ``sub``; return the channels left with no local subscriber."""
        emptied = []
        for c in sub.channels:
            subs = self.subscribers.get(c)
            if subs is None:
                continue
            subs.discard(sub)
            if not subs:
                del self.subscribers[c]
                emptied.append(c)
        return emptied

    def deliver(self, event: Event) -> None:
        for sub in tuple(self.subscribers.get(event.channel, ())):
            sub.deliver(event)

    def close_all(self) -> None:
        for subs in self.subscribers.values():
            for sub in subs:
                sub.close()
        self.subscribers.clear()
