"""E-mails given up on after the last try are listed to administrators and can be tried again:
each goes out once the mail server works, except what is no longer owed; a daily summary from
an earlier day is not sent late, its reminders go into the next one."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, ReminderDigest
from careplan.domain.local_time import service_day
from careplan.services import account_settings, admin_accounts, audit, reminders, undelivered
from careplan.services.accounts import actor_for
from careplan.services.errors import NotFound
from careplan.services.reminders import ReminderSettings
from tests.factories import PASSWORD, AdminFactory, Circle
from tests.services.test_reminders import DUE, RecordingMailer, agreed_plan, at, rows, send, set_due

ONE_TRY = ReminderSettings(base_url="https://app.example.org", max_attempts=1)
NEW = "a long new password nobody guesses"


@pytest.fixture
def circle(app):
    return Circle()


@pytest.fixture
def admin(app):
    return actor_for(AdminFactory())


@pytest.fixture
def down():
    mailer = RecordingMailer()
    mailer.fail_with = OSError("Connection refused <by the relay>")
    return mailer


def _tries_again(db) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "email.try_again")))


def test_given_up_emails_are_listed_and_sent_once_tried_again(db, circle, admin, down, monkeypatch):
    monkeypatch.setattr(db, "account_notices", None)  # only the senders below send
    agreed_plan(db, circle)
    now = at(DUE - timedelta(days=2), 8)  # summaries not gathered: the client's e-mail only
    reminders.sweep(db, ONE_TRY, now)
    account_settings.change_password(db, actor_for(circle.client), PASSWORD, NEW, NEW)
    report = send(db, down, now, ONE_TRY, digests=False)
    assert report.failed == 2 and report.emails == 0

    listing = undelivered.listing(db, admin)
    assert listing.total == undelivered.count(db, admin) == 2
    assert sorted(r.about for r in listing.rows) == ["A reminder", "Their password was changed"]
    for row in listing.rows:
        assert (row.user_id, row.to_address, row.attempts) == (
            circle.client.id,
            circle.client.email,
            1,
        )
        assert "Connection refused <by the relay>" in row.last_error
    # Left alone, nothing more is tried.
    assert send(db, RecordingMailer(), now + timedelta(days=1), ONE_TRY).emails == 0

    later = now + timedelta(hours=2)
    assert undelivered.try_again(db, admin, later).emails == 2
    [reminder] = rows(db, channel="email")
    assert (reminder.status, reminder.attempts, reminder.not_before) == ("pending", 0, later)
    assert undelivered.count(db, admin) == 0
    working = RecordingMailer()
    report = send(db, working, later, ONE_TRY, digests=False)
    assert (report.emails, report.account_emails) == (1, 1)
    subjects = sorted(m["Subject"] for m in working.to(circle.client.email))
    assert len(subjects) == 2 and "Your password was changed" in subjects
    assert send(db, working, later + timedelta(hours=1), ONE_TRY).emails == 0
    assert len(working.to(circle.client.email)) == 2
    # Recorded once; pressing again finds nothing and records nothing.
    [event] = _tries_again(db)
    assert event.actor_id == admin.id and event.detail == {"emails": 2, "summaries_folded": 0}
    assert not undelivered.try_again(db, admin, later).any
    assert len(_tries_again(db)) == 1


def test_a_reminder_no_longer_owed_is_dropped_not_sent(db, circle, admin, down):
    doc = agreed_plan(db, circle)
    now = at(DUE - timedelta(days=2), 8)
    reminders.sweep(db, ONE_TRY, now)
    send(db, down, now, ONE_TRY, digests=False)
    assert rows(db, channel="email")[0].status == "failed"
    set_due(db, doc, DUE + timedelta(weeks=12))  # reviewed meanwhile: a new date
    later = now + timedelta(hours=2)
    assert undelivered.try_again(db, admin, later).emails == 1
    working = RecordingMailer()
    send(db, working, later, ONE_TRY, digests=False)
    assert working.sent == []
    assert rows(db, channel="email")[0].status == "cancelled"


def _failed_digest(db, circle, down, day):
    agreed_plan(db, circle)
    now = at(day, 8)  # after the digest hour: the key worker's summary too
    reminders.sweep(db, ONE_TRY, now)
    send(db, down, now, ONE_TRY)
    with db.read() as s:
        [digest] = s.scalars(sa.select(ReminderDigest)).all()
    assert digest.status == "failed"
    return digest


def test_todays_summary_is_sent_as_it_was(db, circle, admin, down):
    day = DUE - timedelta(days=2)
    _failed_digest(db, circle, down, day)
    result = undelivered.try_again(db, admin, at(day, 10))
    assert (result.emails, result.summaries_folded) == (2, 0)  # the summary and the client's
    working = RecordingMailer()
    send(db, working, at(day, 10), ONE_TRY)
    [summary] = working.to(circle.key_worker.email)
    assert "Review coming up on" in summary.get_content()


def test_an_earlier_days_summary_is_not_sent_late_its_reminders_go_into_the_next(
    db, circle, admin, down
):
    day = DUE - timedelta(days=2)
    old = _failed_digest(db, circle, down, day)
    next_day = at(day + timedelta(days=1), 10)
    result = undelivered.try_again(db, admin, next_day)
    assert result.summaries_folded == 1
    with db.read() as s:
        assert s.get(ReminderDigest, old.id).status == "cancelled"
    working = RecordingMailer()
    send(db, working, next_day, ONE_TRY)
    [summary] = working.to(circle.key_worker.email)
    assert summary["Subject"].endswith(f"{next_day:%a} {next_day.day} {next_day:%b}")
    assert "Review coming up on" in summary.get_content()
    with db.read() as s:
        days = sorted((d.day, d.status) for d in s.scalars(sa.select(ReminderDigest)))
    assert days == [(day, "cancelled"), (service_day(next_day), "sent")]


def test_only_administrators_see_or_try_them(db, circle):
    for person in (circle.client, circle.key_worker, circle.supervisor):
        actor = actor_for(person)
        for call in (undelivered.count, undelivered.listing, undelivered.try_again):
            with pytest.raises(NotFound):
                call(db, actor)


def test_two_administrators_pressing_at_once_put_each_back_once(db, circle, down):
    agreed_plan(db, circle)
    now = at(DUE - timedelta(days=2), 8)
    reminders.sweep(db, ONE_TRY, now)
    send(db, down, now, ONE_TRY)
    given_up = undelivered.count(db, actor_for(circle.admin))
    assert given_up == 2  # the client's reminder and the key worker's summary
    admins = [actor_for(circle.admin), actor_for(AdminFactory())]
    start, results = threading.Barrier(2), []

    def press(admin):
        start.wait()
        results.append(undelivered.try_again(db, admin, now + timedelta(hours=2)))

    threads = [threading.Thread(target=press, args=(a,)) for a in admins]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.emails for r in results) == [0, given_up]
    assert len(_tries_again(db)) == 1
    assert audit.verify_chain(db).ok


def test_a_password_link_nobody_got_is_listed_until_a_newer_link_or_a_password(db, circle, admin):
    """A link whose e-mail the mail server refused reached nobody and is never sent again (its
    secret is not kept): the administrators' list says so, as it says of other e-mails, until
    something makes it moot."""
    person = circle.client
    assert undelivered.count(db, admin) == 0
    link = admin_accounts.send_password_link(db, admin, person.id)
    account_settings.link_not_sent(db, link.link_id, "550 No such user here")

    listing = undelivered.listing(db, admin)
    assert listing.total == undelivered.count(db, admin) == 1
    [row] = listing.rows
    assert row.about == "Link to choose a new password"
    assert (row.user_id, row.to_address, row.last_error) == (
        person.id,
        person.email,
        "550 No such user here",
    )
    assert row.new_link_needed
    # Trying again cannot send it: nothing moves, and it stays listed.
    assert not undelivered.try_again(db, admin).any
    assert undelivered.count(db, admin) == 1

    # A newer link takes its place (listed itself only if it too could not be sent).
    admin_accounts.send_password_link(db, admin, person.id)
    assert undelivered.count(db, admin) == 0 and undelivered.listing(db, admin).rows == []
    again = admin_accounts.send_password_link(db, admin, person.id)
    account_settings.link_not_sent(db, again.link_id, "421 Try later")
    assert [r.last_error for r in undelivered.listing(db, admin).rows] == ["421 Try later"]

    # A password chosen ends it; so does the account being closed.
    account_settings.change_password(db, actor_for(person), PASSWORD, NEW, NEW)
    assert undelivered.count(db, admin) == 0
    advocate = circle.advocate
    late = admin_accounts.send_password_link(db, admin, advocate.id)
    account_settings.link_not_sent(db, late.link_id, "421 Try later")
    assert undelivered.count(db, admin) == 1
    admin_accounts.set_active(db, admin, advocate.id, False, "Left")
    assert undelivered.count(db, admin) == 0 and undelivered.listing(db, admin).rows == []
