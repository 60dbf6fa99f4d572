"""What the PDF adapter needs to print a document: plain data, no database, no Flask.

The services layer builds a :class:`PrintableDocument` from a version, its signatures and the
configuration; the renderer turns it into a PDF. Everything here is text to be printed as it is:
nothing is ever interpreted as HTML, CSS or a URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from careplan.domain.documents import DocumentKind
from careplan.domain.documents import Field as DocumentField

OUTCOMES = {
    "signed": "Signed",
    "signed_with_comment": "Signed with a comment",
    "declined": "Declined to sign",
}
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class SectionField:
    """One labelled piece of text. An empty label means the text is the section's lead line."""

    label: str
    text: str
    by: str = ""  # optional attribution, e.g. "Written by Sam (client)"


@dataclass
class Section:
    title: str
    fields: list[SectionField] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Accept plain (label, text) pairs as well as SectionField.
        self.fields = [f if isinstance(f, SectionField) else SectionField(*f) for f in self.fields]


@dataclass(frozen=True)
class SignatureLine:
    name: str
    role: str  # for people: "Client", "Key worker"
    signed_at: datetime
    outcome: str  # "signed", "signed_with_comment" or "declined" (spaces also accepted)
    comment: str = ""  # the comment, or the reason for declining
    method: str = ""  # how they proved who they were, e.g. "Password and second factor"

    def __post_init__(self) -> None:
        outcome = self.outcome.strip().lower().replace(" ", "_")
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown signature outcome {self.outcome!r}")
        object.__setattr__(self, "outcome", outcome)

    @property
    def outcome_label(self) -> str:
        return OUTCOMES[self.outcome]


@dataclass
class PrintableDocument:
    kind_label: str  # "Care plan" or "Partnership agreement": never the service's specialism
    agreed_on: date | None
    client_name: str
    sections: list[Section]
    signatures: list[SignatureLine]
    content_hash: str  # SHA-256 hex of the version's canonical content
    version_number: int
    short_code: str  # printed on the PDF; typed into the verify page
    draft: bool
    redisclosure_notice: str | None
    verify_url: str
    next_review_on: date | None = None

    def __post_init__(self) -> None:
        if not self.kind_label.strip():
            raise ValueError("kind_label is required")
        if not HASH_RE.match(self.content_hash):
            raise ValueError("content_hash must be 64 lowercase hexadecimal characters")
        if not self.draft and self.agreed_on is None:
            raise ValueError("an agreed (non-draft) document needs agreed_on")
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", self.short_code):
            raise ValueError("short_code must be 1-64 letters, digits or hyphens")
        self.sections = [
            s if isinstance(s, Section) else Section(s[0], list(s[1])) for s in self.sections
        ]

    @property
    def blank_text(self) -> str:
        """What an empty part says: never dropped, and once agreed, left blank on purpose
        (signers confirm empty key parts of an agreement; careplan.services.signoff)."""
        return "Not filled in yet" if self.draft else "Left blank on purpose"

    @property
    def title(self) -> str:
        """'Care plan – 22 November 2026': the kind and the date, nothing about the service."""
        return document_title(self.kind_label, self.version_number, self.agreed_on, self.draft)

    def filename(self, ascii_only: bool = False) -> str:
        return pdf_filename(self.title, ascii_only)


def document_title(
    kind_label: str, version_number: int, agreed_on: date | None, draft: bool
) -> str:
    if draft:
        return f"{kind_label} – draft, version {version_number}"
    return f"{kind_label} – {long_date(agreed_on)}"


def pdf_filename(title: str, ascii_only: bool = False) -> str:
    """The file name for a title: no characters file systems refuse; optionally ASCII only."""
    name = title if title.endswith(".pdf") else f"{title}.pdf"
    if ascii_only:
        name = name.replace("–", "-").encode("ascii", "ignore").decode()
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "", name)


def long_date(value: date | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def long_datetime(value: datetime) -> str:
    text = f"{long_date(value)} at {value:%H:%M}"
    if value.tzinfo is not None:
        text += f" ({value.tzname() or value.strftime('%z')})"
    return text


def sections_from_kind(kind: DocumentKind, content: dict) -> list[Section]:
    """The printable sections of a document of any kind.

    A kind may provide its own layout with a ``pdf_sections(content)`` hook; otherwise its
    readable fields are grouped generically (see :func:`sections_from_fields`).
    """
    hook = getattr(kind, "pdf_sections", None)
    if callable(hook):
        return list(hook(content))
    return sections_from_fields(kind.fields(content))


def sections_from_fields(fields: Iterable[DocumentField]) -> list[Section]:
    """Group consecutive fields whose labels share a prefix into one section.

    A field's label up to its first ':' (or the whole label) opens a section; following fields
    whose labels continue that title with ',' or ':' join it. So 'Goal 1', 'Goal 1, step 1' and
    'Goal 1, step 1: who' become section 'Goal 1' with the goal as its lead line and 'Step 1',
    'Step 1: who' as labelled fields; 'Housing: in my own words' becomes section 'Housing' with
    the field 'In my own words'.
    """
    sections: list[Section] = []
    for f in fields:
        label = f.label.strip()
        rest = _continues(label, sections[-1].title) if sections else None
        if rest is None:
            title, _, rest = label.partition(":")
            sections.append(Section(title.strip()))
        sections[-1].fields.append(SectionField(_capitalise(rest.strip()), f.text or ""))
    return sections


def _continues(label: str, title: str) -> str | None:
    """The rest of ``label`` if it belongs to the section ``title``, else None."""
    if label == title:
        return ""
    if label.startswith(title) and label[len(title) : len(title) + 1] in (",", ":"):
        return label[len(title) + 1 :]
    return None


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
