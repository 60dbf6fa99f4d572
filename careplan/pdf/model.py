"""What the PDF adapter needs to print a document: plain data, no database, no Flask.

The services layer builds a :class:`PrintableDocument` from a version, its signatures and the
configuration; the renderer turns it into a PDF. Everything here is text to be printed as it is:
nothing is ever interpreted as HTML, CSS or a URL.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from careplan.domain.blocks import STEP_OWNERS
from careplan.domain.documents import DocumentKind
from careplan.domain.documents import Field as DocumentField
from careplan.domain.local_time import DEFAULT_TIME_ZONE, show, time_zone
from careplan.domain.local_time import long_date as _long_date
from careplan.domain.roles import Role
from careplan.domain.wording import role_of
from careplan.files import safe_file_name

OUTCOMES = {
    "signed": "Signed",
    "signed_with_comment": "Signed with a comment",
    "declined": "Declined to sign",
}
HASH_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class FetchRecord:
    """A resource WeasyPrint asked for while rendering (careplan.pdf.fetcher), and whether it
    was given: kept here, apart from WeasyPrint, as the app reads it without rendering."""

    url: str  # as requested, shortened for the log
    allowed: bool


@dataclass(frozen=True)
class SectionField:
    """One labelled piece of text. An empty label means the text needs none: the section's
    title says what it is ("What matters to me"). A lead line (a care team member's name) is
    printed in bold."""

    label: str
    text: str
    by: str = ""  # optional attribution, e.g. "Written by Sam Taylor, client" (see `written_by`)
    # Empty, and every signer confirmed it is left blank on purpose (careplan.services.signoff).
    blank_on_purpose: bool = False
    lead: bool = False


@dataclass(frozen=True)
class Step:
    """One small step of a goal, printed as a row: what, who, by when, how it is going."""

    what: str
    who: str = ""
    by_when: date | None = None
    progress: str = ""
    by: str = ""  # who wrote it, as SectionField.by


@dataclass
class Goal:
    title: str
    steps: list[Step] = field(default_factory=list)
    by: str = ""  # who wrote it, as SectionField.by


@dataclass
class Section:
    title: str
    fields: list[SectionField] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)  # printed after the fields

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


@dataclass(frozen=True)
class UnsignedLine:
    """Someone a draft still needs a signature from: the client or their key worker. An empty
    name: the client has no key worker at the moment, so nobody can sign for the service."""

    name: str
    role: str  # as SignatureLine.role: "Client", "Key worker"


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
    # An agreed version's regular review, as set the day it was agreed (its interval on from
    # that day): what the two of them agreed to. A review brought forward later is on the
    # document's page, not in this sealed record of the version.
    next_review_on: date | None = None
    # Who the service is (configuration): on the cover and on every page.
    service_name: str = ""
    service_contact: str = ""
    time_zone: str = DEFAULT_TIME_ZONE  # dates and times are printed in this zone
    # The client's key worker for this version (who signed it, else the current one): the
    # file's author with the client, as a PDF viewer's document properties show it.
    key_worker_name: str = ""
    # A draft's signature page: who still needs to sign it (the latest version only), or the
    # latest version's number when this one is older and nobody can sign it any more.
    not_signed_yet: list[UnsignedLine] = field(default_factory=list)
    latest_version: int | None = None

    def __post_init__(self) -> None:
        if not self.kind_label.strip():
            raise ValueError("kind_label is required")
        time_zone(self.time_zone)  # ValueError for an unknown zone, before any rendering
        if not HASH_RE.match(self.content_hash):
            raise ValueError("content_hash must be 64 lowercase hexadecimal characters")
        if not self.draft and self.agreed_on is None:
            raise ValueError("an agreed (non-draft) document needs agreed_on")
        if self.draft and self.next_review_on is not None:
            raise ValueError("a draft has no review date yet: it is set when it is agreed")
        if not self.draft and (self.not_signed_yet or self.latest_version):
            raise ValueError("an agreed document has nobody left to sign it")
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", self.short_code):
            raise ValueError("short_code must be 1-64 letters, digits or hyphens")
        self.sections = [
            s if isinstance(s, Section) else Section(s[0], list(s[1])) for s in self.sections
        ]

    def blank_text(self, part: SectionField) -> str:
        """What an empty part says: never dropped; "on purpose" only where the signers said so
        (empty key parts of an agreement; careplan.services.signoff), not of every empty part."""
        if self.draft:
            return "Not filled in yet"
        return "Left blank on purpose" if part.blank_on_purpose else "Left blank"

    @property
    def anyone_declined(self) -> bool:
        """Whether someone declined to sign this version: then the signature page cannot say
        that everyone listed signed it."""
        return any(s.outcome == "declined" for s in self.signatures)

    @staticmethod
    def direction(text: str) -> str:
        """The `dir` of an element holding people's writing: "rtl" when its first letter is of
        a right-to-left script (Arabic, Hebrew), so it is laid out and punctuated as written;
        else "auto". The renderer does not work out dir="auto" itself, as browsers do."""
        return "rtl" if _first_strong(text) == "rtl" else "auto"

    @property
    def title(self) -> str:
        """'Care plan, version 3 – 22 November 2026': the kind, the version and the date, nothing
        about the service (see `document_title`)."""
        return document_title(self.kind_label, self.version_number, self.agreed_on, self.draft)

    @property
    def author(self) -> str:
        """'Sam Taylor and Alex Morgan': the two who write it together, the client first."""
        names = [n for n in (self.client_name.strip(), self.key_worker_name.strip()) if n]
        return " and ".join(names)

    @property
    def cover_title(self) -> str:
        """'Care plan for Sam Taylor': the kind and the person, nothing about the service."""
        return f"{self.kind_label} for {self.client_name}"

    @property
    def cover_line(self) -> str:
        """'Version 3, agreed 22 November 2026', or that it is a draft."""
        if self.draft:
            return f"Version {self.version_number}, a draft"  # the banner below says the rest
        return f"Version {self.version_number}, agreed {long_date(self.agreed_on)}"

    def when(self, value: date | datetime | None) -> str:
        """A date or a moment as people read it, in the document's time zone."""
        return show(value, time_zone(self.time_zone))


def _first_strong(text: str) -> str:
    """The direction of the first letter with one (Unicode's "first strong character" rule
    that dir="auto" follows): "ltr", "rtl", or "" if there is none."""
    for ch in text or "":
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return ""


def document_title(
    kind_label: str, version_number: int, agreed_on: date | None, draft: bool
) -> str:
    """'Care plan, version 3 – 22 November 2026', or 'Care plan, version 4 – draft': the
    download's file name too. The version is in it as the date is: two versions agreed on one
    day would otherwise download under one name, and a phone keep only one of them. Every copy
    of one version starts alike, so a folder lists a version's draft and sealed PDF together."""
    if draft:
        return f"{kind_label}, version {version_number} – draft"
    return f"{kind_label}, version {version_number} – {long_date(agreed_on)}"


def pdf_filename(title: str, ascii_only: bool = False) -> str:
    """The file name for a title: no characters file systems refuse; optionally ASCII only."""
    return safe_file_name(title if title.endswith(".pdf") else f"{title}.pdf", ascii_only)


def long_date(value: date | None) -> str:
    return "" if value is None else _long_date(value)


def sections_from_kind(
    kind: DocumentKind,
    content: dict,
    client_name: str = "",
    key_worker_name: str = "",
    blank_on_purpose: frozenset[str] = frozenset(),
) -> list[Section]:
    """The printable sections of a document of any kind, the person's goals first.

    A kind may provide its own layout with a ``pdf_sections(content)`` hook; otherwise its
    readable fields are grouped generically (see :func:`sections_from_fields`). The names say
    who does a step ("Sam Taylor" rather than "Me (the client)"); `blank_on_purpose` holds the
    keys of the empty parts the signers confirmed.
    """
    hook = getattr(kind, "pdf_sections", None)
    if callable(hook):
        return list(hook(content))
    return sections_from_fields(
        kind.fields(content),
        client_name,
        key_worker_name,
        blank_on_purpose,
        attributions(kind.attributable(content), client_name),
    )


def attributions(nodes: Iterable[tuple[str, dict]], client_name: str = "") -> dict[str, str]:
    """ "Written by …" or "Last changed by … · first written by …" for each part of a document that records who wrote
    it, by the part's key: the stamps the document page shows (careplan.domain.documents,
    `DocumentKind.attributable`; templates/documents/_attribution.html), with people named
    as anyone may read them (see `written_by`)."""
    out = {}
    for key, node in nodes:
        line = written_by(node, client_name)
        if line:
            out[key] = line
    return out


def written_by(node: dict, client_name: str = "") -> str:
    """ "Last changed by Sam Taylor, client · first written by Kim Lee, key worker": as the document
    page says it, but naming nobody "you" or "your": a PDF is read by anyone it is shown to.
    People by name and role, as on the signature page; the client by the name the PDF gives
    them elsewhere."""
    wrote, changed = node.get("written_by"), node.get("changed_by")
    if not isinstance(wrote, dict) or not wrote.get("name"):
        return ""
    # Whose words these are now comes first, as on the page.
    if isinstance(changed, dict) and changed.get("name") and changed != wrote:
        return (
            f"Last changed by {_named(changed, client_name)} · first written by "
            f"{_named(wrote, client_name)}"
        )
    return f"Written by {_named(wrote, client_name)}"


def _named(person: dict, client_name: str) -> str:
    role = role_of(person.get("role"))
    if role is None:
        return person["name"]
    name = (client_name or person["name"]) if role is Role.CLIENT else person["name"]
    return f"{name}, {role.label}"


GOALS_TITLE = "Goals"
TEAM_TITLE = "Care team"
REVIEW_TITLE = "Review"
TERMS_TITLE = "Agreed terms"  # an agreement's terms, as its page heads them
_TEAM_MEMBER = re.compile(r"^team:[^:]+$")
# Numbers the forms ask for, said as sentences: key -> (label, wording of the value).
_TERMS = {
    "review_interval_weeks": ("", "Every {} weeks"),
    "terms.review": ("How often we review", "Every {} weeks"),
    "terms.post_crisis": ("After a crisis", "A review within {} days"),
    "terms.contingency": ("How long a crisis plan lasts", "At most {} days"),
    "terms.self_referral": ("Asking for a short stay myself", "{}"),
}
_STEP_PART = re.compile(r"^step:(?P<id>[^:]+):(?P<part>text|owner|due|status)$")


def sections_from_fields(
    fields: Iterable[DocumentField],
    client_name: str = "",
    key_worker_name: str = "",
    blank_on_purpose: frozenset[str] = frozenset(),
    attribution: dict[str, str] | None = None,
) -> list[Section]:
    """Group consecutive fields whose labels share a prefix into one section.

    A field's label up to its first ':' (or the whole label) opens a section; following fields
    whose labels continue that title with ',' or ':' join it: 'Housing: in my own words' becomes
    section 'Housing' with the field 'In my own words'.

    Goals are not form fields: a goal (key 'goal:…', label '[Section: ]Goal 1') and its steps
    (keys 'step:…:text|owner|due|status') become a :class:`Goal` of steps printed as rows, in
    the section named before 'Goal' ('Goals' if none). Sections holding goals, or the empty
    goals part, come first: the plan starts with what the person wants to achieve.

    `attribution` holds who wrote each part ("Written by …"), by the key of its field, goal
    ('goal:…') or step ('step:…'): see :func:`attributions`.
    """
    attribution = attribution or {}
    who = {
        STEP_OWNERS["client"]: client_name or "The client",
        STEP_OWNERS["key_worker"]: (
            f"{key_worker_name}, key worker" if key_worker_name else "The key worker"
        ),
    }
    sections: list[Section] = []
    goal_sections: set[int] = set()
    step: dict[str, str] = {}
    for f in fields:
        label, text = f.label.strip(), f.text or ""
        if f.key.startswith("goal:"):
            prefix, _, _ = label.rpartition("Goal ")
            title = prefix.strip().rstrip(":").strip() or GOALS_TITLE
            if not sections or sections[-1].title != title:
                sections.append(Section(title))
            goal_sections.add(id(sections[-1]))
            sections[-1].goals.append(Goal(text, by=attribution.get(f.key, "")))
            continue
        part = _STEP_PART.match(f.key)
        if part and sections and sections[-1].goals:
            step[part["part"]] = text
            if part["part"] == "status":  # the last of a step's four fields
                sections[-1].goals[-1].steps.append(
                    Step(
                        step.get("text", ""),
                        who.get(step.get("owner", ""), step.get("owner", "")),
                        _date_or_none(step.get("due", "")),
                        text,
                        attribution.get(f"step:{part['id']}", ""),
                    )
                )
                step = {}
            continue
        if f.key.startswith("team:") or f.key in _TERMS:
            # Care team members under one heading, each named in bold; the review terms as
            # sentences ("Every 12 weeks") rather than "Review every (weeks): 12".
            # An agreement's terms under a heading of their own: its template may have a
            # "Review" section of its own, which they would join unlabelled.
            if f.key.startswith("team:"):
                title = TEAM_TITLE
            else:
                title = TERMS_TITLE if f.key.startswith("terms.") else REVIEW_TITLE
            if not sections or sections[-1].title != title:
                sections.append(Section(title))
            if _TEAM_MEMBER.match(f.key):
                # Who wrote the member under their name, as a goal's under its title.
                by = attribution.get(f.key, "")
                sections[-1].fields.append(SectionField("", text, by, lead=True))
            elif f.key in _TERMS:
                label, wording = _TERMS[f.key]
                sections[-1].fields.append(
                    SectionField(label, _capitalise(wording.format(text)) if text else "")
                )
            else:
                _, _, rest = label.partition(":")
                sections[-1].fields.append(SectionField(_capitalise(rest.strip()), text))
            continue
        rest = _continues(label, sections[-1].title) if sections else None
        if rest is None:
            title, _, rest = label.partition(":")
            sections.append(Section(title.strip()))
        if f.key == "goals" or f.key.endswith(".goals"):  # no goals written yet
            goal_sections.add(id(sections[-1]))
        sections[-1].fields.append(
            SectionField(
                _capitalise(rest.strip()),
                text,
                attribution.get(f.key, "") if text else "",
                blank_on_purpose=f.key in blank_on_purpose,
            )
        )
    return sorted(sections, key=lambda s: id(s) not in goal_sections)


def _date_or_none(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _continues(label: str, title: str) -> str | None:
    """The rest of ``label`` if it belongs to the section ``title``, else None."""
    if label == title:
        return ""
    if label.startswith(title) and label[len(title) : len(title) + 1] in (",", ":"):
        return label[len(title) + 1 :]
    return None


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
