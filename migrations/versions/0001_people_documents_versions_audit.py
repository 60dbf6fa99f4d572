"""people documents versions audit

Revision ID: 0001
Revises:
Create Date: 2026-11-22 05:15:47.312083
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models
from careplan.db.append_only import append_only, drop_append_only_function

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_users_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_team_id"), ["team_id"], unique=False)

    op.create_table(
        "advocate_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("advocate_id", sa.Integer(), nullable=False),
        sa.Column("invited_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["advocate_id"], ["users.id"], name=op.f("fk_advocate_invitations_advocate_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["users.id"], name=op.f("fk_advocate_invitations_client_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advocate_invitations")),
    )
    with op.batch_alter_table("advocate_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_advocate_invitations_advocate_id"), ["advocate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_advocate_invitations_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "uq_advocate_invitations_open",
            ["client_id", "advocate_id"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["users.id"], name=op.f("fk_audit_events_client_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_client_id"), ["client_id"], unique=False)

    op.create_table(
        "caseload_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("key_worker_id", sa.Integer(), nullable=False),
        sa.Column("started_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["users.id"], name=op.f("fk_caseload_links_client_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["key_worker_id"], ["users.id"], name=op.f("fk_caseload_links_key_worker_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caseload_links")),
    )
    with op.batch_alter_table("caseload_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_caseload_links_key_worker_id"), ["key_worker_id"], unique=False
        )
        batch_op.create_index(
            "uq_caseload_links_open_client",
            ["client_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("head_number", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["users.id"], name=op.f("fk_documents_client_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_documents_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_client_id"), ["client_id"], unique=False)

    op.create_table(
        "supervisor_teams",
        sa.Column("supervisor_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["users.id"], name=op.f("fk_supervisor_teams_supervisor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_supervisor_teams_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("supervisor_id", "team_id", name=op.f("pk_supervisor_teams")),
    )
    with op.batch_alter_table("supervisor_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervisor_teams_team_id"), ["team_id"], unique=False)

    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_versions_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_versions_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["versions.id"], name=op.f("fk_versions_parent_id_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_versions")),
        sa.UniqueConstraint("document_id", "number", name="uq_versions_document_number"),
        sa.UniqueConstraint("parent_id", name=op.f("uq_versions_parent_id")),
    )
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_versions_content_hash"), ["content_hash"], unique=False
        )

    append_only("versions")
    append_only("audit_events")


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_versions_content_hash"))

    op.drop_table("versions")
    with op.batch_alter_table("supervisor_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervisor_teams_team_id"))

    op.drop_table("supervisor_teams")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_client_id"))

    op.drop_table("documents")
    with op.batch_alter_table("caseload_links", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_caseload_links_open_client",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_caseload_links_key_worker_id"))

    op.drop_table("caseload_links")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_client_id"))

    op.drop_table("audit_events")
    with op.batch_alter_table("advocate_invitations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_advocate_invitations_open",
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_advocate_invitations_client_id"))
        batch_op.drop_index(batch_op.f("ix_advocate_invitations_advocate_id"))

    op.drop_table("advocate_invitations")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_team_id"))

    op.drop_table("users")
    op.drop_table("teams")
    drop_append_only_function()
