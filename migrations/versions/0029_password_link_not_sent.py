"""password links not sent: the mail server's reason, kept on the link's row, when its e-mail
could not be sent (it is never tried again: the link's secret is not kept)

Revision ID: 0029
Revises: 0028
Create Date: 2027-01-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("password_links", sa.Column("not_sent", sa.String(300), nullable=True))


def downgrade() -> None:
    op.drop_column("password_links", "not_sent")
