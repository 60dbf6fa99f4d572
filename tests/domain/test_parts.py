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
    # A draft of that section is in a save holding it, whatever else the save changed.
    other = {"sections": {"boundaries": {"worker_hours": {"text": "Weekdays only"}}}}
    saved = kind.validate(kind.with_part(merged, other, "boundaries"))
    assert kind.saved_all_of(base, merged, saved)
    later = {"sections": {"communication": {"channels": {"text": "Text me later"}}}}
    assert not kind.saved_all_of(base, merged, kind.with_part(saved, later, "communication"))
    assert not kind.saved_all_of(base, merged, base)


def test_a_save_holds_a_drafts_changes_part_by_part_whoever_wrote_them_and_whatever_ids():
    base = _plan()
    draft = CARE_PLAN.validate({**strip_attribution(base), "what_matters": {"text": "My dog"}})
    # Saved by someone else, new items given other ids: the same words, and more besides.
    saved = CARE_PLAN.validate({**strip_attribution(draft), "care_team": [{"name": "Sam"}]})
    saved = CARE_PLAN.attribute(base, saved, Author(9, "Sam", "client"))
    assert CARE_PLAN.saved_all_of(base, draft, saved)
    assert CARE_PLAN.saved_all_of(base, base, saved)  # a draft that changed nothing
    assert not CARE_PLAN.saved_all_of(base, draft, base)
    # What is in no part (the review interval) counts as a part of its own.
    longer = CARE_PLAN.validate({**strip_attribution(base), "review_interval_weeks": 12})
    assert not CARE_PLAN.saved_all_of(base, longer, saved)
    assert CARE_PLAN.saved_all_of(base, longer, {**saved, "review_interval_weeks": 12})
    # A first version's draft, typed on nothing.
    assert CARE_PLAN.saved_all_of(None, draft, draft)
    assert not CARE_PLAN.saved_all_of(None, draft, base)
