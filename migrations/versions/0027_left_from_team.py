"""left from team: a caseload ended by the client leaving the service keeps the key worker's
team then, so the supervisors' list of who left stays with that team

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTERs, never a batch re-creation: that would drop the partial unique index that
    # keeps one open key worker per client.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE caseload_links ADD COLUMN ended_in_team_id INTEGER REFERENCES teams (id)"
        )
    else:
        op.add_column("caseload_links", sa.Column("ended_in_team_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_caseload_links_ended_in_team_id_teams"),
            "caseload_links",
            "teams",
            ["ended_in_team_id"],
            ["id"],
        )
    # Clients who left before this: their key worker's team now, as the list counted them.
    op.execute(
        "UPDATE caseload_links SET ended_in_team_id = (SELECT u.team_id FROM users u "
        "WHERE u.id = caseload_links.key_worker_id) WHERE ended_by_id IS NOT NULL"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            op.f("fk_caseload_links_ended_in_team_id_teams"), "caseload_links", type_="foreignkey"
        )
    op.drop_column("caseload_links", "ended_in_team_id")
