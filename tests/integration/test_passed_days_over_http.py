"""A signature refused through gunicorn over plain HTTP (tests/gunicorn.py): the key worker
signed an agreement while a decision's "until" day was ahead; the day has passed, and the
client's signature sent anyway (the sign form offers only declining now) is refused with a
409 that names the decision and its day. Nothing is signed; the agreement still waits."""

from __future__ import annotations

import re
import urllib.error
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from careplan.db.models import Document, PdfRender, ReviewConfirmation, SignatureRecord
from careplan.domain.local_time import service_today
from careplan.services import reviews, signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle
from tests.gunicorn import Browser, landed
from tests.web.test_signing_passed_days import _agreement

pytestmark = pytest.mark.slow


def _words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_signature_after_a_decisions_day_has_passed_is_refused_over_http(db, gunicorn_url):
    circle = Circle()
    doc, day = _agreement(circle)  # "My money" handed over until three days ago
    signoff.sign(
        db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD, True,
        today=service_today() - timedelta(days=5),
    )  # fmt: skip
    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    page = client.get(f"/documents/{doc}").read().decode()
    said = (
        f"In “When I am not well”, the decision “My money” was handed over to My sister until "
        f"{day}, and that day has passed."
    )
    assert 'id="passed-until"' in page and said in _words(page)
    assert 'value="signed"' not in page  # only declining is offered

    sign_url = f"/documents/{doc}/versions/1/sign"
    form = {"outcome": "signed", "comment": "", "password": PASSWORD, "confirm_blank": "yes"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        client.post(sign_url, form, page)
    assert refused.value.code == 409
    assert urlsplit(refused.value.url).path == sign_url
    answer = _words(refused.value.read().decode())
    assert (
        f"{said} Please change that day, or take the decision out, then sign. Nothing was signed."
        in answer
    )
    with db.read() as s:
        signed = s.execute(sa.select(SignatureRecord.user_id, SignatureRecord.outcome)).all()
        state = s.scalar(sa.select(Document.signoff_state).where(Document.id == doc))
        renders = s.scalar(sa.select(sa.func.count()).select_from(PdfRender))
    assert [tuple(r) for r in signed] == [(circle.key_worker.id, "signed")]
    assert (state, renders) == ("awaiting_signature", 0)


def test_reviewed_no_changes_after_a_decisions_day_has_passed_is_refused_over_http(
    db, gunicorn_url
):
    """Agreed and half confirmed "reviewed, no changes" while the day was ahead; the day has
    passed: the review panel says it needs a new version instead of offering to confirm, and
    a confirmation sent anyway is refused with those words. Nothing is confirmed."""
    circle = Circle()
    doc, day = _agreement(circle)
    before_the_day = service_today() - timedelta(days=5)
    for person in (circle.key_worker, circle.client):
        signoff.sign(
            db, actor_for(person), doc, 1, "signed", "", PASSWORD, True, today=before_the_day
        )
    reviews.confirm_no_changes(
        db, actor_for(circle.client), doc, 1, PASSWORD,
        datetime.combine(before_the_day, time(9), tzinfo=UTC),
    )  # fmt: skip
    with db.read() as s:
        before = s.execute(sa.select(Document.next_review_on, Document.review_cycle)).all()
    worker = Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    page = worker.get(f"/documents/{doc}").read().decode()
    reviewed_url = f"/documents/{doc}/versions/1/reviewed"
    needs = (
        "So this agreement cannot be confirmed as reviewed with no changes: it needs a new "
        "version, with a new day or without that decision, for both of you to sign."
    )
    assert f"until {day}, and that day has passed. {needs}" in _words(page)
    assert f'action="{reviewed_url}' not in page

    # Sent anyway (an old page): said at the top of the document as it is now.
    path, answer = landed(worker.post(reviewed_url, {"password": PASSWORD}, page))
    assert path == f"/documents/{doc}"
    answer = _words(answer)
    assert (
        f"In “When I am not well”, the decision “My money” was handed over to My sister until "
        f"{day}, and that day has passed. {needs} Nothing was confirmed."
    ) in answer
    with db.read() as s:
        confirmed = s.scalars(sa.select(ReviewConfirmation.user_id)).all()
        after = s.execute(sa.select(Document.next_review_on, Document.review_cycle)).all()
    assert confirmed == [circle.client.id] and after == before
