"""draft revisions: each kept draft says which keep it is and which page kept it, so a draft
kept on another tab or device since is not replaced by typing on a page that never saw it

Revision ID: 0030
Revises: 0029
Create Date: 2027-01-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs. A page opened before this sends no revision, and keeps its draft as
    # it did; a draft kept before gets one that no fresh form ("" seen) takes for its own.
    op.add_column(
        "edit_drafts",
        sa.Column("revision", sa.String(32), nullable=False, server_default=sa.text("''")),
    )
    op.add_column(
        "edit_drafts",
        sa.Column("kept_from", sa.String(32), nullable=False, server_default=sa.text("''")),
    )
    op.execute("UPDATE edit_drafts SET revision = 'kept-before-revisions'")


def downgrade() -> None:
    op.drop_column("edit_drafts", "kept_from")
    op.drop_column("edit_drafts", "revision")
