"""The review panel on a document's page, the day it was agreed or reviewed and after."""

from __future__ import annotations

from datetime import timedelta

from careplan.db.models import Document
from careplan.domain.local_time import long_date, service_today
from careplan.services import reviews, signoff
from tests.conftest import login
from tests.factories import PASSWORD, Circle, actor_for, make_plan

CONFIRM = "Confirm: reviewed, no changes"
TUCKED = "<summary>We reviewed it and nothing needs to change</summary>"


def test_the_day_of_a_review_the_form_for_another_is_tucked_away(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    client = login(app.test_client(), circle.client)
    # Agreed today: the review it stands for is done, so confirming one more is not offered
    # as if it were still waiting.
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert CONFIRM in page and TUCKED in page

    with db.write() as s:
        s.get(Document, doc).last_reviewed_on = service_today() - timedelta(days=30)
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert CONFIRM in page and TUCKED not in page


def test_once_one_side_has_confirmed_the_others_form_is_open_the_day_it_was_agreed(app, db):
    """Agreed today with an earlier review asked for: the client confirms "no changes", and
    the key worker, told on their start page to confirm it too, found the form folded away."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD)
    worker = login(app.test_client(), circle.key_worker)
    page = worker.get(f"/documents/{doc}").get_data(as_text=True)
    panel = page[page.index('id="h-review"') : page.index(f"/documents/{doc}/versions/1/reviewed")]
    assert CONFIRM in page and "<details" not in panel
    assert "Reviewed, no changes: confirmed by" in page


def test_a_review_half_confirmed_then_changed_is_done_by_signing_the_new_version(app, db):
    """The key worker confirmed "no changes", then the client saved a change. The client's
    form was gone (rightly: the agreed version is no longer the latest) while the panel still
    said the review is done when both have confirmed, which neither could any more."""
    from careplan.services import documents

    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    reviews.confirm_no_changes(db, actor_for(circle.key_worker), doc, 1, PASSWORD)
    content = documents.open_document(db, actor_for(circle.client), doc).content
    content["what_matters"] = {"text": "Seeing my son at weekends."}
    documents.save_version(db, actor_for(circle.client), doc, 1, content, "what_matters")
    for person in (circle.client, circle.key_worker):
        page = login(app.test_client(), person).get(f"/documents/{doc}").get_data(as_text=True)
        said = " ".join(page[page.index('id="h-review"') :].split())
        assert CONFIRM not in said
        assert (
            "Version 2 was saved with changes since, so the review is done when you have both "
            "signed it instead." in said
        )
        assert "It is done when" not in said


def test_the_reason_an_earlier_review_was_asked_for_stays_in_the_history(app, db):
    """Once the review was done, the request left the review panel and the history said only
    "asked for an earlier review": what the client wanted to talk about was on no page."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    wanted = service_today() + timedelta(days=5)
    because = "My sister says I have to leave the flat by Christmas."
    reviews.request_earlier_review(
        db, actor_for(circle.client), doc, wanted.isoformat(), because, service_today()
    )
    for person in (circle.key_worker, circle.client):
        reviews.confirm_no_changes(db, actor_for(person), doc, 1, PASSWORD)
    for person in (circle.client, circle.key_worker, circle.supervisor):
        page = login(app.test_client(), person).get(f"/documents/{doc}/history")
        text = page.get_data(as_text=True)
        assert f"asked for an earlier review, by {long_date(wanted)}" in text
        assert f'<p class="words" dir="auto">“{because}”</p>' in text
