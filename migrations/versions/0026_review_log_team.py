"""review log team: each review held (or never done) is charted under the team of the key
worker who held the client then, so a key worker moving team does not take it along

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # The reference inline: Alembic would ask for a copy-and-move to add it separately.
        op.execute("ALTER TABLE review_log ADD COLUMN team_id INTEGER REFERENCES teams (id)")
    else:
        op.add_column("review_log", sa.Column("team_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_review_log_team_id_teams"), "review_log", "teams", ["team_id"], ["id"]
        )
    op.create_index(op.f("ix_review_log_team_id"), "review_log", ["team_id"])
    # Reviews already logged go under their key worker's team now, as the chart counted them
    # until now.
    op.execute(
        "UPDATE review_log SET team_id = (SELECT u.team_id FROM users u "
        "WHERE u.id = review_log.key_worker_id)"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_review_log_team_id"), table_name="review_log")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_review_log_team_id_teams"), "review_log", type_="foreignkey")
    op.drop_column("review_log", "team_id")
