"""How much one version may hold: text per field, items per list, writing altogether. The
largest version allowed is printed as a signed PDF in tests/pdf/test_largest_version.py."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from careplan.domain.agreement import AgreementKind, parse_template
from careplan.domain.blocks import MAX_GOALS, MAX_HANDOVERS, MAX_PEOPLE
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.documents import ALL_CONTENT, MAX_TEXT, text_size
from careplan.domain.errors import ContentInvalid
from tests.pdf.largest import largest_agreement, largest_care_plan, words

AGREEMENTS = Path(__file__).resolve().parents[2] / "agreements"


@pytest.fixture(scope="module")
def template() -> dict:
    source = AGREEMENTS / "smi_self_referral.toml"
    return parse_template(source.name, tomllib.loads(source.read_text()))


def refused(kind, raw) -> dict[str, str]:
    with pytest.raises(ContentInvalid) as err:
        kind.validate(raw)
    return err.value.errors


def test_the_largest_versions_are_allowed_to_the_character(template):
    for kind, content in (
        (CARE_PLAN, largest_care_plan()),
        (AgreementKind(template), largest_agreement(template)),
    ):
        assert text_size(content) == MAX_TEXT
        assert kind.validate(content) == content


def test_one_character_more_is_refused_for_the_whole_version():
    content = largest_care_plan()
    member = content["care_team"][0]
    member["role"] = member["role"][:-1]
    CARE_PLAN.validate(content)
    member["role"] += "ab"
    errors = refused(CARE_PLAN, content)
    assert errors == {
        ALL_CONTENT: f"Altogether this is {MAX_TEXT + 1:,} characters of writing, and one "
        f"version can hold up to {MAX_TEXT:,}. Please shorten some parts."
    }


def test_one_item_more_than_a_list_holds_is_refused_beside_the_list(template):
    plan = largest_care_plan()
    more_goals = copy.deepcopy(plan)
    more_goals["goals"].append({"title": "One more", "steps": []})
    assert refused(CARE_PLAN, more_goals) == {
        "goals": f"Up to {MAX_GOALS} goals fit in one document, and there are "
        f"{MAX_GOALS + 1}. Please combine or remove some."
    }
    more_steps = copy.deepcopy(plan)
    more_steps["goals"][3]["steps"].append(dict(more_steps["goals"][3]["steps"][0], id=None))
    assert list(refused(CARE_PLAN, more_steps)) == ["goals-3-steps"]
    more_people = copy.deepcopy(plan)
    more_people["care_team"].append({"name": "One more"})
    assert f"Up to {MAX_PEOPLE} people" in refused(CARE_PLAN, more_people)["care_team"]

    agreement = largest_agreement(template)
    kind = AgreementKind(template)
    more_decisions = copy.deepcopy(agreement)
    decisions = more_decisions["sections"]["contingencies"]["handed_over"]
    decisions.append(dict(decisions[0], id=None))
    assert list(refused(kind, more_decisions)) == ["sections-contingencies-handed_over"]
    assert len(decisions) == MAX_HANDOVERS + 1


def test_a_60000_member_care_team_is_refused_by_counting_not_member_by_member():
    # Every member here is invalid too (no name): only the count is reported, so the members
    # were never read one by one.
    team = [{"role": "x" * 200} for _ in range(60_000)]
    assert refused(CARE_PLAN, {"care_team": team}) == {
        "care_team": f"Up to {MAX_PEOPLE} people can be listed here, and there are 60000. "
        "Please remove some, or name a team once instead of each person in it."
    }


def test_text_per_field_is_still_limited():
    errors = refused(CARE_PLAN, {"what_matters": {"text": words(5001)}})
    assert errors == {
        "what_matters-text": "Please keep this to 5,000 characters or fewer: it has 5,001."
    }
