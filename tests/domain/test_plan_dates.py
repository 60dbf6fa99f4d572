"""A date in a document's plans more than 10 years ahead, or before 1900, is almost surely a
mistyped year: refused, but only when it is new or changed in the save, so an older version
can always be saved again as it is. Dates behind us are fine (a step already done)."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest

from careplan.domain.blocks import GOAL_WITHOUT_TITLE, STEP_WITHOUT_WORDS
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.errors import ContentInvalid
from careplan.domain.plan_dates import (
    HANDED_OVER_PAST,
    TOO_EARLY,
    TOO_FAR,
    PassedUntil,
    earliest_until,
    latest_likely_date,
    passed_refusal,
    stuck_on_passed_day,
    unlikely_dates,
)
from tests.domain.test_agreement_templates import kind as agreement_kind

TODAY = date(2026, 5, 4)


@pytest.mark.parametrize(
    "day, said",
    [
        ("2036-05-04", None),  # ten years to the day
        ("2036-05-05", TOO_FAR),
        ("9999-12-31", TOO_FAR),
        ("2026-05-04", None),
        ("2001-01-01", None),  # something already done
        ("1900-01-01", None),
        ("1899-12-31", TOO_EARLY),
        ("0001-01-01", TOO_EARLY),
        ("", None),  # no date: the schema says whether one is needed
    ],
)
def test_a_date_too_far_ahead_or_before_1900_is_refused(day, said):
    problems = unlikely_dates([("goals-0-steps-0-due", day)], set(), TODAY)
    assert problems == ({"goals-0-steps-0-due": said} if said else {})


def test_a_date_already_in_the_version_saved_on_is_kept():
    assert unlikely_dates([("a", "9999-12-31")], {"9999-12-31"}, TODAY) == {}
    assert unlikely_dates([("a", "9999-12-30")], {"9999-12-31"}, TODAY) == {"a": TOO_FAR}


def test_ten_years_from_a_leap_day_ends_on_the_28th():
    assert latest_likely_date(date(2028, 2, 29)) == date(2038, 2, 28)


def test_the_messages_say_what_to_check_plainly():
    assert TOO_FAR == "That date is more than 10 years away. Please check the year."
    assert TOO_EARLY == "That date is before 1900. Please check the year."


def _plan(*dues: str) -> dict:
    steps = [
        {"text": f"Step {n}", "owner": {"kind": "client"}, "due": d} for n, d in enumerate(dues)
    ]
    return CARE_PLAN.validate({"goals": [{"title": "Move", "steps": steps}]})


def test_a_care_plans_new_step_dates_are_checked_by_the_name_of_their_box():
    with pytest.raises(ContentInvalid) as refused:
        CARE_PLAN.check_dates(None, _plan("2027-01-01", "9999-12-31", "1026-05-04"), TODAY)
    assert refused.value.errors == {
        "goals-0-steps-1-due": TOO_FAR,
        "goals-0-steps-2-due": TOO_EARLY,
    }
    # The same plan saved again on a version that has those dates: nothing new to check.
    before = _plan("9999-12-31", "1026-05-04")
    CARE_PLAN.check_dates(before, _plan("2027-01-01", "9999-12-31", "1026-05-04"), TODAY)
    # A date changed to another unlikely one is new.
    with pytest.raises(ContentInvalid) as refused:
        CARE_PLAN.check_dates(before, _plan("9999-12-30"), TODAY)
    assert refused.value.errors == {"goals-0-steps-0-due": TOO_FAR}


def test_an_agreements_step_dates_and_decisions_handed_over_are_checked():
    agreement = agreement_kind()
    content = agreement.validate(
        {
            "sections": {
                "shared_goals": {
                    "goals": [
                        {
                            "title": "Stay well",
                            "steps": [
                                {"text": "Walk", "owner": {"kind": "client"}, "due": "2207-01-01"}
                            ],
                        }
                    ]
                },
                "contingencies": {
                    "handed_over": [
                        {"decision": "My money", "to_whom": "My sister", "until": "2027-01-01"},
                        {"decision": "My post", "to_whom": "My sister", "until": "2207-01-01"},
                    ]
                },
            }
        }
    )
    with pytest.raises(ContentInvalid) as refused:
        agreement.check_dates(None, content, TODAY)
    assert refused.value.errors == {
        "sections-shared_goals-goals-0-steps-0-due": TOO_FAR,
        "sections-contingencies-handed_over-1-until": TOO_FAR,
    }
    agreement.check_dates(content, content, TODAY)  # an old version saved again as it is


def test_a_save_refused_for_another_answer_names_its_unlikely_dates_too():
    """check_save: the schema's problems and the dates' at once, in the order of the answers."""
    raw = {
        "goals": [
            {"title": "", "steps": [{"text": "Ring", "owner": {"kind": "client"}, "due": "1026-05-04"}]},
            {"title": "Move", "steps": [{"text": "", "owner": {"kind": "client"}, "due": "9999-12-31"}]},
        ]
    }  # fmt: skip
    with pytest.raises(ContentInvalid) as refused:
        CARE_PLAN.check_save(None, raw, TODAY)
    assert list(refused.value.errors.items()) == [
        ("goals-0-title", GOAL_WITHOUT_TITLE),
        ("goals-0-steps-0-due", TOO_EARLY),
        ("goals-1-steps-0-text", STEP_WITHOUT_WORDS),
        ("goals-1-steps-0-due", TOO_FAR),
    ]
    # A date already in the version the save is based on is not said again.
    before = _plan("9999-12-31")
    with pytest.raises(ContentInvalid) as refused:
        CARE_PLAN.check_save(before, raw, TODAY)
    assert "goals-1-steps-0-due" not in refused.value.errors
    # Valid otherwise: the dates alone, as check_dates says them.
    raw["goals"][0]["title"] = raw["goals"][1]["steps"][0]["text"] = "Fixed"
    with pytest.raises(ContentInvalid) as refused:
        CARE_PLAN.check_save(None, raw, TODAY)
    assert refused.value.errors == {
        "goals-0-steps-0-due": TOO_EARLY,
        "goals-1-steps-0-due": TOO_FAR,
    }
    raw["goals"][0]["steps"][0]["due"] = raw["goals"][1]["steps"][0]["due"] = "2027-01-01"
    assert CARE_PLAN.check_save(None, raw, TODAY)["goals"][1]["title"] == "Move"


@pytest.mark.parametrize(
    "goals",
    ["not a list", ["not a goal", {"steps": "no"}], [{"title": "x", "steps": [7, {"due": 5}]}]],
)
def test_a_submission_not_shaped_as_goals_is_refused_by_the_schema_alone(goals):
    with pytest.raises(ContentInvalid) as refused:
        CARE_PLAN.check_save(None, {"goals": goals}, TODAY)
    assert TOO_FAR not in refused.value.errors.values()


def test_an_agreements_decision_handed_over_is_said_with_its_other_problems():
    agreement = agreement_kind()
    raw = {
        "sections": {
            "contingencies": {
                "handed_over": [{"decision": "My post", "to_whom": "", "until": "2207-01-01"}]
            }
        }
    }
    with pytest.raises(ContentInvalid) as refused:
        agreement.check_save(None, raw, TODAY)
    errors = refused.value.errors
    assert errors["sections-contingencies-handed_over-0-until"] == TOO_FAR
    assert len(errors) > 1
    for malformed in ({"sections": "no"}, {"sections": {"contingencies": {"handed_over": 3}}}):
        with pytest.raises(ContentInvalid) as refused:
            agreement.check_save(None, malformed, TODAY)
        assert TOO_FAR not in refused.value.errors.values()


def _handed_over(until: str, **sections) -> dict:
    return agreement_kind().validate(
        {
            "sections": {
                "contingencies": {
                    "handed_over": [
                        {"decision": "My money", "to_whom": "My sister", "until": until}
                    ],
                    **sections,
                }
            }
        }
    )


def test_a_decision_handed_over_until_a_day_already_past_is_refused_when_new_or_changed():
    """A decision handed over "until" yesterday was saved, and could be sealed, as if it
    were still handed over."""
    agreement = agreement_kind()
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    where = "sections-contingencies-handed_over-0-until"
    for before in (None, _handed_over("2026-06-01")):  # new, or changed to a past day
        with pytest.raises(ContentInvalid) as refused:
            agreement.check_dates(before, _handed_over(yesterday), TODAY)
        assert refused.value.errors == {where: HANDED_OVER_PAST}
    with pytest.raises(ContentInvalid) as refused:  # said beside the other problems too
        agreement.check_save(None, {"sections": {"contingencies": {"handed_over": [
            {"decision": "My money", "to_whom": "", "until": yesterday}]}}}, TODAY)  # fmt: skip
    assert refused.value.errors[where] == HANDED_OVER_PAST and len(refused.value.errors) > 1
    agreement.check_dates(None, _handed_over(TODAY.isoformat()), TODAY)  # until today: fine
    # Kept as it was in the version saved on: an unrelated change is not held up by it.
    kept = _handed_over(yesterday)
    later = copy.deepcopy(kept)
    later["sections"]["contingencies"]["what_helps"] = {"text": "Quiet."}
    agreement.check_dates(kept, later, TODAY)
    # A new decision given the same day as one kept is new all the same: held to it.
    added = copy.deepcopy(kept)
    added["sections"]["contingencies"]["handed_over"].append(
        {"id": "b2", "decision": "My landlord", "to_whom": "Kim", "until": yesterday}
    )
    with pytest.raises(ContentInvalid) as refused:
        agreement.check_dates(kept, added, TODAY)
    assert refused.value.errors == {where.replace("-0-", "-1-"): HANDED_OVER_PAST}
    # A step's date behind us is still fine: something already done.
    CARE_PLAN.check_dates(None, _plan("2001-01-01"), TODAY)


def test_a_version_names_its_decisions_handed_over_until_a_day_now_passed():
    """Saved while the day was ahead, a decision's "until" can pass before anyone signs: the
    version names it, so nobody agrees to a handover already over. Today itself has not
    passed; a step's date behind us is no such thing (a step can be late)."""
    agreement = agreement_kind()
    content = agreement.validate({"sections": {
        "shared_goals": {"goals": [{"title": "Stay well", "steps": [
            {"text": "Walk", "owner": {"kind": "client"}, "due": "2026-01-01"}]}]},
        "contingencies": {"handed_over": [
            {"decision": "My money", "to_whom": "My sister", "until": TODAY.isoformat()}]},
    }})  # fmt: skip
    assert agreement.handed_over_until_passed(content, TODAY) == []
    [passed] = agreement.handed_over_until_passed(content, TODAY + timedelta(days=1))
    assert passed == PassedUntil(
        "“My money”",
        "My sister",
        TODAY,
        "contingencies",
        "When I am not well",
        "sections-contingencies-handed_over-0-until",
    )
    assert CARE_PLAN.handed_over_until_passed(_plan("2001-01-01"), TODAY) == []


def test_the_refusal_names_each_decision_and_its_day_in_words():
    one = PassedUntil("“My money”", "My sister", date(2026, 12, 3), "contingencies",
                      "When I am not well", "x")  # fmt: skip
    assert passed_refusal([one]) == (
        "In “When I am not well”, the decision “My money” was handed over to My sister until "
        "3 December 2026, and that day has passed. Please change that day, or take the "
        "decision out, then sign. Nothing was signed."
    )
    other = PassedUntil("“My post”", "Kim", date(2026, 11, 30), "support", "Support", "y")
    assert passed_refusal([one, other]) == (
        "These decisions were handed over until a day that has passed: “My money” (to My "
        "sister until 3 December 2026, in “When I am not well”); “My post” (to Kim until 30 "
        "November 2026, in “Support”). Please change those days, or take those decisions "
        "out, then sign. Nothing was signed."
    )


def test_a_version_is_stuck_once_its_earliest_until_has_passed():
    """Documents keep the earliest "until" of their latest version; from the day after it,
    nobody can sign that version (as handed_over_until_passed finds it)."""
    agreement = agreement_kind()
    content = agreement.validate({"sections": {"contingencies": {"handed_over": [
        {"decision": "My money", "to_whom": "My sister", "until": "2026-07-01"},
        {"decision": "My post", "to_whom": "Kim", "until": TODAY.isoformat()},
    ]}}})  # fmt: skip
    earliest = agreement.earliest_handed_over_until(content)
    assert earliest == TODAY
    assert CARE_PLAN.earliest_handed_over_until(_plan("2001-01-01")) is None
    assert earliest_until(["", "not a day"]) is None
    assert not stuck_on_passed_day(None, TODAY)
    assert not stuck_on_passed_day(earliest, TODAY)  # the day itself has not passed
    day_after = TODAY + timedelta(days=1)
    assert stuck_on_passed_day(earliest, day_after)
    assert bool(agreement.handed_over_until_passed(content, day_after))
