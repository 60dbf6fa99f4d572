"""reviews never done: a client who left the service with a review overdue keeps it counted

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def _review_log(done_on_nullable: bool) -> sa.Table:
    """The table as it stands, so SQLite's copy-and-move needs no reflection (which would
    stumble over other tables' expression indexes)."""
    return sa.Table(
        "review_log",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=done_on_nullable),
        sa.ForeignKeyConstraint(["client_id"], ["users.id"], name="fk_review_log_client_id_users"),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_review_log_document_id_documents"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_review_log"),
        sa.Index("ix_review_log_client_id", "client_id"),
        sa.Index("ix_review_log_document_id", "document_id"),
        sa.Index("ix_review_log_due_on", "due_on"),
    )


def upgrade() -> None:
    # review_log has no triggers or partial indexes, so SQLite's copy-and-move is safe here.
    with op.batch_alter_table("review_log", copy_from=_review_log(False)) as batch_op:
        batch_op.alter_column("done_on", existing_type=sa.Date(), nullable=True)


def downgrade() -> None:
    # The older schema cannot say "never done"; counting them as done would be false.
    op.execute("DELETE FROM review_log WHERE done_on IS NULL")
    with op.batch_alter_table("review_log", copy_from=_review_log(True)) as batch_op:
        batch_op.alter_column("done_on", existing_type=sa.Date(), nullable=False)
