"""crisis alerts and the responses to them

An alert is raised when the crisis plan is put into effect or a self-referral admission is
asked for; responses record who answered and when. Both are append-only.

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models
from careplan.db.append_only import append_only

revision = "0015"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crisis_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("activation_id", sa.Integer(), nullable=True),
        sa.Column("self_referral_id", sa.Integer(), nullable=True),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("raised_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_worker_id", sa.Integer(), nullable=True),
        sa.Column("respond_by", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["contingency_activations.id"],
            name=op.f("fk_crisis_alerts_activation_id_contingency_activations"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["users.id"], name=op.f("fk_crisis_alerts_client_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_crisis_alerts_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["key_worker_id"], ["users.id"], name=op.f("fk_crisis_alerts_key_worker_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["users.id"], name=op.f("fk_crisis_alerts_raised_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["self_referral_id"],
            ["self_referral_requests.id"],
            name=op.f("fk_crisis_alerts_self_referral_id_self_referral_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_alerts")),
    )
    with op.batch_alter_table("crisis_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_alerts_client_id"), ["client_id"])
        batch_op.create_index(batch_op.f("ix_crisis_alerts_document_id"), ["document_id"])
        batch_op.create_index(batch_op.f("ix_crisis_alerts_respond_by"), ["respond_by"])

    op.create_table(
        "crisis_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("responded_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["crisis_alerts.id"],
            name=op.f("fk_crisis_responses_alert_id_crisis_alerts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_crisis_responses_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_responses")),
    )
    with op.batch_alter_table("crisis_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_responses_alert_id"), ["alert_id"])

    append_only("crisis_alerts")
    append_only("crisis_responses")


def downgrade() -> None:
    # Dropping the tables drops their append-only triggers with them.
    with op.batch_alter_table("crisis_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_responses_alert_id"))
    op.drop_table("crisis_responses")
    with op.batch_alter_table("crisis_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_alerts_respond_by"))
        batch_op.drop_index(batch_op.f("ix_crisis_alerts_document_id"))
        batch_op.drop_index(batch_op.f("ix_crisis_alerts_client_id"))
    op.drop_table("crisis_alerts")
