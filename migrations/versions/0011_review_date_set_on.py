"""documents.next_review_set_on: the day a review got its date, so no reminder is owed from
before it

Revision ID: 0011
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("next_review_set_on", sa.Date(), nullable=True))
    # The last review is when a regular date was set, and no later than any request that
    # brought it forward: as a lower bound it never holds back a reminder that is owed.
    op.execute(
        "UPDATE documents SET next_review_set_on = last_reviewed_on "
        "WHERE next_review_on IS NOT NULL"
    )


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), as in 0004: no re-creation of documents.
    op.drop_column("documents", "next_review_set_on")
