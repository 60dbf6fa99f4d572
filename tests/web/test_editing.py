"""Editing without losing work: one part at a time, drafts kept through the idle sign-out,
and the wording check before saving (for browsers without scripts too)."""

from __future__ import annotations

import re

import pytest

from careplan.domain.documents import strip_attribution
from careplan.services import documents, drafts
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import Circle, make_plan


@pytest.fixture
def circle(app):
    return Circle()


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_one_part_is_edited_on_its_own_page(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    show = _text(web.get(f"/documents/{doc}"))
    assert f'href="/documents/{doc}/edit?part=what_matters"' in show

    page = _text(web.get(f"/documents/{doc}/edit", query_string={"part": "what_matters"}))
    assert "What matters most to you?" in page and "Goals and small steps" not in page
    assert web.get(f"/documents/{doc}/edit", query_string={"part": "nope"}).status_code == 404

    before = documents.open_document(db, actor_for(circle.client), doc).content
    saved = web.post(f"/documents/{doc}/edit", data={
        "csrf_token": csrf_token(web), "base_number": "1", "part": "what_matters",
        "what_matters-text": "My dog and my garden",
    })  # fmt: skip
    assert saved.status_code == 302
    after = documents.open_document(db, actor_for(circle.client), doc).content
    assert after["what_matters"]["text"] == "My dog and my garden"
    # Every other part is as it was (empty parts carry whoever saved last: see attribute()).
    assert after["goals"] == before["goals"]
    assert strip_attribution(after["domains"]) == strip_attribution(before["domains"])


def test_checking_the_wording_first_shows_suggestions_and_saves_nothing(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.key_worker)
    response = web.post(f"/documents/{doc}/edit", data={
        "csrf_token": csrf_token(web), "base_number": "1", "part": "what_matters",
        "what_matters-text": "Both tests were dirty", "action": "check",
    })  # fmt: skip
    page = _text(response)
    assert response.status_code == 200
    assert "Suggestions about wording" in page and "were dirty" in page
    assert "Both tests were dirty</textarea>" in page  # the words stay on the page to change
    assert documents.open_document(db, actor_for(circle.key_worker), doc).head_number == 1


def test_live_suggestions_for_one_piece_of_writing(app, circle):
    web = login(app.test_client(), circle.client)
    found = web.post(
        "/language-check", data={"text": "clean samples", "csrf_token": csrf_token(web)}
    ).get_json()
    assert [f["found"] for f in found["findings"]] == ["clean samples"]


def test_a_save_after_the_idle_sign_out_is_kept_as_a_draft_to_carry_on_with(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    token = csrf_token(web)
    with web.session_transaction() as session:
        session["last_seen"] -= 60 * app.config["IDLE_TIMEOUT_MINUTES"] + 1
    late = web.post(f"/documents/{doc}/edit", data={
        "csrf_token": token, "base_number": "1", "what_matters-text": "Written slowly",
        "change_note": "my words",
    })  # fmt: skip
    assert late.status_code == 302
    assert late.headers["Location"].endswith(f"/login?next=/documents/{doc}/edit")
    assert documents.open_document(db, actor_for(circle.client), doc).head_number == 1

    login(web, circle.client)
    page = _text(web.get(f"/documents/{doc}/edit"))
    assert "You have changes that were not saved yet" in page
    restored = _text(web.get(f"/documents/{doc}/edit", query_string={"draft": "restore"}))
    assert "Written slowly</textarea>" in restored and "my words</textarea>" in restored


def test_a_draft_can_be_thrown_away(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    drafts.keep(db, actor_for(circle.client), doc, 1, "", [("what_matters-text", "unsure")])
    web = login(app.test_client(), circle.client)
    assert (
        web.post(
            f"/documents/{doc}/draft/discard", data={"csrf_token": csrf_token(web)}
        ).status_code
        == 302
    )
    assert "not saved yet" not in _text(web.get(f"/documents/{doc}/edit"))
    assert documents.open_for_editing(db, actor_for(circle.client), doc).draft is None


def test_the_page_keeps_drafts_through_a_script_and_warns_before_the_idle_sign_out(app, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    page = _text(web.get(f"/documents/{doc}/edit"))
    assert f'data-draft-url="/documents/{doc}/draft"' in page
    assert re.search(r'data-idle-seconds="900"', page)
    kept = web.post(f"/documents/{doc}/draft", data={
        "csrf_token": csrf_token(web), "base_number": "1", "what_matters-text": "typing",
    })  # fmt: skip
    assert kept.status_code == 200 and "kept_at" in kept.get_json()
