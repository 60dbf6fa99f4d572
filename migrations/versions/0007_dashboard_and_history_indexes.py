"""indexes: the dashboard's orders, a document's events for its history page; fresh statistics

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_documents_review_order",
        "documents",
        [sa.text("(next_review_on IS NULL)"), "next_review_on", "id"],
    )
    op.create_index("ix_users_display_name", "users", ["display_name"])
    op.create_index("ix_users_role_display_name", "users", ["role", "display_name"])
    op.create_index("ix_audit_events_object", "audit_events", ["object_type", "object_id", "id"])
    # The planners choose these indexes from statistics: gather them now (of every table, so
    # SQLite never plans with statistics for some tables and guesses for others), rather than
    # whenever autovacuum (PostgreSQL) or the scheduler (SQLite) next does.
    op.execute("ANALYZE")


def downgrade() -> None:
    op.drop_index("ix_audit_events_object", table_name="audit_events")
    op.drop_index("ix_users_role_display_name", table_name="users")
    op.drop_index("ix_users_display_name", table_name="users")
    op.drop_index("ix_documents_review_order", table_name="documents")
