"""Tables of threads (migration 0004): uploads, media files, messages, receipts, notices.

Schema changes go through Alembic migrations (server/db/migrations).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class Upload(Base):
    """A tus upload; ``received`` never exceeds the bytes fsync'ed to its file.

    ``length`` is None while the length is deferred. ``state`` is "open" while bytes
    arrive, "complete" once the file was accepted as media, "expired" after the sweeper
    removed its bytes.
    """

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_state_expires_at", "state", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    length: Mapped[int | None] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    # While a PATCH streams into a deferred-length upload: the most bytes it may reach,
    # counted against the quota until the request ends (migration 0007).
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    meta: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="open")
    media_id: Mapped[str | None] = mapped_column(
        ForeignKey("media_files.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class MediaFile(Base):
    """An accepted recording on disk (``path`` is relative to MEDIA_DIR), with its preview."""

    __tablename__ = "media_files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(5))
    content_type: Mapped[str] = mapped_column(String(40))
    path: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)
    duration_seconds: Mapped[float] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    poster_path: Mapped[str | None] = mapped_column(String(300))
    waveform: Mapped[list[float]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class Message(Base):
    """One message of a mentorship's thread; a deleted one stays as a tombstone.

    ``removed_reason`` is "deleted" (by its author) or "retention" (media past the
    agreement's retention days).
    """

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_mentorship_id_created_at", "mentorship_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mentorship_id: Mapped[str] = mapped_column(ForeignKey("mentorships.id", ondelete="CASCADE"))
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(5))
    body: Mapped[str] = mapped_column(Text, default="")
    media_id: Mapped[str | None] = mapped_column(
        ForeignKey("media_files.id", ondelete="SET NULL"), index=True
    )
    reply_to_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    goal_id: Mapped[str | None] = mapped_column(ForeignKey("goals.id", ondelete="SET NULL"))
    action_item_id: Mapped[str | None] = mapped_column(
        ForeignKey("action_items.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    removed_reason: Mapped[str | None] = mapped_column(String(10))


class MessageSeen(Base):
    """A reader saw a message (its first time)."""

    __tablename__ = "message_seen"

    message_id: Mapped[str] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    seen_at: Mapped[datetime]
