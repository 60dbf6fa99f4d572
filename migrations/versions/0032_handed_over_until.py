"""documents keep the earliest day a decision in their latest version is handed over until,
so the start page, plan cards, reminders and the supervisors' dashboard can tell a version
nobody can sign any more (that day has passed) without reading its words

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from careplan.domain.kinds import kind_for

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

_documents = sa.table(
    "documents",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("template", sa.JSON),
    sa.column("head_number", sa.Integer),
    sa.column("handed_over_until", sa.Date),
)
_versions = sa.table(
    "versions",
    sa.column("document_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("content", sa.JSON),
)


def upgrade() -> None:
    # A plain ALTER, never a batch re-creation: that would drop the append-only triggers.
    op.add_column("documents", sa.Column("handed_over_until", sa.Date(), nullable=True))
    _backfill()


def _backfill() -> None:
    """From each saved document's latest version, read as the service reads it
    (DocumentKind.earliest_handed_over_until): only agreements hand decisions over."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_documents.c.id, _documents.c.kind, _documents.c.template, _versions.c.content)
        .join(
            _versions,
            sa.and_(
                _versions.c.document_id == _documents.c.id,
                _versions.c.number == _documents.c.head_number,
            ),
        )
        .where(_documents.c.kind == "agreement")
    ).all()
    for doc_id, kind, template, content in rows:
        until = kind_for(kind, template).earliest_handed_over_until(content or {})
        if until is not None:
            conn.execute(
                _documents.update().where(_documents.c.id == doc_id).values(handed_over_until=until)
            )


def downgrade() -> None:
    op.drop_column("documents", "handed_over_until")
