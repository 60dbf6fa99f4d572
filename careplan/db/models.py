"""SQLAlchemy models. Schema changes go through Alembic migrations in migrations/."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ..domain.roles import Role

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back timezone-aware datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use timezone-aware UTC")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # The supervisors' dashboard sorted by client name, and its list of key workers.
        Index("ix_users_display_name", "display_name"),
        Index("ix_users_role_display_name", "role", "display_name"),
        # The dashboard's clients with no care plan yet, in name order: found without
        # looking through every client for a care plan they lack. Not a partial index:
        # SQLite has no statistics for one that is empty and would read every client instead.
        Index("ix_users_role_documents_display_name", "role", "has_documents", "display_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Changes whenever the password changes, which signs out every existing session.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when the first version of one of the client's care plans is saved
    # (services.documents); versions are never removed, so it never goes back. A care plan
    # only started (no version) does not count: it may be removed. Nor does an agreement: a
    # client with only agreements still has no care plan. The column keeps its first name.
    has_care_plan: Mapped[bool] = mapped_column(
        "has_documents", Boolean, default=False, server_default=text("false")
    )
    # Reminders (clients choose): "email", "app" (in-app only) or "none"; NULL: the default.
    reminder_channel: Mapped[str | None] = mapped_column(String(10))
    # How the person wants to be called (careplan.domain.account_rules); both optional.
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    pronouns: Mapped[str | None] = mapped_column(String(40))
    # The optional second step when signing (careplan.domain.second_factor): the app's shared
    # secret, the last 30-second step whose code was used (each code works once), and since when.
    second_factor_secret: Mapped[str | None] = mapped_column(String(64))
    second_factor_last_step: Mapped[int | None] = mapped_column(BigInteger)
    second_factor_since: Mapped[datetime | None] = mapped_column(UTCDateTime())

    team: Mapped[Team | None] = relationship()

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class BackupCode(Base):
    """One of a person's backup codes for the second step (careplan.domain.second_factor):
    only its hash, and when it was used (each works once)."""

    __tablename__ = "backup_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasswordLink(Base):
    """A link e-mailed to set a password: after "forgot my password", or to a new account.
    Only a hash of its secret is kept; it works once, until it expires."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # "reset" or "welcome"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Why its e-mail could not be sent (the mail server's words), if it could not: the link
    # then reached nobody, and is never sent again, as its secret is not kept.
    not_sent: Mapped[str | None] = mapped_column(String(300))


class SupervisorTeam(Base):
    __tablename__ = "supervisor_teams"

    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True, index=True)


class CaseloadLink(Base):
    """A key worker holding a client. One open link per client; ended links are kept."""

    __tablename__ = "caseload_links"
    __table_args__ = (
        Index(
            "uq_caseload_links_open_client",
            "client_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key_worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the client left the service (careplan.services.leaving); a link ended by a
    # handover or a new key worker leaves them empty.
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    end_note: Mapped[str | None] = mapped_column(Text)
    # Set then too: the key worker's team when the client left, so the supervisors' list of
    # who left their teams stays with that team if the worker moves team later.
    ended_in_team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    key_worker: Mapped[User] = relationship(foreign_keys=[key_worker_id])


class AdvocateInvitation(Base):
    __tablename__ = "advocate_invitations"
    __table_args__ = (
        Index(
            "uq_advocate_invitations_open",
            "client_id",
            "advocate_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    advocate: Mapped[User] = relationship(foreign_keys=[advocate_id])


class Document(Base):
    """A care plan or agreement. Its content lives in versions; `head_number` names the latest."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    head_number: Mapped[int] = mapped_column(Integer, default=0)
    # Agreements keep the template they were made from; later template edits never reach them.
    template: Mapped[dict | None] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Reviews (careplan.services.reviews). The reminder sweep reads only rows whose
    # next_review_on or awaiting_signature_since is near, through their indexes.
    next_review_on: Mapped[date | None] = mapped_column(Date, index=True)
    next_review_reason: Mapped[str | None] = mapped_column(String(20))
    # The day next_review_on got its value: no reminder is owed from before it.
    next_review_set_on: Mapped[date | None] = mapped_column(Date)
    scheduled_review_on: Mapped[date | None] = mapped_column(Date)  # last review + interval
    last_reviewed_on: Mapped[date | None] = mapped_column(Date)
    review_cycle: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    awaiting_signature_since: Mapped[date | None] = mapped_column(Date, index=True)
    # Sign-off state kept on the row (set by services.signoff whenever it can change) so the
    # supervisors' dashboard filters and sorts in the database instead of per document.
    signoff_state: Mapped[str] = mapped_column(
        String(30), default="nothing_written", server_default="nothing_written"
    )
    agreed_version: Mapped[int | None] = mapped_column(Integer)
    last_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The earliest day a decision in the latest version is handed over until (set by
    # services.documents with each new version): once it has passed, nobody can sign that
    # version, and lists that never read its words say so (plan_dates.stuck_on_passed_day).
    handed_over_until: Mapped[date | None] = mapped_column(Date)

    client: Mapped[User] = relationship(foreign_keys=[client_id])


# The supervisors' dashboard's default order (review date, empty dates last, then id) as one
# index, so its first page is read in order and the query stops after one page.
Index(
    "ix_documents_review_order",
    Document.next_review_on.is_(None),
    Document.next_review_on,
    Document.id,
)


class Version(Base):
    """An immutable version. Rows are only ever inserted."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("document_id", "number", name="uq_versions_document_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    number: Mapped[int] = mapped_column(Integer)
    # Unique: two versions based on the same parent would mean one change overwrote another.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    change_note: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))

    author: Mapped[User] = relationship()


class EditDraft(Base):
    """Someone's edit in progress, kept while they type (and when they are signed out for being
    idle), so nothing they wrote is lost before they save it as a version. Seen only by them;
    gone once they save or throw it away."""

    __tablename__ = "edit_drafts"
    __table_args__ = (
        UniqueConstraint("user_id", "document_id", name="uq_edit_drafts_user_document"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    base_number: Mapped[int] = mapped_column(Integer)
    part: Mapped[str] = mapped_column(String(40), default="")  # "" for the whole document
    fields: Mapped[list] = mapped_column(JSON)  # the form as [name, value] pairs
    change_note: Mapped[str] = mapped_column(Text, default="")
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # New with each keep, so a page can tell whether the draft is still the one it last kept
    # or started from, or was kept since on another tab or device (careplan.services.drafts).
    revision: Mapped[str] = mapped_column(String(32), default="", server_default=text("''"))
    # The edit page (one tab's page load) that kept it.
    kept_from: Mapped[str] = mapped_column(String(32), default="", server_default=text("''"))


class Comment(Base):
    """A comment on one section, kept with the version it was made on."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    section_key: Mapped[str] = mapped_column(String(40))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    body: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship()


class ContingencyActivation(Base):
    """The "when I am not well" plan put into effect, for a limited time."""

    __tablename__ = "contingency_activations"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    observed: Mapped[str] = mapped_column(Text)
    actions_taken: Mapped[str] = mapped_column(Text, default="")
    ends_on: Mapped[date] = mapped_column(Date)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    end_note: Mapped[str] = mapped_column(Text, default="")
    review_window_days: Mapped[int] = mapped_column(Integer)

    started_by: Mapped[User] = relationship(foreign_keys=[started_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])


class SelfReferralRequest(Base):
    """A request for a self-referral admission, checked against the agreed terms."""

    __tablename__ = "self_referral_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    nights: Mapped[int] = mapped_column(Integer)
    last_discharge_on: Mapped[date | None] = mapped_column(Date)
    within_terms: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")

    requested_by: Mapped[User] = relationship()


class CrisisAlert(Base):
    """Someone asked for help: the crisis plan put into effect, or a self-referral admission
    asked for. Never changed; it is answered by the responses to it (careplan.services.
    crisis_alerts), and delivered as reminders of its own kinds."""

    __tablename__ = "crisis_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "contingency" or "self_referral"
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("contingency_activations.id"))
    self_referral_id: Mapped[int | None] = mapped_column(ForeignKey("self_referral_requests.id"))
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The key worker when it was raised (none if the client had none), and the time the
    # client was told someone would have responded by; after it, the supervisors are told.
    key_worker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CrisisResponse(Base):
    """Someone responding to an alert: who, when, and what they said. Never changed."""

    __tablename__ = "crisis_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("crisis_alerts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(20))
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text)

    user: Mapped[User] = relationship()


class SignatureRecord(Base):
    """One person's outcome (sign, sign with comment, decline) on one version. Never changed."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    version_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(30))
    comment: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # How the signer proved who they were at that moment, e.g. "password re-entered".
    method: Mapped[str] = mapped_column(String(60))
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship()


class AdvocateReviewRequest(Base):
    """A client asking their advocate to look at a version before they sign it."""

    __tablename__ = "advocate_review_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    advocate_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ScheduledJobRun(Base):
    """When one of the scheduler's jobs last finished and last failed (one row per job), so
    administrators and monitoring can tell that reminders and sealed PDFs are being made
    (careplan.services.scheduled_jobs)."""

    __tablename__ = "scheduled_job_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    ran_by: Mapped[str] = mapped_column(String(100), default="")  # host and process


class PdfRender(Base):
    """The sealed PDF of an agreed version: produced once, outside the request, then served."""

    __tablename__ = "pdf_renders"
    __table_args__ = (
        UniqueConstraint("document_id", "version_number", name="uq_pdf_renders_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    version_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    # Printed on the PDF; anyone holding the paper can type it on the verify page.
    short_code: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    file_name: Mapped[str] = mapped_column(String(200), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    agreed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Handover(Base):
    """A client moving from one key worker to another. Pending until the new worker has opened
    the agreed documents and acknowledged them; only then does the caseload move."""

    __tablename__ = "handovers"
    __table_args__ = (
        Index(
            "uq_handovers_open_client",
            "client_id",
            unique=True,
            sqlite_where=text("completed_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=text("completed_at IS NULL AND cancelled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_worker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HandoverRead(Base):
    """The incoming worker opened this document during the handover."""

    __tablename__ = "handover_reads"

    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEvent(Base):
    """Append-only, hash-chained record of who did what to which record."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # A document's history page: its newest events, without reading everyone else's.
        Index("ix_audit_events_object", "object_type", "object_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[int | None] = mapped_column(Integer)
    # Whose record this concerns, so a client can see who read their records.
    client_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# --- reviews and reminders (careplan.services.reviews, careplan.services.reminders) ----------


class ReviewRequest(Base):
    """A review asked for before the regular date: by either party, or after a crisis."""

    __tablename__ = "review_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "earlier" or "post_crisis"
    due_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activation_id: Mapped[int | None] = mapped_column(ForeignKey("contingency_activations.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReviewConfirmation(Base):
    """One party confirming "reviewed, no changes" on the agreed version. Never changed."""

    __tablename__ = "review_confirmations"
    __table_args__ = (
        UniqueConstraint("document_id", "cycle", "user_id", name="uq_review_confirmations_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    cycle: Mapped[int] = mapped_column(Integer)  # Document.review_cycle it belongs to
    version_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(20))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    method: Mapped[str] = mapped_column(String(60))


class Delivered:
    """What the senders (careplan.reminders.sender) keep about each e-mail or notice they
    deliver: claimed with a lease, tried again after a pause, given up after the last try."""

    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")


class ReminderDigest(Delivered, Base):
    """The one e-mail a day that lists a worker's or supervisor's reminders."""

    __tablename__ = "reminder_digests"
    __table_args__ = (UniqueConstraint("recipient_id", "day", name="uq_reminder_digests_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)


class Reminder(Delivered, Base):
    """A reminder owed to one person on one channel. The unique key makes each one exist once,
    however many sweeps run; the status says whether it was delivered."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint(
            "document_id", "due_on", "kind", "recipient_id", "channel", name="uq_reminders_owed"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    due_on: Mapped[date] = mapped_column(Date)  # the review date (or since when a draft waits)
    kind: Mapped[str] = mapped_column(String(30))  # e.g. "soon:14", "today", "overdue:2"
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # "app", "email" or "digest"
    owed_on: Mapped[date] = mapped_column(Date)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_digests.id"), index=True)


class AccountEmail(Delivered, Base):
    """An e-mail telling someone about their own account (their password changed, the second
    step turned on or off, a backup code used, signing in paused, their address changed, a new
    password asked for while the account is closed: careplan.services.account_emails.KINDS),
    kept from the transaction that caused it until the mail server has accepted it. Written
    with the change, so a crash, a restart or a mail server that is down loses none of them;
    claimed and retried like the reminders (careplan.reminders.sender)."""

    __tablename__ = "account_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The address when it was written: a notice about a change goes to the address the
    # account had then, even if the address is changed afterwards.
    to_address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Notification(Base):
    """Something shown to one person inside the app, until they mark it read."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"), unique=True)
    # Indexed: a review done finds the messages about it (services.reviews).
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CalendarFeed(Base):
    """A person's private calendar address. Only a hash of its secret is kept."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewLog(Base):
    """A review that was done: when it was due, when it was done and who held the client then,
    in which team (for the on-time chart);
    or one never done, because the client left the service with it overdue (`done_on` empty):
    leaving does not take a late review off the chart."""

    __tablename__ = "review_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    done_on: Mapped[date | None] = mapped_column(Date)
    # Who held the client then, and their team then: the chart counts a review under that
    # team, whatever happened since (a handover, leaving, the key worker moving team).
    key_worker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)


class RateLimitCounter(Base):
    """Attempts counted in one window of a rate limit (careplan.db.rate_limits): failed
    passwords per account or address, checks at /verify per address. Keys carry no e-mail
    address or IP address, only a keyed hash of it."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    # Seconds since the epoch: compared with the time in one statement on either database.
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class ApiToken(Base):
    """A personal access token for the JSON API (careplan.services.api_tokens). Only a hash of
    its secret is kept; it works for its scopes until it expires or its owner revokes it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(50))  # space-separated, e.g. "read write"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
