"""edit drafts: an edit in progress, kept until it is saved or thrown away

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edit_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("base_number", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=40), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("saved_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_edit_drafts_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_edit_drafts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edit_drafts")),
        sa.UniqueConstraint("user_id", "document_id", name="uq_edit_drafts_user_document"),
    )
    op.create_index(op.f("ix_edit_drafts_document_id"), "edit_drafts", ["document_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_edit_drafts_document_id"), table_name="edit_drafts")
    op.drop_table("edit_drafts")
