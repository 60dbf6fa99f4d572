"""Care team members on the pages, as goals are: who listed each person and who changed them
last, the words a change replaced (on the page, and given back on the edit form), a member
someone else took out (under the care team, with "Put it back", on the sign form and the edit
form), and members listed before they said so credited to who listed them."""

from __future__ import annotations

import copy
import html
import re

from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.factories import (
    Circle,
    make_plan,
    plan_with_a_member_taken_out,
    saved_before_care_team_credit,
)
from tests.web.test_plan_pages import _browser, _edit_form, _page, _post, _redirected_to


def _text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", _page(response).html)).split())


def _team(seen: str) -> str:
    """The care team's part of a page's text."""
    return seen[seen.index("My care team") : seen.index("What matters to me")]


def _change_the_role(db, person, doc: int, role: str) -> None:
    actor = actor_for(person)
    latest = documents.open_document(db, actor, doc)
    content = copy.deepcopy(latest.content)
    content["care_team"][0]["role"] = role
    documents.save_version(db, actor, doc, latest.head_number, content, "Their job")


def test_a_member_says_who_listed_them_and_keeps_their_words_beside_a_change(app, db):
    circle = Circle()
    doc = make_plan(circle.client)  # the client lists "Dr Patel", GP
    client = _browser(app, circle.client)
    assert "Written by you" in _team(_text(client.get(f"/documents/{doc}")))

    _change_the_role(db, circle.key_worker, doc, "Family doctor")
    kim = f"{circle.key_worker.display_name}, your key worker"
    team = _team(_text(client.get(f"/documents/{doc}")))
    assert f"Last changed by {kim} · first written by you" in team, team
    assert f"What you wrote before {kim}, changed it Who they are: GP" in team, team
    # The sign form names the person changed.
    assert f"My care team — “Dr Patel”: last changed by {circle.key_worker.display_name}" in (
        _text(client.get(f"/documents/{doc}"))
    )
    # The edit form gives the client's words back beside the box changed.
    page, _ = _edit_form(client, doc)
    note = re.search(r'<p class="notice note" id="care_team-0-role-note">(.*?)</p>', page.html)
    assert note and "You had written: Who they are: “GP”" in html.unescape(note.group(1))
    assert 'aria-describedby="care_team-0-role-note"' in page.html


def test_a_member_taken_out_is_shown_under_the_care_team_to_put_back(app, db):
    circle = Circle()
    doc, record_id = plan_with_a_member_taken_out(circle)
    client = _browser(app, circle.client)
    seen = _text(client.get(f"/documents/{doc}"))
    kim = circle.key_worker.display_name
    team = _team(seen)
    assert f"Taken out by {kim}, your key worker: person “Dr Patel” (you wrote it)" in team
    assert "Put it back: person “Dr Patel”" in team
    assert f"My care team: {kim} took out someone you listed" in seen, seen
    form = _text(client.get(f"/documents/{doc}/edit?part=care_team")).replace(" ,", ",")
    assert "Taken out of this list by someone else: person “Dr Patel”, taken out by" in form

    button = _page(client.get(f"/documents/{doc}")).form(f"/documents/{doc}/put-back/{record_id}")
    _redirected_to(_post(client, button, dict(button.fields)), f"/documents/{doc}")
    seen = _text(client.get(f"/documents/{doc}"))
    assert "Put back: person “Dr Patel”. Saved as version 3." in seen
    assert "Taken out by" not in seen and "Written by you" in _team(seen)


def test_members_listed_before_are_credited_to_who_listed_them_once_the_worker_saves(app, db):
    circle = Circle()
    with saved_before_care_team_credit():
        doc = make_plan(circle.client)  # the client listed "Dr Patel"
    client = _browser(app, circle.client)
    assert "Written by" not in _team(_text(client.get(f"/documents/{doc}")))  # nobody said

    worker = _browser(app, circle.key_worker)
    _, form = _edit_form(worker, doc)
    saved = _post(worker, form, form.typed({"what_matters-text": "Being heard."}))
    _redirected_to(saved, f"/documents/{doc}")
    team = _team(_text(client.get(f"/documents/{doc}")))
    assert "Written by you" in team and circle.key_worker.display_name not in team, team
