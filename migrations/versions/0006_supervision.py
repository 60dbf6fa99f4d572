"""supervision: sign-off state on documents, review log; drop an unused index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models
from careplan.domain.roles import Role
from careplan.domain.signoff import Outcome, Signature, VersionRef, decide

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["users.id"], name=op.f("fk_review_log_client_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_review_log_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_log")),
    )
    op.create_index(op.f("ix_review_log_client_id"), "review_log", ["client_id"])
    op.create_index(op.f("ix_review_log_document_id"), "review_log", ["document_id"])
    op.create_index(op.f("ix_review_log_due_on"), "review_log", ["due_on"])
    # Plain ALTERs, never a batch re-creation: that would drop the append-only triggers.
    op.add_column(
        "documents",
        sa.Column(
            "signoff_state", sa.String(length=30), server_default="nothing_written", nullable=False
        ),
    )
    op.add_column("documents", sa.Column("agreed_version", sa.Integer(), nullable=True))
    op.add_column(
        "documents",
        sa.Column("last_signed_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
    )
    # Nothing searches versions by their hash; the index only cost space and insert time.
    op.drop_index("ix_versions_content_hash", table_name="versions")
    _backfill()


def _backfill() -> None:
    """Work out the stored sign-off state of documents that existed before this migration."""
    conn = op.get_bind()
    docs = conn.execute(
        sa.text("SELECT id, client_id, head_number FROM documents WHERE head_number > 0")
    ).all()
    for doc_id, client_id, head in docs:
        sigs = conn.execute(
            sa.text(
                "SELECT user_id, role, version_number, content_hash, outcome, signed_at, comment "
                "FROM signatures WHERE document_id = :d ORDER BY id"
            ),
            {"d": doc_id},
        ).all()
        versions = dict(
            conn.execute(
                sa.text("SELECT number, content_hash FROM versions WHERE document_id = :d"),
                {"d": doc_id},
            ).all()
        )
        worker = conn.execute(
            sa.text(
                "SELECT key_worker_id FROM caseload_links WHERE client_id = :c AND ended_at IS NULL"
            ),
            {"c": client_id},
        ).scalar()
        decision = decide(
            VersionRef(head, versions[head]),
            versions,
            [Signature(u, Role(r), n, h, Outcome(o), at, c) for u, r, n, h, o, at, c in sigs],
            client_id,
            worker,
        )
        conn.execute(
            sa.text(
                "UPDATE documents SET signoff_state = :state, agreed_version = :agreed, "
                "last_signed_at = (SELECT MAX(signed_at) FROM signatures WHERE document_id = :d) "
                "WHERE id = :d"
            ),
            {
                "state": decision.state.value,
                "agreed": decision.agreed.number if decision.agreed else None,
                "d": doc_id,
            },
        )


def downgrade() -> None:
    op.create_index("ix_versions_content_hash", "versions", ["content_hash"])
    op.drop_column("documents", "last_signed_at")
    op.drop_column("documents", "agreed_version")
    op.drop_column("documents", "signoff_state")
    op.drop_index(op.f("ix_review_log_due_on"), table_name="review_log")
    op.drop_index(op.f("ix_review_log_document_id"), table_name="review_log")
    op.drop_index(op.f("ix_review_log_client_id"), table_name="review_log")
    op.drop_table("review_log")
