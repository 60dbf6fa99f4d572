"""The FHIR R4 mapping of one version, on plain facts (no database)."""

import copy
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from careplan.domain import fhir
from careplan.domain.agreement import AgreementKind, parse_template
from careplan.domain.attribution import Author
from careplan.domain.care_plan import CARE_PLAN
from tests.portability import assert_valid_r4, resources

BASE = "https://care.example.org"
CLIENT = fhir.Person(7, "Alex Client", "client")
WORKER = fhir.Person(3, "Kim Keyworker", "key_worker")
ADVOCATE = fhir.Person(9, "Ash Advocate", "advocate")
WHEN = datetime(2027, 1, 10, 9, 30, tzinfo=UTC)
TEMPLATE = parse_template(
    "general",
    tomllib.loads(
        (Path(__file__).resolve().parents[2] / "agreements" / "general.toml").read_text()
    ),
)


def _author(person: fhir.Person) -> Author:
    return Author(person.id, person.name, person.role)


def _plan_content() -> dict:
    """Version 1 by the key worker, then the client adds a goal of their own in version 2."""
    first = CARE_PLAN.attribute(
        None,
        CARE_PLAN.validate(
            {
                "domains": {"housing": {"own_words": "Sofa surfing at my sister's."}},
                "goals": [
                    {
                        "title": "Get my own flat",
                        "steps": [
                            {
                                "text": "Ring the council",
                                "owner": {"kind": "client"},
                                "due": "2027-02-01",
                                "status": "done",
                            },
                            {
                                "text": "Write a support letter",
                                "owner": {"kind": "key_worker"},
                                "due": "2027-02-15",
                                "status": "in_progress",
                            },
                        ],
                    }
                ],
                "care_team": [{"name": "Dr Patel", "role": "GP", "may_see": "Everything"}],
                "what_matters": {"text": "Seeing the same worker."},
            }
        ),
        _author(WORKER),
    )
    raw = copy.deepcopy(first)
    raw["goals"].append(
        {
            "title": "Sleep better",
            "steps": [
                {
                    "text": "Go for a walk before bed",
                    "owner": {"kind": "other", "name": "My sister"},
                    "due": "2027-03-01",
                }
            ],
        }
    )
    return CARE_PLAN.attribute(first, CARE_PLAN.validate(raw), _author(CLIENT))


def _facts(**changes) -> fhir.VersionFacts:
    facts = dict(
        base_url=BASE,
        document_id=12,
        kind=CARE_PLAN,
        title="Care plan",
        number=2,
        content=_plan_content(),
        content_hash="ab" * 32,
        created_at=WHEN,
        change_note="Added my own goal",
        author=CLIENT,
        client=CLIENT,
        key_worker=WORKER,
    )
    facts.update(changes)
    return fhir.VersionFacts(**facts)


def _agreed(**changes) -> fhir.VersionFacts:
    agreed = dict(
        agreed_at=WHEN,
        in_force=True,
        next_review_on=date(2027, 4, 4),
        signatures=[
            fhir.SignatureFact(CLIENT, "client", "signed_with_comment", "Fine by me.", WHEN),
            fhir.SignatureFact(WORKER, "key_worker", "signed", "", WHEN),
        ],
    )
    return _facts(**{**agreed, **changes})


def test_every_goal_and_step_appears_as_goals_targets_and_activities():
    content = _plan_content()
    bundle = fhir.bundle(_agreed(content=content), WHEN)
    assert_valid_r4(bundle)
    goals = resources(bundle, "Goal")
    plan = resources(bundle, "CarePlan")[0]
    assert [g["description"]["text"] for g in goals] == [g["title"] for g in content["goals"]]
    assert plan["goal"] == [{"reference": f"urn:uuid:{g['id']}"} for g in goals]
    for goal, resource in zip(content["goals"], goals, strict=True):
        assert [(t["measure"]["text"], t["dueDate"]) for t in resource["target"]] == [
            (s["text"], s["due"]) for s in goal["steps"]
        ]
    activities = [a["detail"] for a in plan["activity"]]
    steps = [s for g in content["goals"] for s in g["steps"]]
    assert [a["description"] for a in activities] == [s["text"] for s in steps]
    assert [a["status"] for a in activities] == ["completed", "in-progress", "not-started"]
    assert [a["scheduledPeriod"]["end"] for a in activities] == [s["due"] for s in steps]
    assert activities[2]["performer"] == [{"display": "My sister"}]
    assert plan["status"] == "active" and plan["intent"] == "plan"
    assert plan["period"] == {"start": "2027-01-10T09:30:00Z", "end": "2027-04-04"}


def test_a_goal_is_expressed_by_whoever_wrote_it_and_people_are_typed_by_role():
    bundle = fhir.bundle(_agreed(), WHEN)
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    flat, sleep = resources(bundle, "Goal")
    assert by_url[flat["expressedBy"]["reference"]]["resourceType"] == "Practitioner"
    client = by_url[sleep["expressedBy"]["reference"]]
    assert client["resourceType"] == "Patient" and client["name"] == [{"text": "Alex Client"}]
    plan = resources(bundle, "CarePlan")[0]
    assert {by_url[c["reference"]]["name"][0]["text"] for c in plan["contributor"]} == {
        "Alex Client",
        "Kim Keyworker",
    }
    notes = [n["text"] for n in plan["note"]]
    assert "Housing, in my own words: Sofa surfing at my sister's." in notes
    team = resources(bundle, "CareTeam")[0]
    assert {"role": [{"text": "GP"}], "member": {"display": "Dr Patel"}} in team["participant"]


@pytest.mark.parametrize(
    "statuses, agreed, lifecycle, achievement",
    [
        (["not_started"], False, "proposed", None),
        (["not_started", "not_started"], True, "active", None),
        (["done", "in_progress"], True, "active", "in-progress"),
        (["done", "stopped"], True, "completed", "achieved"),
        (["stopped"], True, "cancelled", "not-achieved"),
        ([], True, "active", None),
    ],
)
def test_goal_status_follows_its_steps(statuses, agreed, lifecycle, achievement):
    steps = [{"status": s} for s in statuses]
    assert fhir.lifecycle_status(agreed, steps) == lifecycle
    assert fhir.achievement_status(steps) == achievement


def test_a_draft_is_a_draft_plan_with_proposed_goals_and_no_period():
    bundle = fhir.bundle(_facts(), WHEN)
    assert_valid_r4(bundle)
    plan = resources(bundle, "CarePlan")[0]
    assert plan["status"] == "draft" and "period" not in plan
    assert {g["lifecycleStatus"] for g in resources(bundle, "Goal")} == {"proposed"}
    assert not resources(bundle, "Provenance")


def test_signatures_are_provenance_and_a_decline_is_a_note_not_a_signature():
    declined = fhir.SignatureFact(CLIENT, "client", "declined", "Not the housing part.", WHEN)
    bundle = fhir.bundle(
        _facts(signatures=[declined, fhir.SignatureFact(WORKER, "key_worker", "signed", "", WHEN)]),
        WHEN,
    )
    assert_valid_r4(bundle)
    (provenance,) = resources(bundle, "Provenance")
    assert provenance["signature"][0]["who"]["display"] == "Kim Keyworker"
    notes = [n["text"] for n in resources(bundle, "CarePlan")[0]["note"]]
    assert "Declined to sign version 2: Not the housing part." in notes
    assert "Note on saving version 2: Added my own goal" in notes


def _agreement_content() -> dict:
    kind = AgreementKind(TEMPLATE)
    raw = {
        "sections": {
            "shared_goals": {
                "goals": [
                    {
                        "title": "Keep my appointments",
                        "steps": [
                            {
                                "text": "Put them in my phone",
                                "owner": {"kind": "client"},
                                "due": "2027-01-20",
                            }
                        ],
                    }
                ]
            },
            "contingencies": {
                "warning_signs": {"text": "I stop sleeping."},
                "contacts": [{"name": "My sister", "how_to_contact": "07700 900000"}],
                "handed_over": [
                    {"decision": "My money", "to_whom": "My sister", "until": "2027-06-01"}
                ],
            },
        }
    }
    return kind, kind.attribute(None, kind.validate(raw), _author(CLIENT))


def test_an_agreed_agreement_is_a_consent_whose_source_is_the_sealed_pdf():
    kind, content = _agreement_content()
    pdf = fhir.SealedPdfFact(
        url=f"{BASE}/documents/12/versions/2/signed.pdf",
        title="Partnership agreement – 10 January 2027.pdf",
        created=WHEN,
        size=38000,
        sha1_base64="nBoHGwZ8TZrZULhmwGi6IyJnEfA=",
    )
    bundle = fhir.bundle(
        _agreed(kind=kind, content=content, title="Partnership agreement", sealed_pdf=pdf), WHEN
    )
    assert_valid_r4(bundle)
    (consent,) = resources(bundle, "Consent")
    assert consent["status"] == "active"
    assert consent["sourceAttachment"] == {
        "contentType": "application/pdf",
        "url": pdf.url,
        "title": pdf.title,
        "creation": "2027-01-10T09:30:00Z",
        "size": 38000,
        "hash": pdf.sha1_base64,
    }
    assert consent["patient"] == resources(bundle, "CarePlan")[0]["subject"]
    plan = resources(bundle, "CarePlan")[0]
    assert plan["supportingInfo"][0]["reference"] == f"urn:uuid:{consent['id']}"
    notes = [n["text"] for n in plan["note"]]
    assert any(n.endswith("I stop sleeping.") for n in notes)
    assert any("My money: handed to My sister until 2027-06-01." in n for n in notes)
    (goal,) = resources(bundle, "Goal")
    assert goal["description"]["text"] == "Keep my appointments"
    assert goal["target"] == [
        {"measure": {"text": "Put them in my phone"}, "dueDate": "2027-01-20"}
    ]
    team = resources(bundle, "CareTeam")[0]
    assert team["participant"][-1]["member"] == {"display": "My sister"}


def test_a_replaced_agreement_is_an_inactive_consent_and_a_draft_has_none():
    kind, content = _agreement_content()
    replaced = fhir.bundle(
        _agreed(
            kind=kind, content=content, in_force=False, replaced_at=datetime(2027, 3, 1, tzinfo=UTC)
        ),
        WHEN,
    )
    assert resources(replaced, "Consent")[0]["status"] == "inactive"
    assert resources(replaced, "CarePlan")[0]["status"] == "revoked"
    assert resources(replaced, "CarePlan")[0]["period"]["end"] == "2027-03-01T00:00:00Z"
    assert not resources(fhir.bundle(_facts(kind=kind, content=content), WHEN), "Consent")


def test_ids_are_stable_and_a_person_has_one_id_everywhere():
    content = _plan_content()
    one = fhir.bundle(_agreed(content=content), WHEN)
    again = fhir.bundle(_agreed(content=content), datetime(2027, 5, 1, tzinfo=UTC))
    assert [e["fullUrl"] for e in one["entry"]] == [e["fullUrl"] for e in again["entry"]]
    other_document = fhir.bundle(_agreed(document_id=13), WHEN)
    patient = resources(one, "Patient")[0]["id"]
    assert resources(other_document, "Patient")[0]["id"] == patient
    assert resources(other_document, "CarePlan")[0]["id"] != resources(one, "CarePlan")[0]["id"]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda b: resources(b, "CarePlan")[0].update(mood="fine"),  # no such element in R4
        lambda b: resources(b, "Goal")[0].pop("subject"),  # required
        lambda b: resources(b, "Goal")[0]["target"][0].update(dueDate="1st of May"),
        lambda b: resources(b, "CarePlan")[0].update(subject={"reference": "urn:uuid:nobody"}),
    ],
)
def test_the_checks_reject_what_r4_does_not_allow(breakage):
    bundle = fhir.bundle(_agreed(), WHEN)
    breakage(bundle)
    with pytest.raises(Exception):  # noqa: B017 - each validator raises its own kind
        assert_valid_r4(bundle)
