"""Versions and signatures checked against the hashes the audit chain recorded for them.

The chain shows an edited or removed event, and triggers keep versions and signatures
append-only; but someone who drops a trigger can change a version's content (and its stored
hash with it) or a signature, and the chain alone would not notice. Each save records the new
version's content hash in its "document.edit" event, and each signature records the version,
hash and outcome in its "sign" or "decline" event, so every row can be held against its event:

- a version's content must still hash (careplan.domain.canonical) to its stored content hash,
  and the event that recorded it must hold that same hash;
- a signature must bind the hash of the version it names, and an event must record that person
  signing that version, with that hash and outcome;
- and every such event must still have its version or signature.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass

from sqlalchemy import Text, cast, select

from ..db.models import AuditEvent, Document, SignatureRecord, Version
from ..domain.canonical import content_hash

EDIT = "document.edit"
SIGNING = ("sign", "decline")
DOCUMENTS_PER_BATCH = 500


@dataclass(frozen=True)
class RecordsReport:
    versions: int
    signatures: int
    ok: bool
    problem: str  # the first mismatch, in plain words


def verify_records(db, batch: int = DOCUMENTS_PER_BATCH) -> RecordsReport:
    """Hold every version and signature against its event, a batch of documents at a time."""
    versions = signatures = 0
    with db.read() as s:
        document_ids = s.scalars(select(Document.id).order_by(Document.id)).all()
        for start in range(0, len(document_ids), batch):
            ids = document_ids[start : start + batch]
            edits, signings = _recorded(s, ids)
            for row in s.execute(
                select(
                    Version.id,
                    Version.document_id,
                    Version.number,
                    Version.content_hash,
                    cast(Version.content, Text).label("content"),
                )
                .where(Version.document_id.in_(ids))
                .order_by(Version.id)
            ):
                versions += 1
                problem = _version_problem(row, edits.pop((row.document_id, row.number), None))
                if problem:
                    return RecordsReport(versions, signatures, False, problem)
            for row in s.execute(
                select(
                    SignatureRecord,
                    Version.document_id.label("version_document_id"),
                    Version.number.label("version_number"),
                    Version.content_hash.label("version_hash"),
                )
                .outerjoin(Version, Version.id == SignatureRecord.version_id)
                .where(SignatureRecord.document_id.in_(ids))
                .order_by(SignatureRecord.id)
            ):
                signatures += 1
                problem = _signature_problem(row, signings)
                if problem:
                    return RecordsReport(versions, signatures, False, problem)
            problem = _unmatched(edits, signings)
            if problem:
                return RecordsReport(versions, signatures, False, problem)
    return RecordsReport(versions, signatures, True, "")


def _recorded(s, document_ids):
    """The chain's record of these documents' versions and signatures.

    edits: (document, version number) -> (event id, hash)
    signings: (document, person, version number, hash, outcome) -> event ids, oldest first
    """
    edits: dict[tuple[int, int], tuple[int, str | None]] = {}
    signings: dict[tuple, deque[int]] = defaultdict(deque)
    rows = s.execute(
        select(
            AuditEvent.id,
            AuditEvent.action,
            AuditEvent.object_id,
            AuditEvent.actor_id,
            cast(AuditEvent.detail, Text).label("detail"),
        )
        .where(
            AuditEvent.object_type == "document",
            AuditEvent.object_id.in_(document_ids),
            AuditEvent.action.in_((EDIT, *SIGNING)),
        )
        .order_by(AuditEvent.id)
    )
    for row in rows:
        try:
            detail = json.loads(row.detail)
            number, digest = detail["version"], detail["hash"]
        except (ValueError, TypeError, KeyError):
            # The chain check names an unreadable or altered event; here it simply records
            # nothing, so its version or signature shows as unrecorded.
            continue
        if row.action == EDIT:
            edits[(row.object_id, number)] = (row.id, digest)
        else:
            outcome = detail.get("outcome")
            signings[(row.object_id, row.actor_id, number, digest, outcome)].append(row.id)
    return edits, signings


def _version_problem(row, recorded: tuple[int, str | None] | None) -> str:
    name = f"Version {row.number} of document {row.document_id} (row {row.id})"
    try:
        actual = content_hash(json.loads(row.content))
    except (ValueError, TypeError) as exc:
        return f"{name}: its content cannot be read ({exc})."
    if actual != row.content_hash:
        return (
            f"{name}: its content no longer matches its content hash "
            f"(stored {row.content_hash}, content hashes to {actual}); it was changed."
        )
    if recorded is None:
        return f"{name}: no event in the audit trail records it being saved."
    event_id, digest = recorded
    if digest != row.content_hash:
        return (
            f"{name}: its content hash {row.content_hash} is not the {digest} that event "
            f"{event_id} recorded when it was saved; it was replaced."
        )
    return ""


def _signature_problem(row, signings) -> str:
    sig = row.SignatureRecord
    name = (
        f"Signature {sig.id} ({sig.outcome} by user {sig.user_id} on version "
        f"{sig.version_number} of document {sig.document_id})"
    )
    if (row.version_document_id, row.version_number) != (sig.document_id, sig.version_number):
        return f"{name}: it no longer points at the version it names."
    if sig.content_hash != row.version_hash:
        return (
            f"{name}: it binds hash {sig.content_hash}, but that version's hash is "
            f"{row.version_hash}."
        )
    key = (sig.document_id, sig.user_id, sig.version_number, sig.content_hash, sig.outcome)
    if not signings.get(key):
        return (
            f"{name}: no event in the audit trail records this person signing this version "
            f"with hash {sig.content_hash} and this outcome."
        )
    signings[key].popleft()
    return ""


def _unmatched(edits, signings) -> str:
    """An event whose version or signature is gone (removed with its trigger dropped)."""
    leftover = [(event_id, "version", key) for key, (event_id, _) in edits.items()]
    leftover += [
        (event_id, "signature", key)
        for key, event_ids in signings.items()
        for event_id in event_ids
    ]
    if not leftover:
        return ""
    event_id, what, key = min(leftover)
    if what == "version":
        return (
            f"Event {event_id} records version {key[1]} of document {key[0]} being saved, "
            "but that version is no longer there."
        )
    return (
        f"Event {event_id} records user {key[1]} signing version {key[2]} of document {key[0]}, "
        "but that signature is no longer there."
    )
