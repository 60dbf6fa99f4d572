"""Which document kind a stored document is."""

from __future__ import annotations

import json
from functools import lru_cache

from .agreement import AgreementKind
from .canonical import canonical_bytes
from .care_plan import CARE_PLAN
from .documents import DocumentKind

KIND_LABELS = {"care_plan": CARE_PLAN.label, "agreement": AgreementKind.label}


def kind_for(name: str, template: dict | None = None) -> DocumentKind:
    if name == CARE_PLAN.name:
        return CARE_PLAN
    if name == AgreementKind.name and template:
        return _agreement_kind(canonical_bytes(template).decode())
    raise KeyError(f"unknown document kind {name!r}")


@lru_cache(maxsize=64)
def _agreement_kind(template_text: str) -> AgreementKind:
    """Building an agreement's schemas from its template takes about 2 ms, and every document
    made from one template version has the same snapshot: one kind serves them all. Keyed on
    the template's canonical text, and built from its own copy of it, so no caller's dict is
    shared (nothing changes a kind's template once it is built)."""
    return AgreementKind(json.loads(template_text))
