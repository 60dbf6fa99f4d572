"""The hash chain over audit events."""

from __future__ import annotations

import hashlib

from .canonical import canonical_bytes

GENESIS = "0" * 64


def event_hash(fields: dict, prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(fields)).hexdigest()
