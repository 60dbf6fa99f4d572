"""Which document kind a stored document is."""

from __future__ import annotations

from .agreement import AgreementKind
from .care_plan import CARE_PLAN
from .documents import DocumentKind

KIND_LABELS = {"care_plan": CARE_PLAN.label, "agreement": AgreementKind.label}


def kind_for(name: str, template: dict | None = None) -> DocumentKind:
    if name == CARE_PLAN.name:
        return CARE_PLAN
    if name == AgreementKind.name and template:
        return AgreementKind(template)
    raise KeyError(f"unknown document kind {name!r}")
