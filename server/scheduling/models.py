"""Tables of scheduling (migration 0003): availability, series, bookings and what hangs off them.

Schema changes go through Alembic migrations (server/db/migrations).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class Availability(Base):
    """When a person can be booked, in their own zone (``users.timezone``).

    ``weekly`` is a list of ``{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}``;
    ``overrides`` a list of ``{"date": "YYYY-MM-DD", "windows": [{"start", "end"}]}``
    whose windows replace that date's weekly hours (none: a day off). Without a row,
    the profile's working hours are the weekly hours.
    """

    __tablename__ = "availability"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    weekly: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    buffer_before: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after: Mapped[int] = mapped_column(Integer, default=0)
    notice_minutes: Mapped[int] = mapped_column(Integer, default=240)
    horizon_days: Mapped[int] = mapped_column(Integer, default=60)
    step_minutes: Mapped[int] = mapped_column(Integer, default=30)
    max_per_day: Mapped[int | None] = mapped_column(Integer)
    max_per_week: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class BookingSeries(Base):
    """A recurring series: the rule, anchored at ``first_start`` in the host's ``timezone``."""

    __tablename__ = "booking_series"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mentorship_id: Mapped[str] = mapped_column(
        ForeignKey("mentorships.id", ondelete="CASCADE"), index=True
    )
    frequency: Mapped[str] = mapped_column(String(8))
    interval: Mapped[int] = mapped_column(Integer, default=1)
    count: Mapped[int | None] = mapped_column(Integer)
    until: Mapped[date | None]
    timezone: Mapped[str] = mapped_column(String(64))
    first_start: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


class Booking(Base):
    """One session. ``sequence`` counts its changes (the iCalendar SEQUENCE);
    ``original_start`` is where a series occurrence was before it was moved."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_mentor_id_start_at", "mentor_id", "start_at"),
        Index("ix_bookings_mentee_id_start_at", "mentee_id", "start_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mentorship_id: Mapped[str] = mapped_column(
        ForeignKey("mentorships.id", ondelete="CASCADE"), index=True
    )
    mentor_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    mentee_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    series_id: Mapped[str | None] = mapped_column(
        ForeignKey("booking_series.id", ondelete="SET NULL"), index=True
    )
    occurrence_index: Mapped[int | None] = mapped_column(Integer)
    original_start: Mapped[datetime | None]
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="confirmed")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    agenda: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_by: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BookingParticipant(Base):
    """The time a confirmed booking takes from one person, buffers included.

    On PostgreSQL an exclusion constraint (btree_gist) keeps one person's rows from
    overlapping, whatever the number of processes; on SQLite the serialized write
    transaction checks the same thing before inserting.
    """

    __tablename__ = "booking_participants"
    __table_args__ = (
        Index("ix_booking_participants_user_id_from_minute", "user_id", "from_minute"),
    )

    booking_id: Mapped[str] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    busy_from: Mapped[datetime]
    busy_until: Mapped[datetime]
    # The same instants as whole minutes since the epoch (padded, then the session
    # itself), so the slot engine reads them without parsing a date per row.
    from_minute: Mapped[int] = mapped_column(Integer)
    until_minute: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class BookingFeedback(Base):
    """One participant's rating (1-5) and comment after a session."""

    __tablename__ = "booking_feedback"

    booking_id: Mapped[str] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
