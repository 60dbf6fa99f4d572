"""What was taken out, on the document page and the sign form: each note under the list it
was taken out of, who changed it said once, the writer's own words and a step's date kept."""

from __future__ import annotations

import copy
import html
import re
from datetime import date, timedelta

from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.factories import Circle, make_agreement, make_plan
from tests.web.test_plan_pages import _browser, _page


def _text(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.html)).split())


def _save(db, person, doc: int, change) -> None:
    """`person` saves the latest version after `change(content)` edits a copy of it."""
    actor = actor_for(person)
    latest = documents.open_document(db, actor, doc)
    content = copy.deepcopy(latest.content)
    change(content)
    documents.save_version(db, actor, doc, latest.head_number, content, "changed")


def _in_words(app, iso: str) -> str:
    with app.app_context():
        return app.jinja_env.filters["when"](iso)


def test_an_agreements_taken_out_items_are_shown_under_their_own_field(app, db):
    circle = Circle()
    sister = {"name": "My sister", "how_to_contact": "07700 900000"}
    until = (date.today() + timedelta(days=200)).isoformat()  # ahead: a past day is refused
    decision = {"decision": "My money", "to_whom": "My sister", "until": until}
    sections = {"contingencies": {"contacts": [sister], "handed_over": [decision]}}
    doc = make_agreement(circle.client, circle.client, sections)

    def takes_both_out(content: dict) -> None:
        content["sections"]["contingencies"]["contacts"] = []
        content["sections"]["contingencies"]["handed_over"] = []

    _save(db, circle.key_worker, doc, takes_both_out)
    seen = _text(_page(_browser(app, circle.client).get(f"/documents/{doc}")))
    decisions = seen.index("Which decisions do I hand over for a while")
    contacts = seen.index("Who should be contacted?")
    after = seen.index("How do I ask for a short stay myself")
    decision_note = seen.index("decision “My money”")
    contact_note = seen.index("person “My sister”")
    assert decisions < seen.index("No decisions handed over.") < decision_note < contacts, seen
    assert contacts < seen.index("Nobody listed yet.", contacts) < contact_note < after, seen


def test_a_note_says_once_that_the_one_who_took_it_out_had_changed_it(app, db):
    circle = Circle()
    doc = make_plan(circle.client)  # the client's step: "Call the council"

    def changes_the_step(content: dict) -> None:
        content["goals"][0]["steps"][0]["text"] = "Call the council on Monday"

    def takes_it_out(content: dict) -> None:
        content["goals"][0]["steps"] = []

    _save(db, circle.key_worker, doc, changes_the_step)
    _save(db, circle.key_worker, doc, takes_it_out)
    kim = circle.key_worker.display_name
    seen = _text(_page(_browser(app, circle.client).get(f"/documents/{doc}")))
    assert (
        f"Taken out by {kim}, your key worker: step “Call the council on Monday” "
        "(you wrote it; they changed it before taking it out)"
    ) in seen, seen
    assert "changed it last" not in seen
    assert "You had written: “Call the council”" in seen

    seen = _text(_page(_browser(app, circle.key_worker).get(f"/documents/{doc}")))
    assert re.search(
        r"Taken out by you: step “Call the council on Monday” \([^)]* wrote it; you changed it "
        r"before taking it out\)",
        seen,
    ), seen


def test_a_taken_out_contact_shows_what_its_writer_had_written_before_the_change(app, db):
    circle = Circle()
    sister = {"name": "My sister", "how_to_contact": "07700 900789"}
    doc = make_agreement(circle.client, circle.client, {"contingencies": {"contacts": [sister]}})

    def changes_the_number(content: dict) -> None:
        content["sections"]["contingencies"]["contacts"][0]["how_to_contact"] = (
            "07700 900000 (office)"
        )

    def takes_it_out(content: dict) -> None:
        content["sections"]["contingencies"]["contacts"] = []

    _save(db, circle.key_worker, doc, changes_the_number)
    _save(db, circle.key_worker, doc, takes_it_out)
    seen = _text(_page(_browser(app, circle.client).get(f"/documents/{doc}")))
    assert "How to contact them: 07700 900000 (office)" in seen
    assert "You had written: How to contact them: “07700 900789”" in seen, seen

    called = documents.open_document(db, actor_for(circle.key_worker), doc).client_called
    seen = _text(_page(_browser(app, circle.key_worker).get(f"/documents/{doc}")))
    assert f"{called} had written: How to contact them: “07700 900789”" in seen, seen


def test_a_taken_out_goal_keeps_its_steps_dates_and_the_sign_form_names_the_remover_once(app, db):
    circle = Circle()
    doc = make_plan(circle.client)  # "Find a flat", its step "Call the council" by 15 Jan 2027

    def adds_a_goal(content: dict) -> None:
        step = {"text": "Walk", "owner": {"kind": "client"}, "due": "2027-02-01"}
        keep = {"text": "Run", "owner": {"kind": "client"}, "due": "2027-02-01"}
        content["goals"].append({"title": "Sleep better", "steps": [step, keep]})

    def takes_out_a_step_and_a_goal(content: dict) -> None:
        content["goals"].pop(0)
        content["goals"][0]["steps"].pop(0)

    _save(db, circle.client, doc, adds_a_goal)
    _save(db, circle.key_worker, doc, takes_out_a_step_and_a_goal)
    kim = circle.key_worker.display_name
    seen = _text(_page(_browser(app, circle.client).get(f"/documents/{doc}")))
    by = _in_words(app, "2027-01-15")
    # (A tag's end reads as a space here: “Call the council” , by.)
    assert re.search(rf"Step: “Call the council” ?, by {by} \(you wrote it\)", seen), seen
    assert f"Goals and steps: {kim} took out a step and a goal you wrote" in seen, seen
    # In the page's order: the step, inside its goal, before the goal taken out.
    assert seen.index("step “Walk”") < seen.index("goal “Find a flat”")


def test_a_step_whose_goal_went_too_says_which_goal_it_was_in(app, db):
    """A step taken out, then its goal: the step's note stood under another goal's steps and
    read as one of them."""
    circle = Circle()
    doc = make_plan(circle.client)  # the client's goal "Find a flat", step "Call the council"

    def takes_out_the_step(content: dict) -> None:
        content["goals"][0]["steps"] = []

    def takes_out_the_goal(content: dict) -> None:
        content["goals"] = []

    _save(db, circle.key_worker, doc, takes_out_the_step)
    _save(db, circle.key_worker, doc, takes_out_the_goal)
    seen = _text(_page(_browser(app, circle.client).get(f"/documents/{doc}")))
    assert "step “Call the council” from the goal “Find a flat” (you wrote it)" in seen, seen


def test_the_edit_form_says_what_was_taken_out_of_a_list_before_a_change_ends_it(app, db):
    """Editing a list ended the notes about what someone else took out of it, with nothing on
    the form to say so."""
    circle = Circle()
    plan = make_plan(circle.client)  # the client's step "Call the council"
    sister = {"name": "My sister", "how_to_contact": "07700 900000"}
    sections = {"contingencies": {"contacts": [sister]}}
    agreement = make_agreement(circle.client, circle.client, sections)

    def takes_out_the_step(content: dict) -> None:
        content["goals"][0]["steps"] = []

    def takes_out_the_contact(content: dict) -> None:
        content["sections"]["contingencies"]["contacts"] = []

    _save(db, circle.key_worker, plan, takes_out_the_step)
    _save(db, circle.key_worker, agreement, takes_out_the_contact)
    told = "Taken out of this list by someone else:"
    client = _browser(app, circle.client)
    form = _text(_page(client.get(f"/documents/{plan}/edit?part=goals"))).replace(" ,", ",")
    assert told in form and "step “Call the council”, taken out by" in form, form
    assert "If you save a change to this list first, that note ends." in form
    form = _text(_page(client.get(f"/documents/{agreement}/edit?part=contingencies")))
    form = form.replace(" ,", ",")
    contacts = form.index("Who should be contacted?")
    assert form.index("person “My sister”, taken out by") > contacts, form
    # The one who took them out is not told they were taken from them.
    worker = _browser(app, circle.key_worker)
    assert told not in _text(_page(worker.get(f"/documents/{plan}/edit?part=goals")))
