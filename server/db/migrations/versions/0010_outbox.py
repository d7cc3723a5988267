"""notifications: one outbox for everything delivered to a person

Reminders (``booking_reminders``), new-message notices (``message_notices``) and
invitation emails (``calendar_invitations``) become rows of ``outbox``. The reminders
and notices still waiting are carried over; every invitation already mailed is carried
over as delivered, because its row is what keeps that version from being mailed again.
Sent reminders and delivered notices are history nobody reads and are left behind.

The downgrade recreates the three tables empty (and drops the outbox): whatever was
waiting then is lost, and recent invitations may be mailed a second time.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from alembic import op

import server.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC_DATETIME = server.db.types.UTCDateTime(timezone=True)


def _outbox_table() -> sa.Table:
    return op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("claimed_at", UTC_DATETIME, nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_outbox_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )


def _carried_over() -> list[dict[str, Any]]:
    bind = op.get_bind()
    reminders = sa.table(
        "booking_reminders",
        sa.column("id", sa.String),
        sa.column("booking_id", sa.String),
        sa.column("user_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("due_at", UTC_DATETIME),
        sa.column("sent_at", UTC_DATETIME),
        sa.column("data", sa.JSON),
    )
    notices = sa.table(
        "message_notices",
        sa.column("id", sa.String),
        sa.column("message_id", sa.String),
        sa.column("user_id", sa.String),
        sa.column("due_at", UTC_DATETIME),
        sa.column("delivered_at", UTC_DATETIME),
    )
    invitations = sa.table(
        "calendar_invitations",
        sa.column("subject_id", sa.String),
        sa.column("sequence", sa.Integer),
        sa.column("user_id", sa.String),
        sa.column("sent_at", UTC_DATETIME),
    )
    rows: list[dict[str, Any]] = []
    empty = {"claimed_at": None, "claimed_by": None, "delivered_at": None}
    for r in bind.execute(sa.select(reminders).where(reminders.c.sent_at.is_(None))):
        payload: dict[str, Any] = {"booking_id": r.booking_id, "reminder": r.kind}
        if r.kind == "shift":
            payload["shift"] = r.data or {}
        rows.append(
            {
                "id": r.id,
                "user_id": r.user_id,
                "kind": "booking.reminder",
                "dedupe_key": f"booking.reminder:{r.booking_id}:{r.user_id}:{r.kind}",
                "subject": r.booking_id,
                "due_at": r.due_at,
                "payload": payload,
                **empty,
            }
        )
    for r in bind.execute(sa.select(notices).where(notices.c.delivered_at.is_(None))):
        rows.append(
            {
                "id": r.id,
                "user_id": r.user_id,
                "kind": "thread.message",
                "dedupe_key": f"thread.message:{r.message_id}:{r.user_id}",
                "subject": r.message_id,
                "due_at": r.due_at,
                "payload": {"message_id": r.message_id},
                **empty,
            }
        )
    for r in bind.execute(sa.select(invitations)):
        rows.append(
            {
                "id": secrets.token_urlsafe(12),
                "user_id": r.user_id,
                "kind": "calendar.invitation",
                "dedupe_key": f"calendar.invitation:{r.subject_id}:{r.sequence}:{r.user_id}",
                "subject": r.subject_id,
                "due_at": r.sent_at,
                "payload": {"sequence": r.sequence},
                "claimed_at": r.sent_at,
                "claimed_by": "0010_outbox",
                "delivered_at": r.sent_at,
            }
        )
    return rows


def upgrade() -> None:
    outbox = _outbox_table()
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_delivered_at_due_at", ["delivered_at", "due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_subject"), ["subject"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_user_id"), ["user_id"], unique=False)
    rows = _carried_over()
    if rows:
        op.bulk_insert(outbox, rows)

    op.drop_index("ix_booking_reminders_sent_at_due_at", table_name="booking_reminders")
    op.drop_index(op.f("ix_booking_reminders_booking_id"), table_name="booking_reminders")
    op.drop_table("booking_reminders")
    with op.batch_alter_table("message_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_notices_message_id"))
        batch_op.drop_index("ix_message_notices_delivered_at_due_at")
    op.drop_table("message_notices")
    op.drop_table("calendar_invitations")


def downgrade() -> None:
    op.create_table(
        "calendar_invitations",
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_invitations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "subject_id", "sequence", "user_id", name=op.f("pk_calendar_invitations")
        ),
    )
    op.create_table(
        "message_notices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_notices_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_message_notices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_notices")),
    )
    with op.batch_alter_table("message_notices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_notices_delivered_at_due_at", ["delivered_at", "due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_message_notices_message_id"), ["message_id"], unique=False
        )
    op.create_table(
        "booking_reminders",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("claimed_at", UTC_DATETIME, nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_reminders_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_booking_reminders_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_reminders")),
        sa.UniqueConstraint(
            "booking_id", "user_id", "kind", name=op.f("uq_booking_reminders_booking_id")
        ),
    )
    op.create_index(
        op.f("ix_booking_reminders_booking_id"), "booking_reminders", ["booking_id"], unique=False
    )
    op.create_index(
        "ix_booking_reminders_sent_at_due_at",
        "booking_reminders",
        ["sent_at", "due_at"],
        unique=False,
    )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_user_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_subject"))
        batch_op.drop_index("ix_outbox_delivered_at_due_at")
    op.drop_table("outbox")
