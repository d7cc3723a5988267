"""Tables of mentorship (migration 0002): profiles, mentorships, agreements, goals, action items.

Schema changes go through Alembic migrations (server/db/migrations).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


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
