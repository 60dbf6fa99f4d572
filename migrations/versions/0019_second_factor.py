"""an optional second step when signing: a code from an authenticator app

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("second_factor_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("second_factor_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "second_factor_since", careplan.db.models.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("second_factor_since")
        batch_op.drop_column("second_factor_last_step")
        batch_op.drop_column("second_factor_secret")
