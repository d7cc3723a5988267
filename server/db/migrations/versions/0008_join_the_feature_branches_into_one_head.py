"""Join the feature branches (live, calendars, upload reservations) into one head.

From here on the revisions form a single chain again: the next one descends from 0008.

Revision ID: 0008
Revises: 0005, 0006, 0007
Create Date: 2026-11-25 17:51:59
"""

from __future__ import annotations

revision = "0008"
down_revision = ("0005", "0006", "0007")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
