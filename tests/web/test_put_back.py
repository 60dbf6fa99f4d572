"""The "Put it back" button beside an item someone took out, on the document page."""

from __future__ import annotations

import html

from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.factories import Circle, plan_with_a_step_taken_out
from tests.web.test_plan_pages import _browser, _page, _post, _redirected_to, _text


def test_the_client_puts_back_a_step_with_its_button_and_it_is_theirs_again(app, db):
    circle = Circle()
    doc, record_id = plan_with_a_step_taken_out(circle)
    browser = _browser(app, circle.client)
    page = _page(browser.get(f"/documents/{doc}"))
    assert "Put it back: step <bdi>“Call the council”</bdi>" in html.unescape(page.html)
    form = page.form(f"/documents/{doc}/put-back/{record_id}")
    assert dict(form.fields)["base_version"] == "2"

    _redirected_to(_post(browser, form, dict(form.fields)), f"/documents/{doc}")
    shown = _text(browser.get(f"/documents/{doc}"))
    assert "Put back: step “Call the council”. Saved as version 3." in html.unescape(shown)
    assert "Taken out by" not in shown and "taken-out" not in shown
    assert f"/put-back/{record_id}" not in shown
    step = documents.open_document(db, actor_for(circle.client), doc).content["goals"][0]
    assert step["steps"][0]["written_by"]["id"] == circle.client.id

    # The same button again, on the old page: it is back, which is what was asked, and
    # nothing more is saved.
    _redirected_to(_post(browser, form, dict(form.fields)), f"/documents/{doc}")
    again = html.unescape(_text(browser.get(f"/documents/{doc}")))
    assert "Put back: step “Call the council”. It is in version 3." in again
    assert "nothing was put back" not in again
    assert documents.open_document(db, actor_for(circle.client), doc).head_number == 3


def test_a_double_tap_shows_the_step_put_back_once(app, db):
    circle = Circle()
    doc, record_id = plan_with_a_step_taken_out(circle)
    browser = _browser(app, circle.client)
    form = _page(browser.get(f"/documents/{doc}")).form(f"/documents/{doc}/put-back/{record_id}")
    for _ in range(3):  # each press before the page it leads to has loaded
        _redirected_to(_post(browser, form, dict(form.fields)), f"/documents/{doc}")
    shown = html.unescape(_text(browser.get(f"/documents/{doc}")))
    assert shown.count("Put back: step “Call the council”") == 1
    assert "Put back: step “Call the council”. Saved as version 3." in shown
    assert "nothing was put back" not in shown
    assert documents.open_document(db, actor_for(circle.client), doc).head_number == 3


def test_one_like_it_there_already_is_asked_about_first(app, db):
    circle = Circle()
    doc, record_id = plan_with_a_step_taken_out(circle)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    typed = {"text": "Call the Council!", "owner": {"kind": "client"}, "due": "2027-05-01"}
    content["goals"][0]["steps"] = [typed]
    documents.save_version(db, worker, doc, 2, content, "Typed it in")
    browser = _browser(app, circle.client)
    form = _page(browser.get(f"/documents/{doc}")).form(f"/documents/{doc}/put-back/{record_id}")

    asked = _page(_post(browser, form, dict(form.fields)), 409)
    said = html.unescape(asked.html)
    assert "already has a step “Call the Council!” in the goal" in said
    assert "Nothing has been put back yet." in said
    assert f'href="/documents/{doc}"' in said  # leave it out
    assert documents.open_document(db, worker, doc).head_number == 3

    anyway = asked.form(f"/documents/{doc}/put-back/{record_id}")
    assert dict(anyway.fields)["even_if_there"] == "yes"
    _redirected_to(_post(browser, anyway, dict(anyway.fields)), f"/documents/{doc}")
    shown = html.unescape(_text(browser.get(f"/documents/{doc}")))
    assert "Put back: step “Call the council”. Saved as version 4." in shown
    steps = documents.open_document(db, worker, doc).content["goals"][0]["steps"]
    assert sorted(s["text"] for s in steps) == ["Call the Council!", "Call the council"]


def test_a_stale_button_names_who_saved_since(app, db):
    circle = Circle()
    doc, record_id = plan_with_a_step_taken_out(circle)
    browser = _browser(app, circle.client)
    form = _page(browser.get(f"/documents/{doc}")).form(f"/documents/{doc}/put-back/{record_id}")
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "Something new"}
    documents.save_version(db, worker, doc, 2, content, "")
    _redirected_to(_post(browser, form, dict(form.fields)), f"/documents/{doc}")
    said = html.unescape(_text(browser.get(f"/documents/{doc}")))
    name = circle.key_worker.display_name
    assert f"{name} saved version 3 after the version you were reading, so nothing" in said
    assert documents.open_document(db, worker, doc).head_number == 3


def test_the_button_is_only_for_those_who_may_edit_the_latest_version(app, db):
    circle = Circle()
    doc, record_id = plan_with_a_step_taken_out(circle)
    button = f"/documents/{doc}/put-back/{record_id}"
    for person, shown in (
        (circle.key_worker, True),
        (circle.supervisor, False),
        (circle.advocate, False),
    ):
        page = _text(_browser(app, person).get(f"/documents/{doc}"))
        assert (button in page) is shown, person.role
        assert "Taken out by" in page
    older = _text(_browser(app, circle.client).get(f"/documents/{doc}/versions/2"))
    assert button in older  # version 2 is the latest
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "Something new"}
    documents.save_version(db, worker, doc, 2, content, "")
    older = _text(_browser(app, circle.client).get(f"/documents/{doc}/versions/2"))
    assert "Taken out by" in older and button not in older
