"""Numbers typed into a document's edit form are text, and are read as they always were:
"12" and " 12 " are twelve, in a care plan and in an agreement's terms. (Through the API only
a JSON integer is a number: tests/api/test_numbers_in_content.py.)"""

from __future__ import annotations

import re
from html import escape, unescape

import pytest
from werkzeug.datastructures import MultiDict

from bench.document_form import DocumentForm
from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.conftest import login
from tests.factories import Circle, make_agreement, make_plan
from tests.web.test_plan_pages import Page


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["12", " 12 ", "6"])
def test_a_review_interval_typed_in_the_form_is_saved(app, db, typed):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url))).form(url)
    values = form.typed({"review_interval_weeks": typed, "what_matters-text": "A new start"})

    checked = web.post(url, data={**values, "action": "check"})
    assert checked.status_code == 200 and "No suggestions about wording." in _text(checked)
    assert web.post(url, data=values).status_code == 302

    content = documents.open_document(db, actor_for(circle.client), doc).content
    assert content["review_interval_weeks"] == int(typed)
    assert documents.count_versions(db, doc) == 2


def test_an_agreements_terms_typed_in_the_form_are_saved(app, db):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.key_worker)
    url = f"/documents/{doc}/edit"
    # As a browser sends it: the switch for self-referral is a hidden "no" and a box.
    values = MultiDict(DocumentForm(_text(web.get(url))).fields)
    values["terms-review_interval_weeks"] = " 8 "
    values["terms-self_referral-max_nights"] = "3"

    assert web.post(url, data=values).status_code == 302

    terms = documents.open_document(db, actor_for(circle.key_worker), doc).content["terms"]
    assert terms["review_interval_weeks"] == 8 and terms["self_referral"]["max_nights"] == 3


def test_a_review_interval_typed_with_a_fraction_is_refused_beside_its_box(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url))).form(url)

    response = web.post(url, data=form.typed({"review_interval_weeks": "12.7"}))

    assert response.status_code == 422
    page = Page(_text(response))
    assert page.invalid_ids() == {"review_interval_weeks"}
    assert "Please give a whole number of weeks." in page.html
    assert documents.count_versions(db, doc) == 1


def test_an_agreements_terms_refused_are_named_in_the_summary_by_their_labels(app, db):
    """Each term's place in the summary ends with its label on the page, so the summary names
    the box the person sees (not a short name no box shows)."""
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.key_worker)
    url = f"/documents/{doc}/edit"
    html = _text(web.get(url))
    values = MultiDict(DocumentForm(html).fields)
    values["terms-self_referral-enabled"] = "yes"
    # Every number box of the terms.
    boxes = re.findall(r'<input id="(terms-[^"]+)" name="[^"]+" type="number"', html)
    assert len(boxes) == 5, boxes
    for name in boxes:
        values[name] = "999"

    response = web.post(url, data=values)

    assert response.status_code == 422
    page = _text(response)
    for name in boxes:
        label = re.search(rf'<label for="{name}">([^<]+)</label>', html).group(1)
        label = unescape(label)
        said = f"Agreed terms{', self-referral' if 'self_referral' in name else ''}, "
        said += label[0].lower() + label[1:] + " — "
        assert re.search(rf'<a href="#{name}">{re.escape(escape(said))}', page), (name, said)
    assert documents.count_versions(db, doc) == 1
