import copy
import tomllib
from pathlib import Path

import pytest

from careplan.domain.agreement import AgreementKind, TemplateInvalid, parse_template
from careplan.domain.attribution import Author, replaced_words
from careplan.domain.errors import ContentInvalid
from careplan.domain.kinds import kind_for

FOLDER = Path(__file__).resolve().parents[2] / "agreements"
SHIPPED = ["general.toml", "ost_primary_care.toml", "smi_self_referral.toml"]


def load(name):
    return tomllib.loads((FOLDER / name).read_text())


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_templates_are_valid_and_keep_the_required_sections(name):
    template = parse_template(name, load(name))
    keys = [s["key"] for s in template["sections"]]
    assert "contingencies" in keys and "boundaries" in keys
    assert all(s["title"] for s in template["sections"])


def test_the_self_referral_template_carries_its_default_terms():
    template = parse_template("smi", load("smi_self_referral.toml"))
    terms = AgreementKind(template).empty_content()["terms"]
    assert terms["self_referral"] == {
        "enabled": True,
        "max_nights": 5,
        "min_days_since_discharge": 14,
    }
    assert terms["post_crisis_review_days"] == 7


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (
            lambda t: t["sections"].pop(3),
            "sections: Every agreement needs these sections: contingencies",
        ),
        (lambda t: t["sections"][0]["fields"][0].update(type="poem"), "sections.0.fields.0.type"),
        (lambda t: t["sections"][1]["fields"][0].update(key="Has-Dash"), "sections.1.fields.0.key"),
        (lambda t: t.pop("version"), "version: Missing data"),
        (lambda t: t["defaults"].update(review_interval_weeks=0), "defaults.review_interval_weeks"),
        (lambda t: t.update(colour="blue"), "colour: Unknown field"),
    ],
)
def test_a_broken_template_names_the_file_and_the_field(breakage, expected):
    data = copy.deepcopy(load("general.toml"))
    breakage(data)
    with pytest.raises(TemplateInvalid) as err:
        parse_template("broken.toml", data)
    assert str(err.value).startswith("broken.toml: ")
    assert expected in str(err.value)


def kind():
    return AgreementKind(parse_template("general", load("general.toml")))


def test_agreement_content_validates_field_by_field():
    raw = {
        "sections": {
            "contingencies": {
                "warning_signs": {"text": "I stop sleeping"},
                "handed_over": [{"decision": "My money", "to_whom": "", "until": "2027-13-01"}],
            }
        },
        "terms": {"self_referral": {"max_nights": "lots"}},
    }
    with pytest.raises(ContentInvalid) as err:
        kind().validate(raw)
    errors = err.value.errors
    assert errors["sections-contingencies-handed_over-0-to_whom"] == "Please fill this in."
    assert "real date" in errors["sections-contingencies-handed_over-0-until"]
    assert "whole number" in errors["terms-self_referral-max_nights"]


def test_agreement_content_names_its_template_and_every_field_reads_in_comparisons():
    content = kind().validate(
        {"sections": {"boundaries": {"worker_hours": {"text": "Mon-Fri 9-5"}}}}
    )
    assert content["template"] == {"id": "general", "version": 1, "name": "Partnership agreement"}
    labels = {f.label: f.text for f in kind().fields(content)}
    assert labels["Boundaries, both sides: When does my key worker work?"] == "Mon-Fri 9-5"
    assert labels["Asking for a short stay myself"] == "not part of this agreement"
    # In the agreement's own first person, as its crisis page says it; not "discharge".
    offered = kind().validate({"terms": {"self_referral": {"enabled": True}}})
    terms = {f.label: f.text for f in kind().fields(offered)}["Asking for a short stay myself"]
    assert terms.endswith("days of the last time I left") and "discharge" not in terms


def test_a_signer_is_shown_the_agreement_sections_where_others_changed_their_words():
    agreement, client, worker = kind(), Author(1, "Alex", "client"), Author(2, "Kim", "key_worker")
    raw = {
        "sections": {
            "contingencies": {
                "warning_signs": {"text": "I stop sleeping"},
                "contacts": [{"name": "My sister", "how_to_contact": "07700 900000"}],
            },
            "boundaries": {"worker_hours": {"text": "Mon-Fri 9-5"}},
        }
    }
    first = agreement.attribute(None, agreement.validate(raw), client)
    second_raw = copy.deepcopy(first)
    second_raw["sections"]["contingencies"]["contacts"][0]["how_to_contact"] = "07700 900001"
    second = agreement.attribute(first, agreement.validate(second_raw), worker)
    assert agreement.changed_by_others(second, client.id) == [("When I am not well", ["Kim"])]
    assert agreement.changed_by_others(second, worker.id) == []


def test_a_signer_is_told_which_agreement_fields_and_items_were_changed_by_name():
    """A field is named by its question, an item of a list by its main words."""
    agreement, client, worker = kind(), Author(1, "Alex", "client"), Author(2, "Kim", "key_worker")
    raw = {
        "sections": {
            "contingencies": {
                "warning_signs": {"text": "I stop sleeping"},
                "contacts": [
                    {"name": "My sister", "how_to_contact": "07700 900000"},
                    {"name": "My GP", "how_to_contact": "01632 960000"},
                ],
            },
        }
    }
    first = agreement.attribute(None, agreement.validate(raw), client)
    changed = copy.deepcopy(first)
    changed["sections"]["contingencies"]["warning_signs"]["text"] = "I stop sleeping or eating"
    changed["sections"]["contingencies"]["contacts"][0]["how_to_contact"] = "07700 900001"
    second = agreement.attribute(first, agreement.validate(changed), worker)
    assert agreement.parts_changed_by_others(second, client.id) == [
        ("When I am not well", ["Kim"], ["“What are my early warning signs?”", "“My sister”"])
    ]


def test_a_signer_is_shown_the_agreement_sections_where_their_change_was_saved_over():
    """Kim wrote the warning signs, Alex changed them, Kim saved over Alex's change: Alex's
    words are kept beside Kim's and Alex is told before signing."""
    agreement, client, worker = kind(), Author(1, "Alex", "client"), Author(2, "Kim", "key_worker")

    def signs(before, words, author):
        raw = copy.deepcopy(before) if before else {}
        contingencies = raw.setdefault("sections", {}).setdefault("contingencies", {})
        contingencies["warning_signs"] = {"text": words}
        return agreement.attribute(before, agreement.validate(raw), author)

    first = signs(None, "Not answering the phone", worker)
    second = signs(first, "I stop sleeping", client)
    third = signs(second, "Not answering the phone, or not sleeping", worker)
    node = third["sections"]["contingencies"]["warning_signs"]
    assert replaced_words(node) == [(client.as_dict(), [("", "I stop sleeping")])]
    assert agreement.changed_by_others(third, client.id) == [("When I am not well", ["Kim"])]
    assert agreement.changed_by_others(third, worker.id) == []


def test_fields_not_in_the_template_are_refused():
    with pytest.raises(ContentInvalid) as err:
        kind().validate({"sections": {"boundaries": {"favourite_colour": {"text": "blue"}}}})
    assert "sections-boundaries-favourite_colour" in err.value.errors


def test_documents_from_one_template_version_share_one_kind():
    template = parse_template("general", load("general.toml"))
    first = kind_for("agreement", template)
    assert kind_for("agreement", copy.deepcopy(template)) is first
    other = parse_template("smi", load("smi_self_referral.toml"))
    assert kind_for("agreement", other) is not first
    assert kind_for("agreement", other).template["id"] == other["id"]


def test_a_shared_kind_does_not_follow_changes_to_the_callers_template():
    template = parse_template("general", load("general.toml"))
    shared = kind_for("agreement", template)
    template["sections"].pop()
    template["name"] = "Changed afterwards"
    assert shared.template["name"] != "Changed afterwards"
    assert len(shared.template["sections"]) == len(template["sections"]) + 1
    assert kind_for("agreement", template) is not shared


def test_people_and_handed_over_decisions_are_numbered_only_when_there_are_more_than_one():
    question = "Boundaries, both sides: Who can I contact out of hours?"
    one = {"name": "Out-of-hours team", "how_to_contact": "0300 123 4567"}
    two = {"name": "Crisis line", "how_to_contact": "0800 000 0000"}

    def labels(people):
        content = kind().validate({"sections": {"boundaries": {"out_of_hours": people}}})
        return [f.label for f in kind().fields(content) if f.label.startswith(question)]

    assert labels([one]) == [question]
    assert labels([one, two]) == [f"{question} (1)", f"{question} (2)"]


def test_the_terms_and_their_refusal_call_it_a_short_stay_as_the_pages_do():
    """The signed copy, the comparisons and a refused request said "self-referral admission"
    of what the pages call a short stay."""
    from datetime import date

    from careplan.domain.contingency import SelfReferralTerms, check_self_referral
    from careplan.pdf.model import sections_from_fields

    offered = kind().validate({"terms": {"self_referral": {"enabled": True}}})
    fields = kind().fields(offered)
    labels = {f.label: f.text for f in fields}
    assert labels["Asking for a short stay myself"].startswith("up to 5 nights")
    printed = [f for s in sections_from_fields(fields) for f in s.fields]
    assert [f.label for f in printed if f.text.startswith("Up to 5 nights")] == [
        "Asking for a short stay myself"
    ]
    assert not any("admission" in f"{f.label} {f.text}".lower() for f in printed)
    none = SelfReferralTerms(False, 0, 0, agreed=True)
    refused = check_self_referral(none, 2, date(2026, 1, 5), None)
    assert refused.reasons == ("This agreement has no terms for asking for a short stay.",)


def test_a_contact_and_a_decision_someone_else_takes_out_are_kept_for_their_writer():
    """Alex listed their sister and handed over a decision; Kim takes both out. Each is kept,
    in its section, and Alex is told before signing until they change those lists again."""
    agreement, client, worker = kind(), Author(1, "Alex", "client"), Author(2, "Kim", "key_worker")
    raw = {
        "sections": {
            "contingencies": {
                "contacts": [{"name": "My sister", "how_to_contact": "07700 900000"}],
                "handed_over": [
                    {"decision": "My money", "to_whom": "My sister", "until": "2027-06-01"}
                ],
            },
        }
    }
    first = agreement.attribute(None, agreement.validate(raw), client)
    raw = copy.deepcopy(first)
    raw["sections"]["contingencies"]["contacts"] = []
    raw["sections"]["contingencies"]["handed_over"] = []
    second = agreement.attribute(first, agreement.validate(raw), worker)
    records = second["removed_items"]
    assert [
        (r["item"], r["section"], r["words"].get("name") or r["words"]["decision"]) for r in records
    ] == [("decision", "contingencies", "My money"), ("person", "contingencies", "My sister")]
    assert all(r["written_by"] == client.as_dict() for r in records)
    assert agreement.taken_out_from(second, client.id) == [
        ("When I am not well", ["Kim took out a decision you wrote and someone you listed"])
    ]
    assert agreement.taken_out_from(second, worker.id) == []

    # Alex changes another section: still told. Alex changes each list: no longer.
    raw = copy.deepcopy(second)
    raw["sections"]["boundaries"]["worker_hours"] = {"text": "Mon-Fri 9-5"}
    third = agreement.attribute(second, agreement.validate(raw), client)
    assert third["removed_items"] == records
    raw = copy.deepcopy(third)
    raw["sections"]["contingencies"]["contacts"] = [{"name": "My brother"}]
    raw["sections"]["contingencies"]["handed_over"] = [
        {"decision": "My post", "to_whom": "My brother", "until": "2027-06-01"}
    ]
    fourth = agreement.attribute(third, agreement.validate(raw), client)
    assert "removed_items" not in fourth
    assert agreement.taken_out_from(fourth, client.id) == []


def test_a_taken_out_item_records_its_field_and_ends_only_when_that_list_is_changed():
    """Kim takes out Alex's crisis contact. The record says which list it was in; Alex
    handing over another decision in the same section leaves it be; Alex changing the
    contacts ends it, as they have had the last word there."""
    agreement, client, worker = kind(), Author(1, "Alex", "client"), Author(2, "Kim", "key_worker")
    raw = {"sections": {"contingencies": {"contacts": [{"name": "My sister"}]}}}
    first = agreement.attribute(None, agreement.validate(raw), client)
    raw = copy.deepcopy(first)
    raw["sections"]["contingencies"]["contacts"] = []
    second = agreement.attribute(first, agreement.validate(raw), worker)
    [record] = second["removed_items"]
    assert (record["section"], record["field"]) == ("contingencies", "contacts")

    raw = copy.deepcopy(second)
    raw["sections"]["contingencies"]["handed_over"] = [
        {"decision": "My money", "to_whom": "My sister", "until": "2027-06-01"}
    ]
    raw["sections"]["contingencies"]["warning_signs"] = {"text": "I stop sleeping"}
    third = agreement.attribute(second, agreement.validate(raw), client)
    assert third["removed_items"] == [record]
    assert agreement.taken_out_from(third, client.id) == [
        ("When I am not well", ["Kim took out someone you listed"])
    ]

    raw = copy.deepcopy(third)
    raw["sections"]["contingencies"]["contacts"] = [{"name": "My brother"}]
    fourth = agreement.attribute(third, agreement.validate(raw), client)
    assert "removed_items" not in fourth


def test_a_taken_out_item_keeps_its_writers_own_words_beside_the_change():
    """Alex wrote a number, Kim changed it and then took the contact out: the record keeps
    Kim's number as it stood and Alex's own beside it."""
    agreement, client, worker = kind(), Author(1, "Alex", "client"), Author(2, "Kim", "key_worker")
    raw = {
        "sections": {
            "contingencies": {"contacts": [{"name": "My sister", "how_to_contact": "07700 900789"}]}
        }
    }
    first = agreement.attribute(None, agreement.validate(raw), client)
    raw = copy.deepcopy(first)
    raw["sections"]["contingencies"]["contacts"][0]["how_to_contact"] = "07700 900000 (office)"
    second = agreement.attribute(first, agreement.validate(raw), worker)
    raw = copy.deepcopy(second)
    raw["sections"]["contingencies"]["contacts"] = []
    third = agreement.attribute(second, agreement.validate(raw), worker)
    [record] = third["removed_items"]
    assert record["words"]["how_to_contact"] == "07700 900000 (office)"
    assert record["writers_words"]["how_to_contact"] == "07700 900789"
    assert record["written_by"] == client.as_dict() and record["changed_by"] == worker.as_dict()
