"""Through gunicorn over plain HTTP (tests/gunicorn.py): a client declines the version their
key worker signed, and the key worker's start page and messages say who declined what and
why; one side confirms a review with no changes, the page names whom it now waits for, and
the other side's start page and messages say so, in both directions. Every form is posted
with its page's CSRF token; every answer is checked where a browser lands, and in the
database."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
import sqlalchemy as sa

from careplan.db.models import Document, Notification, ReviewConfirmation
from careplan.domain.local_time import service_today
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, forget_messages, make_agreement, make_plan
from tests.gunicorn import Browser, landed

pytestmark = pytest.mark.slow

WHY = "Not yet, I want to talk about it."


def _page(browser, path: str) -> str:
    return html.unescape(browser.get(path).read().decode())


def test_a_decline_is_on_the_key_workers_start_page_and_in_their_messages_over_http(
    db, gunicorn_url
):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    signoff.sign(
        db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD, confirm_blank=True
    )
    client, worker = Browser(gunicorn_url), Browser(gunicorn_url)
    client.sign_in(circle.client)
    worker.sign_in(circle.key_worker)

    page = client.get(f"/documents/{doc}").read().decode()
    decline = {"outcome": "declined", "comment": WHY, "password": PASSWORD}
    path, page = landed(client.post(f"/documents/{doc}/versions/1/sign", decline, page))
    assert path == f"/documents/{doc}"
    with db.read() as s:
        assert s.scalar(sa.select(Document.signoff_state).where(Document.id == doc)) == "declined"
        [(text, link)] = s.execute(
            sa.select(Notification.text, Notification.link).where(
                Notification.user_id == circle.key_worker.id
            )
        ).all()
    name = circle.client.preferred_name or circle.client.display_name
    said = f"{name} declined to sign version 1 of their partnership agreement"
    assert text.startswith(said) and WHY in text and link == f"/documents/{doc}#sign-off"

    home = _page(worker, "/")
    assert said in home and f"saying: “{WHY}”" in home
    assert f'href="/documents/{doc}#sign-off"' in home
    assert "You have 1 new message." in home
    assert said in _page(worker, "/me/notifications")
    # The client, who declined, is told nothing new.
    assert said not in _page(client, "/") and "declined to sign" not in _page(client, "/")


@pytest.mark.parametrize("first", ["client", "key_worker"])
def test_a_review_half_confirmed_is_on_the_other_sides_start_page_over_http(
    db, gunicorn_url, first
):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), doc, 1, "signed", "", PASSWORD)
    forget_messages()  # the client told it is agreed: this test counts a review's
    with db.write() as s:  # due in two days: both start pages say so, until each confirms
        s.get(Document, doc).next_review_on = service_today() + timedelta(days=2)
    browsers = {"client": Browser(gunicorn_url), "key_worker": Browser(gunicorn_url)}
    browsers["client"].sign_in(circle.client)
    browsers["key_worker"].sign_in(circle.key_worker)
    names = {
        "client": circle.client.preferred_name or circle.client.display_name,
        "key_worker": circle.key_worker.display_name,
    }
    second = "key_worker" if first == "client" else "client"
    one, other = browsers[first], browsers[second]
    assert "confirmed the review" not in _page(other, "/")

    page = one.get(f"/documents/{doc}").read().decode()
    form = {"password": PASSWORD}
    path, page = landed(one.post(f"/documents/{doc}/versions/1/reviewed", form, page))
    assert path == f"/documents/{doc}"
    assert f"It is done once {names[second]} confirms too." in html.unescape(page)
    with db.read() as s:
        confirmed = s.scalars(
            sa.select(ReviewConfirmation.user_id).where(ReviewConfirmation.document_id == doc)
        ).all()
        told = s.scalars(
            sa.select(Notification.user_id).where(
                Notification.link == f"/documents/{doc}#review-confirmed",
            )
        ).all()
    # The other side, and the client's advocate (a message only: they do not confirm).
    ids = {"client": circle.client.id, "key_worker": circle.key_worker.id}
    assert len(confirmed) == 1 and sorted(told) == sorted([ids[second], circle.advocate.id])

    whose = "your" if second == "client" else "their"
    said = f"{names[first]} confirmed the review of {whose} care plan with no changes. If you agree, confirm it too"
    home = _page(other, "/")
    assert said in home and f'href="/documents/{doc}#review"' in home
    assert "You have 1 new message." in home
    assert "confirmed the review" in _page(other, "/me/notifications")
    assert "confirmed the review" not in _page(one, "/")
    # Whoever confirmed is no longer told the review is due: what is left is the other's.
    assert "the review is due on" not in _page(one, "/") and "the review is due on" in home

    # The other confirms too: done, and the line is gone.
    page = other.get(f"/documents/{doc}").read().decode()
    path, page = landed(other.post(f"/documents/{doc}/versions/1/reviewed", form, page))
    assert "You have both confirmed the review with no changes" in html.unescape(page)
    assert "confirmed the review of" not in _page(other, "/")
    # The message that it waited for them is answered: still listed, no longer new.
    assert "new message" not in _page(other, "/")
    assert "confirmed the review" in _page(other, "/me/notifications")
    # Whoever confirmed first is told it is done, and when the next review is.
    by = f"{names[second]}, your key worker," if first == "client" else names[second]
    mine = "your" if first == "client" else "their"
    done = f"{by} confirmed too: the review of {mine} care plan is done, with no changes. The next"
    assert done in _page(one, "/me/notifications")
