"""append-only tables also refuse SQLite REPLACE and PostgreSQL TRUNCATE

Revision ID: 0008
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from careplan.db.append_only import allow_overwrite, refuse_overwrite

revision = "0008"
down_revision = "0015"
branch_labels = None
depends_on = None

# Each append-only table with its unique column sets besides the id, as they are at this
# revision: a REPLACE colliding on any of them would remove the row it collides with.
UNIQUE_KEYS = {
    "versions": (("document_id", "number"), ("parent_id",)),
    "signatures": (),
    "comments": (),
    "review_confirmations": (("document_id", "cycle", "user_id"),),
    "crisis_alerts": (),
    "crisis_responses": (),
    "audit_events": (("hash",),),
}


def upgrade() -> None:
    for table, unique_keys in UNIQUE_KEYS.items():
        refuse_overwrite(table, unique_keys)


def downgrade() -> None:
    for table in UNIQUE_KEYS:
        allow_overwrite(table)
