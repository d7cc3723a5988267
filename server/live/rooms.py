"""Which rooms exist, who may enter them, and when.

A room belongs to a booking (its id is the booking's id). The live feature needs only
four facts about it, behind ``RoomDirectory``: the two participants, the window in
which it is open, the mentorship, and whether its agreement allows recording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from server.core.db import Database
from server.mentorship.models import AgreementVersion, Mentorship
from server.scheduling.models import Booking


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


class BookingRooms:
    """Rooms read from the scheduling tables: the booking, its mentorship and agreement."""

    def __init__(
        self, db: Callable[[], Database], *, opens_before_minutes: int, closes_after_minutes: int
    ) -> None:
        self._db = db
        self._before = opens_before_minutes
        self._after = closes_after_minutes
        # An unchanged room is handed out as one shared object, however many sockets of
        # it are open (each is read fresh from the database all the same).
        self._interned: dict[str, RoomInfo] = {}

    async def room(self, room_id: str) -> RoomInfo | None:
        async with self._db().read() as s:
            row = (
                await s.execute(
                    select(Booking, Mentorship.agreed_version)
                    .join(Mentorship, Mentorship.id == Booking.mentorship_id)
                    .where(Booking.id == room_id)
                )
            ).first()
            if row is None:
                return None
            booking, agreed_version = row
            if booking.status == "cancelled":
                return None
            allowed = False
            if agreed_version is not None:
                allowed = bool(
                    await s.scalar(
                        select(AgreementVersion.recording_allowed).where(
                            AgreementVersion.mentorship_id == booking.mentorship_id,
                            AgreementVersion.version == agreed_version,
                        )
                    )
                )
        opens, closes = room_window(
            booking.start_at,
            booking.end_at,
            opens_before_minutes=self._before,
            closes_after_minutes=self._after,
        )
        room = RoomInfo(
            room_id=booking.id,
            booking_id=booking.id,
            mentorship_id=booking.mentorship_id,
            participants=frozenset({booking.mentor_id, booking.mentee_id}),
            starts_at=booking.start_at,
            ends_at=booking.end_at,
            opens_at=opens,
            closes_at=closes,
            recording_allowed=allowed,
        )
        known = self._interned.get(room.room_id)
        if known == room:
            return known
        if len(self._interned) > 50_000:
            self._interned.clear()
        self._interned[room.room_id] = room
        return room
