"""A key worker's change to a client's words is a proposal: the document page keeps what the
client wrote beside it, and the client's edit form gives their words back to restore. A draft
after an agreed version is shown beside the version in force."""

from __future__ import annotations

import copy
import html
import re

from careplan.db.models import User
from careplan.services import documents, signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_agreement, make_plan
from tests.web.test_plan_pages import _browser, _page


def _text(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.html)).split())


def _change_housing(db, person, doc: int, words: str) -> None:
    actor = actor_for(person)
    latest = documents.open_document(db, actor, doc)
    content = {**latest.content}
    content["domains"] = {**content["domains"], "housing": {"own_words": words}}
    documents.save_version(db, actor, doc, latest.head_number, content, "housing")


def test_the_clients_words_stay_beside_a_workers_change(app, db):
    circle = Circle()
    doc = make_plan(circle.client)  # the client writes the plan: "I live with my sister…"
    _change_housing(db, circle.key_worker, doc, "Housing: staying with family.")

    client = _browser(app, circle.client)
    seen = _text(_page(client.get(f"/documents/{doc}")))
    assert "Housing: staying with family." in seen
    worker_is = f"{circle.key_worker.display_name}, your key worker,"  # its closing comma too
    assert f"What you wrote before {worker_is} changed it I live with my sister" in seen, seen

    worker = _browser(app, circle.key_worker)
    seen = _text(_page(worker.get(f"/documents/{doc}")))
    assert re.search(r"What [^.]+? wrote before you changed it I live with my sister", seen), seen

    # On the client's edit form, their words are given back beside the field.
    form = _text(_page(client.get(f"/documents/{doc}/edit")))
    assert "changed what you wrote here. You had written: “I live with my sister for now.”" in form

    # Once the client writes that part again, nothing of theirs earlier is shown: the words
    # are theirs. The key worker's words they replaced are kept beside them, for the worker.
    _change_housing(db, circle.client, doc, "With my sister, and looking.")
    seen = _text(_page(client.get(f"/documents/{doc}")))
    assert "What you wrote before" not in seen and "I live with my sister" not in seen
    assert f"What {worker_is} wrote before you changed it Housing: staying with family." in seen


def test_a_draft_after_an_agreed_version_is_shown_beside_the_version_in_force(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    client = _browser(app, circle.client)
    agreed_page = _text(_page(client.get(f"/documents/{doc}")))
    assert "The agreed version beside this draft" not in agreed_page  # nothing drafted yet

    _change_housing(db, circle.key_worker, doc, "Staying with family.")
    seen = _text(_page(client.get(f"/documents/{doc}")))
    side = seen[seen.index("The agreed version beside this draft") :]
    assert side.startswith(
        "The agreed version beside this draft Version 1 is agreed and stays in force until "
        "both of you sign version 2. 1 answer in the draft differs from it, in one part: "
        "My life, in my own words."
    )
    assert re.search(
        r"Housing: in my own words In force \(version 1\) I live with my sister for now\. "
        r"Draft \(version 2\) Staying with family\.",
        side,
    ), side[:400]

    # The agreed version itself, opened on its own, is not a draft: nothing beside it.
    older = _text(_page(client.get(f"/documents/{doc}/versions/1")))
    assert "The agreed version beside this draft" not in older


def test_a_clients_change_the_worker_saved_over_stays_beside_it_and_is_listed_to_sign(app, db):
    """Kim wrote it, the client changed it, Kim saved over the client's change: the client's
    words are not gone without a word. Their sign form lists the part, the page keeps their
    words beside Kim's, and their edit form gives them back."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)  # Kim writes: "I live with my sister…"
    _change_housing(db, circle.client, doc, "My sister's sofa, for now.")
    _change_housing(db, circle.key_worker, doc, "Staying with family.")
    kim = circle.key_worker.display_name

    client = _browser(app, circle.client)
    seen = _text(_page(client.get(f"/documents/{doc}")))
    assert "Someone else changed words you wrote." in seen
    assert f"My life, in my own words — Housing: last changed by {kim}" in seen
    assert f"What you wrote before {kim}, your key worker, changed it My sister's sofa" in seen

    worker = _browser(app, circle.key_worker)
    seen = _text(_page(worker.get(f"/documents/{doc}")))
    assert re.search(r"What [^.]+? wrote before you changed it My sister's sofa", seen), seen
    assert "Someone else changed words you wrote" not in seen

    form = _text(_page(client.get(f"/documents/{doc}/edit")))
    assert (
        f"{kim}, your key worker, changed what you wrote here. You had written: “My sister's sofa, for now.”"
        in (form)
    )
    form = _text(_page(worker.get(f"/documents/{doc}/edit")))
    assert "You had written" not in form and "My sister's sofa" not in form

    # The client has the last word: nothing of theirs is kept, nothing listed to them.
    _change_housing(db, circle.client, doc, "With family, and looking.")
    seen = _text(_page(client.get(f"/documents/{doc}")))
    assert "My sister's sofa" not in seen and "Someone else changed words you wrote" not in seen


def test_a_workers_change_the_client_replaced_is_told_to_the_worker_by_the_clients_name(app, db):
    """The client wrote it, the key worker changed it, the client wrote it again: the worker's
    words are kept for the worker, who is told by the name the client goes by."""
    circle = Circle()
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = make_plan(circle.client)
    _change_housing(db, circle.key_worker, doc, "Housing: staying with family.")
    _change_housing(db, circle.client, doc, "With my sister, and looking.")

    worker = _browser(app, circle.key_worker)
    seen = _text(_page(worker.get(f"/documents/{doc}")))
    assert "Someone else changed words you wrote." in seen
    assert "My life, in my own words — Housing: last changed by Al " in seen
    assert "What you wrote before Al changed it Housing: staying with family." in seen
    form = _text(_page(worker.get(f"/documents/{doc}/edit")))
    assert "Al changed what you wrote here. You had written: “Housing: staying with family.”" in (
        form
    )
    # The client reads neither the worker's "you" nor their own words given back.
    form = _text(_page(_browser(app, circle.client).get(f"/documents/{doc}/edit")))
    assert "You had written" not in form

    # Words the worker wrote that the client changed: the worker is told by that name too.
    theirs = make_plan(circle.key_worker, circle.client)
    _change_housing(db, circle.client, theirs, "My sister's sofa.")
    form = _text(_page(worker.get(f"/documents/{theirs}/edit")))
    assert "Al changed what you wrote here. You had written: “I live with my sister for now.”" in (
        form
    )


def test_a_step_the_worker_takes_out_is_listed_to_its_writer_and_shown_on_the_page(app, db):
    """The client wrote a step; the key worker empties it on the edit form, taking it out.
    The client is not talked over: their sign form lists it, and the page shows the step
    under its goal, to the worker too."""
    circle = Circle()
    doc = make_plan(circle.client)  # the client's step: "Call the council"
    kim = circle.key_worker.display_name
    worker = _browser(app, circle.key_worker)
    url = f"/documents/{doc}/edit"
    form = _page(worker.get(url, query_string={"part": "goals"})).form(url)
    values = form.typed({"goals-0-steps-0-text": "", "goals-0-steps-0-due": ""})
    assert worker.post(url, data=values).status_code == 302
    steps = documents.open_document(db, actor_for(circle.client), doc).content["goals"][0]["steps"]
    assert steps == []

    client = _browser(app, circle.client)
    seen = _text(_page(client.get(f"/documents/{doc}")))
    assert "Someone else took out something you wrote." in seen
    assert f"Goals and steps: {kim} took out a step you wrote" in seen
    taken = f"Taken out by {kim}, your key worker: step “Call the council” (you wrote it)"
    assert taken in seen, seen

    seen = _text(_page(worker.get(f"/documents/{doc}")))
    assert "Someone else took out something you wrote" not in seen
    client_is = circle.client.display_name
    assert re.search(
        rf"Taken out by you: step “Call the council” \({re.escape(client_is)}[^)]* wrote it\)",
        seen,
    ), seen

    # The client writes that goal's steps again: they have had the last word, nothing is listed.
    actor = actor_for(circle.client)
    latest = documents.open_document(db, actor, doc)
    step = {"text": "Ask the council", "owner": {"kind": "client"}, "due": "2027-02-01"}
    goals = [{**latest.content["goals"][0], "steps": [step]}]
    documents.save_version(db, actor, doc, latest.head_number, {**latest.content, "goals": goals})
    seen = _text(_page(client.get(f"/documents/{doc}")))
    assert "took out" not in seen and "Taken out by" not in seen


def test_a_contact_the_worker_takes_out_of_an_agreement_is_shown_under_its_section(app, db):
    circle = Circle()
    sister = {"name": "My sister", "how_to_contact": "07700 900000"}
    doc = make_agreement(circle.client, circle.client, {"contingencies": {"contacts": [sister]}})
    actor = actor_for(circle.key_worker)
    latest = documents.open_document(db, actor, doc)
    content = copy.deepcopy(latest.content)
    content["sections"]["contingencies"]["contacts"] = []
    documents.save_version(db, actor, doc, latest.head_number, content, "contacts")

    kim = circle.key_worker.display_name
    seen = _text(_page(_browser(app, circle.client).get(f"/documents/{doc}")))
    assert f"{kim} took out someone you listed" in seen
    assert f"Taken out by {kim}, your key worker: person “My sister” (you wrote it)" in seen
    assert "How to contact them: 07700 900000" in seen
