"""Writing a care plan through the pages, as a browser would: every form is read from the page
it is on (hidden fields, CSRF token, spare rows and all) and posted back with what a person types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent
from careplan.domain.local_time import service_today
from careplan.services import audit, contingencies, documents, signoff
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, Circle, make_agreement, make_plan

# --- reading pages the way a browser does ------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    # Radio buttons and boxes to tick, chosen or not: name -> the values offered.
    choices: dict[str, set[str]] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        """What the browser would send if the person changed nothing."""
        names = [name for name, _ in self.fields]
        duplicates = {n for n in names if names.count(n) > 1}
        assert not duplicates, f"a form repeats {duplicates}"
        return dict(self.fields)

    def typed(self, changes: dict[str, str]) -> dict[str, str]:
        """What the browser would send after the person typed `changes` into existing fields."""
        current = self.values()
        unknown = set(changes) - set(current) - set(self.choices)
        assert not unknown, f"the form has no fields called {sorted(unknown)}"
        for name in set(changes) & set(self.choices):
            assert changes[name] in self.choices[name], f"{name} offers no {changes[name]!r}"
        return current | changes


class Page(HTMLParser):
    """The forms on a page and its elements by id."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.forms: list[Form] = []
        self.by_id: dict[str, tuple[str, dict[str, str]]] = {}
        self._form: Form | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._select: tuple[str, list[dict]] | None = None
        self._option: dict | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: v if v is not None else "" for k, v in attrs}
        if "id" in a:
            assert a["id"] not in self.by_id, f"two elements have id {a['id']!r}"
            self.by_id[a["id"]] = (tag, a)
        if tag == "form":
            # The address a browser posts to: a fragment is not sent (it only says where the
            # page that answers opens).
            action = a.get("action", "").split("#")[0]
            self._form = Form(action, a.get("method", "get").lower())
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            kind, name = a.get("type", "text").lower(), a.get("name")
            if not name or kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"}:
                self._form.choices.setdefault(name, set()).add(a.get("value", "on"))
                if "checked" not in a:
                    return
            self._form.fields.append((name, a.get("value", "on")))
        elif tag == "textarea" and a.get("name"):
            self._textarea = (a["name"], [])
        elif tag == "select" and a.get("name"):
            self._select = (a["name"], [])
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": []}
            self._select[1].append(self._option)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)
        elif self._option is not None:
            self._option["text"].append(data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            name, chunks = self._textarea
            text = "".join(chunks)
            self._form.fields.append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [o for o in options if o["selected"]] or options[:1]
            if chosen:
                o = chosen[-1]
                value = o["value"] if o["value"] is not None else "".join(o["text"]).strip()
                self._form.fields.append((name, value))
            self._select = None
        elif tag == "form":
            self._form = None

    def form(self, action: str) -> Form:
        """The one form posting to the path `action` (with any query: a part's edit form
        keeps its `?part=`)."""
        found = [f for f in self.forms if f.action.split("?")[0] == action]
        assert len(found) == 1, f"expected one form posting to {action}, found {self.forms}"
        return found[0]

    def invalid_ids(self) -> set[str]:
        return {i for i, (_, a) in self.by_id.items() if a.get("aria-invalid") == "true"}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _page(response, status: int = 200) -> Page:
    assert response.status_code == status, _text(response)[:1000]
    return Page(_text(response))


def _browser(app, user):
    return login(app.test_client(), user)


def _post(browser, form: Form, values: dict[str, str]):
    assert form.method == "post"
    return browser.post(form.action, data=values)


def _redirected_to(response, pattern: str) -> re.Match:
    assert response.status_code == 302, _text(response)[:1000]
    # A form that worked lands at the message saying what it did (#confirmation).
    match = re.fullmatch(pattern + "(?:#confirmation)?", response.headers["Location"])
    assert match, response.headers["Location"]
    return match


def _edit_form(browser, doc: int, status: int = 200) -> tuple[Page, Form]:
    page = _page(browser.get(f"/documents/{doc}/edit"), status)
    return page, page.form(f"/documents/{doc}/edit")


def _table_rows(html: str) -> list[list[str]]:
    """The text of each body row's cells."""
    body = _section(html, "<tbody>", "</tbody>")
    return [
        [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)
        ]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    ]


def _section(html: str, start: str, end: str | None = None) -> str:
    assert start in html, start
    rest = html.split(start, 1)[1]
    if end is not None:
        assert end in rest, end
        rest = rest.split(end, 1)[0]
    return rest


@pytest.fixture
def circle(app) -> Circle:
    return Circle()


FIRST_DRAFT = {
    "domains-housing-own_words": "I live with my sister for now.",
    "goals-0-title": "Find a flat of my own",
    "goals-0-steps-0-text": "Call the council housing team",
    "goals-0-steps-0-owner-kind": "client",
    "goals-0-steps-0-due": "2027-01-15",
    "goals-0-steps-0-status": "not_started",
    "goals-0-steps-1-text": "Write a letter of support",
    "goals-0-steps-1-owner-kind": "other",
    "goals-0-steps-1-owner-name": "Dr Patel",
    "goals-0-steps-1-due": "2027-02-01",
    "care_team-0-name": "Dr Patel",
    "care_team-0-role": "GP",
    "what_matters-text": "Being listened to and treated kindly.",
    "review_interval_weeks": "8",
    "change_note": "Our first draft",
}


# --- writing a plan together -----------------------------------------------------------------


def test_a_key_worker_and_a_client_write_a_plan_together(app, db, circle):
    worker, person = circle.key_worker, circle.client

    # The key worker starts a plan from the client's page.
    as_worker = _browser(app, worker)
    records = _page(as_worker.get(f"/clients/{person.id}"))
    start = records.form(f"/clients/{person.id}/care-plans")
    doc = int(_redirected_to(_post(as_worker, start, start.values()), r"/documents/(\d+)/edit")[1])

    # ...fills in the empty form and saves version 1.
    _, form = _edit_form(as_worker, doc)
    assert form.values()["base_number"] == "0"
    saved = _post(as_worker, form, form.typed(FIRST_DRAFT))
    _redirected_to(saved, f"/documents/{doc}")
    shown = _text(as_worker.get(f"/documents/{doc}"))
    assert "Saved as version 1." in shown
    # The page speaks to its reader: the worker who saved it is "you"; steps read as rows.
    assert "Version 1, saved by you on" in shown
    assert "Find a flat of my own" in shown
    assert "<bdi>Dr Patel</bdi> · by 1 February 2027 · not started" in shown
    assert f"{person.display_name} · by 15 January 2027 · not started" in shown
    assert "Review every 8 weeks." in shown
    assert documents.count_versions(db, doc) == 1

    # The client opens the same plan: the form holds version 1, and changes two things.
    as_client = _browser(app, person)
    _, form = _edit_form(as_client, doc)
    values = form.values()
    assert values["base_number"] == "1"
    assert values["goals-0-title"] == "Find a flat of my own"
    assert values["goals-0-steps-1-owner-name"] == "Dr Patel"
    assert values["goals-0-id"] and values["goals-0-steps-0-id"]  # items keep their identity
    saved = _post(
        as_client,
        form,
        form.typed(
            {
                "what_matters-text": "Being listened to and treated fairly.",
                "domains-housing-own_words": "I live with my sister but it is crowded.",
                "goals-0-steps-0-status": "in_progress",
                "change_note": "In my words",
            }
        ),
    )
    _redirected_to(saved, f"/documents/{doc}")
    shown = _text(as_client.get(f"/documents/{doc}"))
    assert "Saved as version 2." in shown
    assert documents.count_versions(db, doc) == 2

    # Each part says who wrote it and who changed it last, to the client reading it: their
    # key worker by name and as their key worker, themselves as "you"; no role labels.
    assert f"Last changed by you · first written by {worker.display_name}, your key worker" in shown
    assert "(key worker)" not in shown and "(client)" not in shown
    goal = _section(shown, "Goal 1: Find a flat of my own", "<ol")
    assert re.search(
        rf'<span class="by">Written by {re.escape(worker.display_name)}, your key worker</span>',
        goal,
    ), goal
    assert "You · by 15 January 2027 · in progress" in shown

    # The history lists both versions, newest first, with who saved them and why.
    history = _page(as_client.get(f"/documents/{doc}/history"))
    rows = [cells[:4] for cells in _table_rows(history.html)]
    assert [(number, by, note) for number, by, _, note in rows] == [
        ("Version 2", "You", "In my words"),
        ("Version 1", f"{worker.display_name}, your key worker", "Our first draft"),
    ]

    # Comparing (the history's own form, as it is preselected) shows word-level changes.
    compare_form = history.form(f"/documents/{doc}/compare")
    assert compare_form.method == "get"
    compared = as_client.get(compare_form.action, query_string=compare_form.values())
    html = _page(compared).html
    assert "What changed from version 1 to version 2" in html
    assert "Being listened to and treated <del>kindly.</del><ins>fairly.</ins>" in html
    assert "I live with my sister <del>for now.</del><ins>but it is crowded.</ins>" in html
    assert "<del>Not started</del><ins>In progress</ins>" in html
    assert "Find a flat of my own" not in html  # unchanged parts are not listed

    # The form sent without two versions: back to the history, not "not yours to see".
    unchosen = as_client.get(compare_form.action, query_string={"newer": "2"})
    assert unchosen.status_code == 302 and unchosen.location.endswith(f"/documents/{doc}/history")
    again = _page(as_client.get(unchosen.location)).html
    assert "Choose a version to compare from and one to compare to." in again


def test_starting_an_agreement_from_no_template_records_no_read_and_tells_only_the_worker(
    app, db, circle
):
    """Who is asking is checked before the template: a supervisor or an advocate, who may not
    start documents, is told so, and the client's access log gains nothing (nothing was
    shown); a stranger learns nothing; the key worker is asked to choose a template."""
    url = f"/clients/{circle.client.id}/agreements"

    def answer(who):
        web = login(app.test_client(), who)
        return web.post(url, data={"csrf_token": csrf_token(web), "template_id": "nope"})

    worker = answer(circle.key_worker)
    assert worker.status_code == 400
    assert "Please choose one of the agreement templates." in worker.get_data(as_text=True)
    assert [answer(p).status_code for p in (circle.supervisor, circle.advocate)] == [403, 403]
    assert answer(Circle().key_worker).status_code == 404
    assert audit.access_log(db, actor_for(circle.client)) == []
    assert documents.client_records(db, actor_for(circle.client), circle.client.id).documents == []


def test_a_document_of_one_version_offers_nothing_to_compare_yet(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    html = _page(login(app.test_client(), circle.client).get(f"/documents/{doc}/history")).html
    assert "There is one version so far." in html
    assert "Show what changed" not in html and 'name="older"' not in html


# --- invalid input ---------------------------------------------------------------------------


def _field_with_error(html: str, name: str, message: str) -> bool:
    """The message sits inside the field's own box, between its label and its input."""
    no_end = r"(?:(?!</div>).)*?"
    pattern = (
        rf'<div class="field has-error">\s*<label for="{re.escape(name)}">{no_end}'
        rf'<p class="field-error" id="{re.escape(name)}-error">{re.escape(message)}</p>'
        rf'{no_end}<(?:input|textarea|select) id="{re.escape(name)}"'
    )
    return re.search(pattern, html, re.DOTALL) is not None


def test_invalid_input_is_shown_again_with_messages_by_the_fields(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    as_client = _browser(app, circle.client)
    _, form = _edit_form(as_client, doc)
    typed = {
        "goals-0-steps-0-due": "2027-02-30",
        "goals-0-steps-0-owner-kind": "other",
        "goals-0-steps-0-owner-name": "",
        "review_interval_weeks": "0",
        "what_matters-text": "Typed, and not to be lost.",
        "goals-0-title": "Find a flat, soon",
        "change_note": "Trying again",
    }

    response = _post(as_client, form, form.typed(typed))

    page = _page(response, 422)
    messages = {
        "goals-0-steps-0-due": "Please give a real date, with day, month and year.",
        "goals-0-steps-0-owner-name": "Please say who will do this step.",
        "review_interval_weeks": "Choose between 1 and 52 weeks.",
    }
    # The summary at the top also says which answer each message is about.
    where = {
        "goals-0-steps-0-due": "Goals and steps, goal 1, step 1: by when",
        "goals-0-steps-0-owner-name": "Goals and steps, goal 1, step 1: who, if someone else",
        "review_interval_weeks": "Review this plan every how many weeks?",  # the label's words
    }
    label = where["review_interval_weeks"]
    assert f'<label for="review_interval_weeks">{label}</label>' in page.html  # named alike
    assert page.invalid_ids() == set(messages)
    for name, message in messages.items():
        _, attrs = page.by_id[name]
        assert attrs["aria-describedby"] == f"{name}-error"
        assert _field_with_error(page.html, name, message), name
        summary_line = f'<a href="#{name}">{where[name]} — {message}</a>'
        assert summary_line in page.html  # the summary links to it
    assert "Nothing was saved yet." in page.html
    # What the person typed is all still there, on the same form.
    again = page.form(f"/documents/{doc}/edit")
    values = again.values()
    for name, value in typed.items():
        assert values[name] == value, name
    assert values["base_number"] == "1"
    assert documents.count_versions(db, doc) == 1

    # Fixing the two answers and saving the re-shown form keeps everything else typed.
    fixed = again.typed(
        {
            "goals-0-steps-0-due": "2027-02-28",
            "goals-0-steps-0-owner-name": "My sister",
            "review_interval_weeks": "6",
        }
    )
    _redirected_to(_post(as_client, again, fixed), f"/documents/{doc}")
    assert documents.count_versions(db, doc) == 2
    content = documents.open_document(db, actor_for(circle.client), doc).content
    assert content["what_matters"]["text"] == "Typed, and not to be lost."
    assert content["goals"][0]["title"] == "Find a flat, soon"
    step = content["goals"][0]["steps"][0]
    assert step["owner"] == {"kind": "other", "name": "My sister"}
    assert step["due"] == "2027-02-28"
    assert content["review_interval_weeks"] == 6


def test_a_new_step_for_someone_else_needs_their_name(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    as_worker = _browser(app, circle.key_worker)
    _, form = _edit_form(as_worker, doc)
    # The spare step row under the existing goal.
    typed = {
        "goals-0-steps-1-text": "Go to the viewing with me",
        "goals-0-steps-1-owner-kind": "other",
        "goals-0-steps-1-due": "2027-03-01",
    }
    page = _page(_post(as_worker, form, form.typed(typed)), 422)
    assert page.invalid_ids() == {"goals-0-steps-1-owner-name"}
    assert _field_with_error(
        page.html, "goals-0-steps-1-owner-name", "Please say who will do this step."
    )
    values = page.form(f"/documents/{doc}/edit").values()
    assert values["goals-0-steps-1-text"] == "Go to the viewing with me"
    assert values["goals-0-steps-1-owner-kind"] == "other"
    assert documents.count_versions(db, doc) == 1


# --- someone else saved first ----------------------------------------------------------------


def test_a_stale_save_shows_both_changes_and_a_merged_form_that_loses_nothing(app, db, circle):
    worker, person = circle.key_worker, circle.client
    doc = make_plan(worker, person)
    as_worker, as_client = _browser(app, worker), _browser(app, person)
    _, worker_form = _edit_form(as_worker, doc)
    _, client_form = _edit_form(as_client, doc)
    original_housing = client_form.values()["domains-housing-own_words"]
    original_matters = worker_form.values()["what_matters-text"]

    # The client saves first...
    client_words = original_housing + " The flat is damp."
    saved = _post(
        as_client, client_form, client_form.typed({"domains-housing-own_words": client_words})
    )
    _redirected_to(saved, f"/documents/{doc}")

    # ...then the key worker saves changes made on the version the client replaced.
    worker_typed = {
        "what_matters-text": "Being listened to, and my kids.",
        "care_team-1-name": "Sam Jones",
        "care_team-1-role": "Housing officer",
    }
    response = _post(as_worker, worker_form, worker_form.typed(worker_typed))

    page = _page(response, 409)
    html = page.html
    assert "A newer version was saved while you were editing" in html
    assert f"Version 2 by <bdi>{person.display_name}</bdi>, " in html  # the client, by name
    theirs = _section(html, "<h2>What was saved meanwhile</h2>", "<h2>Your changes</h2>")
    mine = _section(html, "<h2>Your changes</h2>", "<h2>Your changes on top of version 2</h2>")
    assert "<ins>The flat is damp.</ins>" in theirs
    assert "The flat is damp." not in mine
    assert "<ins>Sam Jones, Housing officer</ins>" in mine  # a job after a comma, no brackets
    assert re.search(r"<del>[^<]*</del><ins>[^<]*my kids\.</ins>", mine)
    assert "You both changed the same part" not in html
    assert documents.count_versions(db, doc) == 2

    # The form holds the worker's changes on top of version 2.
    merged = page.form(f"/documents/{doc}/edit")
    values = merged.values()
    assert values["base_number"] == "2"
    assert values["domains-housing-own_words"] == client_words
    for name, value in worker_typed.items():
        assert values[name] == value, name
    assert values["care_team-0-name"] == "Dr Patel"

    # Saving it as it stands lands version 3 with both people's changes.
    _redirected_to(_post(as_worker, merged, values), f"/documents/{doc}")
    assert "Saved as version 3." in _text(as_worker.get(f"/documents/{doc}"))
    content = documents.open_document(db, actor_for(worker), doc).content
    assert content["domains"]["housing"]["own_words"] == client_words
    assert content["what_matters"]["text"] == "Being listened to, and my kids."
    assert [m["name"] for m in content["care_team"]] == ["Dr Patel", "Sam Jones"]
    assert content["goals"][0]["steps"][0]["text"] == "Call the council"
    assert content["domains"]["housing"]["written_by"]["id"] == worker.id
    assert content["domains"]["housing"]["changed_by"]["id"] == person.id
    assert original_matters != content["what_matters"]["text"]


def test_when_both_change_the_same_words_the_clash_is_named_and_theirs_stays_in_history(
    app, db, circle
):
    worker, person = circle.key_worker, circle.client
    doc = make_plan(worker, person)
    as_worker, as_client = _browser(app, worker), _browser(app, person)
    _, worker_form = _edit_form(as_worker, doc)
    _, client_form = _edit_form(as_client, doc)
    _post(as_client, client_form, client_form.typed({"what_matters-text": "My dog, Biscuit."}))

    response = _post(
        as_worker, worker_form, worker_form.typed({"what_matters-text": "Seeing my kids."})
    )

    page = _page(response, 409)
    clash = _section(page.html, "You both changed the same part", "</div>")
    assert "<li>What matters to me</li>" in clash
    merged = page.form(f"/documents/{doc}/edit")
    assert merged.values()["what_matters-text"] == "Seeing my kids."
    _redirected_to(_post(as_worker, merged, merged.values()), f"/documents/{doc}")
    assert documents.count_versions(db, doc) == 3
    v2 = documents.open_document(db, actor_for(person), doc, 2).content
    assert v2["what_matters"]["text"] == "My dog, Biscuit."


def test_the_same_person_in_two_windows_is_not_told_of_someone_else(app, db, circle):
    person = circle.client
    doc = make_plan(circle.key_worker, person)
    first, second = _browser(app, person), _browser(app, person)
    _, first_form = _edit_form(first, doc)
    _, second_form = _edit_form(second, doc)
    _post(first, first_form, first_form.typed({"what_matters-text": "My dog, Biscuit."}))
    response = _post(second, second_form, second_form.typed({"what_matters-text": "My kids."}))

    page = _page(response, 409)
    clash = _section(page.html, "You changed the same part twice", "</div>")
    assert "not what you saved since you opened it" in clash
    assert "<li>What matters to me</li>" in clash
    assert "You both changed" not in page.html and "theirs" not in clash


# --- oversight reads are recorded ------------------------------------------------------------


def _reads(db, actor_id: int) -> list[AuditEvent]:
    with db.read() as s:
        return list(
            s.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.actor_id == actor_id, AuditEvent.action == "read")
                .order_by(AuditEvent.id)
            )
        )


def test_a_supervisor_reading_a_plan_is_recorded_for_the_client(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    as_supervisor = _browser(app, circle.supervisor)

    shown = _page(as_supervisor.get(f"/documents/{doc}"))

    assert f'href="/documents/{doc}/edit"' not in shown.html  # read-only: no way to edit
    events = _reads(db, circle.supervisor.id)
    assert len(events) == 1
    event = events[0]
    assert (event.object_type, event.object_id, event.client_id) == (
        "document",
        doc,
        circle.client.id,
    )
    assert event.actor_role == "supervisor"
    assert "version 2" in event.detail["what"]

    # Trying to edit is refused, and the refusal shows nothing of the plan: not a read.
    refused = as_supervisor.get(f"/documents/{doc}/edit")
    assert refused.status_code == 403 and "Being listened to" not in _text(refused)
    assert len(_reads(db, circle.supervisor.id)) == 1

    _page(as_supervisor.get(f"/documents/{doc}/history"))
    _page(as_supervisor.get(f"/documents/{doc}/compare?older=1&newer=2"))
    whats = [e.detail["what"] for e in _reads(db, circle.supervisor.id)]
    assert len(whats) == 3
    for what, expected in zip(
        whats, ["version 2", "history", "comparison of versions 1 and 2"], strict=True
    ):
        assert expected in what


def test_a_supervisor_opening_the_handover_page_is_logged_as_that_page(app, db, circle):
    """It shows the client's name, not their plans: the client's access log said "the list of
    your plans"."""
    make_plan(circle.key_worker, circle.client)
    as_supervisor = _browser(app, circle.supervisor)

    _page(as_supervisor.get(f"/clients/{circle.client.id}/handover"))
    _page(as_supervisor.get(f"/clients/{circle.client.id}"))

    whats = [e.detail["what"] for e in _reads(db, circle.supervisor.id)]
    assert whats == [
        "the page for handing you over to another key worker",
        "the list of your plans",
    ]


def test_the_client_and_key_worker_reading_their_plan_are_not_logged_as_oversight(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        _page(_browser(app, person).get(f"/documents/{doc}"))
        assert _reads(db, person.id) == []


def test_the_crisis_page_states_the_agreed_terms_while_a_draft_proposes_others(app, db):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    client = actor_for(circle.client)
    for who in (client, actor_for(circle.key_worker)):
        signoff.sign(db, who, doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    content = documents.open_document(db, client, doc).content
    content["terms"]["contingency_max_days"] = 28
    content["terms"]["self_referral"]["max_nights"] = 30
    documents.save_version(db, client, doc, 1, content, "more nights")
    page = login(app.test_client(), circle.client).get(f"/documents/{doc}/crisis-plan")
    html = page.get_data(as_text=True)
    assert "At most 14 days from today" in html and "up to 5 nights" in html
    assert "28 days" not in html and "30 nights" not in html


def test_a_review_after_a_crisis_before_anything_was_agreed_says_how_it_is_done(app, db):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    began = service_today() - timedelta(days=20)
    ends = (began + timedelta(days=3)).isoformat()
    contingencies.start_contingency(
        db, actor_for(circle.key_worker), doc, "Unsettled", "", ends, began
    )
    browser = login(app.test_client(), circle.client)
    html = browser.get(f"/documents/{doc}").get_data(as_text=True)
    # The plan ended 17 days ago: not "once it is no longer in effect", as if it still ran.
    assert (
        "Nothing is agreed yet. This review is done when you have both signed the same version "
        "after the plan for when you are not well has ended." in " ".join(html.split())
    )
    home = browser.get("/", follow_redirects=True).get_data(as_text=True)
    assert "the review is overdue" in home
    # Once a version is agreed, the panel no longer says so.
    agreed = make_agreement(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), agreed, 1, "signed", "", PASSWORD, confirm_blank=True)
    assert "Nothing is agreed yet" not in browser.get(f"/documents/{agreed}").get_data(as_text=True)


def test_a_stale_save_of_one_part_shows_that_part_again_and_loses_nothing(app, db, circle):
    worker, person = circle.key_worker, circle.client
    doc = make_plan(worker, person)
    as_worker, as_client = _browser(app, worker), _browser(app, person)
    mine = _page(as_client.get(f"/documents/{doc}/edit?part=what_matters"))
    form = mine.form(f"/documents/{doc}/edit")

    # The worker saves a change to another part meanwhile.
    _, whole = _edit_form(as_worker, doc)
    housing = "Moving out in spring."
    typed = whole.typed({"domains-housing-own_words": housing})
    _redirected_to(_post(as_worker, whole, typed), f"/documents/{doc}")

    # The client's save of their one part clashes: the page offers that part alone.
    response = _post(as_client, form, form.typed({"what_matters-text": "My kids."}))
    page = _page(response, 409)
    again = page.form(f"/documents/{doc}/edit")
    values = again.values()
    assert (values["part"], values["base_number"], values["what_matters-text"]) == (
        "what_matters",
        "2",
        "My kids.",
    )
    assert "domains-housing-own_words" not in values and "goals-0-title" not in values
    # Saving it keeps both people's changes.
    _redirected_to(_post(as_client, again, values), f"/documents/{doc}")
    content = documents.open_document(db, actor_for(person), doc).content
    assert content["what_matters"]["text"] == "My kids."
    assert content["domains"]["housing"]["own_words"] == housing
    assert content["goals"][0]["title"] == "Find a flat"
    assert documents.count_versions(db, doc) == 3


def test_an_older_versions_page_says_where_that_version_stands(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client, versions=3)
    web = login(app.test_client(), circle.client)

    def status(number: int) -> str:
        page = web.get(f"/documents/{doc}/versions/{number}").get_data(as_text=True)
        found = re.search(r'<p class="status[^"]*"><a href="#sign-off">(.*?)</a></p>', page)
        return found.group(1)

    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 3, "signed", "", PASSWORD)
    assert status(1) == "Version 1 was not agreed. The latest, version 3: Agreed by both of you"
    assert status(3) == "Agreed by both of you"

    content = documents.open_document(db, actor_for(circle.client), doc).content
    content["what_matters"] = {"text": "Being asked first."}
    documents.save_version(db, actor_for(circle.client), doc, 3, content, "")
    assert status(3) == "Version 3 is agreed and in force; version 4 is a draft"
    # An older one beside a draft: not "The latest, version 4: Version 3 is agreed ...".
    assert status(1) == (
        "Version 1 was not agreed. The latest, version 4: a draft; version 3 is agreed and in force"
    )
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 4, "signed", "", PASSWORD)
    assert status(3) == (
        "Version 3 was agreed, then replaced. The latest, version 4: Agreed by both of you"
    )
