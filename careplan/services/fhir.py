"""FHIR R4 export of one version of a document (careplan.domain.fhir does the mapping).

`bundle_for` is the one entry point for the web page and the API alike: the same access rules
as reading the document (a record the person may not see is not found), and every export is
recorded as a download, which the client sees in their access log.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.models import Comment, Document, PdfRender, SignatureRecord, User, Version, utcnow
from ..domain import fhir
from ..domain.addresses import under
from ..domain.kinds import kind_for
from ..domain.local_time import service_day
from ..domain.roles import Role
from . import audit
from .access import require_read
from .actor import Actor
from .errors import NotFound
from .pdfs import sealed_filename, storage_path
from .signoff import current_key_worker


@dataclass(frozen=True)
class ExportSettings:
    """What exports need from the configuration: the service's address and the PDF store."""

    base_url: str
    pdf_storage: Path

    @classmethod
    def from_config(cls, config, instance_path: Path | str) -> ExportSettings:
        return cls(config["PUBLIC_BASE_URL"].rstrip("/"), storage_path(config, instance_path))


def bundle_for(
    db: Database,
    actor: Actor,
    document_id: int,
    version_number: int,
    settings: ExportSettings,
    now: datetime | None = None,
) -> dict:
    """The FHIR R4 Bundle of one version, for anyone who may read the document."""
    with db.write() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            raise NotFound()
        require_read(s, actor, doc.client_id)
        if not 1 <= version_number <= doc.head_number:
            raise NotFound()
        facts = version_facts(s, doc, version_number, settings)
        audit.record(
            s,
            actor,
            "download",
            "document",
            doc.id,
            client_id=doc.client_id,
            detail={
                "what": f"your {facts.kind.label.lower()} (version {version_number}) "
                "in FHIR format",
                "version": version_number,
                "format": "fhir",
            },
        )
    return fhir.bundle(facts, now or utcnow())


def download_name(bundle: dict) -> str:
    plan = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
    return f"{plan['title']} – version {plan['meta']['versionId']} (FHIR).json"


# --- gathering the facts ------------------------------------------------------------------------


def _person(user: User) -> fhir.Person:
    return fhir.Person(user.id, user.display_name, user.role)


def version_facts(
    s: Session, doc: Document, number: int, settings: ExportSettings
) -> fhir.VersionFacts:
    """Everything the bundle of one version says, read in the caller's transaction."""
    kind = kind_for(doc.kind, doc.template)
    version, author = s.execute(
        select(Version, User)
        .join(User, User.id == Version.author_id)
        .where(Version.document_id == doc.id, Version.number == number)
    ).one()
    client = s.get(User, doc.client_id)
    signatures = [
        fhir.SignatureFact(_person(u), r.role, r.outcome, r.comment, r.signed_at)
        for r, u in s.execute(
            select(SignatureRecord, User)
            .join(User, User.id == SignatureRecord.user_id)
            .where(
                SignatureRecord.document_id == doc.id,
                SignatureRecord.version_number == number,
                # A signature counts only for the exact content it was given on.
                SignatureRecord.content_hash == version.content_hash,
            )
            .order_by(SignatureRecord.id)
        )
    ]
    titles = dict(kind.sections())
    comments = [
        fhir.CommentFact(_person(u), titles.get(c.section_key, c.section_key), c.body, c.created_at)
        for c, u in s.execute(
            select(Comment, User)
            .join(User, User.id == Comment.author_id)
            .where(Comment.document_id == doc.id, Comment.version_number == number)
            .order_by(Comment.id)
        )
    ]
    # Every version that became agreed has its sealed PDF row, made at that moment: the latest
    # of them is in force, and each was replaced when the next one was agreed.
    renders = list(
        s.scalars(
            select(PdfRender)
            .where(PdfRender.document_id == doc.id)
            .order_by(PdfRender.version_number)
        )
    )
    this = next((r for r in renders if r.version_number == number), None)
    later = [r for r in renders if r.version_number > number]
    worker = next((sig.person for sig in signatures if sig.role == Role.KEY_WORKER.value), None)
    if worker is None:
        worker_id = current_key_worker(s, doc.client_id)
        worker = _person(s.get(User, worker_id)) if worker_id else None
    return fhir.VersionFacts(
        base_url=settings.base_url,
        document_id=doc.id,
        kind=kind,
        title=doc.title,
        number=number,
        content=version.content,
        content_hash=version.content_hash,
        created_at=version.created_at,
        change_note=version.change_note,
        author=_person(author),
        client=_person(client),
        key_worker=worker,
        agreed_at=this.agreed_at if this else None,
        in_force=this is not None and not later,
        replaced_at=later[0].agreed_at if this and later else None,
        next_review_on=doc.next_review_on,
        signatures=signatures,
        comments=comments,
        sealed_pdf=_sealed_pdf(doc, kind.label, this, settings) if this else None,
    )


def _sealed_pdf(
    doc: Document, label: str, render: PdfRender, settings: ExportSettings
) -> fhir.SealedPdfFact | None:
    if render.status != "ready":
        return None  # still being made: the consent has no source yet
    url = under(
        settings.base_url, f"/documents/{doc.id}/versions/{render.version_number}/signed.pdf"
    )
    fact = fhir.SealedPdfFact(
        url=url,
        title=sealed_filename(label, render.version_number, service_day(render.agreed_at)),
        created=render.agreed_at,
    )
    try:
        data = (settings.pdf_storage / render.file_name).read_bytes()
    except OSError:
        return fact
    sha1 = base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
    return replace(fact, size=len(data), sha1_base64=sha1)
