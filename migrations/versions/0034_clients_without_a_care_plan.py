"""clients' has_documents counts saved care plans only: a client whose only saved documents
are agreements has no care plan, and is listed on the supervisors' dashboard as having none
(the column keeps its name; the model calls it has_care_plan)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE users SET has_documents = false WHERE has_documents = true AND id NOT IN "
        "(SELECT client_id FROM documents WHERE head_number > 0 AND kind = 'care_plan')"
    )


def downgrade() -> None:
    # As 0031 set it: any saved document.
    op.execute(
        "UPDATE users SET has_documents = true WHERE has_documents = false AND id IN "
        "(SELECT client_id FROM documents WHERE head_number > 0)"
    )
