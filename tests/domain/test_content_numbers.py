"""Numbers inside a document's content (a care plan's review interval, an agreement's terms):
from a form they are typed as text, so "12" is twelve; in JSON they are numbers, so only an
integer is one. Nothing is ever cut down (12.7 is not 12) or guessed (true is not 1)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from careplan.domain.agreement import AgreementKind, parse_template
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.errors import ContentInvalid

TEMPLATE = Path(__file__).resolve().parents[2] / "agreements" / "smi_self_referral.toml"

AS_JSON = 'Send it as a whole number without quotes: 2, not "2", 2.0 or true.'


def agreement():
    return AgreementKind(parse_template("smi", tomllib.loads(TEMPLATE.read_text())))


def errors_of(kind, raw, **how) -> dict[str, str]:
    with pytest.raises(ContentInvalid) as err:
        kind.validate(raw, **how)
    return err.value.errors


def test_an_integer_is_a_number_sent_either_way():
    assert CARE_PLAN.validate({"review_interval_weeks": 8})["review_interval_weeks"] == 8
    assert (
        CARE_PLAN.validate({"review_interval_weeks": 8}, from_form=True)["review_interval_weeks"]
        == 8
    )


@pytest.mark.parametrize("sent", [12.7, 12.0, 1e3, "12", " 12 ", True, False, None, [12]])
def test_in_json_only_an_integer_is_a_whole_number_and_the_answer_is_named(sent):
    errors = errors_of(CARE_PLAN, {"review_interval_weeks": sent})
    assert errors == {
        "review_interval_weeks": '"Review this plan every how many weeks?" is a whole number from 1 to 52. '
        + AS_JSON
    }


def test_in_json_an_agreements_numbers_are_named_as_its_form_names_them():
    raw = {"terms": {"review_interval_weeks": 12.7, "self_referral": {"max_nights": "3"}}}
    errors = errors_of(agreement(), raw)
    assert errors == {
        "terms-review_interval_weeks": '"Agreed terms, review this agreement every how many weeks?" is a whole '
        "number from 1 to 52. " + AS_JSON,
        "terms-self_referral-max_nights": '"Agreed terms, self-referral, for at most how many '
        'nights?" is a whole number from 1 to 60. ' + AS_JSON,
    }


@pytest.mark.parametrize("typed, weeks", [("12", 12), (" 12 ", 12), ("6", 6), ("١٢", 12)])
def test_typed_in_a_form_a_number_is_read_from_its_text(typed, weeks):
    content = CARE_PLAN.validate({"review_interval_weeks": typed}, from_form=True)
    assert content["review_interval_weeks"] == weeks


@pytest.mark.parametrize("typed", ["12.7", "often", "", "true", "1_2"])
def test_typed_in_a_form_what_is_not_a_whole_number_is_said_plainly(typed):
    errors = errors_of(CARE_PLAN, {"review_interval_weeks": typed}, from_form=True)
    assert errors == {"review_interval_weeks": "Please give a whole number of weeks."}


@pytest.mark.parametrize("sent", [12.7, 12.0, True])
def test_even_from_a_form_a_number_that_is_not_text_is_never_cut_or_guessed(sent):
    errors = errors_of(CARE_PLAN, {"review_interval_weeks": sent}, from_form=True)
    assert errors == {"review_interval_weeks": "Please give a whole number of weeks."}


def test_typed_in_a_form_an_agreements_terms_are_read_from_their_text():
    raw = {"terms": {"review_interval_weeks": " 8 ", "self_referral": {"max_nights": "3"}}}
    terms = agreement().validate(raw, from_form=True)["terms"]
    assert terms["review_interval_weeks"] == 8 and terms["self_referral"]["max_nights"] == 3
    wrong = {"terms": {"self_referral": {"max_nights": "2.5"}}}
    errors = errors_of(agreement(), wrong, from_form=True)
    assert errors == {"terms-self_referral-max_nights": "Please give a whole number."}


def test_a_whole_number_out_of_range_is_told_the_range_either_way():
    for how in ({}, {"from_form": True}):
        sent = {"review_interval_weeks": 0 if not how else "0"}
        errors = errors_of(CARE_PLAN, sent, **how)
        assert errors == {"review_interval_weeks": "Choose between 1 and 52 weeks."}
