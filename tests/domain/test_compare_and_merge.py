import copy
import tomllib
from pathlib import Path

from careplan.domain.agreement import TERMS, AgreementKind, parse_template
from careplan.domain.blocks import owner_words
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.compare import Segment, by_part, compare, last_changed, word_diff
from careplan.domain.merge import merge

GENERAL = Path(__file__).resolve().parents[2] / "agreements" / "general.toml"


def test_word_diff_marks_only_the_changed_words():
    assert word_diff("the flat is damp and cold", "the flat is warm and cold now") == (
        Segment("same", "the flat is "),
        Segment("removed", "damp "),
        Segment("added", "warm "),
        Segment("same", "and cold "),
        Segment("added", "now"),
    )


def test_a_whole_replacement_reads_as_one_change():
    assert word_diff("Not started", "In progress") == (
        Segment("removed", "Not started"),
        Segment("added", "In progress"),
    )


def plan(**kw):
    base = {
        "domains": {"housing": {"own_words": "Damp flat"}},
        "goals": [
            {
                "id": "g1",
                "title": "Move",
                "steps": [
                    {
                        "id": "s1",
                        "text": "Ring council",
                        "owner": {"kind": "client"},
                        "due": "2027-01-01",
                    }
                ],
            }
        ],
    }
    base.update(kw)
    return CARE_PLAN.validate(base)


def test_compare_names_each_change_in_plain_labels():
    old = plan()
    new = plan(
        goals=[
            {
                "id": "g1",
                "title": "Move house",
                "steps": [
                    {
                        "id": "s1",
                        "text": "Ring council",
                        "owner": {"kind": "key_worker"},
                        "due": "2027-01-01",
                    },
                    {"id": "s2", "text": "Pack", "owner": {"kind": "client"}, "due": "2027-02-01"},
                ],
            }
        ]
    )
    changes = {c.label: c for c in compare(CARE_PLAN, old, new)}
    assert changes["Goal 1"].status == "changed"
    assert Segment("added", "house") in changes["Goal 1"].segments
    assert changes["Goal 1, step 1: who"].after == "The key worker"
    assert changes["Goal 1, step 2"].status == "added"
    assert changes["Goal 1, step 2: by when"].after == "1 February 2027"  # as people write it
    assert compare(CARE_PLAN, old, old) == []
    # Who does a step, in the reader's words: the client reads "You" and "Your key worker".
    for reader, before, after in [
        ("client", "You", "Your key worker"),
        ("key_worker", "Al", "You"),
        ("other", "Al", "The key worker"),
    ]:
        owners = owner_words(reader, "Al")
        said = {c.label: c for c in compare(CARE_PLAN, old, new, owners)}
        who = said["Goal 1, step 1: who"]
        assert (who.before, who.after) == (before, after), reader


def test_removed_items_are_reported():
    old = plan()
    new = plan(goals=[])
    statuses = {c.label: c.status for c in compare(CARE_PLAN, old, new)}
    assert statuses["Goal 1"] == "removed"


def test_a_step_taken_out_and_another_added_are_told_apart_from_empty_words():
    """The new step is numbered as the newer version numbers it: its "Goal 1, step 1" is not
    the older version's step 1, which was taken out, and had words."""
    old = plan()
    new = copy.deepcopy(old)
    new["goals"][0]["steps"] = [dict(old["goals"][0]["steps"][0], id="s2", text="Pack")]
    changes = {c.key: c for c in compare(CARE_PLAN, plan(), CARE_PLAN.validate(new))}
    added, gone = changes["step:s2:text"], changes["step:s1:text"]
    assert (added.label, added.status, added.only_in) == ("Goal 1, step 1", "added", "newer")
    assert (gone.label, gone.status, gone.only_in) == ("Goal 1, step 1", "removed", "older")
    # Words written where there were none, in a part both versions have, are in both.
    filled = compare(CARE_PLAN, plan(what_matters={"text": ""}), plan(what_matters={"text": "X"}))
    assert [(c.key, c.only_in) for c in filled] == [("what_matters", "")]


def test_words_written_where_there_were_none_are_added_and_emptied_ones_removed():
    old = plan(what_matters={"text": ""})
    new = plan(what_matters={"text": "My kids"}, domains={"housing": {"own_words": ""}})
    changes = {c.key: c for c in compare(CARE_PLAN, old, new)}
    added, removed = changes["what_matters"], changes["domain:housing"]
    assert (added.status, added.segments) == ("added", (Segment("added", "My kids"),))
    assert (added.before, added.after) == ("", "My kids")
    assert (removed.status, removed.segments) == ("removed", (Segment("removed", "Damp flat"),))
    assert (removed.before, removed.after) == ("Damp flat", "")
    # Words replaced by others are still a change.
    changed = compare(CARE_PLAN, new, plan(what_matters={"text": "My children"}))
    assert {c.key: c.status for c in changed}["what_matters"] == "changed"


def test_each_change_says_which_part_of_the_document_it_is_in():
    new = plan(what_matters={"text": "My kids"}, goals=[], domains={"housing": {"own_words": ""}})
    parts = {c.key: c.part for c in compare(CARE_PLAN, plan(), new)}
    assert parts == {
        "domain:housing": "My life, in my own words",
        "what_matters": "What matters to me",
        "goal:g1": "Goals and steps",
        "step:s1:text": "Goals and steps",
        "step:s1:owner": "Goals and steps",
        "step:s1:due": "Goals and steps",
        "step:s1:status": "Goals and steps",
    }


def test_changes_gather_by_section_in_the_document_order():
    new = plan(what_matters={"text": "My kids"}, domains={"housing": {"own_words": ""}})
    new["goals"][0]["title"] = "Move house"
    groups = by_part(compare(CARE_PLAN, plan(), new))
    assert [(part, [c.key for c in changes]) for part, changes in groups] == [
        ("My life, in my own words", ["domain:housing"]),
        ("Goals and steps", ["goal:g1"]),
        ("What matters to me", ["what_matters"]),
    ]


def test_agreement_changes_are_in_their_section_or_the_agreed_terms():
    kind = AgreementKind(parse_template("general", tomllib.loads(GENERAL.read_text())))
    old = kind.empty_content()
    section, text = next((s, f) for s, f in kind._fields() if f["type"] == "text")
    new = copy.deepcopy(old)
    new["sections"][section["key"]][text["key"]] = {"text": "I stop sleeping"}
    new["terms"]["review_interval_weeks"] = old["terms"]["review_interval_weeks"] + 1
    parts = {c.key: (c.part, c.status) for c in compare(kind, old, new)}
    assert parts == {
        f"{section['key']}.{text['key']}": (section["title"], "added"),
        "terms.review": (TERMS, "changed"),
    }


def test_who_last_changed_each_part_is_read_from_every_version_between():
    v3 = plan()
    v4 = plan(what_matters={"text": "My kids"})  # Alex writes what matters
    v5 = plan(what_matters={"text": "My kids"}, domains={"housing": {"own_words": "Dry flat"}})
    v6 = plan(what_matters={"text": "My children"}, domains={"housing": {"own_words": "Dry flat"}})
    versions = [(3, "Kim", v3), (4, "Alex", v4), (5, "Kim", v5), (6, "Alex", v6)]
    keys = [c.key for c in compare(CARE_PLAN, v3, v6)]
    assert last_changed(CARE_PLAN, versions, keys) == {
        "what_matters": (6, "Alex"),
        "domain:housing": (5, "Kim"),
    }
    # A step's date changed by one person and its words by another: each by its own.
    v7 = plan()
    v7["goals"][0]["steps"][0]["due"] = "2027-03-01"
    v8 = plan()
    v8["goals"][0]["steps"][0].update(due="2027-03-01", text="Ring the council")
    found = last_changed(
        CARE_PLAN,
        [(1, "Kim", plan()), (2, "Alex", v7), (3, "Kim", v8)],
        ["step:s1:due", "step:s1:text"],
    )
    assert found == {"step:s1:due": (2, "Alex"), "step:s1:text": (3, "Kim")}
    assert last_changed(CARE_PLAN, [], ["what_matters"]) == {}


def test_merge_keeps_both_sides_when_they_touch_different_parts():
    base = {"a": "1", "items": [{"id": "x", "t": "one"}, {"id": "y", "t": "two"}]}
    theirs = {"a": "2", "items": [{"id": "x", "t": "one!"}, {"id": "y", "t": "two"}]}
    mine = {
        "a": "1",
        "items": [{"id": "x", "t": "one"}, {"id": "y", "t": "two?"}, {"id": "z", "t": "three"}],
    }
    merged, clashes = merge(base, theirs, mine)
    assert merged == {
        "a": "2",
        "items": [{"id": "x", "t": "one!"}, {"id": "y", "t": "two?"}, {"id": "z", "t": "three"}],
    }
    assert clashes == []


def test_merge_reports_a_clash_and_proposes_the_reapplied_side():
    merged, clashes = merge({"a": "1"}, {"a": "theirs"}, {"a": "mine"})
    assert merged == {"a": "mine"} and clashes == ["a"]


def test_deleting_what_the_other_side_edited_is_a_clash():
    base = {"items": [{"id": "x", "t": "one"}]}
    merged, clashes = merge(base, {"items": [{"id": "x", "t": "edited"}]}, {"items": []})
    assert clashes == ["items-x"]
