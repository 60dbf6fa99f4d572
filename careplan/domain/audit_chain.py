"""The hash chain over audit events."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from .canonical import canonical_bytes

GENESIS = "0" * 64


def event_hash(fields: dict, prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(fields)).hexdigest()


CHECKPOINT_FORMAT = "careplan-audit-checkpoint/1"


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at one moment, to be signed and kept outside the database.

    Because each event's hash covers every event before it, a chain that still holds the
    checkpointed event with the same hash still holds everything up to it, unchanged.
    """

    number: int  # 1, 2, 3 … in the order they were taken
    event_id: int
    event_hash: str
    events: int  # how many events the chain held, up to and including event_id
    at: datetime
    certificate: str  # SHA-256 fingerprint of the certificate whose key signs it

    def signed_bytes(self) -> bytes:
        """What the signature covers: every field, named, in the canonical form."""
        return canonical_bytes(self.fields())

    def fields(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "number": self.number,
            "event_id": self.event_id,
            "event_hash": self.event_hash,
            "events": self.events,
            "at": self.at.astimezone(UTC).isoformat(),
            "certificate": self.certificate,
        }

    @classmethod
    def from_fields(cls, fields: dict) -> Checkpoint:
        """Raises ValueError for anything that is not a checkpoint of this format."""
        if not isinstance(fields, dict) or fields.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("not a checkpoint of this format")
        try:
            checkpoint = cls(
                number=fields["number"],
                event_id=fields["event_id"],
                event_hash=fields["event_hash"],
                events=fields["events"],
                at=datetime.fromisoformat(fields["at"]),
                certificate=fields["certificate"],
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a field is missing or malformed ({exc})") from None
        numbers = (checkpoint.number, checkpoint.event_id, checkpoint.events)
        texts = (checkpoint.event_hash, checkpoint.certificate)
        if not all(type(n) is int and n > 0 for n in numbers) or not all(
            isinstance(t, str) for t in texts
        ):
            raise ValueError("a field has the wrong type")
        if checkpoint.at.tzinfo is None:
            raise ValueError("its time has no time zone")
        return checkpoint
