"""Editing one section on its own leaves every other section as it was."""

from __future__ import annotations

import pytest

from careplan.domain.agreement import AgreementKind, parse_template
from careplan.domain.attribution import Author, strip_attribution
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.errors import ContentInvalid
from tests.domain.test_agreement_templates import load

WORKER = Author(2, "Kim", "key_worker")


def _plan() -> dict:
    raw = {
        "domains": {"housing": {"own_words": "Damp flat"}, "money": {"own_words": "Tight"}},
        "goals": [{"title": "Move", "steps": []}],
        "care_team": [{"name": "Dr Patel", "role": "GP"}],
        "what_matters": {"text": "Being listened to"},
        "review_interval_weeks": 8,
    }
    return CARE_PLAN.attribute(None, CARE_PLAN.validate(raw), WORKER)


def test_a_care_plan_part_replaces_only_that_part():
    base = _plan()
    raw = {"what_matters": {"text": "My dog"}, "domains": {"housing": {"own_words": "ignored"}}}
    merged = CARE_PLAN.validate(CARE_PLAN.with_part(base, raw, "what_matters"))
    assert merged["what_matters"]["text"] == "My dog"
    unchanged = strip_attribution(base)
    for key in ("domains", "goals", "care_team", "review_interval_weeks"):
        assert merged[key] == unchanged[key], key


def test_an_emptied_part_is_empty_and_an_unknown_part_is_refused():
    base = _plan()
    emptied = CARE_PLAN.validate(CARE_PLAN.with_part(base, {}, "care_team"))
    assert emptied["care_team"] == [] and emptied["goals"] == strip_attribution(base)["goals"]
    with pytest.raises(ContentInvalid) as err:
        CARE_PLAN.with_part(base, {}, "review_interval_weeks")
    assert set(err.value.errors) == {"part"}


def test_an_agreement_section_replaces_only_that_section():
    kind = AgreementKind(parse_template("general.toml", load("general.toml")))
    base = kind.validate(
        {
            "sections": {
                "communication": {"channels": {"text": "Text me first"}},
                "boundaries": {"worker_hours": {"text": "Not after 8pm"}},
            },
            "terms": {"review_interval_weeks": 6},
        }
    )
    raw = {"sections": {"communication": {"channels": {"text": "Call me"}}, "boundaries": {}}}
    merged = kind.validate(kind.with_part(base, raw, "communication"))
    assert merged["sections"]["communication"]["channels"]["text"] == "Call me"
    assert merged["sections"]["boundaries"] == base["sections"]["boundaries"]
    assert merged["terms"]["review_interval_weeks"] == 6
