"""On the pages: a document only started can be removed by whoever started it, and is not
in anyone else's list."""

from __future__ import annotations

import re

import sqlalchemy as sa

from careplan.db.models import AuditEvent, Document
from careplan.services import documents
from tests.conftest import csrf_token, login
from tests.factories import Circle, make_plan
from tests.gunicorn import given_back
from tests.web.test_plan_pages import Page

REMOVE_AGREEMENT = "Remove this empty partnership agreement"


def test_who_started_an_agreement_removes_it_from_its_pages(app, db):
    circle = Circle()
    worker = login(app.test_client(), circle.key_worker)
    records = f"/clients/{circle.client.id}"
    started = worker.post(
        f"{records}/agreements",
        data={"template_id": "general", "csrf_token": csrf_token(worker)},
    )
    doc = int(re.fullmatch(r"/documents/(\d+)/edit", started.location).group(1))
    # Offered on the edit page where they land, and on its page.
    assert REMOVE_AGREEMENT in worker.get(f"/documents/{doc}/edit").get_data(as_text=True)
    shown = worker.get(f"/documents/{doc}").get_data(as_text=True)
    assert REMOVE_AGREEMENT in shown and f'action="/documents/{doc}/remove"' in shown
    listed = worker.get(records).get_data(as_text=True)
    assert "You started it; nothing is saved in it yet." in listed

    # Not to the client, whose list says who started it.
    client = login(app.test_client(), circle.client)
    assert REMOVE_AGREEMENT not in client.get(f"/documents/{doc}").get_data(as_text=True)
    mine = client.get(records).get_data(as_text=True)
    assert f"/documents/{doc}" in mine and "There are no plans yet." not in mine
    assert f"{circle.key_worker.display_name} started it; nothing is saved in it yet." in mine
    refused = client.post(f"/documents/{doc}/remove", data={"csrf_token": csrf_token(client)})
    assert refused.status_code == 400
    said = refused.get_data(as_text=True)
    assert "Not removed: Only the person who started it can remove it." in said
    # Said on the document's page, where it stays, with the summary leading to it.
    assert 'id="remove-empty"' in said and 'href="#remove-empty"' in said

    removed = worker.post(
        f"/documents/{doc}/remove", data={"csrf_token": csrf_token(worker)}, follow_redirects=True
    )
    page = removed.get_data(as_text=True)
    assert removed.request.path == records
    assert "“Partnership agreement” was removed. Nothing had been saved in it." in page
    assert f"/documents/{doc}" not in page
    assert worker.get(f"/documents/{doc}").status_code == 404
    with db.read() as s:
        assert s.get(Document, doc) is None
        assert (
            s.scalar(
                sa.select(AuditEvent.actor_id).where(
                    AuditEvent.action == "document.remove", AuditEvent.object_id == doc
                )
            )
            == circle.key_worker.id
        )
    # A saved one offers no removal.
    plan = make_plan(circle.key_worker, circle.client)
    assert "Remove this empty" not in worker.get(f"/documents/{plan}").get_data(as_text=True)


def test_saving_a_new_agreement_or_plan_with_nothing_filled_in_changes_nothing(app, db):
    """Saved, an empty first version would ask the client to sign an empty form, and the
    document could no longer be removed: the edit page says so and nothing is stored."""
    from careplan.db.models import Notification, Version

    circle = Circle()
    worker = login(app.test_client(), circle.key_worker)
    records = f"/clients/{circle.client.id}"
    for start in (f"{records}/agreements", f"{records}/care-plans"):
        started = worker.post(
            start, data={"template_id": "general", "csrf_token": csrf_token(worker)}
        )
        doc = int(re.fullmatch(r"/documents/(\d+)/edit", started.location).group(1))
        edit = f"/documents/{doc}/edit"
        form = Page(worker.get(edit).get_data(as_text=True)).form(edit)
        refused = worker.post(edit, data=form.values())
        assert refused.status_code == 422, start
        page = refused.get_data(as_text=True)
        assert "Nothing is filled in yet, so there is nothing to save as a version." in page
        assert REMOVE_AGREEMENT in page or "Remove this empty care plan" in page
        with db.read() as s:
            assert s.get(Document, doc).head_number == 0
            assert s.scalar(sa.select(sa.func.count()).select_from(Version)) == 0
            assert s.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_a_save_or_a_draft_arriving_after_the_removal_is_told_so_with_the_words_given_back(app, db):
    circle = Circle()
    worker = login(app.test_client(), circle.key_worker)
    client = login(app.test_client(), circle.client)
    started = worker.post(
        f"/clients/{circle.client.id}/care-plans", data={"csrf_token": csrf_token(worker)}
    )
    doc = int(re.fullmatch(r"/documents/(\d+)/edit", started.location).group(1))
    # The client had it open to write in (the starter's page said nothing of it)...
    form = {
        "csrf_token": csrf_token(client),
        "base_number": "0",
        "what_matters-text": "Being near my sister",
        "change_note": "My first words",
        # What the blank form held besides: nothing typed, so not given back.
        "domains-physical_health-text": "",
        "review_interval_weeks": "12",
    }
    worker.post(f"/documents/{doc}/remove", data={"csrf_token": csrf_token(worker)})

    # ...and their words, typed since, are not lost: given back, and said why.
    saved = client.post(f"/documents/{doc}/edit", data=form)
    page = saved.get_data(as_text=True)
    assert saved.status_code == 409
    name = circle.key_worker.display_name
    assert f"<bdi>{name}</bdi> removed this document while you had it open: nothing had " in page
    # The two things typed, not every box of the form.
    assert list(given_back(page).values()) == ["Being near my sister", "My first words"]
    assert f'href="/clients/{circle.client.id}"' in page
    assert "start the document again from My plans" in page and "Back to My plans" in page

    kept = client.post(f"/documents/{doc}/draft", data=form)
    assert kept.status_code == 409
    assert kept.get_json()["message"].startswith(f"{name} removed this document")
    assert "still on this page" in kept.get_json()["message"]

    opened = worker.get(f"/documents/{doc}")
    assert opened.status_code == 404
    assert "You removed this document" in opened.get_data(as_text=True)
    # To anyone not allowed to read the client's records it is not there, as any record.
    stranger = login(app.test_client(), Circle().key_worker)
    assert "removed" not in stranger.get(f"/documents/{doc}").get_data(as_text=True)


def test_a_document_only_started_is_counted_apart_in_the_caseload_row(app, db):
    # The row's count agrees with the client's list, which shows such a document as started.
    circle = Circle()
    make_plan(circle.key_worker, circle.client)
    worker = login(app.test_client(), circle.key_worker)
    worker.post(
        f"/clients/{circle.client.id}/agreements",
        data={"template_id": "general", "csrf_token": csrf_token(worker)},
    )
    row = re.search(r'<td data-label="Documents">([^<]*)', worker.get("/").get_data(as_text=True))
    assert row.group(1).strip() == (
        "1 (1 more started, with nothing saved in it yet), 1 waiting to be signed"
    )


def test_the_removal_takes_only_the_unsaved_changes_its_page_said_go_with_it(app, db):
    circle = Circle()
    worker = login(app.test_client(), circle.key_worker)
    started = worker.post(
        f"/clients/{circle.client.id}/care-plans", data={"csrf_token": csrf_token(worker)}
    )
    doc = int(re.fullmatch(r"/documents/(\d+)/edit", started.location).group(1))
    remove, edit = f"/documents/{doc}/remove", f"/documents/{doc}/edit"
    # The document's page, opened before anything was typed, says nothing of changes...
    before = Page(worker.get(f"/documents/{doc}").get_data(as_text=True)).form(remove).values()
    form = Page(worker.get(edit).get_data(as_text=True)).form(edit).values()
    typed = {**form, "what_matters-text": "Typed on another tab"}
    assert worker.post(f"/documents/{doc}/draft", data=typed).status_code == 200
    # ...so its button, pressed after, leaves them and the document.
    refused = worker.post(remove, data=before)
    assert refused.status_code == 400
    assert documents.OWN_WRITING in refused.get_data(as_text=True).replace("&#39;", "'")
    assert "Typed on another tab" in worker.get(edit, query_string={"draft": "restore"}).get_data(
        as_text=True
    )
    # The page as it is now says they go with it, and its button removes both.
    shown = worker.get(f"/documents/{doc}").get_data(as_text=True)
    assert "the changes you have not saved go with it" in shown
    assert worker.post(remove, data=Page(shown).form(remove).values()).status_code == 302
    with db.read() as s:
        assert s.get(Document, doc) is None


def test_starting_one_already_started_by_someone_else_says_whose_it_is(app, db):
    # "Start" opens the client's empty one rather than a look-alike: said, not left to guess.
    circle = Circle()
    worker = login(app.test_client(), circle.key_worker)
    worker.post(f"/clients/{circle.client.id}/care-plans", data={"csrf_token": csrf_token(worker)})
    client = login(app.test_client(), circle.client)
    started = client.post(
        f"/clients/{circle.client.id}/care-plans", data={"csrf_token": csrf_token(client)}
    )
    page = client.get(started.location).get_data(as_text=True)
    name = circle.key_worker.display_name
    assert f"<bdi>{name}</bdi> started this care plan, and nothing is saved in it yet" in page
    # Not to the person who started it.
    own = worker.get(started.location).get_data(as_text=True)
    assert 'id="started-by"' not in own
