"""Reminders: what the sweep records, how senders deliver it exactly once, digests, the
client's choice, discreet wording, the in-app pages and the private calendar feed.

The clock is always passed in (`now`), so days go by without sleeping."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from careplan.db.models import (
    CalendarFeed,
    Document,
    Notification,
    Reminder,
    ReminderDigest,
    User,
    utcnow,
)
from careplan.domain import local_time
from careplan.domain.local_time import service_day, time_zone
from careplan.domain.paging import Window
from careplan.domain.reviews import ReminderRules, timing
from careplan.domain.tokens import new_token, token_hash
from careplan.reminders import account_mail, ical, messages
from careplan.reminders.mail import build_message, row_message_id
from careplan.reminders.sender import send_pending
from careplan.services import accounts, documents, reminders, reviews, signoff, throttle
from careplan.services.accounts import actor_for
from careplan.services.errors import NotFound
from careplan.services.reminders import ReminderSettings
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    CaseloadLinkFactory,
    Circle,
    ClientFactory,
    NotificationFactory,
    forget_messages,
    make_plan,
)

DUE = date(2027, 3, 3)
SENDER = "Reminders <reminders@example.org>"
SETTINGS = ReminderSettings(base_url="https://app.example.org")


def at(d: date, hour: int = 9) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


class RecordingMailer:
    """Keeps every message the SMTP server would have accepted; can be told to fail."""

    def __init__(self):
        self.sent: list[EmailMessage] = []
        self.tried: list[EmailMessage] = []  # sent or not
        self.fail_with: Exception | None = None

    @contextmanager
    def connect(self):
        def send(message):
            self.tried.append(message)
            if self.fail_with is not None:
                raise self.fail_with
            self.sent.append(message)

        yield send

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.sent if m["To"] == address]


@pytest.fixture
def circle(app):
    return Circle()


@pytest.fixture
def mailer():
    return RecordingMailer()


def agreed_plan(db, circle, due_on: date | None = DUE) -> int:
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    forget_messages()  # the client told it is agreed: these tests count reminders
    if due_on is not None:
        set_due(db, doc, due_on)
    return doc


def set_due(db, doc: int, due_on: date) -> None:
    with db.write() as s:
        d = s.get(Document, doc)
        d.next_review_on = d.scheduled_review_on = due_on


def owed(db) -> set[tuple]:
    with db.read() as s:
        return set(
            s.execute(
                sa.select(Reminder.kind, Reminder.recipient_id, Reminder.channel, Reminder.status)
            ).all()
        )


def rows(db, **where) -> list[Reminder]:
    with db.read() as s:
        return list(s.scalars(sa.select(Reminder).filter_by(**where).order_by(Reminder.id)))


def send(db, mailer, now, settings=SETTINGS, worker="sender-1", digests=True):
    """What the scheduler's jobs do after a sweep: gather today's digests, then send. Without
    `digests` the key workers' summaries are not gathered: only the clients' own reminders go."""
    if digests:
        reminders.build_digests(db, settings, now)
    return send_pending(db, settings, mailer, SENDER, lambda: now, worker)


# --- the sweep ----------------------------------------------------------------------------------


def test_the_sweep_records_each_owed_reminder_once_per_person_and_channel(db, circle):
    doc = agreed_plan(db, circle)
    c, w = circle.client.id, circle.key_worker.id
    assert reminders.sweep(db, SETTINGS, at(DUE - timedelta(days=15))).inserted == 0
    report = reminders.sweep(db, SETTINGS, at(DUE - timedelta(days=14)))
    assert report.inserted == 4
    assert owed(db) == {
        ("soon:14", c, "app", "pending"),
        ("soon:14", c, "email", "pending"),  # the client's default: e-mail and in the app
        ("soon:14", w, "app", "pending"),
        ("soon:14", w, "digest", "pending"),  # staff: in the app and the daily digest
    }
    # Again, the same day or later the same day: nothing new.
    assert reminders.sweep(db, SETTINGS, at(DUE - timedelta(days=14), 17)).inserted == 0
    assert {r.document_id for r in rows(db)} == {doc}
    assert {r.due_on for r in rows(db)} == {DUE}


def test_the_sweep_counts_the_service_s_own_days(db, circle, monkeypatch):
    # Tokyo is 9 hours ahead: at 16:00 UTC the day before the review date it is already the
    # review date there, so "due today" is owed; at 14:00 UTC it is still the day before.
    monkeypatch.setattr(local_time, "_days_zone", time_zone("Asia/Tokyo"))
    agreed_plan(db, circle)
    eve = DUE - timedelta(days=1)
    reminders.sweep(db, SETTINGS, at(eve, 14))
    assert "today" not in {k for k, *_ in owed(db)}
    reminders.sweep(db, SETTINGS, at(eve, 16))
    assert {(r.owed_on, r.due_on) for r in rows(db) if r.kind == "today"} == {(DUE, DUE)}


def test_after_downtime_the_sweep_catches_up_every_missed_reminder_once(db, circle):
    agreed_plan(db, circle)
    reminders.sweep(db, SETTINGS, at(DUE - timedelta(days=3)))
    assert {k for k, *_ in owed(db)} == set()  # 14 days before was 11 days ago: too old
    reminders.sweep(db, SETTINGS, at(DUE - timedelta(days=2)))
    # Three days with nothing running; then one sweep.
    report = reminders.sweep(db, SETTINGS, at(DUE + timedelta(days=1)))
    assert report.inserted == 4  # "today" for both parties; "2 days before" was already there
    assert sorted({k for k, *_ in owed(db)}) == ["soon:2", "today"]
    assert len(rows(db)) == 8


def delivered(db, mailer, user) -> tuple[int, int]:
    """(e-mails, in-app notifications) this person received."""
    with db.read() as s:
        notes = s.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id)
        )
    return len(mailer.to(user.email)), notes


def test_a_review_asked_for_today_reminds_each_person_once(db, circle, mailer):
    doc = agreed_plan(db, circle, DUE + timedelta(days=60))
    reviews.request_earlier_review(
        db, actor_for(circle.client), doc, DUE.isoformat(), "Things have changed", DUE
    )
    now = at(DUE, 10)
    reminders.sweep(db, SETTINGS, now)
    send(db, mailer, now)
    assert delivered(db, mailer, circle.client) == (1, 1)
    # The digest, and in the app the reminder and, from the moment it was made, the request.
    assert delivered(db, mailer, circle.key_worker) == (1, 2)
    # Nothing dated before the request: "2 days before" a date set today is not owed.
    assert {(r.kind, r.owed_on) for r in rows(db)} == {("today", DUE)}


def test_a_review_asked_for_tomorrow_is_e_mailed_the_day_it_is_asked(db, circle, mailer):
    """It owed nothing the day it was asked ("2 days before" fell before it): a client with
    e-mail reminders first heard of it by e-mail on the day itself."""
    doc = agreed_plan(db, circle, DUE + timedelta(days=60))
    asked = DUE - timedelta(days=1)
    reviews.request_earlier_review(
        db, actor_for(circle.key_worker), doc, DUE.isoformat(), "Let us meet", asked
    )
    reminders.sweep(db, SETTINGS, at(asked, 10))
    assert {(r.kind, r.owed_on) for r in rows(db)} == {("soon:2", asked)}
    send(db, mailer, at(asked, 10))
    [told] = mailer.to(circle.client.email)
    assert f"coming up on {DUE:%A} {DUE.day} {DUE:%B %Y}" in told.get_content()
    assert reminders.sweep(db, SETTINGS, at(asked, 15)).inserted == 0  # once
    reminders.sweep(db, SETTINGS, at(DUE, 10))
    assert {r.kind for r in rows(db)} == {"soon:2", "today"}


def test_a_late_review_while_a_new_version_waits_for_the_client_says_to_sign_it(db, circle, mailer):
    """The client was told "Please get in touch to arrange a time" while a new version, signed
    by their key worker, waited for them: signing it (with the other) is the review."""
    doc = agreed_plan(db, circle)
    content = documents.open_document(db, actor_for(circle.key_worker), doc).content
    content["what_matters"] = {"text": "New words for the review."}
    documents.save_version(db, actor_for(circle.key_worker), doc, 1, content, "for the review")
    signoff.sign(db, actor_for(circle.key_worker), doc, 2, "signed", "", PASSWORD)
    now = at(DUE + timedelta(days=7), 10)
    reminders.sweep(db, SETTINGS, now)
    send(db, mailer, now)
    [told] = mailer.to(circle.client.email)
    body = told.get_content()
    assert (
        "A new version is waiting for you to read and sign: once you have both signed it, " in body
    )
    assert "get in touch" not in body
    # The key worker's summary is as before: nothing waits for them.
    with db.read() as s:
        notes = list(
            s.scalars(sa.select(Notification.text).where(Notification.user_id == circle.client.id))
        )
    assert any("A new version is waiting for you to read and sign" in n for n in notes)


def test_after_days_of_downtime_one_sweep_reminds_each_person_once(db, circle, mailer):
    agreed_plan(db, circle)
    # Nothing ran from three days before the review until the day after it; then one sweep.
    now = at(DUE + timedelta(days=1), 10)
    reminders.sweep(db, SETTINGS, now)
    send(db, mailer, now)
    assert delivered(db, mailer, circle.client) == (1, 1)
    assert delivered(db, mailer, circle.key_worker) == (1, 1)
    assert {r.kind for r in rows(db)} == {"today"}
    # Sweeping again, in this process or another, the same day or the next: nothing new.
    assert reminders.sweep(db, SETTINGS, now + timedelta(hours=1)).inserted == 0
    assert reminders.sweep(db, SETTINGS, now + timedelta(days=1)).inserted == 0


def test_a_reminder_still_undelivered_when_a_later_one_falls_due_is_not_sent_as_well(
    db, circle, mailer
):
    agreed_plan(db, circle)
    reminders.sweep(db, SETTINGS, at(DUE - timedelta(days=2)))  # recorded; the senders were down
    now = at(DUE, 10)
    reminders.sweep(db, SETTINGS, now)
    report = send(db, mailer, now)
    assert delivered(db, mailer, circle.client) == (1, 1)
    assert delivered(db, mailer, circle.key_worker) == (1, 1)
    assert report.cancelled == 3  # "2 days before": the client's two and the key worker's app
    assert {r.status for r in rows(db, kind="soon:2")} == {"cancelled"}
    assert {r.status for r in rows(db, kind="today")} == {"sent"}


def test_escalation_goes_to_the_supervisors_of_the_key_workers_team(db, circle):
    agreed_plan(db, circle)
    reminders.sweep(db, SETTINGS, at(DUE + timedelta(days=14)))
    esc = {(r.recipient_id, r.channel) for r in rows(db, kind="escalation")}
    assert esc == {(circle.supervisor.id, "app"), (circle.supervisor.id, "digest")}
    assert {r.recipient_id for r in rows(db, kind="overdue:2")} == {
        circle.client.id,
        circle.key_worker.id,
    }


def test_the_client_chooses_email_app_only_or_none(db, circle):
    agreed_plan(db, circle)
    client = actor_for(circle.client)
    assert reminders.channel_of(db, client, SETTINGS).value == "email"
    reminders.choose_channel(db, client, "app")
    reminders.sweep(db, SETTINGS, at(DUE - timedelta(days=2)))
    assert {(r.channel) for r in rows(db, recipient_id=circle.client.id)} == {"app"}
    reminders.choose_channel(db, client, "none")
    reminders.sweep(db, SETTINGS, at(DUE))
    assert {r.kind for r in rows(db, recipient_id=circle.client.id)} == {"soon:2"}
    # The key worker is reminded whatever the client chose.
    assert {r.kind for r in rows(db, recipient_id=circle.key_worker.id)} == {"soon:2", "today"}
    with pytest.raises(NotFound):
        reminders.choose_channel(db, actor_for(circle.key_worker), "none")


def test_whoever_has_not_signed_a_waiting_draft_is_reminded(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    since = service_day(datetime.now(UTC))
    reminders.sweep(db, SETTINGS, at(since + timedelta(days=2)))
    assert {(r.kind, r.recipient_id) for r in rows(db)} == {("sign:2", circle.key_worker.id)}
    assert {r.due_on for r in rows(db)} == {since}


def test_a_stale_waiting_mark_is_cleared_by_the_sweep(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    page_content = {"what_matters": {"text": "changed"}}
    from careplan.services import documents

    documents.save_version(db, actor_for(circle.client), doc, 1, page_content)  # new draft
    reminders.sweep(db, SETTINGS, at(service_day(datetime.now(UTC)) + timedelta(days=2)))
    assert rows(db) == []
    with db.read() as s:
        assert s.get(Document, doc).awaiting_signature_since is None


def test_the_sweep_reads_only_documents_whose_dates_are_near(db, circle):
    agreed_plan(db, circle, DUE)
    far = agreed_plan(db, Circle(), DUE + timedelta(days=60))
    report = reminders.sweep(db, SETTINGS, at(DUE))
    assert report.reviews_checked == 1
    assert far not in {r.document_id for r in rows(db)}


# --- sending ------------------------------------------------------------------------------------


def test_in_app_and_email_are_delivered_once_and_say_nothing_but_the_date(db, circle, mailer):
    doc = agreed_plan(db, circle)
    now = at(DUE - timedelta(days=14))
    reminders.sweep(db, SETTINGS, now)
    report = send(db, mailer, now)
    assert (report.in_app, report.emails, report.digests) == (2, 1, 1)
    [mail] = mailer.to(circle.client.email)
    assert mail["To"] == circle.client.email
    assert mail["Subject"] == "Reminder for Wed 3 Mar"
    body = mail.get_content()
    assert "You have a review coming up on Wednesday 3 March 2027." in body
    assert f"https://app.example.org/documents/{doc}" in body
    assert messages.indiscretions(mail["Subject"] + body) == []
    [row] = rows(db, channel="email")
    assert mail["Message-ID"] == row_message_id(
        "reminder", row.id, row.created_at, SENDER, SETTINGS.base_url
    )
    with db.read() as s:
        notes = {n.user_id: n.text for n in s.scalars(sa.select(Notification))}
    assert notes[circle.client.id] == "You have a review coming up on Wednesday 3 March 2027."
    assert notes[circle.key_worker.id] == (
        f"{circle.client.display_name}: review coming up on Wednesday 3 March 2027."
    )
    # Nothing more to send, however often the sender runs.
    assert not send(db, mailer, now + timedelta(minutes=1))
    assert len(mailer.to(circle.client.email)) == 1 and len(mailer.sent) == 2
    assert {r.status for r in rows(db) if r.channel != "digest"} == {"sent"}


def test_a_claim_whose_sender_died_is_delivered_by_another_after_its_lease(db, circle, mailer):
    agreed_plan(db, circle)
    now = at(DUE - timedelta(days=2))
    reminders.sweep(db, SETTINGS, now)
    # A sender claims everything, then dies before delivering anything.
    dead = reminders.claim(db, SETTINGS, now, "dead-sender", limit=100)
    assert len(dead.items) == 3
    # While its lease runs, nobody else takes those rows.
    assert reminders.claim(db, SETTINGS, now + timedelta(minutes=4), "other").items == []
    later = now + SETTINGS.lease + timedelta(seconds=1)
    report = send(db, mailer, later, worker="alive")
    assert (report.in_app, report.emails) == (2, 1)
    assert len(mailer.to(circle.client.email)) == 1
    # The dead sender, had it woken up, could not mark them as its own.
    assert not reminders.mark_sent(db, rows(db, channel="email")[0].id, "dead-sender", later)


def test_the_one_window_smtp_leaves_duplicates_with_the_same_message_id(db, circle, mailer):
    """Killed after the server accepted the e-mail but before 'sent' was committed: after
    the lease another sender sends it again. Honest at-least-once, with one Message-ID."""
    agreed_plan(db, circle)
    now = at(DUE - timedelta(days=2))
    reminders.sweep(db, SETTINGS, now)
    claimed = reminders.claim(db, SETTINGS, now, "doomed", channels=("email",)).items
    assert len(claimed) == 1
    item = claimed[0]
    text = messages.reminder_email(item.kind, item.due_on, item.document_id, service_day(now), "")
    [row] = rows(db, channel="email")
    first_id = row_message_id("reminder", row.id, row.created_at, SENDER, SETTINGS.base_url)
    mailer.sent.append(
        build_message(SENDER, item.recipient_email, text.subject, text.body, first_id)
    )
    # ... and the process is killed here, before mark_sent.
    send(db, mailer, now + SETTINGS.lease + timedelta(seconds=1))
    assert [m["Message-ID"] for m in mailer.to(circle.client.email)] == [first_id, first_id]


def test_each_try_of_an_email_has_its_row_s_message_id_and_each_row_its_own(db, circle, mailer):
    agreed_plan(db, circle)
    agreed_plan(db, Circle())
    now = at(DUE - timedelta(days=14))  # after the digest hour: summaries go out too
    reminders.sweep(db, SETTINGS, now)
    mailer.fail_with = OSError("connection lost")
    send(db, mailer, now)
    first_tries = sorted(m["Message-ID"] for m in mailer.tried)
    mailer.fail_with = None
    send(db, mailer, now + timedelta(hours=1))
    sent = sorted(m["Message-ID"] for m in mailer.sent)
    assert len(sent) == 4 and len(set(sent)) == 4  # two reminders, two summaries
    assert first_tries == sent
    with db.read() as s:
        summaries = list(s.scalars(sa.select(ReminderDigest)))
    expected = [
        row_message_id("reminder", r.id, r.created_at, SENDER, SETTINGS.base_url)
        for r in rows(db, channel="email")
    ] + [row_message_id("digest", d.id, d.created_at, SENDER, SETTINGS.base_url) for d in summaries]
    assert sorted(expected) == sent


def test_reminders_no_longer_owed_are_cancelled_not_sent(db, circle, mailer):
    doc = agreed_plan(db, circle)
    reminders.sweep(db, SETTINGS, at(DUE - timedelta(days=2)))
    # Reviewed before they went out: a new date, so these are no longer owed.
    reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD)
    reviews.confirm_no_changes(db, actor_for(circle.key_worker), doc, 1, PASSWORD)
    report = send(db, mailer, at(DUE - timedelta(days=2), 10))
    assert report.cancelled == 3 and mailer.sent == []
    assert {r.status for r in rows(db)} == {"cancelled"}  # the digest's too


def test_a_handed_over_client_is_not_reminded_to_the_old_key_worker(db, circle, mailer):
    agreed_plan(db, circle)
    reminders.sweep(db, SETTINGS, at(DUE))
    new_worker = Circle().key_worker
    from careplan.services import accounts

    accounts.link_caseload(db, circle.client.email, new_worker.email)
    send(db, mailer, at(DUE, 10))
    assert rows(db, recipient_id=circle.key_worker.id, channel="app")[0].status == "cancelled"
    reminders.sweep(db, SETTINGS, at(DUE, 11))
    assert {r.kind for r in rows(db, recipient_id=new_worker.id)} == {"today"}


def test_smtp_failures_are_retried_with_backoff_then_given_up(db, circle, mailer):
    agreed_plan(db, circle)
    settings = ReminderSettings(base_url="https://x.example", max_attempts=2)
    now = at(DUE - timedelta(days=2), 8)
    reminders.sweep(db, settings, now)
    mailer.fail_with = OSError("connection refused")
    report = send(db, mailer, now, settings, digests=False)
    assert report.failed == 1 and report.in_app == 2
    [row] = rows(db, channel="email")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.not_before == now + timedelta(seconds=30)
    assert not send(db, mailer, now + timedelta(seconds=10), settings, digests=False)  # backing off
    send(db, mailer, now + timedelta(minutes=1), settings, digests=False)
    send(db, mailer, now + timedelta(hours=1), settings, digests=False)
    [row] = rows(db, channel="email")
    assert row.status == "failed" and "connection refused" in row.last_error
    mailer.fail_with = None
    send(db, mailer, now + timedelta(days=1), settings, digests=False)
    assert mailer.sent == []


@pytest.mark.parametrize("lease_seconds", [1, 30, 45, 59, 60, 300])
def test_any_lease_sends_what_is_pending_and_stops(db, circle, mailer, lease_seconds):
    agreed_plan(db, circle)
    settings = ReminderSettings(
        base_url="https://app.example.org", lease=timedelta(seconds=lease_seconds)
    )
    now = at(DUE - timedelta(days=2), 8)  # after the digest hour: a digest goes out too
    reminders.sweep(db, settings, now)
    reminders.build_digests(db, settings, now)
    ticks = []

    def clock():
        ticks.append(now)
        assert len(ticks) < 100, "the sender went round in circles"
        return now

    report = send_pending(db, settings, mailer, SENDER, clock, "sender-1")
    assert (report.in_app, report.emails, report.digests) == (2, 1, 1)
    assert len(mailer.sent) == 2


# --- digests ------------------------------------------------------------------------------------


def test_reminders_recorded_in_the_night_wait_for_the_reminder_hour(
    db, circle, mailer, monkeypatch
):
    # Tokyo is 9 hours ahead: 05:00 there on 1 March is 20:00 UTC on 28 February.
    monkeypatch.setattr(local_time, "_days_zone", time_zone("Asia/Tokyo"))
    agreed_plan(db, circle, DUE)
    night = at(DUE - timedelta(days=3), 20)
    reminders.sweep(db, SETTINGS, night)
    seven = at(DUE - timedelta(days=3), 22)
    assert {r.not_before for r in rows(db)} == {seven}
    assert not send(db, mailer, night, digests=False)  # neither e-mail nor in the app
    assert not send(db, mailer, seven - timedelta(seconds=1), digests=False)
    report = send(db, mailer, seven, digests=False)
    assert (report.emails, report.in_app) == (1, 2)
    assert [m["To"] for m in mailer.sent] == [circle.client.email]
    # Recorded after the hour, a reminder goes at once.
    later = at(DUE, 1)  # 10:00 on the review date in Tokyo
    reminders.sweep(db, SETTINGS, later)
    assert {r.not_before for r in rows(db) if r.kind == "today"} == {later}


def test_reminders_owed_in_the_evening_wait_for_the_next_morning(db, circle, mailer):
    # London in winter keeps UTC. A reminder recorded at 22:00, after the last hour (21:00),
    # goes neither by e-mail nor in the app until 07:00, and the key worker's summary waits too.
    agreed_plan(db, circle, DUE)
    evening = at(DUE - timedelta(days=2), 22)
    reminders.sweep(db, SETTINGS, evening)
    assert rows(db, channel="email")
    for quiet in (evening, at(DUE - timedelta(days=2), 23), at(DUE - timedelta(days=1), 6)):
        assert SETTINGS.quiet(quiet)
        assert not send(db, mailer, quiet)
    assert mailer.sent == []
    report = send(db, mailer, at(DUE - timedelta(days=1), 7))
    assert (report.emails, report.digests) == (1, 1)
    assert sorted(m["To"] for m in mailer.sent) == sorted(
        [circle.client.email, circle.key_worker.email]
    )


def test_the_hours_reminders_go_out_are_checked_when_the_app_starts(app):
    from careplan.config import ConfigError

    for last, hour in ((7, 7), (6, 7), (25, 7)):
        with pytest.raises(ConfigError, match="CAREPLAN_REMINDER_LAST_HOUR must be after"):
            ReminderSettings.from_config(
                {**app.config, "REMINDER_HOUR": hour, "REMINDER_LAST_HOUR": last}
            )
    anytime = ReminderSettings.from_config({**app.config, "REMINDER_LAST_HOUR": 24})
    assert not anytime.quiet(at(DUE, 23))
    assert anytime.quiet(at(DUE, 6))


def test_summaries_go_out_from_the_reminder_hour_on_the_service_s_clock(
    db, circle, mailer, monkeypatch
):
    # Tokyo is 9 hours ahead: 07:00 on Monday 1 March there is 22:00 UTC on 28 February.
    monkeypatch.setattr(local_time, "_days_zone", time_zone("Asia/Tokyo"))
    agreed_plan(db, circle, DUE)
    six, seven = at(DUE - timedelta(days=3), 21), at(DUE - timedelta(days=3), 22)
    reminders.sweep(db, SETTINGS, six)
    send(db, mailer, six)
    assert mailer.to(circle.key_worker.email) == []
    send(db, mailer, seven)
    [digest] = mailer.to(circle.key_worker.email)
    assert digest["Subject"] == "Your reminders for Mon 1 Mar"


def test_key_workers_get_one_digest_a_day_listing_all_their_plans(db, circle, mailer):
    docs = [agreed_plan(db, circle, DUE)]
    for _ in range(2):  # two more clients of the same key worker
        other = SimpleNamespace(client=ClientFactory(), key_worker=circle.key_worker)
        CaseloadLinkFactory(client_id=other.client.id, key_worker_id=circle.key_worker.id)
        docs.append(agreed_plan(db, other, DUE + timedelta(days=12)))
    now = at(DUE - timedelta(days=2), 5)  # before the digest hour, 07:00
    reminders.sweep(db, SETTINGS, now)
    send(db, mailer, now)
    assert mailer.to(circle.key_worker.email) == []
    now = at(DUE - timedelta(days=2), 8)
    send(db, mailer, now)
    send(db, mailer, now + timedelta(minutes=5), worker="sender-2")  # another sender: nothing
    [digest] = mailer.to(circle.key_worker.email)
    assert digest["Subject"] == "Your reminders for Mon 1 Mar"
    body = digest.get_content()
    assert body.count("Review coming up on") == 3
    for doc in docs:
        assert f"https://app.example.org/documents/{doc}" in body
    assert messages.indiscretions(digest["Subject"] + body) == []
    for other in (circle.client.display_name,):  # no names in e-mail
        assert other not in body
    # Later the same day, something new: it waits for tomorrow's digest.
    late = SimpleNamespace(client=ClientFactory(), key_worker=circle.key_worker)
    CaseloadLinkFactory(client_id=late.client.id, key_worker_id=circle.key_worker.id)
    late_doc = agreed_plan(db, late, DUE)
    evening = at(DUE - timedelta(days=2), 20)
    reminders.sweep(db, SETTINGS, evening)
    send(db, mailer, evening)
    assert len(mailer.to(circle.key_worker.email)) == 1
    assert rows(db, document_id=late_doc, channel="digest")[0].status == "pending"
    send(db, mailer, at(DUE - timedelta(days=1), 8))
    assert len(mailer.to(circle.key_worker.email)) == 2
    second = mailer.to(circle.key_worker.email)[1].get_content()
    assert f"/documents/{late_doc}" in second and f"/documents/{docs[0]}" not in second
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ReminderDigest)) == 2
    assert {r.status for r in rows(db, channel="digest")} == {"sent"}


def _digest_gathered_but_not_sent(db, circle, mailer) -> tuple[int, datetime]:
    doc = agreed_plan(db, circle, DUE)
    gathered = at(DUE - timedelta(days=2), 8)
    reminders.sweep(db, SETTINGS, gathered)
    assert reminders.build_digests(db, SETTINGS, gathered) == 1  # then the senders stop
    assert mailer.to(circle.key_worker.email) == []
    return doc, gathered


def test_a_summary_is_checked_again_when_sent_and_says_nothing_no_longer_owed(db, circle, mailer):
    doc, gathered = _digest_gathered_but_not_sent(db, circle, mailer)
    set_due(db, doc, DUE + timedelta(weeks=12))  # reviewed meanwhile: the date moved
    send_pending(db, SETTINGS, mailer, SENDER, lambda: gathered + timedelta(hours=1), "sender-1")
    assert mailer.to(circle.key_worker.email) == []
    [row] = rows(db, document_id=doc, channel="digest")
    assert (row.status, row.last_error) == ("cancelled", "no longer owed")
    with db.read() as s:
        assert s.scalars(sa.select(ReminderDigest.status)).all() == ["empty"]


def test_an_earlier_day_s_summary_is_not_sent_late_its_reminders_go_into_today_s(
    db, circle, mailer
):
    doc, gathered = _digest_gathered_but_not_sent(db, circle, mailer)
    # Three days later the senders run again, before anyone gathers today's summary.
    later = gathered + timedelta(days=3)
    send_pending(db, SETTINGS, mailer, SENDER, lambda: later, "sender-1")
    assert mailer.to(circle.key_worker.email) == []  # not the summary of 1 March, now
    with db.read() as s:
        [first] = s.scalars(sa.select(ReminderDigest)).all()
    assert (first.status, first.last_error) == ("cancelled", reminders.FOLDED)
    # The sweep gathers what is still owed into today's: the review day's own reminder; the
    # "2 days before" one is no longer worth sending.
    reminders.sweep(db, SETTINGS, later)
    send(db, mailer, later)
    [summary] = mailer.to(circle.key_worker.email)
    assert summary["Subject"] == "Your reminders for Thu 4 Mar"
    assert "Review coming up" not in summary.get_content()
    assert {(r.kind, r.status) for r in rows(db, document_id=doc, channel="digest")} == {
        ("soon:2", "cancelled"),
        ("today", "sent"),
    }


# --- discreet wording ---------------------------------------------------------------------------


def _every_rendering(today: date):
    kinds = ["soon:14", "soon:2", "today", "overdue:1", "overdue:3", "escalation", "sign:2"]
    days = [-20, -14, -7, -1, 0, 1, 2, 14]
    for kind in kinds:
        for shift in days:
            due = today + timedelta(days=shift)
            for signing in (False, True):
                email = messages.reminder_email(
                    kind, due, 42, today, "https://app.example.org", signing=signing
                )
                yield f"email {kind} {shift} {signing}", email.subject + "\n" + email.body
                for staff in (False, True):
                    text, link = messages.notification(
                        kind, due, 42, today, staff, "", signing=signing
                    )
                    yield f"notification {kind} {shift} staff={staff} {signing}", text + link

    for kind in ("alert:42", "alert-escalation:42"):  # crisis alerts: staff only, no digest
        email = messages.reminder_email(kind, today, 42, today, "https://app.example.org")
        yield f"email {kind}", email.subject + "\n" + email.body
        text, link = messages.notification(kind, today, 42, today, True, "")
        yield f"notification {kind}", text + link
    # To the client who asked: someone replied (by e-mail only; the app has its own message).
    reply = messages.reminder_email("alert-reply:42", today, 42, today, "https://app.example.org")
    yield "email alert-reply", reply.subject + "\n" + reply.body

    class Item:
        def __init__(self, kind, due):
            self.kind, self.due_on, self.document_id = kind, due, 7

    items = [Item(k, today + timedelta(days=d)) for k in kinds for d in days]
    digest = messages.digest_email(items, today, "https://app.example.org")
    yield "digest", digest.subject + "\n" + digest.body
    summary, description = messages.calendar_texts(7, "https://app.example.org")
    yield "calendar", messages.calendar_name() + summary + description
    for purpose in ("reset", "welcome"):
        link = account_mail.password_link_email(purpose, "https://app.example.org/x", "today")
        yield f"password link {purpose}", link.subject + "\n" + link.body
    changed = account_mail.password_changed_email("https://app.example.org/forgot-password")
    yield "password changed", changed.subject + "\n" + changed.body
    first = account_mail.password_changed_email("https://x.example.org/forgot-password", first=True)
    yield "first password chosen", first.subject + "\n" + first.body
    for on in (True, False):
        step = account_mail.second_factor_email(on, "https://app.example.org/me/account")
        yield f"second step {on}", step.subject + "\n" + step.body
    step = account_mail.second_factor_email(False, "https://x.example.org", by_service=True)
    yield "second step turned off by the service", step.subject + "\n" + step.body
    for left in (0, 2, 9):
        used = account_mail.backup_code_used_email(left, "https://app.example.org/me/account")
        yield f"backup code used {left}", used.subject + "\n" + used.body
    for used_for in ("step_off", "new_codes"):
        ended = account_mail.backup_code_used_email(9, "https://x.example.org", used_for=used_for)
        yield f"backup code used: {used_for}", ended.subject + "\n" + ended.body
    moved = account_mail.email_changed_email()
    yield "e-mail address changed", moved.subject + "\n" + moved.body
    here = account_mail.email_now_here_email("https://app.example.org/login")
    yield "e-mail address now here", here.subject + "\n" + here.body
    for role in ("client", "key_worker", "admin"):
        closed = account_mail.account_closed_email(role)
        yield f"account closed {role}", closed.subject + "\n" + closed.body
    asked = account_mail.asked_to_look_email("https://app.example.org/documents/7")
    yield "asked to look", asked.subject + "\n" + asked.body


def test_every_message_template_is_discreet():
    renderings = dict(_every_rendering(DUE))
    assert len(renderings) > 100
    for name, text in renderings.items():
        assert messages.indiscretions(text) == [], name
    # Every template file was rendered by something above.
    files = {p.name for p in messages.TEMPLATES.iterdir() if not p.name.startswith("_")}
    assert files == {
        "email_subject.txt",
        "email_body.txt",
        "digest_subject.txt",
        "digest_body.txt",
        "notification.txt",
        "calendar_name.txt",
        "calendar_summary.txt",
        "calendar_description.txt",
        "password_link_subject.txt",
        "password_link_body.txt",
        "password_changed_subject.txt",
        "password_changed_body.txt",
        "second_factor_subject.txt",
        "second_factor_body.txt",
        "backup_code_used_subject.txt",
        "backup_code_used_body.txt",
        "email_changed_subject.txt",
        "email_changed_body.txt",
        "email_now_here_subject.txt",
        "email_now_here_body.txt",
        "account_closed_subject.txt",
        "account_closed_body.txt",
        "asked_to_look_subject.txt",
        "asked_to_look_body.txt",
        "alert_subject.txt",
        "alert_body.txt",
        "alert_notification.txt",
        "reply_subject.txt",
        "reply_body.txt",
    }


def test_the_template_files_themselves_contain_no_forbidden_word():
    for path in messages.TEMPLATES.iterdir():
        text = path.read_text()
        # Comments explain the rule and may name what is forbidden; the wording may not.
        wording = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
        assert messages.indiscretions(wording) == [], path.name


def test_the_discretion_check_catches_what_it_should():
    assert messages.indiscretions("Your Methadone script") == ["methadone", "script"]
    assert messages.indiscretions("your MENTAL health review") == ["health", "mental"]
    assert messages.indiscretions("Drugs, alcohol and a Care Plan") == [
        "alcohol",
        "care plan",
        "drugs",
    ]
    assert messages.indiscretions("You have a review coming up on 3 March.") == []


def test_wording_is_written_for_the_day_it_is_read():
    assert "today" in messages.notification("soon:14", DUE, 1, DUE, False, "")[0]
    assert timing("soon:2", DUE, DUE + timedelta(days=3)).kind == "overdue"
    # A past date is not named as if it were coming up, in the subject a lock screen shows.
    late = messages.reminder_email("overdue", DUE, 1, DUE + timedelta(days=34), "")
    assert late.subject == "Your review was due on Wed 3 Mar"
    assert messages.reminder_email("soon:14", DUE, 1, DUE, "").subject == "Reminder for today"


# --- pages --------------------------------------------------------------------------------------


def _deliver(db, circle, mailer):
    agreed_plan(db, circle)
    reminders.sweep(db, SETTINGS, at(DUE - timedelta(days=2)))
    send(db, mailer, at(DUE - timedelta(days=2)))


def test_notifications_page_lists_only_my_own_and_marks_them_read(app, db, client, circle, mailer):
    _deliver(db, circle, mailer)
    login(client, circle.client)
    html = client.get("/me/notifications").get_data(as_text=True)
    assert "You have a review coming up on Wednesday 3 March 2027." in html
    assert circle.client.display_name + ":" not in html  # the key worker's note is not here
    assert reminders.unread_count(db, actor_for(circle.client)) == 1
    # One message named unreadably is refused, not taken to mean all of them.
    garbled = {"csrf_token": csrf_token(client), "notification_id": "abc"}
    assert client.post("/me/notifications/read", data=garbled).status_code == 400
    assert reminders.unread_count(db, actor_for(circle.client)) == 1
    # Each button is named by its message, and marking one lands back at it.
    assert (
        'Mark as read<span class="visually-hidden">: You have a review coming up on Wednesday'
        in html
    )
    [mine] = re.findall(r'name="notification_id" value="(\d+)"', html)
    one = client.post(
        "/me/notifications/read", data={"csrf_token": csrf_token(client), "notification_id": mine}
    )
    assert one.headers["Location"].endswith(f"/me/notifications#message-{mine}")
    assert f'<li id="message-{mine}" tabindex="-1">' in client.get("/me/notifications").get_data(
        as_text=True
    )
    assert reminders.unread_count(db, actor_for(circle.client)) == 0
    response = client.post("/me/notifications/read", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert reminders.unread_count(db, actor_for(circle.client)) == 0
    # Nobody can mark someone else's as read.
    with db.read() as s:
        worker_note = s.scalar(
            sa.select(Notification.id).where(Notification.user_id == circle.key_worker.id)
        )
    client.post(
        "/me/notifications/read",
        data={"csrf_token": csrf_token(client), "notification_id": worker_note},
    )
    assert reminders.unread_count(db, actor_for(circle.key_worker)) == 1
    # Forms need their CSRF token.
    assert client.post("/me/notifications/read").status_code == 400


def test_a_message_about_records_no_longer_open_to_its_reader_keeps_no_link(
    app, db, client, circle
):
    """An advocate whose invitation ended (a key worker after a handover, alike) keeps the
    messages, but not links that would answer "not found"."""
    doc = make_plan(circle.key_worker, circle.client)
    other = Circle().client  # never theirs
    links = {
        "plan": f"/documents/{doc}#comments",
        "records": f"/clients/{circle.client.id}",
        "stranger": f"/clients/{other.id}",
        "account": "/me/account",
    }
    for name, link in links.items():
        NotificationFactory(user_id=circle.advocate.id, text=f"About the {name}", link=link)

    def seen() -> dict[str, tuple[str, bool]]:
        items = reminders.notifications_for(db, actor_for(circle.advocate))
        return {n.text.removeprefix("About the "): (n.link, n.closed) for n in items}

    assert seen() == {
        "plan": (links["plan"], False),
        "records": (links["records"], False),
        "stranger": ("", True),
        "account": ("/me/account", False),
    }
    accounts.revoke_advocate(db, actor_for(circle.client), circle.advocate.id)
    assert seen() == {
        "plan": ("", True),
        "records": ("", True),
        "stranger": ("", True),
        "account": ("/me/account", False),
    }
    login(client, circle.advocate)
    page = " ".join(client.get("/me/notifications").get_data(as_text=True).split())
    assert 'About the plan</bdi> <span class="meta">(You can no longer open the records' in page
    assert f'href="/documents/{doc}' not in page and 'href="/me/account"' in page
    # The API's list says the same.
    window = Window(page=1, per_page=50)
    paged = reminders.notifications_page(db, actor_for(circle.advocate), window)
    assert {n.link for n in paged.items} == {"", "/me/account"}


def test_a_decline_s_reason_is_not_shown_to_someone_no_longer_able_to_read_the_records(
    app, db, client, circle
):
    """The message quoted the reason (the client's own words) to an advocate or a former key
    worker after they lost access, which the document's page would not."""
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(
        db, actor_for(circle.client), doc, 1, "declined", "The grant step is mine.", PASSWORD
    )

    def texts() -> list[str]:
        return [n.text for n in reminders.notifications_for(db, actor_for(circle.advocate))]

    assert any("“The grant step is mine.”" in text for text in texts())
    accounts.revoke_advocate(db, actor_for(circle.client), circle.advocate.id)
    declined = [text for text in texts() if "declined to sign" in text]
    assert declined == [
        f"{circle.client.display_name} declined to sign version 1 of their care plan."
    ]
    login(client, circle.advocate)
    assert "grant step" not in client.get("/me/notifications").get_data(as_text=True)


def test_a_client_chooses_their_channel_on_the_settings_page(app, db, client, circle):
    login(client, circle.client)
    html = client.get("/me/reminders").get_data(as_text=True)
    assert 'value="email" checked' in html
    assert f"Reminders by e-mail go to {circle.client.email}, from 07:00 each day." in html
    response = client.post(
        "/me/reminders", data={"channel": "none", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    with db.read() as s:
        assert s.get(User, circle.client.id).reminder_channel == "none"
    assert 'value="none" checked' in client.get("/me/reminders").get_data(as_text=True)


def test_only_clients_choose_a_channel(app, client, circle):
    login(client, circle.key_worker)
    page = client.get("/me/reminders")
    assert page.status_code == 200
    assert "You get one e-mail a day, from 07:00, listing your reminders" in page.get_data(
        as_text=True
    )
    app.config["REMINDER_HOUR"] = 8  # the page says the hour the service is set to
    try:
        assert "from 08:00, listing" in client.get("/me/reminders").get_data(as_text=True)
    finally:
        app.config["REMINDER_HOUR"] = 7
    response = client.post(
        "/me/reminders", data={"channel": "none", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 404


def test_the_document_page_shows_the_review_date_and_takes_earlier_requests(
    app, db, client, circle
):
    doc = agreed_plan(db, circle, due_on=None)
    due = service_day(datetime.now(UTC)) + timedelta(weeks=12)
    login(client, circle.client)
    html = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert f"Next review: <strong>{due.day} {due:%B %Y}</strong>" in html
    assert "Ask for an earlier review" in html
    token = csrf_token(client)
    bad = client.post(
        f"/documents/{doc}/review-request",
        data={"wanted_by": "", "reason": "", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "Please say why" in bad.get_data(as_text=True)
    wanted = service_day(datetime.now(UTC)) + timedelta(days=3)
    ok = client.post(
        f"/documents/{doc}/review-request",
        data={"wanted_by": wanted.isoformat(), "reason": "Moving house", "csrf_token": token},
    )
    assert ok.status_code == 302 and ok.headers["Location"].endswith(f"/documents/{doc}#review")
    html = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert "Moving house" in html and f"{wanted.day} {wanted:%B %Y}" in html


def test_reviewed_no_changes_from_the_document_page(app, db, client, circle):
    doc = agreed_plan(db, circle, due_on=None)
    login(client, circle.client)
    url = f"/documents/{doc}/versions/1/reviewed"
    wrong = client.post(url, data={"password": "nope", "csrf_token": csrf_token(client)})
    assert wrong.status_code == 422
    ok = client.post(url, data={"password": PASSWORD, "csrf_token": csrf_token(client)})
    assert ok.status_code == 302
    assert "Reviewed, no changes: confirmed by" in client.get(f"/documents/{doc}").get_data(
        as_text=True
    )


# --- the calendar feed --------------------------------------------------------------------------


def _new_address(client) -> str:
    html = client.post(
        "/me/calendar", data={"action": "new", "csrf_token": csrf_token(client)}
    ).get_data(as_text=True)
    return re.search(r"http://[^\s<]+/calendar\.ics\?key=[\w-]+", html).group(0)


def test_a_private_calendar_feed_that_can_be_reset(app, db, client, circle):
    doc = agreed_plan(db, circle, due_on=DUE)
    login(client, circle.client)
    address = _new_address(client)
    path = address.removeprefix("http://127.0.0.1:5000")
    client.post("/logout", data={"csrf_token": csrf_token(client)})  # calendar apps never sign in

    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert "DTSTART;VALUE=DATE:20270303\r\n" in body and "SUMMARY:Review\r\n" in body
    assert f"UID:review-{doc}@" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    unfolded = body.replace("\r\n ", "")
    assert messages.indiscretions(unfolded.replace("VCALENDAR", "")) == []
    assert circle.client.display_name not in unfolded

    with db.read() as s:  # only a hash is stored
        stored = s.scalar(sa.text("SELECT token_hash FROM calendar_feeds"))
    assert stored not in address

    login(client, circle.client)
    new_address = _new_address(client)
    assert new_address != address
    assert client.get(path).status_code == 404  # the old address stops working
    assert client.get(new_address.removeprefix("http://127.0.0.1:5000")).status_code == 200
    # A form that says neither (an old or forged one) changes nothing.
    for action in ({}, {"action": "zz"}):
        sent = client.post("/me/calendar", data={**action, "csrf_token": csrf_token(client)})
        assert sent.status_code == 400
        assert client.get(new_address.removeprefix("http://127.0.0.1:5000")).status_code == 200
    client.post("/me/calendar", data={"action": "stop", "csrf_token": csrf_token(client)})
    assert client.get(new_address.removeprefix("http://127.0.0.1:5000")).status_code == 404
    assert client.get("/calendar.ics?key=guessed").status_code == 404
    assert client.get("/calendar.ics").status_code == 404


def test_a_key_workers_feed_holds_their_caseloads_reviews_and_nobody_elses(db, circle):
    mine = agreed_plan(db, circle, DUE)
    agreed_plan(db, Circle(), DUE)
    token = reminders.new_calendar_token(db, actor_for(circle.key_worker), at(DUE))
    _, dates = reminders.calendar_for_token(db, token)
    assert [d.document_id for d in dates] == [mine]
    body = ical.feed(dates, "https://app.example.org", at(DUE))
    assert body.count("BEGIN:VEVENT") == 1
    with pytest.raises(NotFound):
        reminders.calendar_for_token(db, token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_an_administrator_has_no_review_dates_page_and_no_calendar(app, db, circle):
    """Administrators see no clinical content, so no review dates: the page and the calendar
    are not there for them, as the access log and the supervisors' pages are not. An address
    made before this rule stops working too."""
    admin = actor_for(circle.admin)
    web = login(app.test_client(), circle.admin)
    assert web.get("/me/reminders").status_code == 404
    assert "/me/reminders" not in web.get("/me/notifications").get_data(as_text=True)
    for action in ("new", "stop"):
        sent = web.post("/me/calendar", data={"action": action, "csrf_token": csrf_token(web)})
        assert sent.status_code == 404
    with pytest.raises(NotFound):
        reminders.new_calendar_token(db, admin, utcnow())
    earlier = new_token()
    with db.write() as s:
        s.add(CalendarFeed(user_id=admin.id, token_hash=token_hash(earlier), created_at=utcnow()))
    assert app.test_client().get(f"/calendar.ics?key={earlier}").status_code == 404


def test_ical_text_is_escaped_and_folded():
    assert ical.escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "é" * 60
    folded = ical.fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


def test_settings_from_config_are_checked(app):
    settings = ReminderSettings.from_config(app.config)
    assert settings.rules == ReminderRules()
    from careplan.config import ConfigError

    with pytest.raises(ConfigError):
        ReminderSettings.from_config({**app.config, "REMINDER_CLIENT_DEFAULT": "pigeon"})
    with pytest.raises(ConfigError):
        ReminderSettings.from_config({**app.config, "REMINDER_DUE_SOON_DAYS": (0,)})
    assert settings.reminder_hour == 7
    with pytest.raises(ConfigError, match="CAREPLAN_REMINDER_HOUR must be from 0 to 23"):
        ReminderSettings.from_config({**app.config, "REMINDER_HOUR": 24})


def test_account_and_lockout_messages_give_local_times():
    summer = datetime(2026, 7, 3, 14, 5, tzinfo=UTC)
    changed = account_mail.password_changed_email("https://app.example.org/x", summer)
    assert "3 July 2026, 15:05" in changed.body and "UTC" not in changed.body
    elsewhere = account_mail.password_changed_email(
        "https://app.example.org/x", summer, "Asia/Tokyo"
    )
    assert "3 July 2026, 23:05" in elsewhere.body
    assert account_mail.long_time(summer) == "3 July 2026, 15:05"
    wording = throttle.lockout_wording(summer, "https://app.example.org")
    assert "paused until 3 July 2026, 15:05." in wording.in_app
    assert "UTC" not in wording.body + wording.in_app
    # Who to tell, in words a client knows; the link says what it is for.
    assert "tell the people you work with at the service (your key worker" in wording.body
    assert "To sign in after that time:\nhttps://app.example.org/login" in wording.body


def test_reminder_words_hold_whatever_the_settings_and_whatever_is_waiting():
    class Item:
        def __init__(self, kind, due):
            self.kind, self.due_on, self.document_id = kind, due, 7

    today = date(2027, 3, 10)
    body = messages.digest_email(
        [Item("escalation", today - timedelta(days=7)), Item("sign:2", today - timedelta(days=2))],
        today,
        "https://app.example.org",
    ).body
    # When a late review reaches a supervisor is a setting: the heading names no period.
    assert "Reviews on your team that are well past their date" in body and "week" not in body
    # A waiting version may need a signature, or a "reviewed, no changes" its confirmation.
    assert "Waiting for you to sign or confirm" in body
    email = messages.reminder_email("sign:2", today, 7, today, "https://app.example.org")
    assert "to sign or confirm" in email.body
