"""review log key worker: each review held (or never done) is charted under the key worker who
held the client then

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The reference inline: Alembic would ask for a copy-and-move to add it separately.
        op.execute("ALTER TABLE review_log ADD COLUMN key_worker_id INTEGER REFERENCES users (id)")
    else:
        op.add_column("review_log", sa.Column("key_worker_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_review_log_key_worker_id_users"),
            "review_log",
            "users",
            ["key_worker_id"],
            ["id"],
        )
    op.create_index(op.f("ix_review_log_key_worker_id"), "review_log", ["key_worker_id"])
    # Reviews already logged go under the client's latest key worker, as the chart counted
    # them until now.
    op.execute(
        "UPDATE review_log SET key_worker_id = (SELECT c.key_worker_id FROM caseload_links c "
        "WHERE c.client_id = review_log.client_id ORDER BY c.id DESC LIMIT 1)"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_review_log_key_worker_id"), table_name="review_log")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("fk_review_log_key_worker_id_users"), "review_log", type_="foreignkey"
        )
    op.drop_column("review_log", "key_worker_id")
