"""A program saving through the API on someone's behalf leaves the words they typed in a
browser and have not saved: their draft stays, on the version it was typed on, until a save
holds every change in it."""

from __future__ import annotations

from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.api.conftest import bearer
from tests.conftest import login
from tests.factories import Circle, make_plan
from tests.web.test_plan_pages import Page

TYPED = "Typed in the browser, not saved yet."


def _save_part(client, token, doc: int, base: int, text: str):
    body = {
        "base_version": base,
        "part": "what_matters",
        "content": {"what_matters": {"text": text}},
    }
    return client.post(f"/api/v1/documents/{doc}/versions", json=body, headers=bearer(token))


def test_an_api_save_leaves_the_browsers_unsaved_words_until_one_holds_them(
    app, client, db, token_for
):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    web, url = login(app.test_client(), circle.key_worker), f"/documents/{doc}/edit"
    # The whole edit form as the browser holds it, kept as the person types.
    form = Page(web.get(url).get_data(as_text=True)).form(url).values()
    kept = web.post(f"/documents/{doc}/draft", data={**form, "what_matters-text": TYPED})
    assert kept.status_code == 200
    token = token_for(circle.key_worker)

    saved = _save_part(client, token, doc, 1, "Saved by a program.")
    assert saved.status_code == 201 and saved.get_json()["number"] == 2
    page = web.get(url).get_data(as_text=True)
    assert "You have changes that were not saved yet" in page
    assert "(made to version 1; the latest is now 2)" in page
    assert f"{TYPED}</textarea>" in web.get(url, query_string={"draft": "restore"}).get_data(
        as_text=True
    )

    # A save holding the draft's words (and nothing else of the form changed) ends it.
    assert _save_part(client, token, doc, 2, TYPED).status_code == 201
    assert documents.open_for_editing(db, actor_for(circle.key_worker), doc).draft is None
    assert "You have changes that were not saved yet" not in web.get(url).get_data(as_text=True)
