"""Tables of calendars (migration 0006): feeds, imported busy calendars, invitations sent.

Schema changes go through Alembic migrations (server/db/migrations).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class CalendarFeed(Base):
    """A secret subscription URL; only the token's hash is stored, and names the feed's file."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (Index("ix_calendar_feeds_token_hash", "token_hash", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]


class BusyCalendar(Base):
    """Another calendar whose busy time blocks slots: polled from ``url`` or uploaded once.

    ``status`` is "pending", "ok" or "error" (``error`` says why); the intervals of the
    last good copy keep counting while fetches fail. ``next_poll_at`` is claimed with a
    conditional UPDATE so two processes never fetch the same calendar at once.
    """

    __tablename__ = "busy_calendars"
    __table_args__ = (Index("ix_busy_calendars_next_poll_at", "next_poll_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    error: Mapped[str] = mapped_column(Text, default="")
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]


class BusyInterval(Base):
    """One merged busy interval of an imported calendar (UTC)."""

    __tablename__ = "busy_intervals"
    __table_args__ = (Index("ix_busy_intervals_user_id_start_at", "user_id", "start_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar_id: Mapped[str] = mapped_column(
        ForeignKey("busy_calendars.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
