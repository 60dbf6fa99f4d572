"""notifications are found by their document: once a review is done, its messages (a
confirmation waiting for someone, a reminder that it is due) stop counting as new

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notifications_document_id", "notifications", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_document_id", table_name="notifications")
