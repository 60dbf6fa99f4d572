"""clients' has_documents counts saved documents only: a document only started (no version
yet) may now be removed by whoever started it and is no one's to account for, so a client with
nothing saved is listed on the supervisors' dashboard as having no document

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE users SET has_documents = false WHERE has_documents = true AND id NOT IN "
        "(SELECT client_id FROM documents WHERE head_number > 0)"
    )


def downgrade() -> None:
    # As 0028 set it: any document, saved or not.
    op.execute(
        "UPDATE users SET has_documents = true WHERE has_documents = false AND id IN "
        "(SELECT client_id FROM documents)"
    )
