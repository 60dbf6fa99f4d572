"""Canonical serialisation and content hashes.

The hash must not depend on key order or whitespace, so two equal documents always hash the
same, on any machine: sorted keys, UTF-8, no insignificant whitespace.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_bytes(content: Any) -> bytes:
    return json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def content_hash(content: Any) -> str:
    return hashlib.sha256(canonical_bytes(content)).hexdigest()
