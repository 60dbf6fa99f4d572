"""Lists of review dates (the client's plan cards, the reminders page, the caseload) say when
a date has passed, in the words the review panel uses, by the service's day."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from careplan.db.models import Document
from careplan.domain.local_time import service_today
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.conftest import login
from tests.factories import PASSWORD, Circle, make_plan

TODAY = service_today()


def _sign_both(db, circle, doc, number=1):
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, number, "signed", "", PASSWORD)


def _overdue_plan(db, circle, days: int) -> int:
    doc = make_plan(circle.key_worker, circle.client)
    _sign_both(db, circle, doc)
    with db.write() as s:
        s.execute(
            sa.update(Document)
            .where(Document.id == doc)
            .values(next_review_on=TODAY - timedelta(days=days))
        )
    return doc


def test_lists_of_review_dates_say_a_passed_date_is_late(app, db):
    circle = Circle()
    late = _overdue_plan(db, circle, 26)
    on_time = make_plan(circle.key_worker, circle.client)
    _sign_both(db, circle, on_time)
    client = login(app.test_client(), circle.client)

    records = client.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    cards = re.findall(r"<li>\s*<a href=\"/documents/(\d+)\">(.*?)</li>", records, re.S)
    said = {int(doc): text for doc, text in cards}
    assert ". <strong>It is 26 days late.</strong></span>" in said[late]
    assert "late" not in said[on_time]

    dates = client.get("/me/reminders").get_data(as_text=True)
    items = re.findall(r'<li><a href="/documents/(\d+)#review">(.*?)</li>', dates, re.S)
    said = {int(doc): text for doc, text in items}
    # Said straight after the date's title, before the kind of review: after it, the card's
    # small print put the full stop on a line of its own.
    assert ': Care plan. <strong>It is 26 days late.</strong> <span class="meta">' in said[late]
    assert "late" not in said[on_time]

    worker = login(app.test_client(), circle.key_worker).get("/").get_data(as_text=True)
    cell = re.search(r'<td data-label="Next review">(.*?)</td>', worker, re.S).group(1)
    assert cell.endswith(". <strong>It is 26 days late.</strong>")


def test_a_review_one_day_late_says_one_day_as_its_review_panel_does(app, db):
    circle = Circle()
    doc = _overdue_plan(db, circle, 1)
    client = login(app.test_client(), circle.client)
    records = client.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    assert "<strong>It is 1 day late.</strong>" in records
    panel = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert ". It is 1 day late.</p>" in panel


def test_a_review_due_today_is_said_to_be_in_every_list_and_on_the_dashboard(app, db):
    """As on the review panel ("That is today"): the client's cards, the reminders page, the
    caseload and the supervisors' dashboard, where "due soon" and no days overdue said
    nothing of it."""
    circle = Circle()
    today = _overdue_plan(db, circle, 0)
    later = _overdue_plan(db, circle, -1)
    client = login(app.test_client(), circle.client)

    records = client.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    cards = re.findall(r"<li>\s*<a href=\"/documents/(\d+)\">(.*?)</li>", records, re.S)
    said = {int(doc): text for doc, text in cards}
    assert ". That is today.</span>" in said[today] and "today" not in said[later]

    dates = client.get("/me/reminders").get_data(as_text=True)
    items = re.findall(r'<li><a href="/documents/(\d+)#review">(.*?)</li>', dates, re.S)
    said = {int(doc): text for doc, text in items}
    assert ": Care plan. That is today. <span" in said[today] and "today" not in said[later]

    worker = login(app.test_client(), circle.key_worker).get("/").get_data(as_text=True)
    cell = re.search(r'<td data-label="Next review">(.*?)</td>', worker, re.S).group(1)
    assert cell.endswith(". That is today.")  # the earliest of the client's dates

    board = login(app.test_client(), circle.supervisor).get("/supervision?sort=review_date")
    cells = re.findall(
        r'<a href="/documents/(\d+)">.*?<td data-label="Next review">(.*?)</td>',
        board.get_data(as_text=True),
        re.S,
    )
    said = {int(doc): text for doc, text in cells}
    assert ". That is today." in said[today] and "today" not in said[later]
