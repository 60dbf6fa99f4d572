"""The same person with a document open on two pages (two tabs, or a phone and a laptop),
through gunicorn over plain HTTP (tests/gunicorn.py): what one page's script kept as a draft is
not replaced by the other's, which is answered 409 in plain words; the other page's save
leaves it in place; carried on with, it is saved on top of the other page's version."""

from __future__ import annotations

import json
from urllib.error import HTTPError

import pytest
import sqlalchemy as sa

from bench.document_form import DocumentForm
from careplan.db.models import EditDraft, Version
from tests.factories import Circle, make_plan
from tests.gunicorn import Browser, landed

pytestmark = pytest.mark.slow


def test_a_draft_kept_on_one_tab_is_not_replaced_by_another_over_http(db, gunicorn_url):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    edit = f"/documents/{doc}/edit?part=what_matters"
    laptop_page = client.get(edit).read().decode()
    phone_page = client.get(edit).read().decode()
    laptop = dict(DocumentForm(laptop_page).fields)
    phone = dict(DocumentForm(phone_page).fields)

    def keep(form: dict, page: str, words: str):
        """What the page's script sends as the person types."""
        return client.post(f"/documents/{doc}/draft", {**form, "what_matters-text": words}, page)

    with keep(laptop, laptop_page, "Typed on the laptop.") as kept:
        assert kept.status == 200
        laptop["draft_revision"] = json.loads(kept.read())["revision"]  # as the script does

    with pytest.raises(HTTPError) as refused:
        keep(phone, phone_page, "Typed on the phone.")
    assert refused.value.code == 409
    assert refused.value.headers["Content-Type"] == "application/json"
    assert refused.value.headers["Cache-Control"] == "no-store"
    answer = json.loads(refused.value.read())
    assert answer["message"].startswith(
        "You have changed this document in another tab or on another device since."
    )
    assert answer["latest"] == f"/documents/{doc}/edit?draft=restore"

    # The phone's page saves what it has: a version, and the laptop's draft stays.
    saved = {**phone, "what_matters-text": "Saved on the phone."}
    path, page = landed(client.post(f"/documents/{doc}/edit", saved, phone_page))
    assert path == f"/documents/{doc}" and "Saved as version 2." in page
    assert "You have changes that are not saved yet." in page
    with db.read() as s:
        [draft] = s.scalars(sa.select(EditDraft))
        assert dict(draft.fields)["what_matters-text"] == "Typed on the laptop."

    # The laptop carries on keeping, then saves on top of the phone's version.
    with keep(laptop, laptop_page, "Typed on the laptop, and more.") as kept:
        assert kept.status == 200
        laptop["draft_revision"] = json.loads(kept.read())["revision"]
    page = client.get(f"/documents/{doc}/edit?draft=restore").read().decode()
    assert "Typed on the laptop, and more.</textarea>" in page
    form = dict(DocumentForm(page).fields)
    assert form["draft_revision"] == laptop["draft_revision"]
    # Made to version 1: saved, it meets the phone's version 2, and the page answering (the
    # phone's change and the laptop's, side by side) carries on with the same draft.
    with pytest.raises(HTTPError) as conflict:
        client.post(f"/documents/{doc}/edit", form, page)
    assert conflict.value.code == 409
    page = conflict.value.read().decode()
    form = dict(DocumentForm(page).fields)
    assert form["draft_revision"] == laptop["draft_revision"]
    path, page = landed(client.post(f"/documents/{doc}/edit", form, page))
    assert path == f"/documents/{doc}" and "Saved as version 3." in page
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(EditDraft)) == 0
        texts = s.scalars(
            sa.select(Version.content).where(Version.document_id == doc).order_by(Version.number)
        )
        assert [c["what_matters"]["text"] for c in texts][1:] == [
            "Saved on the phone.",
            "Typed on the laptop, and more.",
        ]
