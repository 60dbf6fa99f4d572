"""Pages speak to their reader: the client reads "your signature", the key worker reads the
client's own name; nobody reads role labels in brackets, UTC or ISO timestamps."""

from __future__ import annotations

import html as html_text
import re
from datetime import UTC, datetime

import pytest
from flask import render_template_string

from careplan.services import accounts, comments, documents, signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, KeyWorkerFactory, make_agreement, make_plan
from tests.web.test_plan_pages import _browser, _page

LABELS = ("(client)", "(key_worker)", "(key worker)", "(advocate)", "(supervisor)")
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}(T|\s)\d{2}:\d{2}")
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture
def circle(app, db) -> Circle:
    circle = Circle()
    from careplan.db.models import User

    with db.write() as s:  # the name the client goes by, which pages use for them
        s.get(User, circle.client.id).preferred_name = "Al"
    return circle


def _words(html: str) -> str:
    """What a person reads: the text of the page, without markup or attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?bdi>", "", html)  # a name's own isolate: no gap on the page
    return " ".join(html_text.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _plain(words: str) -> None:
    for label in LABELS:
        assert label not in words, label
    assert "UTC" not in words
    assert not ISO_MOMENT.search(words), ISO_MOMENT.search(words)
    assert not ISO_DAY.search(words), ISO_DAY.search(words)


def test_the_client_reads_your_signature_and_no_labels(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    comments.add_comment(db, actor_for(circle.key_worker), doc, "goals", 1, "Shall we add one?")
    client = _browser(app, circle.client)
    words = _words(_page(client.get(f"/documents/{doc}")).html)
    assert "Draft: waiting for your signature and your key worker" in words
    assert (
        f"Version 1 is waiting for your signature and your key worker "
        f"{circle.key_worker.display_name}'s." in words
    )
    assert f"saved by {circle.key_worker.display_name}, your key worker, on" in words
    assert f"{circle.key_worker.display_name}, your key worker," in words  # the comment
    assert "You · by 15 January 2027 · not started" in words
    assert "waiting for: client" not in words
    _plain(words)
    # The fingerprint is there for whoever wants it, folded away.
    html = _page(client.get(f"/documents/{doc}")).html
    assert re.search(r"<details[^>]*><summary>Details of version \d+</summary><p>Fingerprint", html)

    for url in (f"/documents/{doc}/history", f"/clients/{circle.client.id}", "/me/access-log"):
        _plain(_words(_page(client.get(url)).html))


def test_the_key_worker_reads_the_clients_name_and_their_own_you(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    worker = _browser(app, circle.key_worker)
    words = _words(_page(worker.get(f"/documents/{doc}")).html)
    assert "Version 1 is waiting for your signature." in words
    assert "Al signed version 1 on" in words  # the client, by the name they go by
    assert "Al · by 15 January 2027 · not started" in words
    assert "saved by you on" in words
    _plain(words)

    signoff.sign(db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD)
    words = _words(_page(worker.get(f"/documents/{doc}")).html)
    assert "Agreed on " in words and ": version 1 was signed by Al and you. It stays" in words
    assert "You signed version 1 on" in words
    _plain(words)
    # Someone else reading: the client by name, the worker by name and what they are to Al.
    supervisor = _browser(app, circle.supervisor)
    words = _words(_page(supervisor.get(f"/documents/{doc}")).html)
    assert f"{circle.key_worker.display_name}, Al's key worker, signed version 1" in words
    _plain(words)


def test_both_of_you_is_said_only_to_the_two_who_sign(app, db, circle):
    """An advocate reads who the two are; so does a key worker who took over after the
    version was agreed: they did not agree it."""
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    for reader in (circle.client, circle.key_worker):
        assert "Agreed by both of you" in _words(
            _page(_browser(app, reader).get(f"/documents/{doc}")).html
        )
    advocate = _words(_page(_browser(app, circle.advocate).get(f"/documents/{doc}")).html)
    assert "Agreed by both Al and their key worker" in advocate and "both of you" not in advocate

    page = documents.open_document(db, actor_for(circle.client), doc)
    page.content["what_matters"] = {"text": "Sundays with my daughter"}
    documents.save_version(db, actor_for(circle.client), doc, 1, page.content)
    advocate = _words(_page(_browser(app, circle.advocate).get(f"/documents/{doc}")).html)
    assert "is a draft until both Al and their key worker sign it" in advocate
    client = _words(_page(_browser(app, circle.client).get(f"/documents/{doc}")).html)
    assert "is a draft until both of you sign it" in client

    # A key worker who takes over: the draft waits for them; the agreement was not theirs.
    agreed = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), agreed, 1, "signed", "", PASSWORD)
    newcomer = KeyWorkerFactory(team_id=circle.team.id)
    accounts.link_caseload(db, circle.client.email, newcomer.email)
    mine = _words(_page(_browser(app, newcomer).get(f"/documents/{doc}")).html)
    assert "is a draft until both of you sign it" in mine
    theirs = _words(_page(_browser(app, newcomer).get(f"/documents/{agreed}")).html)
    assert "Agreed by both Al and their former key worker" in theirs
    # and who signed it by name: not "Al and you" to the key worker who took over since.
    before = circle.key_worker.display_name
    assert f"was signed by Al and {before}, Al's former key worker. It stays" in theirs
    assert "signed by Al and you" not in theirs
    client = _words(_page(_browser(app, circle.client).get(f"/documents/{agreed}")).html)
    assert f"was signed by you and {before}, your former key worker. It stays" in client


@pytest.mark.parametrize(
    ("zone", "summer", "winter"),
    [
        ("Europe/London", "3 July 2026, 15:05", "3 December 2026, 14:05"),
        ("America/New_York", "3 July 2026, 10:05", "3 December 2026, 09:05"),
    ],
)
def test_pages_show_times_in_the_configured_zone(app, zone, summer, winter):
    app.config["TIME_ZONE"] = zone
    try:
        with app.test_request_context():
            shown = render_template_string(
                "{{ a|when }} / {{ b|when }} / {{ b|day }}",
                a=datetime(2026, 7, 3, 14, 5, tzinfo=UTC),
                b=datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
            )
    finally:
        app.config["TIME_ZONE"] = "Europe/London"
    assert shown == f"{summer} / {winter} / 3 December 2026"


def test_the_step_form_names_the_owners_to_its_reader(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    options = re.compile(r'<option value="(client|key_worker|other)"[^>]*>([^<]*)</option>')
    client_form = _page(_browser(app, circle.client).get(f"/documents/{doc}/edit")).html
    worker_form = _page(_browser(app, circle.key_worker).get(f"/documents/{doc}/edit")).html
    assert dict(options.findall(client_form)) == {
        "client": "Me",
        "key_worker": "My key worker",
        "other": "Someone else",
    }
    assert dict(options.findall(worker_form)) == {
        "client": "Al",
        "key_worker": "Me",
        "other": "Someone else",
    }
    for html in (client_form, worker_form):
        _plain(_words(html))


def test_the_edit_page_says_whose_words_a_box_holds_when_they_are_someone_elses(app, db, circle):
    """A worker changing the client's own words proposes: the box says so, and the client is
    shown the change before signing. Their own words carry no such note."""
    doc = make_plan(circle.client, circle.client)  # the client wrote their own words
    worker = _page(_browser(app, circle.key_worker).get(f"/documents/{doc}/edit?part=domains"))
    hints = re.findall(
        r'<p class="notice note" id="domains-housing-own_words-note">([^<]*)</p>', worker.html
    )
    called = documents.open_document(db, actor_for(circle.key_worker), doc).client_called
    assert hints == [f"{called} wrote this."]
    said = (
        "If you change them, the person who wrote them is shown what you changed before they sign."
    )
    assert worker.html.count(said) == 1
    # A box nobody has written in yet has only its prompt.
    empty = re.findall(r'id="domains-money-own_words-hint">([^<]*)<', worker.html)
    assert empty and "wrote this" not in empty[0]
    # The client's own words carry no note for the client.
    mine = _page(_browser(app, circle.client).get(f"/documents/{doc}/edit?part=domains"))
    assert "wrote this" not in mine.html

    # The same in an agreement's written parts.
    agreement = make_agreement(circle.client, circle.client)
    page = _browser(app, circle.key_worker).get(f"/documents/{agreement}/edit?part=contingencies")
    hint = re.search(
        r'id="sections-contingencies-warning_signs-text-note">([^<]*)<', _page(page).html
    )
    assert hint and hint.group(1) == f"{called} wrote this."


def test_a_step_still_to_do_whose_date_has_passed_says_so(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    step = content["goals"][0]["steps"][0]
    step["due"] = "2020-01-05"
    content["goals"][0]["steps"].append({**step, "id": "", "text": "Done long ago"})
    content["goals"][0]["steps"][1]["status"] = "done"
    documents.save_version(db, worker, doc, 1, content, "dates")
    html = _page(_browser(app, circle.client).get(f"/documents/{doc}")).html
    lines = re.findall(r'<p class="meta">([^\n]*?)</p>', html)
    late = [line for line in lines if "5 January 2020" in line]
    assert len(late) == 2
    assert "the date has passed" in late[0]  # not started: said
    assert "the date has passed" not in late[1]  # done: nothing to say


def test_what_changed_names_who_does_a_step_to_its_reader(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    content["goals"][0]["steps"][0]["owner"] = {"kind": "key_worker"}
    documents.save_version(db, worker, doc, 1, content, "I will call")
    url = f"/documents/{doc}/compare?older=1&newer=2"
    called = documents.open_document(db, worker, doc).client_called
    for person, before, after in [
        (circle.client, "You", "Your key worker"),
        (circle.key_worker, called, "You"),
        (circle.supervisor, called, "The key worker"),
    ]:
        html = _page(_browser(app, person).get(url)).html
        assert f"<del>{before}</del><ins>{after}</ins>" in html, person.email
        assert "The client" not in html


def test_an_agreed_version_with_a_newer_draft_is_not_called_a_draft(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "Being listened to, and my kids."}
    documents.save_version(db, worker, doc, 1, content, "after the review")
    client = _browser(app, circle.client)
    for url in (f"/documents/{doc}", f"/documents/{doc}/versions/1"):
        words = _words(_page(client.get(url)).html)
        assert "Version 1 is agreed and in force; version 2 is a draft" in words, url
        assert "Draft: version 1" not in words
