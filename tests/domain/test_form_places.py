"""The summary of what went wrong names each answer in words."""

from pathlib import Path

import pytest

from careplan.agreement_library import AgreementLibrary
from careplan.domain.agreement import AgreementKind
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.form_places import place

AGREEMENTS = Path(__file__).resolve().parents[2] / "agreements"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("goals-0-title", "Goals and steps, goal 1: what to achieve"),
        ("goals-0-steps-1-due", "Goals and steps, goal 1, step 2: by when"),
        ("goals-2-steps-0-owner-kind", "Goals and steps, goal 3, step 1: who will do it"),
        ("goals-0-steps-0-owner-name", "Goals and steps, goal 1, step 1: who, if someone else"),
        ("goals-0-steps", "Goals and steps, goal 1: steps"),
        ("goals", "Goals and steps"),
        ("domains-housing-own_words", "My life, in my own words, Housing"),
        ("care_team-1-name", "My care team, person 2: name"),
        ("what_matters-text", "What matters to me"),
        ("review_interval_weeks", "Review this plan every how many weeks?"),
        ("change_note", "What did you change?"),  # not "change note"
        ("something_else", "something else"),
        ("content", ""),  # the whole document: its message says it all
    ],
)
def test_care_plan_answers_are_named(name, words):
    assert place(name, CARE_PLAN.form_words()) == words


def test_agreement_answers_are_named_from_their_template():
    template = AgreementLibrary(AGREEMENTS).current().templates["smi_self_referral"]
    kind = AgreementKind(template)
    words = kind.form_words()
    section, text = next(
        (s, f) for s in template["sections"] for f in s["fields"] if f["type"] == "text"
    )
    listed = next(
        (s, f) for s in template["sections"] for f in s["fields"] if f["type"] == "people"
    )
    assert place(f"sections-{section['key']}-{text['key']}-text", words) == (
        f"{section['title']}, {text['prompt']}"
    )
    assert place(f"sections-{listed[0]['key']}-{listed[1]['key']}-0-name", words) == (
        f"{listed[0]['title']}, person 1: name"
    )
    assert place("terms-review_interval_weeks", words) == (
        "Agreed terms, review this agreement every how many weeks?"
    )
    assert place("terms-self_referral-max_nights", words) == (
        "Agreed terms, self-referral, for at most how many nights?"
    )
    assert place("terms-self_referral-min_days_since_discharge", words) == (
        "Agreed terms, self-referral, not within how many days of the last time I left?"
    )
    assert place("terms-post_crisis_review_days", words) == (
        "Agreed terms, after a crisis, meet to look back within how many days?"
    )
    assert place("terms-contingency_max_days", words) == (
        "Agreed terms, when the plan for when I am not well is used, it lasts at most how many "
        "days?"
    )
