"""Signing, declining and the agreed state of a document."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..db import notify
from ..db.engine import Database, locked, plain_rows
from ..db.models import (
    AdvocateInvitation,
    AdvocateReviewRequest,
    CaseloadLink,
    Document,
    Notification,
    PdfRender,
    SignatureRecord,
    User,
    Version,
    utcnow,
)
from ..domain.account_rules import called
from ..domain.agreement import empty_key_parts
from ..domain.errors import ContentInvalid
from ..domain.kinds import KIND_LABELS, kind_for
from ..domain.local_time import service_today
from ..domain.plan_dates import PassedUntil, passed_refusal, said_passed
from ..domain.roles import Role
from ..domain.signoff import (
    Caseload,
    Outcome,
    Signature,
    SignOff,
    State,
    Tenure,
    VersionRef,
    already_given,
    decide,
    refusal,
    validate_outcome,
)
from ..domain.wording import agreed_notice, declined_advocate_notice, declined_notice
from . import account_emails, audit, passwords
from .access import require_read
from .actor import Actor
from .errors import AlreadyDone, Invalid, NotFound, ReadOnly

WRONG_PASSWORD = "That password is not right. Nothing was signed."
NO_PASSWORD = "Please type your password. Nothing was signed."
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
    user_id: int | None = None  # so pages can say "you" to the person who signed


@dataclass(frozen=True)
class SignOffView:
    state: State
    agreed: VersionRef | None
    agreed_at: datetime | None
    waiting_for: tuple[str, ...]  # role labels
    signatures: list[SignatureView]  # newest first
    key_worker_name: str
    # The viewer's own signature on the latest version, if they signed or declined it.
    mine: SignatureView | None = None
    # Why the viewer may not sign the latest version now (None if they may, or never could).
    refusal: str | None = None
    key_worker_id: int | None = None  # so pages can say "you" to the key worker
    ever_agreed: frozenset[int] = frozenset()  # every version agreed, in force or replaced
    # Decisions in the latest version, while it waits for signatures, handed over until a day
    # that has passed since it was saved: nobody can sign it as it is (declining is open).
    passed_until: tuple[PassedUntil, ...] = ()
    # With no key worker: whether the client left the service (services.leaving), or has
    # not been given a key worker (yet, or again) without leaving.
    client_left: bool = False
    # Key workers who handed the client over to another (Caseload.handed_on): their
    # signature stopped counting at the handover, whatever happened since.
    handed_on: frozenset[int] = frozenset()

    def no_longer_counts_since(self, user_id: int) -> str:
        """What ended the time with the client of a key worker whose signature no longer
        counts (`signed_before_handover`): "handover" (to the key worker now, or one handed
        on before the client left), "left" (the client left the service), or "ended"."""
        if self.key_worker_id or user_id in self.handed_on:
            return "handover"
        return "left" if self.client_left else "ended"

    @property
    def passed_words(self) -> str:
        """The decisions whose day has passed, in words (plan_dates.said_passed)."""
        return said_passed(self.passed_until) if self.passed_until else ""

    @property
    def sign_refusal(self) -> str | None:
        """Why the viewer may not sign the latest version now, whatever the reason: the
        answer `sign` would give. (`refusal` alone keeps them from declining too.)"""
        if self.refusal:
            return self.refusal
        return passed_refusal(self.passed_until) if self.passed_until else None

    @property
    def only_declining(self) -> bool:
        """The latest version can be declined but not signed: a day in it has passed, or the
        other declined it (domain.signoff.refusal). Its page offers declining alone."""
        return bool(self.passed_until) or self.state is State.DECLINED

    @property
    def no_key_worker_to_sign(self) -> bool:
        """The version waits for a key worker's signature and the client has none (they left
        the service, or have not been given one yet): nobody can sign it for the service
        until they have one."""
        return self.key_worker_id is None and Role.KEY_WORKER.label in self.waiting_for

    def declined(self, number: int) -> list[SignatureView]:
        """Who declined to sign this version: while anyone has, it waits for nobody."""
        return [
            s for s in self.signatures
            if s.version_number == number and s.outcome == Outcome.DECLINED.value
        ]  # fmt: skip

    def agreed_for_the_service(self) -> SignatureView | None:
        """The key worker's signature that made the agreed version agreed: the latest on it,
        whoever holds the client now (after a handover, not the key worker who took over)."""
        if self.agreed is None:
            return None
        return next(
            (s for s in self.signatures
             if s.version_number == self.agreed.number and s.role == Role.KEY_WORKER.label
             and s.outcome != Outcome.DECLINED.value),
            None,
        )  # fmt: skip

    def signed_before_handover(self, number: int) -> list[SignatureView]:
        """Signatures on this version by a key worker who no longer holds the caseload: they
        stay on the record, but the version now needs the current key worker's."""
        return [
            s for s in self.signatures
            if s.version_number == number and s.role == Role.KEY_WORKER.label
            and s.user_id != self.key_worker_id and s.outcome != Outcome.DECLINED.value
        ]  # fmt: skip

    def signed_now(self, number: int) -> list[SignatureView]:
        """Signatures on this version that still count towards agreeing it: the client's and
        the current key worker's, not a decline. Saving a new version leaves them behind."""
        return [
            s for s in self.signatures
            if s.version_number == number and s.outcome != Outcome.DECLINED.value
            and (s.role == Role.CLIENT.label or s.user_id == self.key_worker_id)
        ]  # fmt: skip

    def last_signed_by(self, user_id: int) -> int | None:
        """The latest version this person signed (declining is not signing): "what changed
        since I last signed" compares it with the latest."""
        return next(
            (s.version_number for s in self.signatures
             if s.user_id == user_id and s.outcome != Outcome.DECLINED.value),
            None,
        )  # fmt: skip


def current_key_worker(s: Session, client_id: int) -> int | None:
    return s.scalar(
        select(CaseloadLink.key_worker_id).where(
            CaseloadLink.client_id == client_id, CaseloadLink.ended_at.is_(None)
        )
    )


def tell_the_two(
    s: Session,
    actor: Actor,
    doc: Document,
    words: Callable[[bool, str], str],
    link: str,
    to_advocates: Callable[[str], str] | None = None,
) -> None:
    """A message in the app to the client and their key worker, whichever of them did not do
    what it tells: `words(reader_is_client, client_name)` says it to each, with the client
    called by the name they go by, as the document's pages call them. `to_advocates`: the
    message the client's advocates get too, `to_advocates(client_name)` (those the client
    invited and has not stopped; see `current_advocates`)."""
    client = s.execute(
        select(User.display_name, User.preferred_name).where(User.id == doc.client_id)
    ).one()
    client_name = called(*client)
    for reader in (doc.client_id, current_key_worker(s, doc.client_id)):
        if reader is None or reader == actor.id:
            continue
        text = words(reader == doc.client_id, client_name)
        s.add(Notification(user_id=reader, document_id=doc.id, text=text, link=link))
    if to_advocates is None:
        return
    advocates = [a for a in current_advocates(s, doc.client_id) if a != actor.id]
    if advocates:
        text = to_advocates(client_name)
        for reader in advocates:
            s.add(Notification(user_id=reader, document_id=doc.id, text=text, link=link))


def current_advocates(s: Session, client_id: int) -> list[int]:
    """The client's advocates now: those they invited and have not stopped, whose accounts
    are open (one who was stopped can no longer read the document a message would link to)."""
    return _invited_advocates(s, client_id, open_accounts=True)


def invited_advocate(client_id, advocate=User, open_accounts: bool = True):
    """The condition on an AdvocateInvitation joined to its advocate's account (`advocate`,
    User or an alias of it) for the client's current advocates (as current_advocates), or
    with `open_accounts=False` those the client has not stopped whose accounts are closed.
    `client_id` is a value or a column. Every statement asking who the current advocates are
    uses it, joined as it needs."""
    return (
        (AdvocateInvitation.client_id == client_id)
        & AdvocateInvitation.revoked_at.is_(None)
        & advocate.active.is_(open_accounts)
    )


def _invited_advocates(s: Session, client_id: int, open_accounts: bool) -> list[int]:
    return list(
        s.scalars(
            select(AdvocateInvitation.advocate_id)
            .join(User, User.id == AdvocateInvitation.advocate_id)
            .where(invited_advocate(client_id, open_accounts=open_accounts))
            .order_by(AdvocateInvitation.advocate_id)
        )
    )


def caseload_history(s: Session, client_id: int) -> Caseload:
    return _caseload_with_names(s, client_id)[0]


def _caseload_with_names(s: Session, client_id: int) -> tuple[Caseload, dict[int, str]]:
    """Who held the client's caseload and when, with the workers' names, in one read."""
    rows = plain_rows(s, _CASELOAD_WITH_NAMES, {"client_id": client_id}).all()
    return Caseload(Tenure(w, started, ended) for w, started, ended, _ in rows), {
        w: name for w, _, _, name in rows
    }


def _signatures(s: Session, document_id: int) -> list:
    """Each signature's columns and the signer's name (`display_name`), oldest first."""
    return plain_rows(s, _SIGNATURES, {"document_id": document_id}).all()


# Every document page runs these: built once, with bound parameters, because building a
# statement took longer than running it.
# A leaving recorded (services.leaving): ended by someone, where a handover's end is not.
_LEFT = (
    select(CaseloadLink.id)
    .where(CaseloadLink.client_id == bindparam("client_id"), CaseloadLink.ended_by_id.is_not(None))
    .limit(1)
)
_CASELOAD_WITH_NAMES = (
    select(
        CaseloadLink.key_worker_id,
        CaseloadLink.started_at,
        CaseloadLink.ended_at,
        User.display_name,
    )
    .join(User, User.id == CaseloadLink.key_worker_id)
    .where(CaseloadLink.client_id == bindparam("client_id"))
    .order_by(CaseloadLink.started_at)
)
_SIGNATURES = (
    select(
        SignatureRecord.user_id,
        SignatureRecord.role,
        SignatureRecord.version_number,
        SignatureRecord.content_hash,
        SignatureRecord.outcome,
        SignatureRecord.signed_at,
        SignatureRecord.comment,
        SignatureRecord.method,
        User.display_name,
    )
    .join(User, User.id == SignatureRecord.user_id)
    .where(SignatureRecord.document_id == bindparam("document_id"))
    .order_by(SignatureRecord.id)
)
_SIGNED_HASHES = select(Version.number, Version.content_hash).where(
    Version.document_id == bindparam("document_id"),
    Version.number.in_(bindparam("numbers", expanding=True)),
)


def decide_for(s: Session, doc: Document, rows=None, caseload: Caseload | None = None) -> SignOff:
    """The domain decision for a stored document (loads only the versions that were signed).
    Callers that already read the signatures or the caseload's history pass them in."""
    rows = _signatures(s, doc.id) if rows is None else rows
    caseload = caseload_history(s, doc.client_id) if caseload is None else caseload
    numbers = {r.version_number for r in rows} | ({doc.head_number} if doc.head_number else set())
    versions = (
        dict(
            plain_rows(s, _SIGNED_HASHES, {"document_id": doc.id, "numbers": sorted(numbers)}).all()
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
        for r in rows
    ]
    return decide(head, versions, sigs, doc.client_id, caseload)


def store_state(doc: Document, decision: SignOff, signed_at: datetime | None = None) -> None:
    """Keep the row's copy of the sign-off state in step (the supervisors' dashboard reads it)."""
    doc.signoff_state = decision.state.value
    doc.agreed_version = decision.agreed.number if decision.agreed else None
    if signed_at is not None:
        doc.last_signed_at = signed_at


def refresh_states_for_client(s: Session, client_id: int) -> None:
    """After the client's key worker changes, whose signature a draft waits for changes too
    (an agreed version stays agreed)."""
    for doc in s.scalars(
        select(Document).where(Document.client_id == client_id, Document.head_number > 0)
    ):
        store_state(doc, decide_for(s, doc))


def signoff_view(
    s: Session,
    doc: Document,
    viewer_id: int | None = None,
    head_content: dict | None = None,
    today: date | None = None,
) -> SignOffView:
    """`head_content`: the latest version's content, when the caller read it (the page shows
    it), so the view can say which decisions' days have passed (against `today`, the
    service's day unless given); without it, none are named."""
    rows = _signatures(s, doc.id)
    caseload, names = _caseload_with_names(s, doc.client_id)
    decision = decide_for(s, doc, rows, caseload)
    passed = []
    if head_content is not None and decision.state not in (State.AGREED, State.NOTHING_WRITTEN):
        passed = kind_for(doc.kind, doc.template).handed_over_until_passed(
            head_content, today or service_today()
        )
    worker_name = names.get(caseload.current)
    signatures = [(r, _signature_view(r)) for r in reversed(rows)]
    mine = next(
        (
            view
            for r, view in signatures
            if r.user_id == viewer_id and r.version_number == doc.head_number
        ),
        None,
    )
    return SignOffView(
        decision.state,
        decision.agreed,
        decision.agreed_at,
        tuple(r.label for r in decision.waiting_for),
        [view for _, view in signatures],
        worker_name or "",
        mine,
        refusal(decision, doc.head_number, viewer_id) if viewer_id and doc.head_number else None,
        caseload.current,
        decision.ever_agreed,
        tuple(passed),
        caseload.current is None and s.scalar(_LEFT, {"client_id": doc.client_id}) is not None,
        caseload.handed_on,
    )


def _signature_view(r) -> SignatureView:
    return SignatureView(
        r.display_name,
        Role(r.role).label,
        r.version_number,
        r.outcome,
        Outcome(r.outcome).label,
        r.comment,
        r.signed_at,
        r.method,
        r.content_hash,
        r.user_id,
    )


def sign(
    db: Database,
    actor: Actor,
    document_id: int,
    version_number: int,
    outcome_raw: str,
    comment: str,
    password: str,
    confirm_blank: bool = False,
    code: str = "",
    today: date | None = None,
) -> SignOff:
    """Record the person's outcome on one version; start the sealed PDF if it is now agreed.
    Signing an agreement whose key parts are empty needs `confirm_blank`: the signer says they
    are left blank on purpose. `code` is the one from their app, when they have turned the
    second step on. A refusal names every problem with the form at once, the password's too.
    Nobody signs a version with a decision handed over until a day before `today` (the
    service's day unless given); declining it is open to them (`_signable`)."""
    today = today or service_today()
    try:
        outcome, comment = validate_outcome(outcome_raw, comment)
        outcome_problems = {}
    except ContentInvalid as err:
        # The outcome chosen still says whether empty parts would be left blank: named too.
        outcome, outcome_problems = Outcome.chosen(outcome_raw), err.errors
    # Everything that can refuse this signature is checked before the code, so a refusal
    # uses up no code (a code works once: typing it again would be refused too).
    with db.read() as s:
        _, _, blank, _ = _signable(s, actor, document_id, version_number, outcome, today)
    problems = {**_unconfirmed(blank, confirm_blank), **outcome_problems}  # the form's order
    if problems:
        # The password is checked too, so the answer names every problem; a wrong one
        # counts against guessing whatever else is wrong.
        problems.update(
            passwords.password_problem(db, actor, password, WRONG_PASSWORD, NO_PASSWORD)
        )
        raise ContentInvalid(problems)
    method = passwords.confirm_identity(
        db,
        actor,
        password,
        WRONG_PASSWORD,
        code=code,
        code_refused=passwords.CODE_REFUSED + " Nothing was signed.",
        missing=NO_PASSWORD,
    )
    with db.write() as s:
        # Checked again: someone may have saved or signed in the meantime. The document row
        # stays locked until this signature is committed, so two signatures on one document
        # (the same form sent twice, or both parties at once) are decided one after the
        # other, each seeing the other's. On SQLite, BEGIN IMMEDIATE does the same.
        doc, version, blank, before = _signable(
            s, actor, document_id, version_number, outcome, today, lock=True
        )
        if problem := _unconfirmed(blank, confirm_blank):
            raise ContentInvalid(problem)
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
                method=method,
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
                **({"left_blank": [p.key for p in blank]} if blank else {}),
            },
        )
        if outcome is Outcome.DECLINED:
            _tell_of_decline(s, actor, doc, version.number, comment)
        newly_agreed = after.agreed and (
            before.agreed is None or before.agreed.number != after.agreed.number
        )
        if newly_agreed:
            _queue_sealed_pdf(s, doc, after.agreed)
            # An incoming key worker must read this version, not the one it replaces.
            from .handovers import forget_reads  # here: handovers imports this module

            forget_reads(s, doc)
            _tell_of_agreement(s, actor, doc, after.agreed.number)
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


def _tell_of_agreement(s: Session, actor: Actor, doc: Document, number: int) -> None:
    tell_the_two(
        s, actor, doc,
        lambda to_client, client_name: agreed_notice(
            actor.name, actor.role, reader_is_client=to_client, client_name=client_name,
            title=doc.title, version=number,
        ),
        f"/documents/{doc.id}#sign-off",
    )  # fmt: skip


def _tell_of_decline(s: Session, actor: Actor, doc: Document, number: int, reason: str) -> None:
    """The other party hears of a decline at once, with the reason: nothing can be agreed
    until they have talked it over and a new version is saved. The client's advocate is
    told too, as someone who may help them talk it over."""
    tell_the_two(
        s, actor, doc,
        lambda to_client, client_name: declined_notice(
            actor.name, actor.role, reader_is_client=to_client, client_name=client_name,
            title=doc.title, version=number, reason=reason,
        ),
        f"/documents/{doc.id}#sign-off",
        # The client's advocate hears of it too (they do not sign: nothing waits for them).
        lambda client_name: declined_advocate_notice(
            actor.name, actor.role, client_name=client_name, title=doc.title, version=number,
            reason=reason,
        ),
    )  # fmt: skip


def _signable(
    s: Session,
    actor: Actor,
    document_id: int,
    version_number: int,
    outcome: Outcome | None,
    today: date,
    lock: bool = False,
) -> tuple[Document, Version, list, SignOff]:
    """The document, the version, the key parts a signature would leave blank and the
    decision before this signature; or the reason this person cannot sign this version now,
    raised. `outcome`: None when none was chosen (nothing to leave blank then).

    A decision handed over "until" a day before `today` was saved while the day was ahead:
    signing would agree to a handover already over, so it is refused, naming each such
    decision, for the first signer and the second alike. Declining agrees to nothing and
    stays open. A step's date passing is not refused: a step can be late, and says so."""
    if lock:
        # A handover taken over while this signature is decided would change who the key
        # worker is: both take turns on the client's row, the client's row first, then the
        # document's, in that order everywhere.
        client_id = s.scalar(select(Document.client_id).where(Document.id == document_id))
        if client_id is not None:
            locked(s, User, client_id)
    doc = s.get(Document, document_id, with_for_update=lock)
    if doc is None:
        raise NotFound()
    access = require_read(s, actor, doc.client_id)
    if not access.sign:
        raise ReadOnly("Only the client and their key worker sign. Nobody can sign for them.")
    if not 1 <= version_number <= doc.head_number:
        raise NotFound()  # nothing written yet, or a version that does not exist
    if version_number != doc.head_number:
        raise Invalid(
            f"Version {version_number} is not the latest one (version {doc.head_number} is). "
            "Please read the latest version before signing."
        )
    version = s.scalar(
        select(Version).where(Version.document_id == doc.id, Version.number == version_number)
    )
    blank = []
    if outcome and outcome.agrees and doc.kind == "agreement":
        blank = empty_key_parts(doc.template, version.content)
    before = decide_for(s, doc)
    if done := already_given(before, version_number, actor.id, outcome):
        raise AlreadyDone(done)
    refused = refusal(before, version_number, actor.id, outcome)
    if refused:
        raise Invalid(refused)
    if outcome and outcome.agrees:
        passed = kind_for(doc.kind, doc.template).handed_over_until_passed(version.content, today)
        if passed:
            raise Invalid(passed_refusal(passed))
    return doc, version, blank, before


def _unconfirmed(blank: list, confirmed: bool) -> dict[str, str]:
    """The problem with signing an agreement whose key parts are empty, unless the signer
    confirmed they are left blank on purpose."""
    if not blank or confirmed:
        return {}
    return {
        "confirm_blank": "Nothing was signed: some important parts are empty ("
        + "; ".join(p.label for p in blank)
        + "). Fill them in first, or tick the box to say you are leaving them blank on "
        "purpose."
    }


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
    notify.notify(s, notify.PDF_JOBS)  # the scheduler starts on it when this commits


def new_short_code() -> str:
    raw = "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


_NO_ADVOCATE_TO_ASK = {
    False: "You have not chosen an advocate yet, so nobody was asked. You can choose one on "
    "“My advocate” in the menu, then ask again.",
    True: "Your advocate's account has been closed, so nobody was asked. You can choose another "
    "advocate on “My advocate” in the menu, then ask again.",
}


def ask_advocate_to_look(db: Database, client: Actor, document_id: int, version_number: int) -> int:
    """The client asks every advocate they invited to read this version before they sign: the
    latest version, while the client may still sign it (where the page offers it)."""
    with db.write() as s:
        # Locked, so two taps at once take turns and the second finds the first's requests.
        doc = s.get(Document, document_id, with_for_update=True)
        if doc is None or client.role is not Role.CLIENT or doc.client_id != client.id:
            raise NotFound()
        if not 1 <= version_number <= doc.head_number:
            raise Invalid("That version does not exist.")
        if version_number != doc.head_number:
            raise Invalid(
                f"Version {version_number} is not the latest one (version {doc.head_number} is). "
                "You can ask your advocate to look at the latest version before you sign it. "
                "Nothing was changed."
            )
        decision = decide_for(s, doc)
        if decision.agreed and decision.agreed.number == version_number:
            raise Invalid(
                f"Version {version_number} is already agreed, so it is too late to ask your "
                "advocate to look at it first. They can still read it and comment. "
                "Nothing was changed."
            )
        mine = decision.on_head.get(client.id)
        if mine is not None:
            raise Invalid(
                f"You have already {mine.label} version {version_number}, so it is too late to "
                "ask your advocate to look at it first. They can still read it and comment. "
                "Nothing was changed."
            )
        if decision.state is State.DECLINED:
            raise Invalid(
                f"Version {version_number} was declined, so it cannot be signed as it is: "
                "there is nothing to look at before signing. Your advocate can still read it "
                "and comment. Nothing was changed."
            )
        # Only advocates who can sign in: a closed account would be sent a message nobody
        # reads, and the client told someone was asked.
        advocates = current_advocates(s, client.id)
        if not advocates:
            closed = _invited_advocates(s, client.id, open_accounts=False)
            raise Invalid(_NO_ADVOCATE_TO_ASK[bool(closed)])
        already = set(
            s.scalars(
                select(AdvocateReviewRequest.advocate_id).where(
                    AdvocateReviewRequest.document_id == doc.id,
                    AdvocateReviewRequest.version_number == version_number,
                )
            )
        )
        # A second tap asks nobody twice: one request, one message, one event per advocate.
        to_ask = [a for a in advocates if a not in already]
        if not to_ask:
            return len(advocates)
        me = s.get(User, client.id)
        asked = (
            f"{called(me.display_name, me.preferred_name)} asked you to look at version "
            f"{version_number} of their {KIND_LABELS[doc.kind].lower()} before they sign it. "
            "You can read it and comment."
        )
        for advocate_id in to_ask:
            s.add(
                AdvocateReviewRequest(
                    document_id=doc.id, version_number=version_number, advocate_id=advocate_id
                )
            )
            # A message, so the request shows on the advocate's start page and in Messages,
            # not only on the document (which they have no reason to open otherwise).
            s.add(
                Notification(
                    user_id=advocate_id, document_id=doc.id, text=asked, link=f"/documents/{doc.id}"
                )
            )
            # And by e-mail, kept until sent: an advocate has no reason to sign in otherwise.
            account_emails.queue(
                s, s.get(User, advocate_id), account_emails.ASKED_TO_LOOK, {"document_id": doc.id}
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
    account_emails.send_soon(db)  # now it is committed
    return len(advocates)


@dataclass(frozen=True)
class AdvocatesAsked:
    """Whom the client asked to look at the latest version before signing, and when."""

    names: tuple[str, ...]
    at: datetime
    everyone: bool  # every advocate who can be asked now was asked: asking again does nothing


def advocates_asked(s: Session, client_id: int, doc: Document) -> AdvocatesAsked | None:
    """The client's asks on the latest version to the advocates they have now (None if
    none), so their page says they asked instead of offering the same button as if they had
    not. One statement: each current advocate (as current_advocates), with their ask if any."""
    rows = s.execute(
        select(User.display_name, User.preferred_name, AdvocateReviewRequest.requested_at)
        .select_from(AdvocateInvitation)
        .join(User, User.id == AdvocateInvitation.advocate_id)
        .outerjoin(
            AdvocateReviewRequest,
            (AdvocateReviewRequest.advocate_id == AdvocateInvitation.advocate_id)
            & (AdvocateReviewRequest.document_id == doc.id)
            & (AdvocateReviewRequest.version_number == doc.head_number),
        )
        .where(invited_advocate(client_id))
        .order_by(AdvocateReviewRequest.requested_at, User.display_name)
    ).all()
    asked = [(called(name, preferred), at) for name, preferred, at in rows if at is not None]
    if not asked:
        return None
    return AdvocatesAsked(
        tuple(name for name, _ in asked), min(at for _, at in asked), len(asked) == len(rows)
    )


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
