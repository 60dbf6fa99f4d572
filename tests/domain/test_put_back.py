"""Putting back an item someone took out: by its id (the "Put it back" button), or typed in
again with exactly its words. Either way it is the same item, credited to whoever wrote it,
and the record of it being taken out ends."""

import copy
import tomllib

import pytest

from careplan.domain.agreement import AgreementKind, parse_template
from careplan.domain.attribution import Author
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.taken_out import CannotPutBack, same_words, taken_out
from careplan.paths import PROJECT_ROOT

CLIENT = Author(1, "Alex", "client")
WORKER = Author(2, "Kim", "key_worker")
ALEX_IS = CLIENT.as_dict()
KIM_IS = WORKER.as_dict()


def ids():
    counter = iter(range(1000))
    return lambda: f"id{next(counter)}"


def _save(before, raw, author, make_id):
    return CARE_PLAN.attribute(before, CARE_PLAN.validate(raw, make_id), author)


def _alexs_plan(make_id):
    """Alex's goal with three steps, and a second goal."""
    step = {"owner": {"kind": "client"}, "due": "2027-01-01"}
    raw = {
        "goals": [
            {
                "title": "Move",
                "steps": [
                    {"text": "Ring council", **step},
                    {"text": "Call the council", **step},
                    {"text": "Visit the flat", **step},
                ],
            },
            {"title": "Sleep better", "steps": [{"text": "Walk", **step}]},
        ]
    }
    return _save(None, raw, CLIENT, make_id)


def _without_step(content, text):
    raw = copy.deepcopy(content)
    for goal in raw["goals"]:
        goal["steps"] = [s for s in goal["steps"] if s["text"] != text]
    return raw


def test_a_step_put_back_by_its_id_is_its_writers_again_where_it_was_and_the_record_ends():
    make_id = ids()
    first = _alexs_plan(make_id)
    step = first["goals"][0]["steps"][1]
    second = _save(first, _without_step(first, "Call the council"), WORKER, make_id)
    assert second["goals"][0]["removed_items"][0]["id"] == step["id"]

    raw, record = CARE_PLAN.with_put_back(second, step["id"], [first])
    assert record["words"]["text"] == "Call the council"
    third = _save(second, raw, WORKER, make_id)  # Kim puts it back
    goal = third["goals"][0]
    assert [s["text"] for s in goal["steps"]] == [
        "Ring council",
        "Call the council",
        "Visit the flat",
    ]
    back = goal["steps"][1]
    assert back["id"] == step["id"]
    assert (back["written_by"], back["changed_by"]) == (ALEX_IS, ALEX_IS)
    assert "removed_items" not in goal
    assert CARE_PLAN.taken_out_from(third, CLIENT.id) == []
    # Exactly as it was: no new words, no new credit.
    assert third["goals"] == first["goals"]


def test_a_goal_put_back_brings_its_steps_each_credited_to_its_own_writer():
    make_id = ids()
    first = _alexs_plan(make_id)
    raw = copy.deepcopy(first)
    raw["goals"][1]["steps"].append(
        {"text": "No phone after ten", "owner": {"kind": "client"}, "due": "2027-01-01"}
    )
    second = _save(first, raw, WORKER, make_id)  # Kim adds a step to Alex's second goal
    raw = copy.deepcopy(second)
    raw["goals"].pop(1)
    third = _save(second, raw, WORKER, make_id)  # and then takes the goal out
    [record] = third["removed_items"]

    raw, _ = CARE_PLAN.with_put_back(third, record["id"], [second, first])
    fourth = _save(third, raw, CLIENT, make_id)  # Alex puts it back
    goal = fourth["goals"][1]
    assert goal["id"] == record["id"] and goal["written_by"] == ALEX_IS
    assert [(s["text"], s["written_by"]) for s in goal["steps"]] == [
        ("Walk", ALEX_IS),
        ("No phone after ten", KIM_IS),
    ]
    assert "removed_items" not in fourth
    assert fourth["goals"] == second["goals"]


def test_a_step_typed_in_again_with_the_same_words_is_the_one_put_back():
    make_id = ids()
    first = _alexs_plan(make_id)
    step = first["goals"][0]["steps"][1]
    second = _save(first, _without_step(first, "Call the council"), WORKER, make_id)
    raw = copy.deepcopy(second)
    retyped = {"text": "Call the council", "owner": {"kind": "client"}, "due": "2027-01-01"}
    raw["goals"][0]["steps"].append(retyped)
    third = _save(second, raw, WORKER, make_id)  # Kim types it in again
    back = third["goals"][0]["steps"][-1]
    assert back["id"] == step["id"]
    assert (back["written_by"], back["changed_by"]) == (ALEX_IS, ALEX_IS)
    assert "removed_items" not in third["goals"][0]
    assert CARE_PLAN.taken_out_from(third, CLIENT.id) == []


def test_only_exactly_the_same_words_typed_in_again_are_the_step_put_back():
    """Other words, or another date, is a new step by whoever typed it; the record stays."""
    make_id = ids()
    first = _alexs_plan(make_id)
    step = first["goals"][0]["steps"][1]
    second = _save(first, _without_step(first, "Call the council"), WORKER, make_id)
    raw = copy.deepcopy(second)
    raw["goals"][0]["steps"].append(
        {"text": "Call the council", "owner": {"kind": "client"}, "due": "2027-01-01"}
    )
    assert _save(second, raw, WORKER, make_id)["goals"][0]["steps"][-1]["id"] == step["id"]
    for changed in ({"text": "Call the council today"}, {"due": "2027-02-01"}):
        raw = copy.deepcopy(second)
        typed = {"text": "Call the council", "owner": {"kind": "client"}, "due": "2027-01-01"}
        raw["goals"][0]["steps"].append({**typed, **changed})
        third = _save(second, raw, WORKER, make_id)
        new = third["goals"][0]["steps"][-1]
        assert new["id"] != step["id"]
        assert (new["written_by"], new["changed_by"]) == (KIM_IS, KIM_IS)
        assert third["goals"][0]["removed_items"] == second["goals"][0]["removed_items"]
        assert CARE_PLAN.taken_out_from(third, CLIENT.id) == [
            ("Goals and steps", ["Kim took out a step you wrote"])
        ]


def test_a_submission_cannot_claim_credit_for_an_item_put_back():
    """Who wrote an item put back comes from the record, whatever the submission says; an
    item of another kind given the record's id gets no credit from it, nor ends it."""
    make_id = ids()
    first = _alexs_plan(make_id)
    step = first["goals"][0]["steps"][1]
    second = _save(first, _without_step(first, "Call the council"), WORKER, make_id)

    raw, _ = CARE_PLAN.with_put_back(second, step["id"], [first])
    raw["goals"][0]["steps"][1]["written_by"] = KIM_IS
    raw["goals"][0]["steps"][1]["changed_by"] = KIM_IS
    third = _save(second, raw, WORKER, make_id)
    assert third["goals"][0]["steps"][1]["written_by"] == ALEX_IS

    # Put back, then changed: still Alex's step, Kim's change, Alex's words kept beside it.
    raw, _ = CARE_PLAN.with_put_back(second, step["id"], [first])
    raw["goals"][0]["steps"][1]["text"] = "Call the council on Monday"
    changed = _save(second, raw, WORKER, make_id)["goals"][0]["steps"][1]
    assert (changed["written_by"], changed["changed_by"]) == (ALEX_IS, KIM_IS)
    assert changed["writers_words"]["text"] == "Call the council"

    # A goal sent with the step's id is not the step.
    raw = copy.deepcopy(second)
    raw["goals"].append({"id": step["id"], "title": "Call the council", "steps": []})
    fourth = _save(second, raw, WORKER, make_id)
    assert fourth["goals"][-1]["written_by"] == KIM_IS
    assert fourth["goals"][0]["removed_items"] == second["goals"][0]["removed_items"]


def test_what_is_not_taken_out_cannot_be_put_back():
    make_id = ids()
    first = _alexs_plan(make_id)
    second = _save(first, _without_step(first, "Call the council"), WORKER, make_id)
    with pytest.raises(CannotPutBack):
        CARE_PLAN.with_put_back(second, "no-such-record", [first])
    with pytest.raises(CannotPutBack):  # still there: nothing taken out
        CARE_PLAN.with_put_back(second, first["goals"][0]["steps"][0]["id"], [first])


def test_a_step_whose_goal_went_too_waits_for_its_goal():
    make_id = ids()
    first = _alexs_plan(make_id)
    step_id = first["goals"][0]["steps"][1]["id"]
    second = _save(first, _without_step(first, "Call the council"), WORKER, make_id)
    raw = copy.deepcopy(second)
    goal = raw["goals"].pop(0)
    third = _save(second, raw, WORKER, make_id)
    # The step's note, now kept on the plan, names the goal it was in; so does the refusal.
    (kept,) = [r for r in taken_out(third) if r["id"] == step_id]
    assert kept["goal_title"] == goal["title"]
    with pytest.raises(CannotPutBack) as refused:
        CARE_PLAN.with_put_back(third, step_id, [second, first])
    assert (
        f"The goal “{goal['title']}”, which this step was in, is not in the plan now. Put that "
        "goal back first" in str(refused.value)
    )
    raw, _ = CARE_PLAN.with_put_back(third, goal["id"], [second, first])
    fourth = _save(third, raw, CLIENT, make_id)
    raw, _ = CARE_PLAN.with_put_back(fourth, step_id, [third, second, first])
    fifth = _save(fourth, raw, CLIENT, make_id)
    assert fifth["goals"][0]["steps"] == first["goals"][0]["steps"]
    assert "removed_items" not in fifth


def test_someone_listed_in_an_agreement_comes_back_as_the_client_listed_them():
    general = tomllib.loads((PROJECT_ROOT / "agreements" / "general.toml").read_text())
    agreement = AgreementKind(parse_template("general", general))
    sister = {"name": "My sister", "how_to_contact": "07700 900000"}
    raw = {"sections": {"contingencies": {"contacts": [{"name": "Dr Y"}, sister]}}}
    first = agreement.attribute(None, agreement.validate(raw), CLIENT)
    raw = copy.deepcopy(first)
    raw["sections"]["contingencies"]["contacts"].pop(1)
    second = agreement.attribute(first, agreement.validate(raw), WORKER)
    [record] = second["removed_items"]

    # Typed in again exactly: the same person, Alex's, and the record ends.
    raw = copy.deepcopy(second)
    raw["sections"]["contingencies"]["contacts"].append(dict(sister))
    third = agreement.attribute(second, agreement.validate(raw), WORKER)
    again = third["sections"]["contingencies"]["contacts"][1]
    assert again["id"] == record["id"] and again["written_by"] == ALEX_IS
    assert "removed_items" not in third

    # Put back: the same.
    raw, _ = agreement.with_put_back(second, record["id"], [first])
    third = agreement.attribute(second, agreement.validate(raw), WORKER)
    assert third["sections"]["contingencies"] == first["sections"]["contingencies"]
    assert "removed_items" not in third


def test_putting_back_one_of_two_keeps_the_other_taken_out():
    """Alex putting back one step is not Alex having the last word on the goals: the other
    step Kim took out stays kept, to put back too."""
    make_id = ids()
    first = _alexs_plan(make_id)
    raw = _without_step(_without_step(first, "Call the council"), "Visit the flat")
    second = _save(first, raw, WORKER, make_id)
    one, other = second["goals"][0]["removed_items"]
    raw, _ = CARE_PLAN.with_put_back(second, one["id"], [first])
    third = _save(second, raw, CLIENT, make_id)
    assert third["goals"][0]["removed_items"] == [other]
    raw, _ = CARE_PLAN.with_put_back(third, other["id"], [second, first])
    fourth = _save(third, raw, CLIENT, make_id)
    assert fourth["goals"] == first["goals"]


def test_the_same_words_are_the_same_letters_and_numbers_whatever_the_capitals_and_commas():
    assert same_words("Call the council.", "  call the  COUNCIL")
    assert same_words("Ring Dr. Patel, 9am", "ring dr patel 9 am")
    assert same_words("Ｃａｌｌ", "call")  # wide letters, as some phone keyboards type
    assert not same_words("Call the council", "Call the councillor")
    assert not same_words("Call the council", "Council: call the")
    assert not same_words("...", "!!")  # nothing to compare: never the same
    assert not same_words("", "")


def _typed_in_again(text, goal=0):
    """Alex's step "Call the council" taken out by Kim, who then types in `text` as a new step
    of goal `goal` (the record stays: other words): the content, and the record."""
    make_id = ids()
    first = _alexs_plan(make_id)
    second = _save(first, _without_step(first, "Call the council"), WORKER, make_id)
    [record] = second["goals"][0]["removed_items"]
    raw = copy.deepcopy(second)
    step = {"text": text, "owner": {"kind": "client"}, "due": "2027-03-01"}
    raw["goals"][goal]["steps"].append(step)
    third = _save(second, raw, WORKER, make_id)
    assert taken_out(third["goals"][0]) == [record]
    return third, record


def test_a_step_typed_in_again_in_other_words_looks_there_already():
    third, record = _typed_in_again("call the Council!")
    assert not CARE_PLAN.is_back(third, record)
    there = CARE_PLAN.looks_there(third, record)
    assert (there.noun, there.there, there.goal) == ("step", "call the Council!", "Move")
    assert there.message == (
        "“Goals and steps” already has a step “call the Council!” in the goal “Move”. It "
        "looks the same as “Call the council”, the step you are putting back, so putting it "
        "back would list it twice."
    )
    # In another goal of the list too: the same step, moved.
    there = CARE_PLAN.looks_there(*_typed_in_again("Call the council", goal=1))
    assert there.goal == "Sleep better"
    # Other words are another step; and the step itself back is not a look-alike.
    assert CARE_PLAN.looks_there(*_typed_in_again("Call the council today")) is None
    raw, _ = CARE_PLAN.with_put_back(third, record["id"])
    assert CARE_PLAN.is_back(raw, record)
    assert CARE_PLAN.looks_there(raw, record).there == "call the Council!"


def test_a_goal_or_a_person_looks_there_only_as_the_same_kind_in_the_same_list():
    make_id = ids()
    first = _alexs_plan(make_id)
    raw = copy.deepcopy(first)
    raw["goals"].pop(1)
    second = _save(first, raw, WORKER, make_id)
    [record] = second["removed_items"]
    assert record["words"]["title"] == "Sleep better"
    raw = copy.deepcopy(second)
    raw["goals"][0]["steps"].append(
        {"text": "Sleep better", "owner": {"kind": "client"}, "due": "2027-01-01"}
    )
    raw["care_team"] = [{"name": "Sleep Better"}]
    third = _save(second, raw, WORKER, make_id)
    assert CARE_PLAN.looks_there(third, record) is None  # a step and a person: other kinds
    raw = copy.deepcopy(third)
    raw["goals"].append({"title": "sleep  better.", "steps": []})
    there = CARE_PLAN.looks_there(_save(third, raw, WORKER, make_id), record)
    assert (there.noun, there.there, there.goal) == ("goal", "sleep  better.", None)

    general = tomllib.loads((PROJECT_ROOT / "agreements" / "general.toml").read_text())
    agreement = AgreementKind(parse_template("general", general))
    sister = {"name": "My sister", "how_to_contact": "07700 900000"}
    raw = {"sections": {"contingencies": {"contacts": [sister]}}}
    first = agreement.attribute(None, agreement.validate(raw), CLIENT)
    raw = copy.deepcopy(first)
    raw["sections"]["contingencies"]["contacts"] = []
    second = agreement.attribute(first, agreement.validate(raw), WORKER)
    [record] = second["removed_items"]
    raw = copy.deepcopy(second)
    raw["sections"]["boundaries"] = {"out_of_hours": [{"name": "my sister"}]}
    third = agreement.attribute(second, agreement.validate(raw), WORKER)
    assert agreement.looks_there(third, record) is None  # another list
    raw = copy.deepcopy(third)
    raw["sections"]["contingencies"]["contacts"] = [{"name": "MY SISTER", "how_to_contact": ""}]
    there = agreement.looks_there(
        agreement.attribute(third, agreement.validate(raw), WORKER), record
    )
    assert there.there == "MY SISTER"
    assert there.message.startswith(f"“{there.section}” already has someone listed as “MY SISTER”.")
