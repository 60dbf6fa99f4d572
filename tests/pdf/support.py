"""Shared helpers for the PDF adapter tests: sample documents and reading PDFs back."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from io import BytesIO

from pypdf import PdfReader

from careplan.domain.canonical import content_hash
from careplan.domain.care_plan import CARE_PLAN
from careplan.pdf import PrintableDocument, SignatureLine, sections_from_kind

NOTICE = "Confidential record. Do not pass this on without the client's consent."
SERVICE_NAME = "Riverside Community Team"
SERVICE_CONTACT = "12 Mill Lane, Leeds · 0113 496 0000"


def care_plan_content(**overrides) -> dict:
    raw = {
        "domains": {
            "housing": {"own_words": "I'm in a hostel. It's noisy.\nI want my own flat."},
            "money": {"own_words": "Benefits run out by the second week."},
        },
        "goals": [
            {
                "title": "Find a flat near my sister",
                "steps": [
                    {
                        "text": "Register on the council housing list",
                        "owner": {"kind": "client"},
                        "due": "2026-12-01",
                    },
                    {
                        "text": "Write a support letter",
                        "owner": {"kind": "key_worker"},
                        "due": "2026-12-05",
                        "status": "in_progress",
                    },
                ],
            }
        ],
        "care_team": [
            {
                "name": "Dr Priya Patel",
                "role": "GP",
                "what_they_do": "Check-ups",
                "may_see": "Goals",
            }
        ],
        "what_matters": {"text": "My daughter. Being treated like an adult."},
    }
    raw.update(overrides)
    return CARE_PLAN.validate(raw)


def signatures() -> list[SignatureLine]:
    return [
        SignatureLine(
            "Sam Taylor",
            "Client",
            datetime(2026, 11, 22, 14, 5, tzinfo=UTC),
            "signed with comment",
            "I agree, but I want to revisit the first goal in a month.",
            "Password",
        ),
        SignatureLine(
            "Alex Morgan",
            "Key worker",
            datetime(2026, 11, 22, 15, 30, tzinfo=UTC),
            "signed",
            "",
            "Password and second factor",
        ),
    ]


def printable(content: dict | None = None, **overrides) -> PrintableDocument:
    content = content if content is not None else care_plan_content()
    fields = {
        "kind_label": "Care plan",
        "agreed_on": date(2026, 11, 22),
        "client_name": "Sam Taylor",
        "sections": sections_from_kind(CARE_PLAN, content, "Sam Taylor", "Alex Morgan"),
        "signatures": signatures(),
        "content_hash": content_hash(content),
        "version_number": 3,
        "short_code": "K7Q4-XM92",
        "draft": False,
        "redisclosure_notice": NOTICE,
        "verify_url": "https://careplan.example.org/verify",
        "next_review_on": date(2027, 2, 14),
        "service_name": SERVICE_NAME,
        "service_contact": SERVICE_CONTACT,
    }
    fields.update(overrides)
    if fields["draft"] and "next_review_on" not in overrides:
        fields["next_review_on"] = None  # set only when a version is agreed
    return PrintableDocument(**fields)


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(pdf)).pages]


_SQUASH = re.compile(r"[\s\u200b]+")


def squash(text: str) -> str:
    """Text without any whitespace or break opportunities: line wrapping cannot hide a match."""
    return _SQUASH.sub("", text)


def running(pid: int) -> bool:
    """Whether a process exists and has not finished (zombies count as finished)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
