"""Numbers in a document's content over real HTTP from gunicorn (tests/gunicorn.py): a
program's 12.7 weeks is refused by name and nothing is saved; " 12 " typed in the edit form
is saved as 12."""

from __future__ import annotations

import pytest

from bench.document_form import DocumentForm
from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.factories import Circle, make_plan, plan_content
from tests.gunicorn import Browser, api_call, landed

pytestmark = pytest.mark.slow


def test_a_fraction_of_a_week_is_refused_through_the_api_and_typed_text_is_read_in_the_form(
    db, gunicorn_url, token_for
):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)

    status, _, refused = api_call(
        gunicorn_url,
        "POST",
        f"/api/v1/documents/{doc}/versions",
        token_for(circle.key_worker),
        {"base_version": 1, "content": plan_content(review_interval_weeks=12.7)},
    )
    assert status == 422, refused
    assert refused["error"]["fields"] == {
        "content-review_interval_weeks": [
            '"Review this plan every how many weeks?" is a whole number from 1 to 52. Send it as a whole number '
            'without quotes: 2, not "2", 2.0 or true.'
        ]
    }
    assert documents.count_versions(db, doc) == 1

    worker = Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    page = worker.get(f"/documents/{doc}/edit").read().decode()
    form = dict(DocumentForm(page).fields)
    form["review_interval_weeks"] = " 12 "
    form["what_matters-text"] = "Being asked first."
    path, _ = landed(worker.post(f"/documents/{doc}/edit", form, page))
    assert path == f"/documents/{doc}"
    content = documents.open_document(db, actor_for(circle.key_worker), doc).content
    assert content["review_interval_weeks"] == 12 and documents.count_versions(db, doc) == 2
