"""live: recordings of live sessions, listed on their booking

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.db.types

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ``media_id`` names a row of media_files (threads, 0004). That table is on a sibling
    # branch, so there is no foreign key: listings join media_files and skip removed files.
    op.create_table(
        "booking_recordings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("media_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("started_at", server.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", server.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_recordings_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_booking_recordings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_recordings")),
    )
    with op.batch_alter_table("booking_recordings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booking_recordings_booking_id"), ["booking_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_recordings_booking_id"))
    op.drop_table("booking_recordings")
