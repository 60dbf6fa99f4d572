import copy
from datetime import date

import pytest

from careplan.domain.attribution import Author, earlier_words, replaced_words
from careplan.domain.blocks import GOAL_WITHOUT_TITLE, STEP_WITHOUT_WORDS, date_passed
from careplan.domain.canonical import canonical_bytes, content_hash
from careplan.domain.care_plan import CARE_PLAN, DOMAIN_KEYS
from careplan.domain.errors import ContentInvalid
from careplan.domain.nested import from_fields, unflatten
from careplan.domain.taken_out import taken_out

CLIENT = Author(1, "Alex", "client")
WORKER = Author(2, "Kim", "key_worker")


def ids():
    counter = iter(range(1000))
    return lambda: f"id{next(counter)}"


def valid(**extra):
    raw = {
        "domains": {"housing": {"own_words": "Damp flat"}},
        "goals": [
            {
                "title": "Move",
                "steps": [
                    {"text": "Ring council", "owner": {"kind": "client"}, "due": "2027-01-01"}
                ],
            }
        ],
    }
    raw.update(extra)
    return raw


def test_hash_ignores_key_order_and_whitespace():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert canonical_bytes({"b": "é", "a": 1}) == '{"a":1,"b":"é"}'.encode()
    assert content_hash({"a": "x"}) != content_hash({"a": "y"})


def test_valid_content_gets_every_domain_ids_and_defaults():
    content = CARE_PLAN.validate(valid(), ids())
    assert list(content["domains"]) == DOMAIN_KEYS
    assert content["domains"]["housing"]["own_words"] == "Damp flat"
    step = content["goals"][0]["steps"][0]
    assert step["status"] == "not_started" and step["due"] == "2027-01-01"
    assert content["goals"][0]["id"] == "id0" and step["id"] == "id1"
    assert content["review_interval_weeks"] == 12


def test_errors_are_field_by_field_in_plain_words():
    raw = valid(
        goals=[
            {"title": "", "steps": [{"text": "x", "owner": {"kind": "other"}, "due": "2027-02-30"}]}
        ]
    )
    raw["review_interval_weeks"] = "often"
    with pytest.raises(ContentInvalid) as err:
        CARE_PLAN.validate(raw)
    errors = err.value.errors
    assert errors["goals-0-title"] == GOAL_WITHOUT_TITLE
    assert errors["goals-0-steps-0-owner-name"] == "Please say who will do this step."
    assert "real date" in errors["goals-0-steps-0-due"]
    assert "whole number" in errors["review_interval_weeks"]


def test_a_needed_box_holding_only_spaces_is_refused_as_empty():
    """Not saved as empty: a version that fails its own checks would block every later save."""
    step = {"text": "\n ", "owner": {"kind": "client"}, "due": "2027-01-01"}
    raw = valid(
        goals=[{"title": " \t ", "steps": [step]}],
        care_team=[{"name": "   ", "role": "GP"}],
    )
    with pytest.raises(ContentInvalid) as err:
        CARE_PLAN.validate(raw)
    # Each as an empty box of its kind is told (a step or goal says how to take it out).
    assert {f: err.value.errors[f] for f in ("goals-0-title", "goals-0-steps-0-text")} == {
        "goals-0-title": GOAL_WITHOUT_TITLE,
        "goals-0-steps-0-text": STEP_WITHOUT_WORDS,
    }
    assert err.value.errors["care_team-0-name"] == "Please fill this in."
    # Spaces around words are still trimmed, and a box left empty where nothing is needed is
    # still fine.
    content = CARE_PLAN.validate(valid(goals=[{"title": "  Sleep better  "}]))
    assert content["goals"][0]["title"] == "Sleep better"


def test_unknown_fields_and_domains_are_refused():
    with pytest.raises(ContentInvalid) as err:
        CARE_PLAN.validate({"domains": {"astrology": {"own_words": "x"}}, "extra": 1})
    assert "extra" in err.value.errors
    assert any(k.startswith("domains") for k in err.value.errors)


def test_blank_spare_rows_are_dropped_but_half_filled_rows_are_checked():
    raw = valid()
    raw["goals"][0]["steps"].append(
        {"text": "", "owner": {"kind": "client"}, "due": "", "status": "not_started"}
    )
    raw["goals"].append({"title": "", "steps": [{"text": "", "due": ""}]})
    content = CARE_PLAN.validate(raw)
    assert len(content["goals"]) == 1 and len(content["goals"][0]["steps"]) == 1
    raw["goals"][0]["steps"].append({"text": "Half a step", "owner": {"kind": "client"}, "due": ""})
    with pytest.raises(ContentInvalid) as err:
        CARE_PLAN.validate(raw)
    assert "goals-0-steps-1-due" in err.value.errors


def test_submitted_attribution_is_ignored_and_derived_from_history():
    forged = valid()
    forged["goals"][0]["written_by"] = WORKER.as_dict()
    first = CARE_PLAN.attribute(None, CARE_PLAN.validate(forged, ids()), CLIENT)
    assert first["goals"][0]["written_by"] == CLIENT.as_dict()

    second_raw = {**first, "goals": [dict(first["goals"][0])]}
    second_raw["goals"][0] = {
        **first["goals"][0],
        "steps": [dict(first["goals"][0]["steps"][0], text="Ring the council today")],
    }
    second = CARE_PLAN.attribute(first, CARE_PLAN.validate(second_raw, ids()), WORKER)
    goal, step = second["goals"][0], second["goals"][0]["steps"][0]
    assert goal["written_by"] == CLIENT.as_dict() and goal["changed_by"] == CLIENT.as_dict()
    assert step["written_by"] == CLIENT.as_dict() and step["changed_by"] == WORKER.as_dict()
    assert second["domains"]["housing"]["changed_by"] == CLIENT.as_dict()


def test_filling_in_an_empty_domain_counts_as_writing_it():
    first = CARE_PLAN.attribute(None, CARE_PLAN.validate(valid(), ids()), WORKER)
    raw = {**first, "domains": {**first["domains"], "money": {"own_words": "Benefits stopped"}}}
    second = CARE_PLAN.attribute(first, CARE_PLAN.validate(raw, ids()), CLIENT)
    assert second["domains"]["money"]["written_by"] == CLIENT.as_dict()


def test_saving_what_is_there_credits_nobody_with_the_empty_parts():
    first = CARE_PLAN.attribute(None, CARE_PLAN.validate(valid(), ids()), WORKER)
    again = CARE_PLAN.attribute(first, CARE_PLAN.validate(copy.deepcopy(first), ids()), CLIENT)
    assert again == first  # the same content, the same hash: no new version
    assert first["domains"]["money"]["written_by"] == WORKER.as_dict()  # empty, and stays so


def test_form_names_unflatten_into_nested_content():
    nested = unflatten(
        [
            ("domains-housing-own_words", "Flat"),
            ("goals-1-title", "Second"),
            ("goals-0-title", "First"),
            ("goals-0-steps-0-owner-kind", "client"),
        ]
    )
    assert nested["domains"]["housing"]["own_words"] == "Flat"
    assert [g["title"] for g in nested["goals"]] == ["First", "Second"]
    assert nested["goals"][0]["steps"][0]["owner"]["kind"] == "client"


def test_a_name_given_twice_is_read_as_a_form_is_its_first_value():
    fields = [("what_matters-text", "Typed first"), ("what_matters-text", "Typed again")]
    assert from_fields(fields) == {"what_matters": {"text": "Typed first"}}


def test_a_signer_is_shown_where_someone_else_last_changed_their_words():
    """Workers propose; the client's signature accepts. Before signing, each signer is told
    which sections hold their words that someone else changed last."""
    first = CARE_PLAN.attribute(None, CARE_PLAN.validate(valid(), ids()), CLIENT)
    assert CARE_PLAN.changed_by_others(first, CLIENT.id) == []
    raw = {**first, "domains": {**first["domains"], "housing": {"own_words": "A damp flat"}}}
    raw["what_matters"] = {"text": "Seeing my kids"}  # Kim's own words: not Alex's to check
    second = CARE_PLAN.attribute(first, CARE_PLAN.validate(raw, ids()), WORKER)
    assert CARE_PLAN.changed_by_others(second, CLIENT.id) == [("My life, in my own words", ["Kim"])]
    assert CARE_PLAN.changed_by_others(second, WORKER.id) == []
    # Alex changes the step Kim's change left alone, and their housing words back: only
    # what Kim changed last is listed, and nothing once Alex has the last word.
    raw = {**second, "domains": {**second["domains"], "housing": {"own_words": "Damp flat"}}}
    third = CARE_PLAN.attribute(second, CARE_PLAN.validate(raw, ids()), CLIENT)
    assert CARE_PLAN.changed_by_others(third, CLIENT.id) == []
    steps = [dict(third["goals"][0]["steps"][0], text="Ring the council today")]
    raw = {**third, "goals": [{**third["goals"][0], "steps": steps}]}
    fourth = CARE_PLAN.attribute(third, CARE_PLAN.validate(raw, ids()), WORKER)
    assert CARE_PLAN.changed_by_others(fourth, CLIENT.id) == [("Goals and steps", ["Kim"])]


def _housing(content: dict, words: str) -> dict:
    return {**content, "domains": {**content["domains"], "housing": {"own_words": words}}}


def test_a_change_to_someone_elses_words_keeps_theirs_beside_it():
    """Workers do not overwrite a client's words; they propose: the words a change replaced
    stay with it, as their writer last had them, until the writer changes them themselves."""
    first = CARE_PLAN.attribute(None, CARE_PLAN.validate(valid(), ids()), CLIENT)
    assert "writers_words" not in first["domains"]["housing"]

    second = CARE_PLAN.attribute(
        first, CARE_PLAN.validate(_housing(first, "A damp flat, mould"), ids()), WORKER
    )
    housing = second["domains"]["housing"]
    assert housing["writers_words"] == {"own_words": "Damp flat"}
    assert earlier_words(housing) == [("", "Damp flat")]

    # Kim changes it again, and then saves something else: Alex's words stay the ones kept.
    third = CARE_PLAN.attribute(
        second, CARE_PLAN.validate(_housing(second, "Mould in the bedroom"), ids()), WORKER
    )
    raw = {**third, "what_matters": {"text": "My kids"}}
    fourth = CARE_PLAN.attribute(third, CARE_PLAN.validate(raw, ids()), WORKER)
    assert earlier_words(fourth["domains"]["housing"]) == [("", "Damp flat")]

    # Alex's own change: their words now, nothing kept.
    fifth = CARE_PLAN.attribute(
        fourth, CARE_PLAN.validate(_housing(fourth, "Mould, and damp"), ids()), CLIENT
    )
    assert "writers_words" not in fifth["domains"]["housing"]
    assert earlier_words(fifth["domains"]["housing"]) == []


def test_a_change_put_back_to_the_writers_words_keeps_nothing_and_cannot_be_forged():
    first = CARE_PLAN.attribute(None, CARE_PLAN.validate(valid(), ids()), CLIENT)
    second = CARE_PLAN.attribute(
        first, CARE_PLAN.validate(_housing(first, "Other words"), ids()), WORKER
    )
    back = CARE_PLAN.attribute(
        second, CARE_PLAN.validate(_housing(second, "Damp flat"), ids()), WORKER
    )
    assert "writers_words" not in back["domains"]["housing"]

    forged = _housing(first, "Damp flat")
    forged["domains"]["housing"]["writers_words"] = {"own_words": "I never said that"}
    forged["what_matters"] = {"text": "Quiet", "writers_words": {"text": "Loud"}}
    saved = CARE_PLAN.attribute(first, CARE_PLAN.validate(forged, ids()), WORKER)
    assert "writers_words" not in saved["domains"]["housing"]
    assert "writers_words" not in saved["what_matters"]


def test_earlier_words_name_the_answer_and_leave_choices_out():
    first = CARE_PLAN.attribute(None, CARE_PLAN.validate(valid(), ids()), CLIENT)
    goal = first["goals"][0]
    step = dict(goal["steps"][0], text="Ring the council today", status="in_progress")
    raw = {**first, "goals": [{**goal, "title": "Move house", "steps": [step]}]}
    second = CARE_PLAN.attribute(first, CARE_PLAN.validate(raw, ids()), WORKER)
    assert earlier_words(second["goals"][0]) == [("what to achieve", "Move")]
    assert earlier_words(second["goals"][0]["steps"][0]) == [("", "Ring council")]


def test_earlier_dates_read_as_the_pages_say_dates():
    first = CARE_PLAN.attribute(None, CARE_PLAN.validate(valid(), ids()), CLIENT)
    goal = first["goals"][0]
    steps = [dict(goal["steps"][0], due="2027-01-05")]
    first = CARE_PLAN.attribute(first, CARE_PLAN.validate({**first, "goals": [
        {**goal, "steps": steps}]}, ids()), CLIENT)  # fmt: skip
    goal = first["goals"][0]
    steps = [dict(goal["steps"][0], due="2027-02-01")]
    raw = {**first, "goals": [{**goal, "steps": steps}]}
    second = CARE_PLAN.attribute(first, CARE_PLAN.validate(raw, ids()), WORKER)
    assert earlier_words(second["goals"][0]["steps"][0]) == [("by when", "5 January 2027")]


ALEX_IS = CLIENT.as_dict()


def _save(before: dict | None, raw: dict, author: Author) -> dict:
    return CARE_PLAN.attribute(before, CARE_PLAN.validate(raw, ids()), author)


def test_the_writer_saving_over_a_change_keeps_the_changers_words_and_tells_them():
    """Kim wrote it, Alex changed it, Kim saves over Alex's change: Alex's words stay beside
    Kim's, and Alex is told before signing, until Alex has the last word."""
    first = _save(None, _housing(valid(), "Kim's words"), WORKER)
    second = _save(first, _housing(first, "Alex's words"), CLIENT)
    third = _save(second, _housing(second, "Kim's words again"), WORKER)
    housing = third["domains"]["housing"]
    assert "writers_words" not in housing  # Kim is the writer: nothing of Kim's to keep
    assert housing["changers_words"] == [{"by": ALEX_IS, "words": {"own_words": "Alex's words"}}]
    assert replaced_words(housing) == [(ALEX_IS, [("", "Alex's words")])]
    assert CARE_PLAN.changed_by_others(third, CLIENT.id) == [("My life, in my own words", ["Kim"])]
    assert CARE_PLAN.changed_by_others(third, WORKER.id) == []

    # Saves that leave the part as it is keep Alex's words, whoever makes them.
    fourth = _save(third, {**third, "what_matters": {"text": "My kids"}}, WORKER)
    fifth = _save(fourth, {**fourth, "review_interval_weeks": 8}, CLIENT)
    assert replaced_words(fifth["domains"]["housing"]) == [(ALEX_IS, [("", "Alex's words")])]
    # Kim changing it again still leaves Alex's words replaced.
    sixth = _save(fifth, _housing(fifth, "Kim's third go"), WORKER)
    assert replaced_words(sixth["domains"]["housing"]) == [(ALEX_IS, [("", "Alex's words")])]

    # Alex changes it themselves: theirs now, nothing of theirs kept; Kim's words are kept
    # beside Alex's change, as before.
    seventh = _save(sixth, _housing(sixth, "Alex, once more"), CLIENT)
    housing = seventh["domains"]["housing"]
    assert "changers_words" not in housing and replaced_words(housing) == []
    assert earlier_words(housing) == [("", "Kim's third go")]
    assert CARE_PLAN.changed_by_others(seventh, CLIENT.id) == []
    assert CARE_PLAN.changed_by_others(seventh, WORKER.id) == [
        ("My life, in my own words", ["Alex"])
    ]


def test_a_new_key_worker_saving_over_the_clients_change_keeps_the_clients_words():
    """After a handover: Kim wrote it, Alex changed it, Sam saves over it. Both Kim's words and
    Alex's stay beside Sam's, and each of them is told."""
    sam = Author(3, "Sam", "key_worker")
    first = _save(None, _housing(valid(), "Kim's words"), WORKER)
    second = _save(first, _housing(first, "Alex's words"), CLIENT)
    third = _save(second, _housing(second, "Sam's words"), sam)
    housing = third["domains"]["housing"]
    assert earlier_words(housing) == [("", "Kim's words")]
    assert replaced_words(housing) == [(ALEX_IS, [("", "Alex's words")])]
    assert CARE_PLAN.changed_by_others(third, CLIENT.id) == [("My life, in my own words", ["Sam"])]
    assert CARE_PLAN.changed_by_others(third, WORKER.id) == [("My life, in my own words", ["Sam"])]
    assert CARE_PLAN.changed_by_others(third, sam.id) == []

    # Alex then changes Sam's words: Alex's own are theirs again, and Sam's are kept for Sam.
    fourth = _save(third, _housing(third, "Alex again"), CLIENT)
    housing = fourth["domains"]["housing"]
    assert replaced_words(housing) == [(sam.as_dict(), [("", "Sam's words")])]
    assert CARE_PLAN.changed_by_others(fourth, CLIENT.id) == []
    assert CARE_PLAN.changed_by_others(fourth, sam.id) == [("My life, in my own words", ["Alex"])]


def test_the_changers_words_put_back_keep_nothing_and_cannot_be_forged():
    first = _save(None, _housing(valid(), "Kim's words"), WORKER)
    second = _save(first, _housing(first, "Alex's words"), CLIENT)
    third = _save(second, _housing(second, "Kim's words"), WORKER)
    assert replaced_words(third["domains"]["housing"]) == [(ALEX_IS, [("", "Alex's words")])]
    back = _save(third, _housing(third, "Alex's words"), WORKER)  # Kim puts Alex's back
    assert "changers_words" not in back["domains"]["housing"]
    assert CARE_PLAN.changed_by_others(back, CLIENT.id) == []

    # Nobody can send in someone's "replaced words", nor take them away by sending others.
    forged = _housing(first, "Kim's new words")
    forged["domains"]["housing"]["changers_words"] = [
        {"by": ALEX_IS, "words": {"own_words": "I never said that"}}
    ]
    forged["what_matters"] = {
        "text": "Quiet",
        "changers_words": [{"by": ALEX_IS, "words": {"text": "Loud"}}],
    }
    saved = _save(first, forged, WORKER)
    assert "changers_words" not in saved["domains"]["housing"]
    assert "changers_words" not in saved["what_matters"]
    assert CARE_PLAN.changed_by_others(saved, CLIENT.id) == []
    kept = copy.deepcopy(third)
    kept["domains"]["housing"]["changers_words"] = []
    kept["what_matters"] = {"text": "Something new"}
    assert replaced_words(_save(third, kept, WORKER)["domains"]["housing"]) == [
        (ALEX_IS, [("", "Alex's words")])
    ]


def test_choices_and_words_a_changer_left_as_they_were_are_not_theirs():
    """Alex moves Kim's step on (a choice from a list); Kim then rewords it. Alex wrote no
    words there, so there are none of Alex's to keep, and nothing to tell Alex."""
    first = _save(None, valid(), WORKER)
    goal = first["goals"][0]
    step = dict(goal["steps"][0], status="in_progress")
    second = _save(first, {**first, "goals": [{**goal, "steps": [step]}]}, CLIENT)
    goal = second["goals"][0]
    step = dict(goal["steps"][0], text="Ring the council on Monday")
    third = _save(second, {**second, "goals": [{**goal, "steps": [step]}]}, WORKER)
    assert "changers_words" not in third["goals"][0]["steps"][0]
    assert CARE_PLAN.changed_by_others(third, CLIENT.id) == []


@pytest.mark.parametrize(
    ("due", "status", "passed"),
    [
        ("2026-12-02", "not_started", True),
        ("2026-12-02", "in_progress", True),
        ("2026-12-03", "not_started", False),  # today: not yet
        ("2026-12-02", "done", False),
        ("2026-12-02", "stopped", False),
        ("", "not_started", False),
        ("not a date", "not_started", False),
    ],
)
def test_a_step_still_to_do_says_when_its_date_has_passed(due, status, passed):
    assert date_passed({"due": due, "status": status}, date(2026, 12, 3)) is passed


def _plan_with_steps(author: Author, make_id) -> dict:
    raw = {
        "goals": [
            {
                "title": "Move",
                "steps": [
                    {"text": "Ring council", "owner": {"kind": "client"}, "due": "2027-01-01"},
                    {
                        "text": "Call the housing officer",
                        "owner": {"kind": "client"},
                        "due": "2027-01-01",
                    },
                ],
            },
            {
                "title": "Sleep better",
                "steps": [{"text": "Walk", "owner": {"kind": "client"}, "due": "2027-01-01"}],
            },
        ]
    }
    return CARE_PLAN.attribute(None, CARE_PLAN.validate(raw, make_id), author)


def _without_step(content: dict, text: str) -> dict:
    raw = copy.deepcopy(content)
    for goal in raw["goals"]:
        goal["steps"] = [s for s in goal["steps"] if s["text"] != text]
    return raw


def test_a_step_someone_else_takes_out_is_kept_for_its_writer_until_they_have_the_last_word():
    """Alex wrote a step and Kim took it out: the step's words, who wrote it and who took it
    out are kept with its goal, and Alex is told before signing; saves that leave the goals
    be keep it; Alex saving the goals themselves ends it."""
    make_id = ids()
    first = _plan_with_steps(CLIENT, make_id)
    goal_id = first["goals"][0]["id"]
    step_id = first["goals"][0]["steps"][0]["id"]
    second = CARE_PLAN.attribute(
        first, CARE_PLAN.validate(_without_step(first, "Ring council"), make_id), WORKER
    )
    goal = second["goals"][0]
    assert goal["id"] == goal_id and [s["text"] for s in goal["steps"]] == [
        "Call the housing officer"
    ]
    assert goal["removed_items"] == [
        {
            "id": step_id,
            "item": "step",
            "section": "goals",
            "field": "goals",
            "words": {
                "text": "Ring council",
                "owner": {"kind": "client", "name": ""},
                "due": "2027-01-01",
                "status": "not_started",
            },
            "written_by": ALEX_IS,
            "removed_by": WORKER.as_dict(),
            "tell": [ALEX_IS],
            "goal": goal_id,
        }
    ]
    assert "removed_items" not in second  # a step is kept with its goal
    told = [("Goals and steps", ["Kim took out a step you wrote"])]
    assert CARE_PLAN.taken_out_from(second, CLIENT.id) == told
    assert CARE_PLAN.taken_out_from(second, WORKER.id) == []
    assert CARE_PLAN.changed_by_others(second, CLIENT.id) == []  # nothing left was changed
    assert taken_out(second["goals"][0]) == second["goals"][0]["removed_items"]

    # Saves that leave the goals be keep it, whoever makes them; so does Kim saving them.
    third = CARE_PLAN.attribute(
        second, CARE_PLAN.validate({**second, "what_matters": {"text": "My kids"}}, make_id), CLIENT
    )
    fourth = CARE_PLAN.attribute(
        third, CARE_PLAN.validate(_without_step(third, "Walk"), make_id), WORKER
    )
    assert taken_out(fourth["goals"][0]) == goal["removed_items"]
    assert len(fourth["goals"][1]["removed_items"]) == 1
    assert CARE_PLAN.taken_out_from(fourth, CLIENT.id) == told  # said once for the section
    # The same content saved again is no new version: nothing about it differs.
    again = CARE_PLAN.attribute(fourth, CARE_PLAN.validate(copy.deepcopy(fourth), make_id), CLIENT)
    assert content_hash(again) == content_hash(fourth)

    # Alex saves each goal's steps themselves: they have seen what was taken out of them, and
    # had the last word there.
    raw = copy.deepcopy(fourth)
    for goal in raw["goals"]:
        goal["steps"].append(
            {"text": "Ask for help", "owner": {"kind": "client"}, "due": "2027-02-01"}
        )
    fifth = CARE_PLAN.attribute(fourth, CARE_PLAN.validate(raw, make_id), CLIENT)
    assert "removed_items" not in fifth["goals"][0] and "removed_items" not in fifth["goals"][1]
    assert CARE_PLAN.taken_out_from(fifth, CLIENT.id) == []


def test_taking_out_your_own_item_keeps_nothing_and_putting_one_back_ends_the_record():
    make_id = ids()
    first = _plan_with_steps(CLIENT, make_id)
    own = CARE_PLAN.attribute(
        first, CARE_PLAN.validate(_without_step(first, "Ring council"), make_id), CLIENT
    )
    assert "removed_items" not in own["goals"][0]
    assert CARE_PLAN.taken_out_from(own, CLIENT.id) == []

    # Kim takes out Alex's whole goal: kept on the content, with the goal's steps.
    raw = copy.deepcopy(first)
    gone = raw["goals"].pop(0)
    second = CARE_PLAN.attribute(first, CARE_PLAN.validate(raw, make_id), WORKER)
    [record] = second["removed_items"]
    assert (record["id"], record["item"], record["section"]) == (gone["id"], "goal", "goals")
    assert record["words"] == {"title": "Move"}
    assert [s["words"]["text"] for s in record["steps"]] == [
        "Ring council",
        "Call the housing officer",
    ]
    assert record["removed_by"] == WORKER.as_dict() and record["tell"] == [ALEX_IS]
    assert CARE_PLAN.taken_out_from(second, CLIENT.id) == [
        ("Goals and steps", ["Kim took out a goal you wrote"])
    ]
    # Kim puts it back (the same goal, as an earlier version had it): nothing is kept.
    raw = copy.deepcopy(second)
    raw["goals"].insert(0, copy.deepcopy(first["goals"][0]))
    back = CARE_PLAN.attribute(second, CARE_PLAN.validate(raw, make_id), WORKER)
    assert "removed_items" not in back
    assert CARE_PLAN.taken_out_from(back, CLIENT.id) == []


def test_what_was_taken_out_cannot_be_forged_nor_taken_away_by_a_submission():
    make_id = ids()
    first = _plan_with_steps(CLIENT, make_id)
    forged = copy.deepcopy(first)
    forged["removed_items"] = [{"id": "x", "item": "goal", "section": "goals", "tell": [ALEX_IS]}]
    forged["goals"][0]["removed_items"] = [{"id": "y", "item": "step", "tell": [ALEX_IS]}]
    forged["what_matters"] = {"text": "Quiet"}
    saved = CARE_PLAN.attribute(first, CARE_PLAN.validate(forged, make_id), WORKER)
    assert "removed_items" not in saved and "removed_items" not in saved["goals"][0]

    second = CARE_PLAN.attribute(
        first, CARE_PLAN.validate(_without_step(first, "Ring council"), make_id), WORKER
    )
    emptied = copy.deepcopy(second)
    emptied["goals"][0]["removed_items"] = []
    emptied["what_matters"] = {"text": "Something new"}
    third = CARE_PLAN.attribute(second, CARE_PLAN.validate(emptied, make_id), WORKER)
    assert third["goals"][0]["removed_items"] == second["goals"][0]["removed_items"]


def test_a_goal_taken_out_after_one_of_its_steps_keeps_both():
    """Kim takes out Alex's step, then the goal: what was taken out of the goal before stays."""
    make_id = ids()
    first = _plan_with_steps(CLIENT, make_id)
    second = CARE_PLAN.attribute(
        first, CARE_PLAN.validate(_without_step(first, "Ring council"), make_id), WORKER
    )
    raw = copy.deepcopy(second)
    raw["goals"].pop(0)
    third = CARE_PLAN.attribute(second, CARE_PLAN.validate(raw, make_id), WORKER)
    assert [(r["item"], r["id"]) for r in third["removed_items"]] == [
        ("step", first["goals"][0]["steps"][0]["id"]),
        ("goal", first["goals"][0]["id"]),
    ]
    assert [s["words"]["text"] for s in third["removed_items"][1]["steps"]] == [
        "Call the housing officer"
    ]


def test_a_step_taken_out_stays_told_until_its_own_goals_steps_are_changed():
    """Kim takes out Alex's step from "Move"; Alex changing the other goal's steps, or this
    goal's title, leaves it be; Alex changing this goal's steps ends it."""
    make_id = ids()
    first = _plan_with_steps(CLIENT, make_id)
    second = CARE_PLAN.attribute(
        first, CARE_PLAN.validate(_without_step(first, "Ring council"), make_id), WORKER
    )
    raw = copy.deepcopy(second)
    raw["goals"][0]["title"] = "Move somewhere dry"
    raw["goals"][1]["steps"][0]["text"] = "Walk every day"
    third = CARE_PLAN.attribute(second, CARE_PLAN.validate(raw, make_id), CLIENT)
    assert third["goals"][0]["removed_items"] == second["goals"][0]["removed_items"]
    assert CARE_PLAN.taken_out_from(third, CLIENT.id) == [
        ("Goals and steps", ["Kim took out a step you wrote"])
    ]
    raw = copy.deepcopy(third)
    raw["goals"][0]["steps"][0]["text"] = "Call the housing officer today"
    fourth = CARE_PLAN.attribute(third, CARE_PLAN.validate(raw, make_id), CLIENT)
    assert "removed_items" not in fourth["goals"][0]


def test_the_sign_form_names_who_took_out_once_in_the_pages_order():
    """Kim takes out one of Alex's steps of "Sleep better", then Alex's goal "Move": the page
    shows the step inside its goal before the goals taken out, and so does the sign form,
    naming Kim once."""
    make_id = ids()
    first = _plan_with_steps(CLIENT, make_id)
    raw = _without_step(first, "Walk")
    raw["goals"].pop(0)
    second = CARE_PLAN.attribute(first, CARE_PLAN.validate(raw, make_id), WORKER)
    assert CARE_PLAN.taken_out_from(second, CLIENT.id) == [
        ("Goals and steps", ["Kim took out a step and a goal you wrote"])
    ]


def test_a_signer_is_told_which_parts_of_a_section_were_changed_by_name():
    """A section holds many parts (nine life domains, every goal and step): the signer is told
    which were changed, by the names the page gives them, and a few at most."""
    raw = valid(
        domains={key: {"own_words": f"My {key}"} for key in DOMAIN_KEYS},
        goals=[
            {
                "title": "Find a flat",
                "steps": [
                    {"text": "Call the council", "owner": {"kind": "client"}, "due": "2027-01-01"},
                    {"text": "Save a deposit", "owner": {"kind": "client"}, "due": "2027-02-01"},
                ],
            },
            {
                "title": "Sleep better",
                "steps": [{"text": "See my GP", "owner": {"kind": "client"}, "due": "2027-01-01"}],
            },
        ],
    )
    first = CARE_PLAN.attribute(None, CARE_PLAN.validate(raw, ids()), CLIENT)
    raw = copy.deepcopy(first)
    raw["domains"]["housing"]["own_words"] = "A damp flat"
    raw["domains"]["money"]["own_words"] = "Some debt"
    raw["goals"][0]["title"] = "Find a flat near my sister"
    raw["goals"][0]["steps"][0]["text"] = "Call the council on Monday"
    raw["goals"][1]["steps"][0]["text"] = "See my GP about sleep"
    second = CARE_PLAN.attribute(first, CARE_PLAN.validate(raw, ids()), WORKER)
    assert CARE_PLAN.parts_changed_by_others(second, CLIENT.id) == [
        ("My life, in my own words", ["Kim"], ["Housing", "Money and benefits"]),
        (
            "Goals and steps",
            ["Kim"],
            [
                "goal “Find a flat near my sister”, and a step of it (“Call the council on Monday”)",
                "a step of goal “Sleep better” (“See my GP about sleep”)",
            ],
        ),
    ]
    # Many parts changed: a few are named, and how many more.
    raw = copy.deepcopy(first)
    for key in DOMAIN_KEYS:
        raw["domains"][key]["own_words"] = f"Now: {key}"
    many = CARE_PLAN.attribute(first, CARE_PLAN.validate(raw, ids()), WORKER)
    [(_, _, parts)] = CARE_PLAN.parts_changed_by_others(many, CLIENT.id)
    assert parts == ["Drug and alcohol use", "Physical health", "Mental health", "and 6 more"]
    # Long words are cut short at a word.
    raw = copy.deepcopy(first)
    raw["goals"][1]["title"] = "Sleep right through the night at least four nights a week"
    long = CARE_PLAN.attribute(first, CARE_PLAN.validate(raw, ids()), WORKER)
    [(_, _, parts)] = CARE_PLAN.parts_changed_by_others(long, CLIENT.id)
    assert parts == ["goal “Sleep right through the night at least…”"]
