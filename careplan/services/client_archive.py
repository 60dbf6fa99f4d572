"""Everything held about a client, as one archive they can download and keep.

Readable parts first: every version of every document as JSON and as FHIR, the sealed PDFs,
signatures, comments and the access log. Then, so that nothing is left out (including tables
added later), every row of every table that refers to the client or to one of their
documents, with secrets (password and calendar token hashes) and other people's network
addresses left out. A document only started, with nothing ever saved in it, is not one of
theirs here (unless the client has unsaved writing in it): there is nothing in it to keep.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.models import (
    AuditEvent,
    Base,
    Comment,
    Document,
    EditDraft,
    PdfRender,
    SignatureRecord,
    User,
    Version,
    utcnow,
)
from ..domain import fhir
from ..domain.addresses import under
from ..domain.kinds import kind_for
from ..domain.local_time import service_day, show
from ..domain.readable_records import ReadableDocument, readable_records
from ..domain.roles import Role
from ..domain.signoff import Outcome
from . import audit
from .actor import Actor
from .errors import NotFound
from .fhir import ExportSettings, version_facts

# Never leave the service, whoever asks: secrets, and session bookkeeping.
SECRET_COLUMNS = {
    "password_hash",
    "token_hash",
    "session_epoch",
    "second_factor_secret",  # the key that makes the codes of their app
    "second_factor_last_step",
    "code_hash",  # their backup codes
}
# Rows that only their writer ever sees (unsaved edits): in the archive only when the client
# wrote them.
PRIVATE_TO_WRITER = {"edit_drafts": "user_id"}

README = """Everything the service at {service} holds about {name}
Made on {when}.

Start with "your-records.txt": your plans and agreements as they are now, with their
signatures and comments, and who looked at your records, in words. The rest is the same
and more, for other programs and systems:

your-records.txt      to read: each document's latest words, signatures and comments, and
                      who looked at your records
access-log.json       who read, exported or downloaded your records, other than you (your key
                      worker's everyday reading is not listed; what they download is)
documents/            one folder per care plan or agreement (not one only started, with
                      nothing saved in it, unless you have unsaved writing in it):
  document.json         what it is, its signatures, comments and sealed PDFs
  version-N.json        the full content of version N, who saved it, when, and its fingerprint
  version-N.fhir.json   the same version as FHIR R4, for other health and care systems
  signed-version-N.pdf  the sealed PDF of an agreed version (check it at {verify})
records/              every row held about you, table by table (the complete record)
people.json           the names and roles of the people these records mention
manifest.json         every file in this archive with its SHA-256

Network addresses of other people are left out; so are password and calendar secrets.
"""


def archive_name(client_name: str, on: date) -> str:
    return f"My records – {client_name} – {on.isoformat()}.zip"


def write_archive(
    db: Database,
    actor: Actor,
    client_id: int,
    settings: ExportSettings,
    out: IO[bytes],
    now: datetime | None = None,
    zone: tzinfo = UTC,
) -> str:
    """Write the client's archive to `out` and return its file name. Only the client
    themselves may have it; for anyone else it does not exist. `zone`: the service's, for
    the times in the file to read."""
    if actor.role is not Role.CLIENT or actor.id != client_id:
        raise NotFound()
    now = now or utcnow()
    with db.snapshot() as s:
        client = s.get(User, client_id)
        if client is None:
            raise NotFound()
        writer = _Writer(out)
        writer.text(
            "README.txt",
            README.format(
                service=settings.base_url,
                name=client.display_name,
                when=show(now, zone),  # as the pages say a moment, on the service's clock
                verify=under(settings.base_url, "/verify"),
            ),
        )
        log = _access_log(s, client_id)
        writer.json("access-log.json", log)
        readable = []
        for doc in s.scalars(
            sa.select(Document).where(Document.id.in_(_kept(client_id))).order_by(Document.id)
        ):
            readable.append(_write_document(s, writer, doc, settings, now))
        writer.text(
            "your-records.txt",
            readable_records(client.display_name, now, readable, log, zone),
        )
        people = _write_records(s, writer, client_id)
        writer.json("people.json", _people(s, people))
        writer.finish(
            {
                "client": {"id": client.id, "name": client.display_name},
                "generated_at": now.isoformat(),
                "service": settings.base_url,
            }
        )
    with db.write() as s:
        audit.record(
            s,
            actor,
            "export",
            "client",
            client_id,
            client_id=client_id,
            detail={"what": "all your records, as one archive"},
        )
    return archive_name(client.display_name, service_day(now))


class _Writer:
    """A zip whose manifest lists every file with its SHA-256."""

    def __init__(self, out: IO[bytes]):
        self.zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        self.files: list[dict] = []

    def bytes(self, name: str, data: bytes) -> None:
        self.zip.writestr(name, data)
        self.files.append(
            {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )

    def text(self, name: str, text: str) -> None:
        self.bytes(name, text.encode("utf-8"))

    def json(self, name: str, value: Any) -> None:
        self.text(name, json.dumps(value, indent=2, ensure_ascii=False, default=_plain) + "\n")

    def finish(self, about: dict) -> None:
        manifest = {**about, "files": self.files}
        self.zip.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        self.zip.close()


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__}")


def _who(user: User | None) -> dict:
    if user is None:
        return {"name": "the system", "role": "system"}
    return {"name": user.display_name, "role": Role(user.role).label}


def _access_log(s: Session, client_id: int) -> list[dict]:
    rows = s.execute(
        sa.select(AuditEvent, User)
        .join(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.client_id == client_id,
            AuditEvent.actor_id != client_id,
            AuditEvent.action.in_(list(audit.ACCESS_ACTIONS)),
        )
        .order_by(AuditEvent.id)
    )
    return [
        {
            "at": e.at,
            **_who(u),
            "what": f"{audit.ACCESS_ACTIONS[e.action]} {e.detail.get('what', 'your records')}",
        }
        for e, u in rows
    ]


def _folder(doc: Document) -> str:
    return f"documents/{doc.id:05d}-{doc.kind.replace('_', '-')}"


def _write_document(
    s: Session, writer: _Writer, doc: Document, settings: ExportSettings, now: datetime
) -> ReadableDocument:
    kind = kind_for(doc.kind, doc.template)
    folder = _folder(doc)
    titles = dict(kind.sections())
    latest = None
    for version, author in s.execute(
        sa.select(Version, User)
        .join(User, User.id == Version.author_id)
        .where(Version.document_id == doc.id)
        .order_by(Version.number)
    ):
        latest = version
        writer.json(
            f"{folder}/version-{version.number}.json",
            {
                "document": doc.id,
                "title": doc.title,
                "version": version.number,
                "saved_by": _who(author),
                "saved_at": version.created_at,
                "change_note": version.change_note,
                "fingerprint_sha256": version.content_hash,
                "content": version.content,
            },
        )
        facts = version_facts(s, doc, version.number, settings)
        writer.json(f"{folder}/version-{version.number}.fhir.json", fhir.bundle(facts, now))
    pdfs = []
    for render in s.scalars(
        sa.select(PdfRender).where(PdfRender.document_id == doc.id).order_by(PdfRender.id)
    ):
        entry = {
            "version": render.version_number,
            "agreed_at": render.agreed_at,
            "code_printed_on_it": render.short_code,
            "status": render.status,
            "file_sha256": render.file_sha256 or None,
            "file": None,
        }
        if render.status == "ready":
            try:
                data = (settings.pdf_storage / render.file_name).read_bytes()
            except OSError:
                # The rest of the archive is still theirs to have; say what is missing.
                entry["missing"] = "The file could not be found. Please ask the service."
            else:
                entry["file"] = f"signed-version-{render.version_number}.pdf"
                writer.bytes(f"{folder}/{entry['file']}", data)
        pdfs.append(entry)
    about = {
        "id": doc.id,
        "kind": kind.label,
        "title": doc.title,
        "created_at": doc.created_at,
        "versions": doc.head_number,
        "agreed_version_in_force": doc.agreed_version,
        "next_review_on": doc.next_review_on,
        "template": doc.template,
        "signatures": [
            {
                **_who(u),
                "version": r.version_number,
                "outcome": Outcome(r.outcome).label,
                "comment": r.comment,
                "at": r.signed_at,
                "how": r.method,
                "fingerprint_signed": r.content_hash,
            }
            for r, u in s.execute(
                sa.select(SignatureRecord, User)
                .join(User, User.id == SignatureRecord.user_id)
                .where(SignatureRecord.document_id == doc.id)
                .order_by(SignatureRecord.id)
            )
        ],
        "comments": [
            {
                **_who(u),
                "version": c.version_number,
                "about": titles.get(c.section_key, c.section_key),
                "at": c.created_at,
                "comment": c.body,
            }
            for c, u in s.execute(
                sa.select(Comment, User)
                .join(User, User.id == Comment.author_id)
                .where(Comment.document_id == doc.id)
                .order_by(Comment.id)
            )
        ],
        "sealed_pdfs": pdfs,
    }
    writer.json(f"{folder}/document.json", about)
    return ReadableDocument(about, folder, kind.fields(latest.content) if latest else [])


# --- the complete record, table by table ----------------------------------------------------------


def _kept(client_id: int) -> sa.Select:
    """The client's documents that are in their archive: not one only started, with nothing
    ever saved in it (nothing in it to keep, and on no one's record), unless the client has
    unsaved writing in it (which is theirs)."""
    return sa.select(Document.id).where(
        Document.client_id == client_id,
        sa.or_(
            Document.head_number > 0,
            sa.exists().where(EditDraft.document_id == Document.id, EditDraft.user_id == client_id),
        ),
    )


def _about_client(table: sa.Table, client_id: int, documents: sa.Select) -> list:
    """Conditions under which a row of `table` is about the client: it names them, or one of
    their documents, in a foreign key."""
    conditions = []
    for column in table.columns:
        for fk in column.foreign_keys:
            target = fk.column
            if target.table.name == "users" and target.name == "id":
                conditions.append(column == client_id)
            elif target.table.name == "documents" and target.name == "id":
                conditions.append(column.in_(documents))
    if table.name == "users":
        conditions.append(table.c.id == client_id)
    if table.name == "documents":
        return [table.c.id.in_(documents)]  # not one only started (_kept)
    return conditions


def _write_records(s: Session, writer: _Writer, client_id: int) -> set[int]:
    """Every row about the client in every table; returns the people those rows mention."""
    documents = _kept(client_id)
    people: set[int] = {client_id}
    for table in Base.metadata.sorted_tables:
        conditions = _about_client(table, client_id, documents)
        if not conditions:
            continue
        if table.name in PRIVATE_TO_WRITER:
            writer_column = table.c[PRIVATE_TO_WRITER[table.name]]
            conditions = [sa.and_(sa.or_(*conditions), writer_column == client_id)]
        columns = [c for c in table.columns if c.name not in SECRET_COLUMNS and c.name != "ip"]
        # The client's own network addresses are theirs; other people's are not.
        ip = table.c.get("ip")
        actor = _actor_column(table)
        select_columns = list(columns)
        if ip is not None and actor is not None:
            select_columns.append(sa.case((actor == client_id, ip), else_=None).label("ip"))
        rows = s.execute(
            sa.select(*select_columns).where(sa.or_(*conditions)).order_by(*table.primary_key)
        ).mappings()
        records = [dict(r) for r in rows]
        people |= _user_ids(table, records)
        writer.json(f"records/{table.name}.json", records)
    return people


def _actor_column(table: sa.Table):
    for name in ("actor_id", "user_id"):
        if name in table.c:
            return table.c[name]
    return None


def _user_ids(table: sa.Table, records: Iterable[dict]) -> set[int]:
    columns = [
        c.name
        for c in table.columns
        if any(fk.column.table.name == "users" for fk in c.foreign_keys)
    ]
    return {r[c] for r in records for c in columns if r.get(c) is not None}


def _people(s: Session, ids: set[int]) -> list[dict]:
    users = s.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.id))
    return [{"id": u.id, **_who(u)} for u in users]
