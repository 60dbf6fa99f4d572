"""clients without documents: a flag kept on the client's row when their first care plan or
agreement is started, so the supervisors' dashboard lists those with none through an index
instead of looking for the absence of documents among all clients

Revision ID: 0028
Revises: 0027
Create Date: 2027-01-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, never a batch re-creation of users.
    op.add_column(
        "users",
        sa.Column("has_documents", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.execute(
        "UPDATE users SET has_documents = true "
        "WHERE id IN (SELECT DISTINCT client_id FROM documents)"
    )
    op.create_index(
        "ix_users_role_documents_display_name",
        "users",
        ["role", "has_documents", "display_name"],
    )


def downgrade() -> None:
    op.drop_index("ix_users_role_documents_display_name", table_name="users")
    op.drop_column("users", "has_documents")
