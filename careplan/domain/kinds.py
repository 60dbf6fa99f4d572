"""Registry of document kinds."""

from __future__ import annotations

from .care_plan import CARE_PLAN
from .documents import DocumentKind

KINDS: dict[str, DocumentKind] = {CARE_PLAN.name: CARE_PLAN}


def kind_named(name: str) -> DocumentKind:
    return KINDS[name]
