"""Care team members say who wrote them, as goals do: who listed each person and who last
changed them, the words a change replaced, who took one out (kept for whoever listed them, to
put back). Members listed before members said so are credited from the versions that hold
them (`credited_from_history`), never to whoever happens to save next."""

import copy

from careplan.domain.attribution import ATTRIBUTION_KEYS, Author, earlier_words
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.taken_out import taken_out

CLIENT = Author(1, "Alex", "client")
WORKER = Author(2, "Kim", "key_worker")
SUPPORT = Author(3, "Jo", "key_worker")
ALEX_IS, KIM_IS, JO_IS = CLIENT.as_dict(), WORKER.as_dict(), SUPPORT.as_dict()


def ids():
    counter = iter(range(1000))
    return lambda: f"id{next(counter)}"


def _save(before, raw, author, make_id):
    return CARE_PLAN.attribute(before, CARE_PLAN.validate(raw, make_id), author)


def _team(*members) -> dict:
    return {"care_team": [dict(m) for m in members]}


PATEL = {"name": "Dr Patel", "role": "GP", "what_they_do": "Check-ups"}
JONES = {"name": "Sam Jones", "role": "Housing officer"}


def _with(content: dict, **changes) -> dict:
    raw = copy.deepcopy(content)
    raw.update(changes)
    return raw


def _member(content: dict, name: str) -> dict:
    return next(m for m in content["care_team"] if m["name"] == name)


def _as_saved_before(content: dict) -> dict:
    """`content` as a version saved before care team members said who wrote them has it."""
    old = copy.deepcopy(content)
    old["care_team"] = [
        {k: v for k, v in m.items() if k not in ATTRIBUTION_KEYS} for m in old["care_team"]
    ]
    old.pop("removed_items", None)
    return old


def test_a_member_says_who_listed_them_and_a_change_keeps_their_words_beside_it():
    make_id = ids()
    forged = _team({**PATEL, "written_by": KIM_IS, "changers_words": []})  # sent: ignored
    first = _save(None, forged, CLIENT, make_id)
    patel = first["care_team"][0]
    assert (patel["written_by"], patel["changed_by"]) == (ALEX_IS, ALEX_IS)
    assert "changers_words" not in patel
    assert CARE_PLAN.changed_by_others(first, CLIENT.id) == []

    raw = copy.deepcopy(first)
    raw["care_team"][0]["role"] = "Doctor"
    second = _save(first, raw, WORKER, make_id)
    patel = second["care_team"][0]
    assert (patel["written_by"], patel["changed_by"]) == (ALEX_IS, KIM_IS)
    assert earlier_words(patel) == [("who they are", "GP")]
    # The sign form names the person as the page lists them.
    assert CARE_PLAN.parts_changed_by_others(second, CLIENT.id) == [
        ("My care team", ["Kim"], ["“Dr Patel”"])
    ]
    # Saved again as it is, by anyone: the same credit, the same content.
    assert _save(second, copy.deepcopy(second), CLIENT, make_id) == second


def test_a_member_someone_else_takes_out_is_kept_for_who_listed_them_and_put_back():
    make_id = ids()
    first = _save(None, _team(PATEL, JONES), CLIENT, make_id)
    patel_id = first["care_team"][0]["id"]
    raw = copy.deepcopy(first)
    del raw["care_team"][0]
    second = _save(first, raw, WORKER, make_id)
    [record] = taken_out(second)
    assert (record["id"], record["item"], record["section"], record["field"]) == (
        patel_id, "person", "care_team", "care_team",
    )  # fmt: skip
    assert record["words"] == {**PATEL, "may_see": ""}
    assert (record["written_by"], record["removed_by"], record["tell"]) == (
        ALEX_IS, KIM_IS, [ALEX_IS],
    )  # fmt: skip
    assert CARE_PLAN.taken_out_from(second, CLIENT.id) == [
        ("My care team", ["Kim took out someone you listed"])
    ]

    # "Put it back": where they were, as Alex listed them, and the record ends.
    put, _ = CARE_PLAN.with_put_back(second, patel_id, [first])
    third = _save(second, put, CLIENT, make_id)
    assert [m["name"] for m in third["care_team"]] == ["Dr Patel", "Sam Jones"]
    assert third["care_team"] == first["care_team"]
    assert "removed_items" not in third
    # Your own, taken out, is yours: nothing kept.
    raw = copy.deepcopy(third)
    del raw["care_team"][1]
    assert "removed_items" not in _save(third, raw, CLIENT, make_id)


def test_members_listed_before_they_said_so_are_credited_from_the_versions_that_hold_them():
    """Alex listed Dr Patel (version 1); Kim listed Sam Jones (2); Jo changed Dr Patel's job
    (3); Alex wrote elsewhere (4). None of those versions say who listed whom. Kim saves
    version 5 without touching the care team: each member is credited as the versions show,
    not to Kim, and the words Jo's change replaced are Alex's to read."""
    make_id = ids()
    history = []
    content = None
    steps = [
        (_team(PATEL), CLIENT),
        (None, WORKER),  # adds Sam Jones
        (None, SUPPORT),  # Dr Patel's job changed
        (None, CLIENT),  # what matters
    ]
    for n, (raw, author) in enumerate(steps):
        if n == 1:
            raw = _with(content, care_team=[*content["care_team"], dict(JONES)])
        elif n == 2:
            raw = copy.deepcopy(content)
            raw["care_team"][0]["role"] = "Family doctor"
        elif n == 3:
            raw = _with(content, what_matters={"text": "My kids"})
        content = _as_saved_before(_save(content, raw, author, make_id))
        history.append((content, author))
    previous = content
    assert all("written_by" not in m for m in previous["care_team"])
    assert CARE_PLAN.unstamped(previous) == {f"team:{m['id']}" for m in previous["care_team"]}

    credited = CARE_PLAN.credited_from_history(previous, history)
    assert previous == history[-1][0]  # the stored version is not changed
    housing = {"housing": {"own_words": "A flat"}}  # Kim fills in what nobody had written
    saved = _save(credited, _with(previous, domains=housing), WORKER, make_id)
    patel, jones = _member(saved, "Dr Patel"), _member(saved, "Sam Jones")
    assert (patel["written_by"], patel["changed_by"]) == (ALEX_IS, JO_IS)
    assert earlier_words(patel) == [("who they are", "GP")]
    assert (jones["written_by"], jones["changed_by"]) == (KIM_IS, KIM_IS)
    assert CARE_PLAN.parts_changed_by_others(saved, CLIENT.id) == [
        ("My care team", ["Jo"], ["“Dr Patel”"])
    ]
    # Kim taking Dr Patel out now keeps them for Alex, who listed them, and Jo, who changed them.
    raw = copy.deepcopy(previous)
    del raw["care_team"][0]
    [record] = taken_out(_save(credited, raw, WORKER, make_id))
    assert record["written_by"] == ALEX_IS and record["tell"] == [ALEX_IS, JO_IS]


def test_a_member_the_versions_cannot_account_for_is_credited_to_nobody_not_the_saver():
    make_id = ids()
    first = _as_saved_before(_save(None, _team(PATEL, JONES), CLIENT, make_id))
    # Versions that do not hold the member as it stands (none; or another member by that id).
    for history in ([], [(_as_saved_before(_save(None, _team(JONES), WORKER, ids())), WORKER)]):
        credited = CARE_PLAN.credited_from_history(first, history)
        saved = _save(credited, _with(first, what_matters={"text": "Quiet"}), WORKER, make_id)
        for member in saved["care_team"]:
            assert "written_by" not in member and "changed_by" not in member, history
        assert CARE_PLAN.unstamped(saved) == CARE_PLAN.unstamped(first)
        # Taken out, nobody is told: there is nobody known to tell.
        raw = copy.deepcopy(first)
        raw["care_team"] = []
        assert taken_out(_save(credited, raw, WORKER, make_id)) == []
        # Changed, it says who changed it, and still not who wrote it.
        raw = copy.deepcopy(first)
        raw["care_team"][0]["role"] = "Doctor"
        changed = _save(credited, raw, WORKER, make_id)["care_team"][0]
        assert "written_by" not in changed and changed["changed_by"] == KIM_IS


def test_content_that_says_who_wrote_every_part_is_read_as_it_is():
    first = _save(None, _team(PATEL), CLIENT, ids())
    assert CARE_PLAN.unstamped(first) == set()
    assert CARE_PLAN.credited_from_history(first, []) is first
