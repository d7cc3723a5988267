"""The one "bookings changed" event: whose sessions or bookable time just changed.

Booking, a series, moving, cancelling (also when a mentorship ends), saved availability
and imported busy time all announce it, with the people concerned; whoever keeps
answers computed from those (the slot cache) listens, and nobody announcing it needs
to know who that is. It travels as one message on the bus channel ``scheduling``, so
every process hears it. ``BookingsChanged`` is its in-process side: listeners
registered there hear it before ``publish`` returns, because through Redis a process
hears its own message only after a round trip, and the person who just booked must not
be shown the slot again meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from server.core.bus import EventBus, Message, publish_or_log

CHANNEL = "scheduling"
KIND = "bookings-changed"
Listener = Callable[[list[str]], None]


def message(user_ids: Iterable[str]) -> Message:
    return {"type": KIND, "users": sorted(set(user_ids))}


def users_in(data: dict[str, Any]) -> list[str] | None:
    """The people a message on ``CHANNEL`` names, or None if it is not one of ours."""
    users = data.get("users")
    return [str(u) for u in users] if isinstance(users, list) else None


async def announce(bus: EventBus, user_ids: Iterable[str]) -> None:
    """Tell every process through the bus alone (for callers that hold only the bus)."""
    people = sorted(set(user_ids))
    if people:
        await publish_or_log(bus, CHANNEL, message(people))


@dataclass
class BookingsChanged:
    """The event as this process sees it: listeners here hear it at once, then the bus."""

    listeners: list[Listener] = field(default_factory=list)

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Hear every change published in this process; returns the un-registration."""
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    async def publish(self, bus: EventBus, user_ids: Iterable[str]) -> None:
        people = sorted(set(user_ids))
        if not people:
            return
        for listener in list(self.listeners):
            listener(people)
        await announce(bus, people)
