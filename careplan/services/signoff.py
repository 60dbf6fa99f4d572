"""Signing, declining and the agreed state of a document."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.models import (
    AdvocateInvitation,
    AdvocateReviewRequest,
    CaseloadLink,
    Document,
    PdfRender,
    SignatureRecord,
    User,
    Version,
    utcnow,
)
from ..domain.roles import Role
from ..domain.signoff import (
    Outcome,
    Signature,
    SignOff,
    State,
    VersionRef,
    decide,
    validate_outcome,
)
from . import audit, passwords
from .access import require_read
from .actor import Actor
from .errors import Invalid, NotFound, ReadOnly

SHORT_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on paper


@dataclass(frozen=True)
class SignatureView:
    name: str
    role: str
    version_number: int
    outcome: str
    outcome_label: str
    comment: str
    signed_at: datetime
    method: str
    content_hash: str


@dataclass(frozen=True)
class SignOffView:
    state: State
    agreed: VersionRef | None
    agreed_at: datetime | None
    waiting_for: tuple[str, ...]  # role labels
    signatures: list[SignatureView]  # newest first
    key_worker_name: str


def current_key_worker(s: Session, client_id: int) -> int | None:
    return s.scalar(
        select(CaseloadLink.key_worker_id).where(
            CaseloadLink.client_id == client_id, CaseloadLink.ended_at.is_(None)
        )
    )


def _signatures(s: Session, document_id: int) -> list[tuple[SignatureRecord, User]]:
    return list(
        s.execute(
            select(SignatureRecord, User)
            .join(User, User.id == SignatureRecord.user_id)
            .where(SignatureRecord.document_id == document_id)
            .order_by(SignatureRecord.id)
        ).all()
    )


def decide_for(s: Session, doc: Document, rows=None) -> SignOff:
    """The domain decision for a stored document (loads only the versions that were signed)."""
    rows = _signatures(s, doc.id) if rows is None else rows
    numbers = {r.version_number for r, _ in rows} | (
        {doc.head_number} if doc.head_number else set()
    )
    versions = (
        dict(
            s.execute(
                select(Version.number, Version.content_hash).where(
                    Version.document_id == doc.id, Version.number.in_(numbers)
                )
            ).all()
        )
        if numbers
        else {}
    )
    head = VersionRef(doc.head_number, versions[doc.head_number]) if doc.head_number else None
    sigs = [
        Signature(
            r.user_id,
            Role(r.role),
            r.version_number,
            r.content_hash,
            Outcome(r.outcome),
            r.signed_at,
            r.comment,
        )
        for r, _ in rows
    ]
    return decide(head, versions, sigs, doc.client_id, current_key_worker(s, doc.client_id))


def store_state(doc: Document, decision: SignOff, signed_at: datetime | None = None) -> None:
    """Keep the row's copy of the sign-off state in step (the supervisors' dashboard reads it)."""
    doc.signoff_state = decision.state.value
    doc.agreed_version = decision.agreed.number if decision.agreed else None
    if signed_at is not None:
        doc.last_signed_at = signed_at


def refresh_states_for_client(s: Session, client_id: int) -> None:
    """After the client's key worker changes, whose signature counts changes too."""
    for doc in s.scalars(
        select(Document).where(Document.client_id == client_id, Document.head_number > 0)
    ):
        store_state(doc, decide_for(s, doc))


def signoff_view(s: Session, doc: Document) -> SignOffView:
    rows = _signatures(s, doc.id)
    decision = decide_for(s, doc, rows)
    agreed_at = None
    if decision.agreed:
        agreed_at = max(
            (
                r.signed_at
                for r, _ in rows
                if r.version_number == decision.agreed.number and Outcome(r.outcome).agrees
            ),
            default=None,
        )
    worker_id = current_key_worker(s, doc.client_id)
    worker = s.get(User, worker_id) if worker_id else None
    return SignOffView(
        decision.state,
        decision.agreed,
        agreed_at,
        tuple(r.label for r in decision.waiting_for),
        [
            SignatureView(
                u.display_name,
                Role(r.role).label,
                r.version_number,
                r.outcome,
                Outcome(r.outcome).label,
                r.comment,
                r.signed_at,
                r.method,
                r.content_hash,
            )
            for r, u in reversed(rows)
        ],
        worker.display_name if worker else "",
    )


def sign(
    db: Database,
    actor: Actor,
    document_id: int,
    version_number: int,
    outcome_raw: str,
    comment: str,
    password: str,
) -> SignOff:
    """Record the person's outcome on one version; start the sealed PDF if it is now agreed."""
    outcome, comment = validate_outcome(outcome_raw, comment)
    passwords.confirm_identity(
        db, actor, password, "That password is not right. Nothing was signed."
    )
    with db.write() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise NotFound()
        access = require_read(s, actor, doc.client_id)
        if not access.sign:
            raise ReadOnly("Only the client and their key worker sign. Nobody can sign for them.")
        if version_number != doc.head_number:
            raise Invalid(
                f"Version {version_number} is not the latest one (version {doc.head_number} is). "
                "Please read the latest version before signing."
            )
        version = s.scalar(
            select(Version).where(Version.document_id == doc.id, Version.number == version_number)
        )
        before = decide_for(s, doc)
        s.add(
            SignatureRecord(
                document_id=doc.id,
                version_id=version.id,
                version_number=version.number,
                content_hash=version.content_hash,
                user_id=actor.id,
                role=actor.role.value,
                outcome=outcome.value,
                comment=comment,
                method="password re-entered",
                ip=actor.ip[:64],
            )
        )
        s.flush()
        after = decide_for(s, doc)
        store_state(doc, after, signed_at=utcnow())
        audit.record(
            s,
            actor,
            "decline" if outcome is Outcome.DECLINED else "sign",
            "document",
            doc.id,
            client_id=doc.client_id,
            detail={
                "version": version.number,
                "hash": version.content_hash,
                "outcome": outcome.value,
            },
        )
        newly_agreed = after.agreed and (
            before.agreed is None or before.agreed.number != after.agreed.number
        )
        if newly_agreed:
            _queue_sealed_pdf(s, doc, after.agreed)
            audit.record(
                s,
                actor,
                "agreed",
                "document",
                doc.id,
                client_id=doc.client_id,
                detail={"version": after.agreed.number},
            )
        # Review dates: agreed resets the next review; a half-signed draft now waits.
        from . import reviews

        reviews.after_signing(s, actor, doc, before, after, utcnow())
        return after


def _queue_sealed_pdf(s: Session, doc: Document, agreed: VersionRef) -> None:
    exists = s.scalar(
        select(PdfRender.id).where(
            PdfRender.document_id == doc.id, PdfRender.version_number == agreed.number
        )
    )
    if exists:
        return
    now = utcnow()
    s.add(
        PdfRender(
            document_id=doc.id,
            version_number=agreed.number,
            content_hash=agreed.content_hash,
            short_code=new_short_code(),
            status="pending",
            next_attempt_at=now,
            agreed_at=now,
            created_at=now,
            updated_at=now,
        )
    )


def new_short_code() -> str:
    raw = "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def ask_advocate_to_look(db: Database, client: Actor, document_id: int, version_number: int) -> int:
    """The client asks every advocate they invited to read this version before they sign."""
    with db.write() as s:
        doc = s.get(Document, document_id)
        if doc is None or client.role is not Role.CLIENT or doc.client_id != client.id:
            raise NotFound()
        if not 1 <= version_number <= doc.head_number:
            raise Invalid("That version does not exist.")
        advocates = list(
            s.scalars(
                select(AdvocateInvitation.advocate_id).where(
                    AdvocateInvitation.client_id == client.id,
                    AdvocateInvitation.revoked_at.is_(None),
                )
            )
        )
        if not advocates:
            raise Invalid("You have not invited an advocate yet.")
        for advocate_id in advocates:
            s.add(
                AdvocateReviewRequest(
                    document_id=doc.id, version_number=version_number, advocate_id=advocate_id
                )
            )
        audit.record(
            s,
            client,
            "advocate.review_request",
            "document",
            doc.id,
            client_id=client.id,
            detail={"version": version_number},
        )
        return len(advocates)


def review_requests_for(s: Session, actor: Actor, document_id: int) -> list[int]:
    """Versions this advocate was asked to look at."""
    if actor.role is not Role.ADVOCATE:
        return []
    return list(
        s.scalars(
            select(AdvocateReviewRequest.version_number)
            .where(
                AdvocateReviewRequest.document_id == document_id,
                AdvocateReviewRequest.advocate_id == actor.id,
            )
            .order_by(AdvocateReviewRequest.version_number.desc())
        )
    )
