"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows an event that was edited or removed, but not a tail that was cut off, nor
a chain that someone with write access to the database rewrote and re-hashed from some event
on. A checkpoint anchors it: (event id, event hash, number of events, time), signed with the
service's sealing key (careplan.pdf.seal), written once to a file of its own in a folder
outside the database. `careplan audit-verify` checks each checkpoint's signature and that the
chain still holds each checkpointed event with the same hash. What was written after the
newest checkpoint is not anchored yet, so checkpoints are taken often (the scheduler, every
AUDIT_CHECKPOINT_SECONDS) and the folder is worth copying to storage the database's users
cannot change.

Files are `00000001.json`, `00000002.json`, … Each is written through a temporary file and
linked into place, never over an existing one, under a lock on the folder, so a checkpoint
from `careplan audit-checkpoint` and one from the scheduler never take the same number.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from sqlalchemy import select

from ..db.models import AuditEvent
from ..domain.audit_chain import Checkpoint
from ..files import private_folder, write_atomically
from . import audit

FOLDER = "audit-checkpoints"
FILE_NAME = re.compile(r"^(\d{8})\.json$")
LOOKUPS_PER_QUERY = 500


class CheckpointError(RuntimeError):
    """A checkpoint cannot be signed or stored (key, certificate or folder)."""


@dataclass(frozen=True)
class CheckpointSettings:
    folder: Path
    cert_path: Path
    key_path: Path
    key_passphrase: bytes | None
    # Certificates of keys that signed earlier checkpoints, kept after replacing the seal.
    earlier_certs: tuple[Path, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], instance_path: Path | str):
        from ..pdf.seal import credentials_from_config

        seal = credentials_from_config(config, instance_path)
        earlier = config.get("AUDIT_CHECKPOINT_EARLIER_CERT_PATHS") or ()
        if isinstance(earlier, str):
            earlier = [p for p in earlier.split(os.pathsep) if p]
        return cls(
            folder=Path(config.get("AUDIT_CHECKPOINT_PATH") or Path(instance_path) / FOLDER),
            cert_path=seal.cert_path,
            key_path=seal.key_path,
            key_passphrase=seal.key_passphrase,
            earlier_certs=tuple(Path(p) for p in earlier),
        )


# --- taking a checkpoint ------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    checkpoint: Checkpoint | None  # None: nothing new to anchor, or refused (see problem)
    path: Path | None
    message: str
    problem: bool = False


def take(db, settings: CheckpointSettings, now: datetime) -> Taken:
    """Sign and store the chain's head, if it moved since the newest checkpoint.

    Only a chain that extends the newest checkpoint is anchored: its event must still be
    there with the same hash, and every event after it must fit the chain. Otherwise nothing
    is written and the problem is returned, for audit-verify to name in full.
    """
    fingerprint = _fingerprint(_certificate(settings.cert_path))
    private_folder(settings.folder)
    with _folder_lock(settings.folder):
        try:
            latest = _newest(settings.folder)
        except ValueError as exc:
            message = f"No checkpoint taken: {exc} Run `careplan audit-verify`."
            return Taken(None, None, message, problem=True)
        since = (latest.event_id, latest.event_hash) if latest else None
        with db.read() as s:
            head = s.execute(
                select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
            ).first()
            still = (
                s.scalar(select(AuditEvent.hash).where(AuditEvent.id == latest.event_id))
                if latest
                else None
            )
        if head is None and latest is None:
            return Taken(None, None, "The audit trail is empty; there is nothing to anchor yet.")
        if latest is not None and still != latest.event_hash:
            return Taken(
                None,
                None,
                f"No checkpoint taken: event {latest.event_id}, anchored by checkpoint "
                f"{latest.number}, is {'gone' if still is None else 'not as it was'}. "
                "Run `careplan audit-verify`.",
                problem=True,
            )
        if latest is not None and head.id == latest.event_id:
            return Taken(
                None,
                None,
                f"No new checkpoint: the audit trail has not moved since checkpoint "
                f"{latest.number} (event {latest.event_id}).",
            )
        report = audit.verify_chain(db, since=since, until=head.id)
        if not report.ok:
            return Taken(
                None,
                None,
                f"No checkpoint taken: the audit trail is broken at event {report.broken_at} "
                f"({report.reason}). Run `careplan audit-verify`.",
                problem=True,
            )
        checkpoint = Checkpoint(
            number=(latest.number + 1) if latest else 1,
            event_id=head.id,
            event_hash=head.hash,
            events=(latest.events if latest else 0) + report.events,
            at=now,
            certificate=fingerprint,
        )
        signature = _sign(_private_key(settings), checkpoint.signed_bytes())
        body = {**checkpoint.fields(), "signature": base64.b64encode(signature).decode("ascii")}
        path = _path(settings.folder, checkpoint.number)
        _write_once(path, json.dumps(body, indent=2, sort_keys=True).encode("utf-8") + b"\n")
    return Taken(
        checkpoint,
        path,
        f"Checkpoint {checkpoint.number} taken: event {checkpoint.event_id} "
        f"({checkpoint.events} events), kept in {path}.",
    )


def _write_once(path: Path, data: bytes) -> None:
    write_atomically(path, data, mode=0o444, replace=False)


class _folder_lock:
    def __init__(self, folder: Path):
        self.path = folder / ".lock"

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _path(folder: Path, number: int) -> Path:
    return folder / f"{number:08d}.json"


def _files(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    found = [(FILE_NAME.match(p.name), p) for p in folder.iterdir()]
    return sorted((int(m.group(1)), p) for m, p in found if m)


def _read(path: Path) -> tuple[Checkpoint, bytes]:
    """The checkpoint in a file and its signature; ValueError if it is not one."""
    try:
        body = json.loads(path.read_bytes())
        signature = base64.b64decode(body.pop("signature"), validate=True)
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"it cannot be read ({exc.__class__.__name__}: {exc})") from None
    return Checkpoint.from_fields(body), signature


def _newest(folder: Path) -> Checkpoint | None:
    files = _files(folder)
    if not files:
        return None
    try:
        checkpoint, _ = _read(files[-1][1])
    except ValueError as exc:
        raise ValueError(f"the newest checkpoint, {files[-1][1]}: {exc}.") from None
    return checkpoint


# --- checking the checkpoints -------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointReport:
    checkpoints: int
    ok: bool
    problem: str
    latest: Checkpoint | None = None


def verify(db, settings: CheckpointSettings) -> CheckpointReport:
    """Every checkpoint is signed with a trusted certificate and unchanged, they are numbered
    without gaps, and the chain still holds each checkpointed event with the same hash."""
    trusted = _trusted(settings)
    checkpoints: list[Checkpoint] = []
    files = _files(settings.folder)
    for expected, (number, path) in enumerate(files, start=files[0][0] if files else 1):
        name = f"Checkpoint {number} ({path})"
        if number != expected:
            return CheckpointReport(
                len(checkpoints), False, f"Checkpoint {expected} is missing from {path.parent}."
            )
        try:
            checkpoint, signature = _read(path)
        except ValueError as exc:
            return CheckpointReport(len(checkpoints), False, f"{name}: {exc}.")
        public_key = trusted.get(checkpoint.certificate)
        if public_key is None:
            return CheckpointReport(
                len(checkpoints),
                False,
                f"{name}: signed with a certificate this installation does not trust "
                f"(SHA-256 {checkpoint.certificate}).",
            )
        if not _signature_fits(public_key, signature, checkpoint.signed_bytes()):
            return CheckpointReport(
                len(checkpoints), False, f"{name}: its signature does not fit; it was changed."
            )
        if checkpoint.number != number:
            return CheckpointReport(len(checkpoints), False, f"{name}: it was renamed.")
        if checkpoints and checkpoint.event_id < checkpoints[-1].event_id:
            return CheckpointReport(
                len(checkpoints), False, f"{name}: it names an event before the one before it."
            )
        checkpoints.append(checkpoint)
    problem = _chain_problem(db, checkpoints)
    return CheckpointReport(
        len(checkpoints), not problem, problem, checkpoints[-1] if checkpoints else None
    )


def _chain_problem(db, checkpoints: list[Checkpoint]) -> str:
    """The first checkpoint whose event the chain no longer holds, with the same hash."""
    with db.read() as s:
        last = s.execute(
            select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)
        ).scalar_one_or_none()
        for start in range(0, len(checkpoints), LOOKUPS_PER_QUERY):
            batch = checkpoints[start : start + LOOKUPS_PER_QUERY]
            stored = dict(
                s.execute(
                    select(AuditEvent.id, AuditEvent.hash).where(
                        AuditEvent.id.in_({c.event_id for c in batch})
                    )
                ).all()
            )
            for c in batch:
                name = (
                    f"Checkpoint {c.number} (taken {c.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC, event "
                    f"{c.event_id}, {c.events} events)"
                )
                if c.event_id not in stored:
                    if last is None or c.event_id > last:
                        ends = f"event {last}" if last else "no event at all"
                        return (
                            f"{name}: event {c.event_id} is gone; the audit trail now ends at "
                            f"{ends}, so events were removed from its end."
                        )
                    return f"{name}: event {c.event_id} is gone from the audit trail."
                if stored[c.event_id] != c.event_hash:
                    return (
                        f"{name}: event {c.event_id} no longer has the hash that was "
                        "checkpointed; the audit trail was rewritten at or before it."
                    )
    return ""


# --- signing with the seal's key ------------------------------------------------------------


def _certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"Could not load the certificate {path}: {exc}") from None


def _private_key(settings: CheckpointSettings):
    # Loading checks the key, which takes a moment for RSA: only done when signing.
    try:
        return serialization.load_pem_private_key(
            settings.key_path.read_bytes(), settings.key_passphrase
        )
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"Could not load the sealing key: {exc}") from None


def _trusted(settings: CheckpointSettings) -> dict[str, Any]:
    """Public keys by certificate fingerprint: the seal's and any earlier ones."""
    certs = [_certificate(path) for path in (settings.cert_path, *settings.earlier_certs)]
    return {_fingerprint(cert): cert.public_key() for cert in certs}


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _sign(key, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, _PSS, hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return key.sign(data)
    raise CheckpointError(f"The sealing key's type ({type(key).__name__}) cannot sign here.")


def _signature_fits(public_key, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, _PSS, hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            public_key.verify(signature, data)
        else:
            return False
    except InvalidSignature:
        return False
    return True


_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
