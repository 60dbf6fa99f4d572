"""signatures and sealed pdfs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 05:32:14.267800
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models
from careplan.db.append_only import append_only

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "advocate_review_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("advocate_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["advocate_id"],
            ["users.id"],
            name=op.f("fk_advocate_review_requests_advocate_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_advocate_review_requests_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advocate_review_requests")),
    )
    with op.batch_alter_table("advocate_review_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_advocate_review_requests_advocate_id"), ["advocate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_advocate_review_requests_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "pdf_renders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("short_code", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("agreed_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_pdf_renders_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pdf_renders")),
        sa.UniqueConstraint("document_id", "version_number", name="uq_pdf_renders_version"),
        sa.UniqueConstraint("short_code", name=op.f("uq_pdf_renders_short_code")),
    )
    with op.batch_alter_table("pdf_renders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pdf_renders_file_sha256"), ["file_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_pdf_renders_status"), ["status"], unique=False)

    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("signed_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=60), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_signatures_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_signatures_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_signatures_version_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signatures_document_id"), ["document_id"], unique=False
        )

    # A signature is never changed or removed, by any role or command.
    append_only("signatures")


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signatures_document_id"))

    op.drop_table("signatures")
    with op.batch_alter_table("pdf_renders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pdf_renders_status"))
        batch_op.drop_index(batch_op.f("ix_pdf_renders_file_sha256"))

    op.drop_table("pdf_renders")
    with op.batch_alter_table("advocate_review_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advocate_review_requests_document_id"))
        batch_op.drop_index(batch_op.f("ix_advocate_review_requests_advocate_id"))

    op.drop_table("advocate_review_requests")
    # ### end Alembic commands ###
