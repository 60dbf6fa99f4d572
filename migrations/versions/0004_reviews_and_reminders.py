"""reviews and reminders

Review dates on documents (indexed, so the reminder sweep reads only what is near), earlier
review requests, "reviewed, no changes" confirmations, the reminders owed (unique per
document, due date, kind, recipient and channel), daily digests, in-app notifications,
private calendar feeds, and each person's reminder channel.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:47:07.270684
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import careplan.db.models
from careplan.db.append_only import append_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendar_feeds_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_table(
        "reminder_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=False),
        sa.Column("claimed_until", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name=op.f("fk_reminder_digests_recipient_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_digests")),
        sa.UniqueConstraint("recipient_id", "day", name="uq_reminder_digests_day"),
    )
    with op.batch_alter_table("reminder_digests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_digests_status"), ["status"], unique=False)

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("owed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=False),
        sa.Column("claimed_until", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["reminder_digests.id"],
            name=op.f("fk_reminders_digest_id_reminder_digests"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_reminders_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["users.id"], name=op.f("fk_reminders_recipient_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint(
            "document_id", "due_on", "kind", "recipient_id", "channel", name="uq_reminders_owed"
        ),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_digest_id"), ["digest_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reminders_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reminders_status"), ["status"], unique=False)

    op.create_table(
        "review_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("confirmed_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_review_confirmations_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_review_confirmations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_confirmations")),
        sa.UniqueConstraint(
            "document_id", "cycle", "user_id", name="uq_review_confirmations_person"
        ),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reminder_id", sa.Integer(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("created_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_notifications_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["reminder_id"], ["reminders.id"], name=op.f("fk_notifications_reminder_id_reminders")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("reminder_id", name=op.f("uq_notifications_reminder_id")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_user_id"), ["user_id"], unique=False)

    op.create_table(
        "review_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", careplan.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activation_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", careplan.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["contingency_activations.id"],
            name=op.f("fk_review_requests_activation_id_contingency_activations"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_review_requests_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_review_requests_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
    )
    with op.batch_alter_table("review_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_requests_document_id"), ["document_id"], unique=False
        )

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_review_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("next_review_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("scheduled_review_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("last_reviewed_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("review_cycle", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("awaiting_signature_since", sa.Date(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_documents_awaiting_signature_since"),
            ["awaiting_signature_since"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_documents_next_review_on"), ["next_review_on"], unique=False
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_channel", sa.String(length=10), nullable=True))

    # A confirmation is a signature of sorts: never changed or removed.
    append_only("review_confirmations")


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch re-creation: re-creating
    # `documents` or `users` with foreign keys switched on fails once rows point at them.
    op.drop_column("users", "reminder_channel")
    op.drop_index(op.f("ix_documents_next_review_on"), table_name="documents")
    op.drop_index(op.f("ix_documents_awaiting_signature_since"), table_name="documents")
    for column in (
        "awaiting_signature_since",
        "review_cycle",
        "last_reviewed_on",
        "scheduled_review_on",
        "next_review_reason",
        "next_review_on",
    ):
        op.drop_column("documents", column)

    with op.batch_alter_table("review_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_requests_document_id"))

    op.drop_table("review_requests")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_user_id"))

    op.drop_table("notifications")
    op.drop_table("review_confirmations")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_status"))
        batch_op.drop_index(batch_op.f("ix_reminders_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_reminders_digest_id"))

    op.drop_table("reminders")
    with op.batch_alter_table("reminder_digests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_digests_status"))

    op.drop_table("reminder_digests")
    op.drop_table("calendar_feeds")
