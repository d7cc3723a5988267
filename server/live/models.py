"""Tables of live sessions: the recordings of a booking's call.

Schema changes go through Alembic migrations (server/db/migrations).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class BookingRecording(Base):
    """A consented recording of a booking's live session (the file is a media file)."""

    __tablename__ = "booking_recordings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    booking_id: Mapped[str] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), index=True
    )
    # A media_files id; no foreign key because 0005 does not descend from 0004.
    media_id: Mapped[str] = mapped_column(String(32))
    # Whose camera and microphone: one file per participant.
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
