"""scheduled job runs: when each of the scheduler's jobs last finished and last failed

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_job_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_ok_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("ran_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_job_runs")
