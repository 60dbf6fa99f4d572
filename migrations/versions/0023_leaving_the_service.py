"""leaving the service: who recorded that a client left, and their note to the client

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs, never a batch re-creation: that would drop the partial unique index that
    # keeps one open key worker per client. SQLite adds a column with its reference inline
    # (Alembic would ask for a batch re-creation to add the reference separately).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE caseload_links ADD COLUMN ended_by_id INTEGER REFERENCES users (id)"
        )
    else:
        op.add_column("caseload_links", sa.Column("ended_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_caseload_links_ended_by_id_users"),
            "caseload_links",
            "users",
            ["ended_by_id"],
            ["id"],
        )
    op.add_column("caseload_links", sa.Column("end_note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("caseload_links", "end_note")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("fk_caseload_links_ended_by_id_users"), "caseload_links", type_="foreignkey"
        )
    op.drop_column("caseload_links", "ended_by_id")
