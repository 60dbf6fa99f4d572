"""One version of a care plan or partnership agreement as a FHIR R4 (4.0.1) Bundle.

Plain functions over plain facts: the service layer gathers who signed, commented and wrote
what, and this module decides how it reads in FHIR. The bundle is a `collection` holding the
CarePlan, a Goal for every goal (its steps are the plan's activities and the goal's targets),
the care team, the people named, a Provenance for every signature given on the version and,
for an agreed partnership agreement, a Consent whose source is the sealed PDF.

Every resource id is derived from the service's address and the record (uuid5), so exporting
the same version twice gives the same ids, and the same person has the same id in every bundle.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from .agreement import AgreementKind
from .care_plan import DOMAIN_KEYS, DOMAIN_LABELS
from .documents import DocumentKind
from .roles import Role
from .signoff import Outcome

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json; fhirVersion=4.0"

GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"

# How each step's status reads as a CarePlan activity status.
ACTIVITY_STATUS = {
    "not_started": "not-started",
    "in_progress": "in-progress",
    "done": "completed",
    "stopped": "stopped",
}
ACHIEVEMENT_DISPLAY = {
    "achieved": "Achieved",
    "in-progress": "In Progress",
    "not-achieved": "Not Achieved",
}
# The client agrees to their plan; the key worker signs as the other party to it.
SIGNATURE_CODES = {
    Role.CLIENT.value: ("1.2.840.10065.1.12.1.7", "Consent Signature"),
    Role.KEY_WORKER.value: ("1.2.840.10065.1.12.1.3", "Co-participant's Signature"),
}


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str  # a Role value

    @classmethod
    def from_attribution(cls, stamp: dict | None) -> Person | None:
        """The `written_by` / `changed_by` stamp kept on each part of the content."""
        if not stamp or stamp.get("id") is None:
            return None
        return cls(int(stamp["id"]), stamp.get("name", ""), stamp.get("role", ""))


@dataclass(frozen=True)
class SignatureFact:
    person: Person
    role: str
    outcome: str  # an Outcome value
    comment: str
    signed_at: datetime


@dataclass(frozen=True)
class CommentFact:
    person: Person
    section_title: str
    body: str
    at: datetime


@dataclass(frozen=True)
class SealedPdfFact:
    url: str
    title: str
    created: datetime
    size: int | None = None
    sha1_base64: str | None = None  # FHIR attachments carry a SHA-1 of the data


@dataclass(frozen=True)
class VersionFacts:
    """Everything the bundle says about one version, gathered by the service layer."""

    base_url: str
    document_id: int
    kind: DocumentKind
    title: str
    number: int
    content: dict
    content_hash: str
    created_at: datetime
    change_note: str
    author: Person
    client: Person
    key_worker: Person | None
    agreed_at: datetime | None = None  # when this version became agreed, if it did
    in_force: bool = False  # the agreed version in force now
    replaced_at: datetime | None = None  # when a later version was agreed instead
    next_review_on: date | None = None
    signatures: list[SignatureFact] = field(default_factory=list)
    comments: list[CommentFact] = field(default_factory=list)
    sealed_pdf: SealedPdfFact | None = None


# --- formatting ---------------------------------------------------------------------------


def instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _uuid(base_url: str, path: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url.rstrip('/')}/{path}"))


class _Refs:
    """Stable ids and references for the resources of one bundle."""

    def __init__(self, facts: VersionFacts):
        self.facts = facts
        self.base = facts.base_url.rstrip("/")
        self.version_path = f"documents/{facts.document_id}/versions/{facts.number}"

    def id(self, what: str) -> str:
        return _uuid(self.base, f"{self.version_path}/{what}")

    def person_id(self, person: Person) -> str:
        return _uuid(self.base, f"people/{person.id}")

    def to(self, resource_id: str, display: str | None = None) -> dict:
        ref = {"reference": f"urn:uuid:{resource_id}"}
        if display:
            ref["display"] = display
        return ref

    def person(self, person: Person) -> dict:
        return self.to(self.person_id(person), person.name or None)


# --- the bundle ---------------------------------------------------------------------------


def bundle(facts: VersionFacts, generated_at: datetime) -> dict:
    """The FHIR R4 Bundle (type `collection`) for one version, as JSON-ready dicts."""
    refs = _Refs(facts)
    goals = list(_goals(facts, refs))
    team = _care_team(facts, refs)
    consent = _consent(facts, refs)
    plan = _care_plan(facts, refs, goals, team, consent)
    provenances = list(_provenances(facts, refs, plan))
    resources = [
        *_people(facts, refs),
        team,
        *goals,
        plan,
        *([consent] if consent else []),
        *provenances,
    ]
    return {
        "resourceType": "Bundle",
        "id": refs.id("Bundle"),
        "identifier": {
            "system": f"{refs.base}/documents",
            "value": f"{facts.document_id}/versions/{facts.number}",
        },
        "type": "collection",
        "timestamp": instant(generated_at),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def plan_status(facts: VersionFacts) -> str:
    if facts.agreed_at is None:
        return "draft"
    return "active" if facts.in_force else "revoked"


def _care_plan(
    facts: VersionFacts, refs: _Refs, goals: list[dict], team: dict, consent: dict | None
) -> dict:
    plan = {
        "resourceType": "CarePlan",
        "id": refs.id("CarePlan"),
        "meta": {"versionId": str(facts.number)},
        "identifier": [
            {
                "system": f"{refs.base}/documents",
                "value": f"{facts.document_id}/versions/{facts.number}",
            },
            {"type": {"text": "Fingerprint of the content (SHA-256)"}, "value": facts.content_hash},
        ],
        "status": plan_status(facts),
        "intent": "plan",
        "category": [{"text": facts.kind.label}],
        "title": facts.title,
        "description": f"{facts.kind.label} of {facts.client.name}, version {facts.number}.",
        "subject": refs.person(facts.client),
        "created": instant(facts.created_at),
        "author": refs.person(facts.author),
        "contributor": [refs.person(p) for p in _contributors(facts)],
        "careTeam": [refs.to(team["id"])],
    }
    period = _period(facts)
    if period:
        plan["period"] = period
    if goals:
        plan["goal"] = [refs.to(g["id"]) for g in goals]
    if consent:
        plan["supportingInfo"] = [refs.to(consent["id"], "The signed partnership agreement")]
    activities = [
        _activity(facts, refs, refs.id(f"Goal/{goal['id']}"), step)
        for goal in _all_goals(facts.kind, facts.content)
        for step in goal.get("steps", [])
    ]
    if activities:
        plan["activity"] = activities
    notes = list(_notes(facts, refs))
    if notes:
        plan["note"] = notes
    return plan


def _period(facts: VersionFacts) -> dict | None:
    if facts.agreed_at is None:
        return None
    period = {"start": instant(facts.agreed_at)}
    if facts.replaced_at is not None:
        period["end"] = instant(facts.replaced_at)
    elif facts.in_force and facts.next_review_on is not None:
        # In force until it is next reviewed.
        period["end"] = facts.next_review_on.isoformat()
    return period


def _contributors(facts: VersionFacts) -> list[Person]:
    """Everyone who wrote or changed a part of this version, and whoever saved it."""
    seen: dict[int, Person] = {}
    for _, node in facts.kind.attributable(facts.content):
        for key in ("written_by", "changed_by"):
            person = Person.from_attribution(node.get(key))
            if person is not None:
                seen.setdefault(person.id, person)
    seen.setdefault(facts.author.id, facts.author)
    return list(seen.values())


# --- goals, steps and activities ------------------------------------------------------------


def goal_lists(kind: DocumentKind, content: dict) -> Iterator[list]:
    """Every list of goals in the content: the care plan's, or an agreement's goals fields."""
    if isinstance(kind, AgreementKind):
        for section in kind.template["sections"]:
            for f in section["fields"]:
                if f["type"] == "goals":
                    yield content.get("sections", {}).get(section["key"], {}).get(f["key"], [])
    else:
        yield content.get("goals", [])


def _all_goals(kind: DocumentKind, content: dict) -> Iterator[dict]:
    for goals in goal_lists(kind, content):
        yield from goals


def lifecycle_status(agreed: bool, steps: list[dict]) -> str:
    if not agreed:
        return "proposed"
    statuses = {s.get("status", "not_started") for s in steps}
    if statuses and statuses <= {"done", "stopped"}:
        return "completed" if "done" in statuses else "cancelled"
    return "active"


def achievement_status(steps: list[dict]) -> str | None:
    statuses = {s.get("status", "not_started") for s in steps}
    if not statuses or statuses == {"not_started"}:
        return None  # nothing to say yet
    if statuses <= {"done", "stopped"}:
        return "achieved" if "done" in statuses else "not-achieved"
    return "in-progress"


def _goals(facts: VersionFacts, refs: _Refs) -> Iterator[dict]:
    agreed = facts.agreed_at is not None
    for goal in _all_goals(facts.kind, facts.content):
        steps = goal.get("steps", [])
        resource = {
            "resourceType": "Goal",
            "id": refs.id(f"Goal/{goal['id']}"),
            "identifier": [
                {"system": f"{refs.base}/documents/{facts.document_id}/goals", "value": goal["id"]}
            ],
            "lifecycleStatus": lifecycle_status(agreed, steps),
            "description": {"text": goal["title"]},
            "subject": refs.person(facts.client),
        }
        achievement = achievement_status(steps)
        if achievement:
            resource["achievementStatus"] = {
                "coding": [
                    {
                        "system": GOAL_ACHIEVEMENT,
                        "code": achievement,
                        "display": ACHIEVEMENT_DISPLAY[achievement],
                    }
                ]
            }
        if steps:
            resource["target"] = [
                {"measure": {"text": step["text"]}, "dueDate": step["due"]}
                for step in steps
                if step.get("due")
            ]
            if not resource["target"]:
                del resource["target"]
        written_by = Person.from_attribution(goal.get("written_by"))
        if written_by is not None and written_by.role != Role.ADVOCATE.value:
            # In the words of whoever wrote the goal: the client's own, where they wrote it.
            resource["expressedBy"] = refs.person(written_by)
        yield resource


def _activity(facts: VersionFacts, refs: _Refs, goal_id: str, step: dict) -> dict:
    detail = {
        "status": ACTIVITY_STATUS[step.get("status", "not_started")],
        "description": step["text"],
        "goal": [refs.to(goal_id)],
    }
    if step.get("due"):
        detail["scheduledPeriod"] = {"end": step["due"]}
    performer = _step_owner(facts, refs, step.get("owner") or {})
    if performer:
        detail["performer"] = [performer]
    return {"detail": detail}


def _step_owner(facts: VersionFacts, refs: _Refs, owner: dict) -> dict | None:
    kind = owner.get("kind")
    if kind == "client":
        return refs.person(facts.client)
    if kind == "key_worker":
        if facts.key_worker is not None:
            return refs.person(facts.key_worker)
        return {"display": "Key worker"}
    if kind == "other":
        return {"display": owner.get("name") or "Someone else"}
    return None


# --- the care team ----------------------------------------------------------------------------


def _people_fields(kind: DocumentKind, content: dict) -> Iterator[tuple[str, dict]]:
    """(what the list is about, person) for every person named in the content."""
    if isinstance(kind, AgreementKind):
        for section in kind.template["sections"]:
            for f in section["fields"]:
                if f["type"] == "people":
                    values = content.get("sections", {}).get(section["key"], {}).get(f["key"], [])
                    for person in values:
                        yield f["prompt"], person
    else:
        for member in content.get("care_team", []):
            yield "", member


def _care_team(facts: VersionFacts, refs: _Refs) -> dict:
    participants = [{"role": [{"text": "Client"}], "member": refs.person(facts.client)}]
    if facts.key_worker is not None:
        participants.append(
            {"role": [{"text": "Key worker"}], "member": refs.person(facts.key_worker)}
        )
    notes = []
    for about, person in _people_fields(facts.kind, facts.content):
        participants.append(
            {
                "role": [{"text": person.get("role") or about or "Care team"}],
                "member": {"display": person["name"]},
            }
        )
        said = [
            (label, person.get(key, ""))
            for label, key in (
                ("What they do", "what_they_do"),
                ("What they may see", "may_see"),
                ("How to contact", "how_to_contact"),
                ("When", "when"),
            )
        ]
        said = [f"{label}: {text}" for label, text in said if text]
        if about:
            said.insert(0, about)
        if said:
            notes.append({"text": f"{person['name']}. " + " ".join(said)})
    team = {
        "resourceType": "CareTeam",
        "id": refs.id("CareTeam"),
        "status": _team_status(facts),
        "name": f"Care team of {facts.client.name}",
        "subject": refs.person(facts.client),
        "participant": participants,
    }
    if notes:
        team["note"] = notes
    return team


def _team_status(facts: VersionFacts) -> str:
    if facts.agreed_at is None:
        return "proposed"
    return "active" if facts.in_force else "inactive"


# --- notes ------------------------------------------------------------------------------------


def _annotation(refs: _Refs, text: str, by: Person | None, at: datetime | None = None) -> dict:
    note: dict = {}
    if by is not None:
        note["authorReference"] = refs.person(by)
    if at is not None:
        note["time"] = instant(at)
    note["text"] = text
    return note


def _notes(facts: VersionFacts, refs: _Refs) -> Iterator[dict]:
    yield from _content_notes(facts, refs)
    if facts.change_note:
        yield _annotation(
            refs,
            f"Note on saving version {facts.number}: {facts.change_note}",
            facts.author,
            facts.created_at,
        )
    for c in facts.comments:
        yield _annotation(refs, f"Comment on “{c.section_title}”: {c.body}", c.person, c.at)
    for sig in facts.signatures:
        if sig.outcome == Outcome.DECLINED.value:
            text = f"Declined to sign version {facts.number}: {sig.comment}"
        elif sig.comment:
            text = f"Signed version {facts.number} with a comment: {sig.comment}"
        else:
            continue
        yield _annotation(refs, text, sig.person, sig.signed_at)


def _content_notes(facts: VersionFacts, refs: _Refs) -> Iterator[dict]:
    content, kind = facts.content, facts.kind
    if isinstance(kind, AgreementKind):
        for section in kind.template["sections"]:
            values = content.get("sections", {}).get(section["key"], {})
            for f in section["fields"]:
                value = values.get(f["key"])
                where = f"{section['title']}. {f['prompt']}"
                if f["type"] == "text" and value and value.get("text"):
                    by = Person.from_attribution(value.get("written_by"))
                    yield _annotation(refs, f"{where} {value['text']}", by)
                elif f["type"] == "handover":
                    for h in value or []:
                        by = Person.from_attribution(h.get("written_by"))
                        text = (
                            f"{where} {h['decision']}: handed to {h['to_whom']} until {h['until']}."
                        )
                        yield _annotation(refs, text, by)
        for f in kind.fields(content):
            if f.key.startswith("terms."):
                yield _annotation(refs, f"{f.label}: {f.text}", None)
        return
    for key in DOMAIN_KEYS:
        node = content.get("domains", {}).get(key, {})
        if node.get("own_words"):
            by = Person.from_attribution(node.get("written_by"))
            yield _annotation(
                refs, f"{DOMAIN_LABELS[key]}, in my own words: {node['own_words']}", by
            )
    matters = content.get("what_matters", {})
    if matters.get("text"):
        by = Person.from_attribution(matters.get("written_by"))
        yield _annotation(refs, f"What matters to me: {matters['text']}", by)
    yield _annotation(refs, f"Review every {kind.review_interval_weeks(content)} weeks.", None)


# --- consent and signatures -------------------------------------------------------------------


def _consent(facts: VersionFacts, refs: _Refs) -> dict | None:
    """An agreed partnership agreement is the client's consent to what it says."""
    if not isinstance(facts.kind, AgreementKind) or facts.agreed_at is None:
        return None
    template = facts.kind.template
    consent = {
        "resourceType": "Consent",
        "id": refs.id("Consent"),
        "identifier": [
            {
                "system": f"{refs.base}/documents",
                "value": f"{facts.document_id}/versions/{facts.number}",
            }
        ],
        "status": "active" if facts.in_force else "inactive",
        "scope": {
            "coding": [{"system": CONSENT_SCOPE, "code": "treatment", "display": "Treatment"}]
        },
        "category": [
            {
                "coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}],
                "text": facts.kind.label,
            }
        ],
        "patient": refs.person(facts.client),
        "dateTime": instant(facts.agreed_at),
        "performer": [refs.person(facts.client)]
        + ([refs.person(facts.key_worker)] if facts.key_worker else []),
        "policyRule": {
            "text": f"{template['name']} (template {template['id']}, version {template['version']})"
        },
        "provision": {"type": "permit", "period": _period(facts)},
    }
    pdf = facts.sealed_pdf
    if pdf is not None:
        attachment = {
            "contentType": "application/pdf",
            "url": pdf.url,
            "title": pdf.title,
            "creation": instant(pdf.created),
        }
        if pdf.size is not None:
            attachment["size"] = pdf.size
        if pdf.sha1_base64:
            attachment["hash"] = pdf.sha1_base64
        consent["sourceAttachment"] = attachment
    return consent


def _provenances(facts: VersionFacts, refs: _Refs, plan: dict) -> Iterator[dict]:
    """Who signed this version, and when; declining is a note on the plan, not a signature."""
    for n, sig in enumerate(facts.signatures, start=1):
        if sig.outcome == Outcome.DECLINED.value or sig.role not in SIGNATURE_CODES:
            continue
        code, display = SIGNATURE_CODES[sig.role]
        who = refs.person(sig.person)
        yield {
            "resourceType": "Provenance",
            "id": refs.id(f"Provenance/{n}"),
            "target": [refs.to(plan["id"])],
            "recorded": instant(sig.signed_at),
            "agent": [
                {
                    "type": {
                        "coding": [
                            {"system": PROVENANCE_AGENT, "code": "attester", "display": "Attester"}
                        ]
                    },
                    "who": who,
                }
            ],
            "signature": [
                {
                    "type": [{"system": SIGNATURE_TYPE, "code": code, "display": display}],
                    "when": instant(sig.signed_at),
                    "who": who,
                }
            ],
        }


# --- the people -------------------------------------------------------------------------------


def _referenced_people(facts: VersionFacts) -> list[Person]:
    people = [facts.client]
    if facts.key_worker is not None:
        people.append(facts.key_worker)
    people.append(facts.author)
    people += _contributors(facts)
    people += [c.person for c in facts.comments]
    people += [s.person for s in facts.signatures]
    unique: dict[int, Person] = {}
    for p in people:
        unique.setdefault(p.id, p)
    return list(unique.values())


def _people(facts: VersionFacts, refs: _Refs) -> Iterator[dict]:
    for person in _referenced_people(facts):
        rid = refs.person_id(person)
        base = {
            "id": rid,
            "identifier": [{"system": f"{refs.base}/people", "value": str(person.id)}],
            "name": [{"text": person.name}],
        }
        if person.id == facts.client.id:
            yield {"resourceType": "Patient", **base}
        elif person.role == Role.ADVOCATE.value:
            yield {
                "resourceType": "RelatedPerson",
                **base,
                "patient": refs.person(facts.client),
                "relationship": [{"text": "Advocate"}],
            }
        else:
            yield {"resourceType": "Practitioner", **base}
