"""Messages about a review stop counting as new once the review is done: they stay listed,
but no longer say "New" nor count under "What needs you now" as if something still waited."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from careplan.db.models import Document, Notification, Reminder
from careplan.domain.local_time import long_date, service_today
from careplan.services import accounts, reminders, reviews, signoff
from tests.conftest import login
from tests.factories import (
    PASSWORD,
    Circle,
    NotificationFactory,
    actor_for,
    forget_messages,
    make_plan,
)


def _reminder_notice(db, doc: int, person, kind: str) -> int:
    """An in-app reminder as the sender writes it: its reminder row, and its message."""
    with db.write() as s:
        row = Reminder(document_id=doc, due_on=service_today(), kind=kind, recipient_id=person.id,
                       channel="app", owed_on=service_today(), status="sent")  # fmt: skip
        s.add(row)
        s.flush()
        reminder_id = row.id
    return NotificationFactory(user_id=person.id, document_id=doc, reminder_id=reminder_id,
                               text=f"Reminder {kind} of {doc}", link=f"/documents/{doc}").id  # fmt: skip


def _new(db, person) -> list[str]:
    with db.read() as s:
        return list(
            s.scalars(
                sa.select(Notification.text)
                .where(Notification.user_id == person.id, Notification.read_at.is_(None))
                .order_by(Notification.id)
            )
        )


def test_a_review_done_answers_the_messages_about_it_and_no_others(db):
    circle = Circle()
    doc, other = (make_plan(circle.key_worker, circle.client) for _ in range(2))
    for person in (circle.client, circle.key_worker):
        for d in (doc, other):
            signoff.sign(db, actor_for(person), d, 1, "signed", "", PASSWORD)
    forget_messages()  # the client told each is agreed: this test counts a review's
    _reminder_notice(db, doc, circle.client, "soon:14")
    _reminder_notice(db, doc, circle.client, "sign:7")  # about a signature: not answered
    _reminder_notice(db, other, circle.client, "soon:14")  # another document's review
    NotificationFactory(user_id=circle.client.id, document_id=doc, text="A comment",
                        link=f"/documents/{doc}#comments-domains")  # fmt: skip

    reviews.confirm_no_changes(db, actor_for(circle.key_worker), doc, 1, PASSWORD)
    waiting = [t for t in _new(db, circle.client) if "confirm it too" in t]
    assert len(waiting) == 1
    assert any("confirmed the review" in t for t in _new(db, circle.advocate))
    assert reminders.unread_count(db, actor_for(circle.client)) == 5

    # The review is done: what said it waited is no longer new; the rest still is.
    reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD)
    assert _new(db, circle.client) == [
        f"Reminder sign:7 of {doc}",
        f"Reminder soon:14 of {other}",
        "A comment",
    ]
    assert not any("confirmed the review" in t for t in _new(db, circle.advocate))
    # Whoever confirmed first is told it is done: that message is new.
    [done] = _new(db, circle.key_worker)
    assert "confirmed too: the review of their care plan is done" in done
    # Still listed, every one.
    listed = [n.text for n in reminders.notifications_for(db, actor_for(circle.client))]
    assert f"Reminder soon:14 of {doc}" in listed and any("confirm it too" in t for t in listed)


def test_an_earlier_review_asked_for_answers_the_reminders_of_the_later_date(db):
    """ "A review coming up on 9 December" stayed New after one was asked for by the 8th: the
    other side is told of the new date, and reminders follow it. A reminder of a signature,
    and the client's e-mail that someone replied to a request for help, are not about it."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    _reminder_notice(db, doc, circle.client, "soon:14")
    _reminder_notice(db, doc, circle.client, "sign:7")
    _reminder_notice(db, doc, circle.client, "alert-reply:3")
    wanted = (service_today() + timedelta(days=5)).isoformat()
    reviews.request_earlier_review(
        db, actor_for(circle.key_worker), doc, wanted, "Housing news", service_today()
    )
    still = _new(db, circle.client)
    assert f"Reminder soon:14 of {doc}" not in still
    assert f"Reminder sign:7 of {doc}" in still and f"Reminder alert-reply:3 of {doc}" in still
    assert any("sooner, by " in t for t in still)  # and told of the new date


def test_a_reminder_of_a_review_date_that_moved_says_the_date_now(app, db):
    """ "You have a review coming up on 9 December" stayed listed as it was after the plan
    was agreed again, with its next review months later."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    with db.write() as s:
        next_review = s.get(Document, doc).next_review_on
    _reminder_notice(db, doc, circle.client, "soon:14")  # of today, as the sender wrote it
    _reminder_notice(db, doc, circle.client, "sign:7")  # not about a review date
    listed = {n.text: n for n in reminders.notifications_for(db, actor_for(circle.client))}
    coming = listed[f"Reminder soon:14 of {doc}"]
    assert coming.review_moved and coming.next_review_on == next_review
    assert not listed[f"Reminder sign:7 of {doc}"].review_moved
    page = login(app.test_client(), circle.client).get("/me/notifications").get_data(True)
    # Agreed (reviewed) since the message was written: said so, with the date now.
    today = long_date(service_today())
    assert page.count(f"(The review was done on {today}: the next review is on ") == 1
    # Reviewed before it was written, the date moved for another reason: "changed since".
    with db.write() as s:
        s.get(Document, doc).last_reviewed_on = service_today() - timedelta(days=30)
    page = login(app.test_client(), circle.client).get("/me/notifications").get_data(True)
    assert page.count("(The review date has changed since: the next review is on ") == 1

    # Of the date still set: nothing to say.
    with db.write() as s:
        s.get(Document, doc).next_review_on = service_today()
    listed = {n.text: n for n in reminders.notifications_for(db, actor_for(circle.client))}
    assert not listed[f"Reminder soon:14 of {doc}"].review_moved


def test_a_reminder_names_the_document_it_is_about_while_its_reader_may_open_it(app, db):
    """A client's two documents' reminders read alike ("Your review was due on ..."): the
    app names each one beside it. A request for help, or records no longer open, name none."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    with db.write() as s:
        s.get(Document, doc).title = "Care plan"
    _reminder_notice(db, doc, circle.client, "overdue:7")
    _reminder_notice(db, doc, circle.client, "sign:2")
    _reminder_notice(db, doc, circle.client, "alert-reply:3")
    NotificationFactory(user_id=circle.client.id, text="A comment", link=f"/documents/{doc}")
    about = {n.text: n.about for n in reminders.notifications_for(db, actor_for(circle.client))}
    assert about == {
        f"Reminder overdue:7 of {doc}": "Care plan",
        f"Reminder sign:2 of {doc}": "Care plan",
        f"Reminder alert-reply:3 of {doc}": "",
        "A comment": "",
    }
    page = " ".join(
        login(app.test_client(), circle.client).get("/me/notifications").get_data(True).split()
    )
    assert page.count('<span class="meta">About: <bdi>Care plan</bdi>.</span>') == 2

    _reminder_notice(db, doc, circle.advocate, "overdue:7")
    accounts.revoke_advocate(db, actor_for(circle.client), circle.advocate.id)
    [gone] = reminders.notifications_for(db, actor_for(circle.advocate))
    assert gone.closed and gone.about == ""
