"""A first version with nothing filled in is refused: saved, it would ask the other person to
sign an empty form, and the document could no longer be removed as only started."""

import tomllib
from datetime import date
from pathlib import Path

import pytest

from careplan.domain.agreement import AgreementKind, parse_template
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.documents import ALL_CONTENT, NOTHING_FILLED_IN
from careplan.domain.errors import ContentInvalid

FOLDER = Path(__file__).resolve().parents[2] / "agreements"
TODAY = date(2027, 3, 1)


def agreement() -> AgreementKind:
    name = "smi_self_referral.toml"
    return AgreementKind(parse_template(name, tomllib.loads((FOLDER / name).read_text())))


@pytest.mark.parametrize("kind", [CARE_PLAN, agreement()], ids=["care plan", "agreement"])
def test_a_first_version_with_nothing_filled_in_is_refused(kind):
    for raw in ({}, kind.empty_content()):
        with pytest.raises(ContentInvalid) as refused:
            kind.check_save(None, raw, TODAY)
        assert refused.value.errors == {ALL_CONTENT: NOTHING_FILLED_IN}


def test_one_answer_is_enough_and_a_later_version_may_empty_everything():
    first = CARE_PLAN.check_save(None, {"what_matters": {"text": "My dog."}}, TODAY)
    assert first["what_matters"]["text"] == "My dog."
    # Only the review interval chosen (an arrow key on its box is enough): nobody's words,
    # and the other person would be asked to sign an empty form.
    with pytest.raises(ContentInvalid) as refused:
        CARE_PLAN.check_save(None, {"review_interval_weeks": 4}, TODAY)
    assert refused.value.errors == {ALL_CONTENT: NOTHING_FILLED_IN}
    # With words, it is kept as chosen.
    chosen = {"review_interval_weeks": 4, "what_matters": {"text": "My dog."}}
    assert CARE_PLAN.check_save(None, chosen, TODAY)["review_interval_weeks"] == 4
    # Emptying a plan later is a change like any other, kept in its history.
    emptied = CARE_PLAN.check_save(first, CARE_PLAN.empty_content(), TODAY)
    assert emptied["what_matters"]["text"] == ""


def test_an_agreement_with_one_part_written_is_saved():
    raw = {"sections": {"boundaries": {"worker_response": {"text": "Within a day."}}}}
    saved = agreement().check_save(None, raw, TODAY)
    assert saved["sections"]["boundaries"]["worker_response"]["text"] == "Within a day."


def test_an_agreement_with_only_its_numbers_changed_has_nothing_written():
    kind = agreement()
    raw = kind.empty_content()
    raw["terms"]["review_interval_weeks"] = 4
    raw["terms"]["contingency_max_days"] = 7
    with pytest.raises(ContentInvalid) as refused:
        kind.check_save(None, raw, TODAY)
    assert refused.value.errors == {ALL_CONTENT: NOTHING_FILLED_IN}
