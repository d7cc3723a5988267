"""Which rooms exist, who may enter them, and when.

A room belongs to a booking (its id is the booking's id). The live feature needs only
four facts about it, behind ``RoomDirectory``: the two participants, the window in
which it is open, the mentorship, and whether its agreement allows recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RoomInfo:
    room_id: str
    booking_id: str
    mentorship_id: str
    participants: frozenset[str]
    starts_at: datetime
    ends_at: datetime
    opens_at: datetime
    closes_at: datetime
    recording_allowed: bool = False

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


def room_window(
    starts_at: datetime, ends_at: datetime, *, opens_before_minutes: int, closes_after_minutes: int
) -> tuple[datetime, datetime]:
    """The room opens a little before the session and stays open a while after it."""
    return (
        starts_at - timedelta(minutes=opens_before_minutes),
        ends_at + timedelta(minutes=closes_after_minutes),
    )


class RoomDirectory(Protocol):
    async def room(self, room_id: str) -> RoomInfo | None:
        """The room of the booking ``room_id`` if the booking exists and is not cancelled."""
        ...


class MemoryRooms:
    """Rooms registered by hand: for benchmarks and for deployments without bookings."""

    def __init__(self) -> None:
        self._rooms: dict[str, RoomInfo] = {}

    def add(self, room: RoomInfo) -> None:
        self._rooms[room.room_id] = room

    async def room(self, room_id: str) -> RoomInfo | None:
        return self._rooms.get(room_id)
