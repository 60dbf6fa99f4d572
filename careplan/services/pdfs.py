"""Printable PDFs: the sealed PDF of an agreed version (made once, outside the request that
agreed it, then served from storage), draft exports, and checking a PDF someone holds."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import bindparam, exists, func, or_, select, update

from .. import pdf
from ..db import notify
from ..db.engine import Database, plain_rows
from ..db.models import Document, PdfRender, SignatureRecord, User, Version, utcnow
from ..domain.addresses import under
from ..domain.agreement import blank_on_purpose
from ..domain.kinds import KIND_LABELS, kind_for
from ..domain.local_time import DEFAULT_TIME_ZONE, service_day
from ..domain.reviews import interval_review_date
from ..domain.roles import Role
from . import audit
from .access import require_read
from .actor import Actor
from .errors import Agreed, NotFound, ReadOnly
from .signoff import current_key_worker, decide_for
from .throttle import throttle_for

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=5)  # a claimed job whose worker died is picked up again after this


@dataclass(frozen=True)
class PdfSettings:
    """What rendering needs from the configuration."""

    storage: Path
    credentials: pdf.SealCredentials | None
    verify_url: str
    redisclosure_notice: str | None
    limits: pdf.RenderLimits
    service_name: str = ""
    service_contact: str = ""
    time_zone: str = DEFAULT_TIME_ZONE

    @classmethod
    def from_config(cls, config, instance_path: Path | str, with_seal: bool = True) -> PdfSettings:
        return cls(
            storage=storage_path(config, instance_path),
            credentials=pdf.credentials_from_config(config, instance_path) if with_seal else None,
            verify_url=under(config["PUBLIC_BASE_URL"], "/verify"),
            redisclosure_notice=config.get("PDF_REDISCLOSURE_NOTICE") or None,
            limits=pdf.RenderLimits.from_config(config),
            service_name=config.get("SERVICE_NAME", ""),
            service_contact=config.get("SERVICE_CONTACT", ""),
            time_zone=config.get("TIME_ZONE") or DEFAULT_TIME_ZONE,
        )


def storage_path(config, instance_path: Path | str) -> Path:
    """Where sealed PDFs are kept."""
    return Path(config.get("PDF_STORAGE_PATH") or Path(instance_path) / "pdfs")


def sealed_filename(kind_label: str, number: int, agreed_on: date, whose: str = "") -> str:
    return download_name(pdf.document_title(kind_label, number, agreed_on, draft=False), whose)


def download_name(title: str, whose: str = "") -> str:
    """A PDF's file name: its title, after the client's name when `whose` gives it."""
    return pdf.pdf_filename(f"{whose} – {title}" if whose else title)


def _whose(actor: Actor, client_id: int, client_name: str) -> str:
    """The client's name for a download's file name, to anyone but the client: staff and
    advocates keep many clients' PDFs side by side, and every care plan agreed on one day
    would otherwise download under one name. The client's own are named by what they are."""
    return "" if actor.id == client_id else client_name


# --- building the printable document ---------------------------------------------------------


def _printable(
    s,
    doc: Document,
    number: int,
    draft: bool,
    short_code: str,
    agreed_on: date | None,
    settings: PdfSettings,
) -> pdf.PrintableDocument:
    version = s.scalar(
        select(Version).where(Version.document_id == doc.id, Version.number == number)
    )
    if version is None:
        raise NotFound()
    kind = kind_for(doc.kind, doc.template)
    rows = s.execute(
        select(SignatureRecord, User)
        .join(User, User.id == SignatureRecord.user_id)
        .where(SignatureRecord.document_id == doc.id, SignatureRecord.version_number == number)
        .order_by(SignatureRecord.id)
    ).all()
    client = s.get(User, doc.client_id)
    # Steps say who does them by name: the key worker who signed this version, else today's.
    worker = next((u for r, u in rows if r.role == Role.KEY_WORKER.value), None)
    if worker is None:
        worker_id = current_key_worker(s, doc.client_id)
        worker = s.get(User, worker_id) if worker_id else None
    return pdf.PrintableDocument(
        kind_label=kind.label,
        agreed_on=agreed_on,
        client_name=client.display_name,
        sections=pdf.sections_from_kind(
            kind,
            version.content,
            client.display_name,
            worker.display_name if worker else "",
            blank_on_purpose(
                doc.template if doc.kind == "agreement" else None, version.content, not draft
            ),
        ),
        signatures=[
            pdf.SignatureLine(
                u.display_name,
                Role(r.role).label.capitalize(),
                r.signed_at,
                r.outcome,
                r.comment,
                r.method,
            )
            for r, u in rows
        ],
        content_hash=version.content_hash,
        version_number=number,
        short_code=short_code,
        draft=draft,
        redisclosure_notice=settings.redisclosure_notice,
        verify_url=settings.verify_url,
        next_review_on=(
            None
            if draft
            else interval_review_date(agreed_on, kind.review_interval_weeks(version.content))
        ),
        service_name=settings.service_name,
        service_contact=settings.service_contact,
        time_zone=settings.time_zone,
        key_worker_name=worker.display_name if worker else "",
        not_signed_yet=(
            _not_signed_yet(s, doc, client) if draft and number == doc.head_number else []
        ),
        latest_version=doc.head_number if draft and number < doc.head_number else None,
    )


def _not_signed_yet(s, doc: Document, client: User) -> list[pdf.UnsignedLine]:
    """Who the latest version still waits for, by name: the client, and the key worker who
    holds the caseload now (after a handover, not the one who may have signed). Whoever
    declined is on the signature page already, as having declined."""
    decision = decide_for(s, doc)
    worker_id = current_key_worker(s, doc.client_id)
    people = {Role.CLIENT: (client.id, client.display_name)}
    people[Role.KEY_WORKER] = (
        (worker_id, s.get(User, worker_id).display_name) if worker_id else (None, "")
    )
    out = []
    for role in decision.waiting_for:
        user_id, name = people[role]
        if user_id is None or user_id not in decision.on_head:
            out.append(pdf.UnsignedLine(name, role.label.capitalize()))
    return out


# --- the sealed PDF job -------------------------------------------------------------------------


def run_pending(
    db: Database, settings: PdfSettings, now: datetime | None = None, limit: int = 5
) -> int:
    """Render and seal PDFs that are due. Safe to run in several processes at once. Returns
    how many were finished."""
    done = 0
    for _ in range(limit):
        job = _claim(db, now or utcnow())
        if job is None:
            break
        done += _produce(db, settings, job)
    return done


def has_due(db: Database, now: datetime) -> bool:
    """Whether a PDF is waiting to be made: a cheap read before claiming with a write."""
    with db.read() as s:
        return (
            s.scalar(
                select(PdfRender.id)
                .where(PdfRender.status == "pending", PdfRender.next_attempt_at <= now)
                .limit(1)
            )
            is not None
        )


def _claim(db: Database, now: datetime) -> dict | None:
    with db.write() as s:
        render = s.scalar(
            select(PdfRender)
            .where(
                or_(
                    (PdfRender.status == "pending") & (PdfRender.next_attempt_at <= now),
                    (PdfRender.status == "rendering") & (PdfRender.claimed_until < now),
                )
            )
            .order_by(PdfRender.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if render is None:
            return None
        render.status = "rendering"
        render.claimed_until = now + LEASE
        render.attempts += 1
        render.updated_at = now
        doc = s.get(Document, render.document_id)
        return {
            "id": render.id,
            "document_id": doc.id,
            "number": render.version_number,
            "short_code": render.short_code,
            "agreed_on": service_day(render.agreed_at),
            "attempts": render.attempts,
        }


def _produce(db: Database, settings: PdfSettings, job: dict) -> int:
    try:
        with db.read() as s:
            doc = s.get(Document, job["document_id"])
            printable = _printable(
                s, doc, job["number"], False, job["short_code"], job["agreed_on"], settings
            )
        sealed = pdf.seal_with(pdf.render_pdf(printable, settings.limits), settings.credentials)
        digest = hashlib.sha256(sealed).hexdigest()
        name = f"{job['document_id']}-v{job['number']}-{digest[:16]}.pdf"
        # Written completely or not at all: a crash never leaves half a file under this name.
        pdf.write_atomically(settings.storage / name, sealed)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
        _failed(db, job, exc)
        return 0
    with db.write() as s:
        kept = s.execute(
            _still_ours(job).values(
                status="ready",
                file_name=name,
                file_sha256=digest,
                error="",
                claimed_until=None,
                updated_at=utcnow(),
            )
        ).rowcount
    if not kept:
        # This render ran past its lease and another worker took the job over: its PDF is
        # the one on record (and perhaps already handed out); this one must not replace it.
        log.warning(
            "Sealed PDF for document %s version %s finished after its lease; discarded.",
            job["document_id"],
            job["number"],
        )
        with db.read() as s:
            on_record = s.scalar(select(PdfRender.file_name).where(PdfRender.id == job["id"]))
        if on_record != name:
            (settings.storage / name).unlink(missing_ok=True)
        return 0
    _remove_unrecorded(settings.storage, job, name)
    log.info("Sealed PDF ready for document %s version %s", job["document_id"], job["number"])
    return 1


def _remove_unrecorded(storage: Path, job: dict, recorded: str) -> None:
    """Files of this version that an earlier attempt wrote and never recorded (the process
    killed between writing its file, or part of it, and recording it): once this one is on
    record they can only mislead ("this service has no record of producing this file")."""
    stem = f"{job['document_id']}-v{job['number']}-"
    for pattern in (f"{stem}*.pdf", f".{stem}*.pdf.*.tmp"):
        for left in storage.glob(pattern):
            if left.name != recorded:
                log.warning("Removed %s, a sealed PDF written but never recorded.", left.name)
                left.unlink(missing_ok=True)


def _still_ours(job: dict):
    """An update of the job's row only while this claim still holds it: still rendering, and
    not claimed again since (each claim counts an attempt). A worker whose lease ran out
    (paused, swapped out, slow) must not overwrite the result of the one that took over."""
    return (
        update(PdfRender)
        .where(
            PdfRender.id == job["id"],
            PdfRender.status == "rendering",
            PdfRender.attempts == job["attempts"],
        )
        .execution_options(synchronize_session=False)
    )


def _failed(db: Database, job: dict, exc: Exception) -> None:
    message = f"{type(exc).__name__}: {exc}"[:500]
    final = job["attempts"] >= MAX_ATTEMPTS
    log.error(
        "Sealed PDF for document %s version %s failed (attempt %s%s): %s",
        job["document_id"],
        job["number"],
        job["attempts"],
        ", giving up" if final else "",
        message,
    )
    with db.write() as s:
        s.execute(
            _still_ours(job).values(
                status="failed" if final else "pending",
                error=message,
                claimed_until=None,
                next_attempt_at=utcnow() + timedelta(seconds=30 * 2 ** (job["attempts"] - 1)),
                updated_at=utcnow(),
            )
        )


def retry_failed(db: Database, actor: Actor, document_id: int, number: int) -> None:
    """The client or their key worker asked to try a failed PDF again."""
    with db.write() as s:
        render = _render_row(s, actor, document_id, number)
        doc = s.get(Document, document_id)
        if not require_read(s, actor, doc.client_id).sign:
            raise ReadOnly("Only the client and their key worker can ask for this.")
        if render.status == "failed":
            render.status, render.attempts, render.next_attempt_at = "pending", 0, utcnow()
            notify.notify(s, notify.PDF_JOBS)


# --- getting a PDF ----------------------------------------------------------------------------


# Made within a second or two of the second signature while the scheduler runs: waiting
# longer than this, the page asking says so instead of only "being prepared".
TAKING_LONG = timedelta(minutes=2)


@dataclass(frozen=True)
class SealedPdf:
    status: str  # "pending", "rendering", "ready" or "failed"
    path: Path | None
    filename: str
    attempts: int
    taking_long: bool = False  # not made yet, TAKING_LONG after the version was agreed


def _render_row(s, actor: Actor, document_id: int, number: int) -> PdfRender:
    doc = s.get(Document, document_id)
    if doc is None:
        raise NotFound()
    require_read(s, actor, doc.client_id)
    render = s.scalar(
        select(PdfRender).where(PdfRender.document_id == doc.id, PdfRender.version_number == number)
    )
    if render is None:
        raise NotFound()
    return render


def sealed_pdf(
    db: Database, actor: Actor, document_id: int, number: int, settings: PdfSettings
) -> SealedPdf:
    """The stored PDF of an agreed version, its download recorded; or, until it is made, how
    its making goes."""
    row, state = _sealed_state(db, actor, document_id, number)
    if state.status != "ready":
        return state
    # The download is recorded before the file is sent, in a transaction of its own that
    # holds the audit chain's lock only while it appends the event (careplan.services.audit).
    with db.write() as s:
        audit.record(
            s,
            actor,
            "download",
            "document",
            document_id,
            client_id=row.client_id,
            detail={
                "what": f"the signed PDF of your {KIND_LABELS[row.kind].lower()} "
                f"(version {number})",
                "version": number,  # for the document's history: which one
            },
        )
    return SealedPdf("ready", settings.storage / row.file_name, state.filename, row.attempts)


def sealed_pdf_state(db: Database, actor: Actor, document_id: int, number: int) -> SealedPdf:
    """How the making of an agreed version's PDF goes, for whoever may read it: nothing is
    downloaded, so nothing is recorded (the page waiting for it asks this every few
    seconds)."""
    return _sealed_state(db, actor, document_id, number)[1]


def _sealed_state(db: Database, actor: Actor, document_id: int, number: int):
    with db.read() as s:
        row = plain_rows(s, _STORED_PDF, {"document_id": document_id, "number": number}).first()
        if row is None:
            # Nothing to download, or no such document: the same answer either way, after
            # the same check of who is asking.
            client_id = s.scalar(select(Document.client_id).where(Document.id == document_id))
            if client_id is not None:
                require_read(s, actor, client_id)
            raise NotFound()
        require_read(s, actor, row.client_id)
    filename = sealed_filename(
        KIND_LABELS[row.kind],
        number,
        service_day(row.agreed_at),
        _whose(actor, row.client_id, row.display_name),
    )
    waited = utcnow() - row.agreed_at
    taking_long = row.status != "ready" and waited > TAKING_LONG
    return row, SealedPdf(row.status, None, filename, row.attempts, taking_long)


# Plain columns, built once with bound parameters: this runs for every download, and building
# the statement took longer than running it.
_STORED_PDF = (
    select(
        PdfRender.status,
        PdfRender.file_name,
        PdfRender.attempts,
        PdfRender.agreed_at,
        Document.client_id,
        Document.kind,
        User.display_name,  # the client's, for the file's name
    )
    .join(Document, Document.id == PdfRender.document_id)
    .join(User, User.id == Document.client_id)
    .where(
        PdfRender.document_id == bindparam("document_id"),
        PdfRender.version_number == bindparam("number"),
    )
)


_AGREED = select(
    exists().where(
        PdfRender.document_id == bindparam("document_id"),
        PdfRender.version_number == bindparam("number"),
    )
)


def draft_pdf(
    db: Database, actor: Actor, document_id: int, number: int, settings: PdfSettings
) -> tuple[bytes, str]:
    """A version nobody has agreed yet, rendered now with DRAFT on every page and no seal. An
    agreed version raises Agreed: a draft's cover says "not agreed by both of you"."""
    with db.read() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise NotFound()
        require_read(s, actor, doc.client_id)
        if not 1 <= number <= doc.head_number:
            raise NotFound()
        # Every version agreed, in force or since replaced, has its sealed PDF's row.
        if s.scalar(_AGREED, {"document_id": doc.id, "number": number}):
            raise Agreed(number)
        printable = _printable(s, doc, number, True, f"DRAFT-{number}", None, settings)
    throttle_for(db).draft_pdf_attempt(actor.id)
    # Rendered outside any transaction (it takes a while), and recorded as downloaded only
    # once there is a PDF: a render that fails leaves no "download" in the access log.
    data = pdf.render_pdf(printable, settings.limits)
    with db.write() as s:
        audit.record(
            s,
            actor,
            "download",
            "document",
            document_id,
            client_id=doc.client_id,
            detail={
                "what": f"a draft PDF of your {printable.kind_label.lower()} (version {number})",
                "version": number,  # for the document's history: which one
                "draft": True,
            },
        )
    return data, download_name(printable.title, _whose(actor, doc.client_id, printable.client_name))


def agreed_version_for(db: Database, actor: Actor, document_id: int) -> int | None:
    with db.read() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise NotFound()
        require_read(s, actor, doc.client_id)
        decision = decide_for(s, doc)
        return decision.agreed.number if decision.agreed else None


# --- checking a PDF someone holds -------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    genuine: bool
    message: str
    kind_label: str = ""
    agreed_on: date | None = None
    version_number: int | None = None
    content_hash: str = ""
    # When a later version of the same document was first agreed: this one is no longer in
    # force, and whoever relies on it (a pharmacy, an inspector) should ask for the current one.
    replaced_on: date | None = None

    @property
    def short_fingerprint(self) -> str:
        """The fingerprint's first and last eight characters, easy to compare by eye."""
        return f"{self.content_hash[:8]} … {self.content_hash[-8:]}" if self.content_hash else ""


def _replaced_on(s, render: PdfRender) -> date | None:
    first_later = s.scalar(
        select(func.min(PdfRender.agreed_at)).where(
            PdfRender.document_id == render.document_id,
            PdfRender.version_number > render.version_number,
        )
    )
    return service_day(first_later) if first_later else None


CANNOT_CHECK_FILES = (
    "Files cannot be checked here at the moment. Please try again later, or type the code "
    "printed on the document instead."
)


def verify_file(db: Database, settings: PdfSettings, data: bytes, code: str = "") -> Verdict:
    """Genuine means: the seal checks out with our certificate, nothing was changed or added,
    and it is byte for byte a PDF this service produced. A `code` typed with it must be the
    one printed on it: someone checking a copy against the code they were given must not read
    "Genuine" of another document."""
    try:
        result = pdf.verify_pdf_isolated(data, settings.credentials.checked_against)
    except pdf.SealUnavailable as exc:
        # The fault is ours, not the file's: never call a genuine PDF "not genuine" for it.
        log.error("PDF check unavailable: %s", exc)
        return Verdict(False, CANNOT_CHECK_FILES)
    except pdf.RenderFailed as exc:
        log.warning("PDF check gave up: %s", exc)
        return Verdict(
            False,
            "This file could not be checked: it is damaged, or too large or complicated to "
            "be one of our PDFs.",
        )
    if not result.valid:
        return Verdict(False, result.reason)
    digest = hashlib.sha256(data).hexdigest()
    with db.read() as s:
        render = s.scalar(
            select(PdfRender).where(PdfRender.file_sha256 == digest, PdfRender.status == "ready")
        )
        replaced_on = _replaced_on(s, render) if render else None
    if render is None:
        return Verdict(
            False, "The seal is intact, but this service has no record of producing this file."
        )
    typed = _code_typed(code)
    if (code or "").strip() and typed != render.short_code:
        return Verdict(
            False,
            f"This PDF is one of ours, unaltered, but the code typed ({typed or code.strip()}) "
            f"is not the one printed on it ({render.short_code}): the code is for another "
            "document, or was mistyped. Check you have the document you were meant to be given.",
        )
    return Verdict(
        True,
        "Genuine: this is an unaltered copy of an agreed version.",
        result.kind_label or "",
        service_day(render.agreed_at),
        render.version_number,
        render.content_hash,
        replaced_on,
    )


def _code_typed(code: str) -> str:
    """A code as printed (ABCD-EFGH-JKLM), however it was typed; "" if it is not one."""
    code = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return f"{code[:4]}-{code[4:8]}-{code[8:]}" if len(code) == 12 else ""


def verify_code(db: Database, code: str) -> Verdict:
    formatted = _code_typed(code)
    if not formatted:
        return Verdict(False, "A code has 12 letters and digits, like ABCD-EFGH-JKLM.")
    with db.read() as s:
        row = s.execute(
            select(PdfRender, Document)
            .join(Document, Document.id == PdfRender.document_id)
            .where(PdfRender.short_code == formatted)
        ).first()
        replaced_on = _replaced_on(s, row[0]) if row else None
    if row is None:
        return Verdict(False, "No agreed document has this code. Check it was typed as printed.")
    render, doc = row
    label = kind_for(doc.kind, doc.template).label
    return Verdict(
        True,
        "This code belongs to an agreed document. Check that the fingerprint printed on "
        "your copy begins and ends as the one below.",
        label,
        service_day(render.agreed_at),
        render.version_number,
        render.content_hash,
        replaced_on,
    )
