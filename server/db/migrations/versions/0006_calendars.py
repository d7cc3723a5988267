"""calendars: feeds, imported busy calendars and their intervals, invitation emails

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-25 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.db.types

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_DATETIME = server.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("rotated_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
    )
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_feeds_token_hash", ["token_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_calendar_feeds_user_id"), ["user_id"], unique=False)

    op.create_table(
        "busy_calendars",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("etag", sa.String(length=200), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("last_success_at", UTC_DATETIME, nullable=True),
        sa.Column("next_poll_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_busy_calendars_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_busy_calendars")),
    )
    with op.batch_alter_table("busy_calendars", schema=None) as batch_op:
        batch_op.create_index("ix_busy_calendars_next_poll_at", ["next_poll_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_busy_calendars_user_id"), ["user_id"], unique=False)

    op.create_table(
        "busy_intervals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("calendar_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("start_at", UTC_DATETIME, nullable=False),
        sa.Column("end_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["busy_calendars.id"],
            name=op.f("fk_busy_intervals_calendar_id_busy_calendars"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_busy_intervals_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_busy_intervals")),
    )
    with op.batch_alter_table("busy_intervals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_busy_intervals_calendar_id"), ["calendar_id"], unique=False
        )
        batch_op.create_index(
            "ix_busy_intervals_user_id_start_at", ["user_id", "start_at"], unique=False
        )

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


def downgrade() -> None:
    op.drop_table("calendar_invitations")
    with op.batch_alter_table("busy_intervals", schema=None) as batch_op:
        batch_op.drop_index("ix_busy_intervals_user_id_start_at")
        batch_op.drop_index(batch_op.f("ix_busy_intervals_calendar_id"))
    op.drop_table("busy_intervals")
    with op.batch_alter_table("busy_calendars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_busy_calendars_user_id"))
        batch_op.drop_index("ix_busy_calendars_next_poll_at")
    op.drop_table("busy_calendars")
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_feeds_user_id"))
        batch_op.drop_index("ix_calendar_feeds_token_hash")
    op.drop_table("calendar_feeds")
