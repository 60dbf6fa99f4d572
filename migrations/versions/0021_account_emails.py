"""account e-mails: notices about a person's own account, kept until the mail server took them

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=False),
        sa.Column("claimed_until", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name=op.f("fk_account_emails_recipient_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_emails")),
    )
    with op.batch_alter_table("account_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_emails_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_account_emails_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("account_emails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_emails_status"))
        batch_op.drop_index(batch_op.f("ix_account_emails_recipient_id"))
    op.drop_table("account_emails")
