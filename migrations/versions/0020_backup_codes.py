"""backup codes: one-time stand-ins for the second step's code, kept as hashes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_backup_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_backup_codes_user_id")),
    )


def downgrade() -> None:
    op.drop_table("backup_codes")
