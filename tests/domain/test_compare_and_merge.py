from careplan.domain.blocks import owner_words
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.compare import Segment, compare, word_diff
from careplan.domain.merge import merge


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
