"""SQLAlchemy 2 typed table models. Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # When the person proved they read mail at ``email`` (None: not yet, or changed since).
    email_verified_at: Mapped[datetime | None]

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class UserSession(Base):
    """A signed-in browser: the cookie holds a secret whose hash is the primary key."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class ApiToken(Base):
    """A bearer token for scripts; only its hash is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_token_hash", "token_hash", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # Written at most once a minute per token, so a busy script costs no write per request.
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]


class EmailToken(Base):
    """A single-use link sent by mail: confirm an address, or reset a password.

    The primary key is the hash of the secret in the link; the secret itself is only
    ever in the mail. ``email`` is the address it was sent to, so a link for an old
    address never confirms a new one. Using the link deletes the row.
    """

    __tablename__ = "email_tokens"
    __table_args__ = (Index("ix_email_tokens_user_id_purpose", "user_id", "purpose"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(8))  # "verify" or "reset"
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


# --- mentorship (migration 0002) -------------------------------------------------------


class Profile(Base):
    """What a person says about themselves; the time zone lives on ``users.timezone``.

    ``working_hours`` is a list of ``{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}``
    in the person's own zone (Monday is 0, ``end`` may be "24:00"); it is the default
    availability that scheduling builds on.
    """

    __tablename__ = "profiles"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    is_mentor: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    is_mentee: Mapped[bool] = mapped_column(Boolean, default=False)
    headline: Mapped[str] = mapped_column(String(200), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    goals: Mapped[list[str]] = mapped_column(JSON, default=list)
    values: Mapped[list[str]] = mapped_column(JSON, default=list)
    style: Mapped[str] = mapped_column(String(8), default="mixed")
    cadence: Mapped[str] = mapped_column(String(10), default="biweekly")
    working_hours: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class ProfileTag(Base):
    """A searchable copy of a profile's topics and languages, so discovery filters in SQL.

    ``kind`` is "topic" (lower-cased) or "language" (the BCP 47 primary subtag).
    """

    __tablename__ = "profile_tags"
    __table_args__ = (Index("ix_profile_tags_kind_value", "kind", "value"),)

    user_id: Mapped[str] = mapped_column(
        ForeignKey("profiles.user_id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(80), primary_key=True)


class Mentorship(Base):
    """One mentor and one mentee; ``state`` follows server/mentorship/lifecycle.py.

    At most one open (requested, active or paused) mentorship per pair, enforced by a
    partial unique index. ``agreed_version`` is the agreement version in force, if any.
    """

    __tablename__ = "mentorships"
    __table_args__ = (
        Index(
            "uq_mentorships_open_pair",
            "mentor_id",
            "mentee_id",
            unique=True,
            sqlite_where=text("state IN ('requested', 'active', 'paused')"),
            postgresql_where=text("state IN ('requested', 'active', 'paused')"),
        ),
        Index("ix_mentorships_state_expires_at", "state", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mentor_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(12))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    state_changed_at: Mapped[datetime]
    state_reason: Mapped[str] = mapped_column(Text, default="")
    state_changed_by: Mapped[str | None] = mapped_column(String(32))
    agreed_version: Mapped[int | None] = mapped_column(Integer)


class AgreementVersion(Base):
    """One proposed version of a mentorship's agreement; never changed once proposed."""

    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("mentorship_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mentorship_id: Mapped[str] = mapped_column(
        ForeignKey("mentorships.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    proposed_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    proposed_at: Mapped[datetime]
    cadence: Mapped[str] = mapped_column(String(10))
    session_minutes: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(8))
    recording_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    confidential_topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    media_retention_days: Mapped[int | None] = mapped_column(Integer)
    review_date: Mapped[date | None]
    note: Mapped[str] = mapped_column(Text, default="")


class AgreementConfirmation(Base):
    """A participant's confirmation of one agreement version."""

    __tablename__ = "agreement_confirmations"

    version_id: Mapped[str] = mapped_column(
        ForeignKey("agreement_versions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    confirmed_at: Mapped[datetime]


class Goal(Base):
    """A goal of a mentorship: first from the request, then edited by either side."""

    __tablename__ = "goals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mentorship_id: Mapped[str] = mapped_column(
        ForeignKey("mentorships.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500))
    achieved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ActionItem(Base):
    """Something one participant will do, with an optional due date."""

    __tablename__ = "action_items"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mentorship_id: Mapped[str] = mapped_column(
        ForeignKey("mentorships.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    due_date: Mapped[date | None]
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]


class Notification(Base):
    """An in-app notification for one person; published on the bus channel ``user:<id>``."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


# --- threads (migration 0004) ----------------------------------------------------------


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


# --- scheduling (migration 0003) -------------------------------------------------------


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


# --- calendars (migration 0006) ----------------------------------------------------------


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
