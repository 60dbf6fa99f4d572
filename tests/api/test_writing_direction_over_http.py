"""A hidden right-to-left override, typed into a plan through the web form or sent through the
API over real HTTP (gunicorn), is not kept: the words are stored, shown and signed in the order
they were written (careplan.domain.writing_direction)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from careplan.db.models import Comment, SignatureRecord, Version
from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_plan, plan_content
from tests.gunicorn import Browser, api_call, landed

RLO, PDF, RLM = "\u202e", "\u202c", "\u200f"
CONTROLS = set("\u202a\u202b\u202c\u202d\u202e")
HEBREW = "אני גר אצל אחותי כרגע."

pytestmark = pytest.mark.slow


def _stored(db, circle, doc) -> dict:
    return documents.open_document(db, actor_for(circle.client), doc).content


def _no_override(value) -> bool:
    return not CONTROLS & set(str(value))


def test_saves_and_comments_by_form_and_by_api_keep_no_override(db, gunicorn_url, token_for):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)

    browser = Browser(gunicorn_url)
    browser.sign_in(circle.client)
    page = browser.get(f"/documents/{doc}/edit?part=what_matters").read().decode()
    where, _ = landed(
        browser.post(
            f"/documents/{doc}/edit",
            {
                "base_number": "1",
                "part": "what_matters",
                "what_matters-text": f"I have {RLO}reversed{PDF} nothing. {HEBREW}{RLM}",
                "change_note": f"{RLO}note",
            },
            page,
        )
    )
    assert where == f"/documents/{doc}"
    content = _stored(db, circle, doc)
    assert content["what_matters"]["text"] == f"I have reversed nothing. {HEBREW}{RLM}"
    with db.read() as s:
        notes = s.scalars(sa.select(Version.change_note).where(Version.document_id == doc))
        assert "note" in list(notes)

    shown = browser.get(f"/documents/{doc}").read().decode()
    browser.post(
        f"/documents/{doc}/comments",
        {"section_key": "what_matters", "version_number": "2", "body": f"{RLO}Well put."},
        shown,
    )

    worker = token_for(circle.key_worker)
    status, _, saved = api_call(
        gunicorn_url,
        "POST",
        f"/api/v1/documents/{doc}/versions",
        worker,
        {
            "base_version": 2,
            "content": plan_content(what_matters={"text": f"{RLO}reversed{PDF}"}),
            "change_note": "over the API",
        },
    )
    assert status == 201, saved
    assert _stored(db, circle, doc)["what_matters"]["text"] == "reversed"
    status, _, _ = api_call(
        gunicorn_url,
        "POST",
        f"/api/v1/documents/{doc}/comments",
        worker,
        {"section_key": "what_matters", "version_number": 3, "body": f"Agreed{RLO}."},
    )
    assert status == 204
    with db.read() as s:
        bodies = sorted(s.scalars(sa.select(Comment.body).where(Comment.document_id == doc)))
    assert bodies == ["Agreed.", "Well put."]

    # A comment on signing of nothing but an override is no comment.
    status, _, signed = api_call(
        gunicorn_url,
        "POST",
        f"/api/v1/documents/{doc}/versions/3/sign",
        worker,
        {"password": PASSWORD, "comment": RLO},
    )
    assert status == 200, signed
    assert signed["outcome"] == "signed"
    with db.read() as s:
        comments = s.scalars(
            sa.select(SignatureRecord.comment).where(SignatureRecord.document_id == doc)
        )
        assert list(comments) == [""]
    assert _no_override(_stored(db, circle, doc))
