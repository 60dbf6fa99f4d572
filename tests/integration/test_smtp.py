"""A real SMTP conversation: an SMTP server (aiosmtpd) started by the test on localhost, the
app's own SMTP mailer (smtplib, with login) configured to use it. Each reminder arrives once,
discreet."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from careplan.db.engine import Database
from careplan.db.models import Document, Reminder, User
from careplan.reminders import messages
from careplan.reminders.mail import SmtpMailer, mailer_from_config, row_message_id
from careplan.reminders.sender import send_pending
from careplan.services import reminders, signoff
from careplan.services.accounts import actor_for
from careplan.services.reminders import ReminderSettings
from tests.conftest import PG_SERVER
from tests.factories import PASSWORD, Circle, make_plan
from tests.smtp import SECRET, Inbox, free_port

pytestmark = pytest.mark.slow

DUE = date(2027, 3, 3)


def _agreed(db, circle) -> int:
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    with db.write() as s:
        d = s.get(Document, doc)
        d.next_review_on = d.scheduled_review_on = DUE
    return doc


def _send(app, db, now, digests: bool = True):
    """What the scheduler's jobs do after a sweep; without `digests` the key workers'
    summaries are not gathered, so only the clients' own e-mails go."""
    settings = ReminderSettings.from_config(app.config)
    mailer = mailer_from_config(app.config)
    assert isinstance(mailer, SmtpMailer)
    if digests:
        reminders.build_digests(db, settings, now)
    return send_pending(db, settings, mailer, app.config["SMTP_FROM"], lambda: now, "smtp-test")


def test_a_reminder_arrives_once_over_smtp_discreetly(smtp_app, smtp_server, db):
    _, inbox = smtp_server
    circle = Circle()
    doc = _agreed(db, circle)
    now = datetime(2027, 2, 17, 5, tzinfo=UTC)  # 14 days before, at 05:00 in London
    settings = ReminderSettings.from_config(smtp_app.config)
    reminders.sweep(db, settings, now)
    # Recorded in the night, sent from the reminder hour (07:00): nobody is woken by it.
    assert _send(smtp_app, db, now, digests=False).emails == 0
    assert _send(smtp_app, db, now.replace(hour=6, minute=59), digests=False).emails == 0
    seven = now.replace(hour=7)
    report = _send(smtp_app, db, seven, digests=False)
    assert report.emails == 1
    for later in (seven + timedelta(minutes=1), seven + timedelta(hours=1)):
        reminders.sweep(db, settings, later)
        _send(smtp_app, db, later, digests=False)

    assert inbox.logins == [True]  # later runs had nothing to send: no connection
    [(rcpt, msg)] = inbox.messages()
    assert rcpt == [circle.client.email]
    assert msg["From"] == "Reminders <reminders@example.org>"
    assert msg["Subject"] == "Reminder for Wed 3 Mar"
    body = msg.get_content()
    assert "You have a review coming up on Wednesday 3 March 2027." in body
    assert f"https://app.example.org/documents/{doc}" in body
    # Mail programs offer their own "Unsubscribe": the page where reminders are stopped.
    assert msg["List-Unsubscribe"] == "<https://app.example.org/me/reminders>"
    assert msg["List-Unsubscribe"].strip("<>") in body
    assert messages.indiscretions(str(msg["Subject"]) + body) == []
    assert circle.client.display_name not in body
    with db.read() as s:
        row = s.query(Reminder).filter_by(channel="email").one()
    assert msg["Message-ID"] == row_message_id(
        "reminder", row.id, row.created_at, msg["From"], settings.base_url
    )
    assert (row.status, row.attempts) == ("sent", 1)


def test_the_daily_digest_arrives_once_over_smtp(smtp_app, smtp_server, db):
    _, inbox = smtp_server
    circle = Circle()
    _agreed(db, circle)
    reminders.choose_channel(db, actor_for(circle.client), "app")  # no e-mail for the client
    now = datetime(2027, 3, 1, 8, tzinfo=UTC)
    settings = ReminderSettings.from_config(smtp_app.config)
    reminders.sweep(db, settings, now)
    _send(smtp_app, db, now)
    _send(smtp_app, db, now + timedelta(hours=3))
    [(rcpt, msg)] = inbox.messages()
    assert rcpt == [circle.key_worker.email]
    assert msg["Subject"] == "Your reminders for Mon 1 Mar"
    assert msg["List-Unsubscribe"] is None  # a key worker's reminders are part of the work
    assert "Review coming up on Wednesday 3 March 2027." in msg.get_content()
    assert messages.indiscretions(str(msg["Subject"]) + msg.get_content()) == []


def test_a_mail_server_that_is_down_delays_but_loses_nothing(smtp_app, smtp_server, db):
    controller, inbox = smtp_server
    circle = Circle()
    _agreed(db, circle)
    now = datetime(2027, 3, 1, 8, tzinfo=UTC)
    settings = ReminderSettings.from_config(smtp_app.config)
    reminders.sweep(db, settings, now)
    smtp_app.config["SMTP_PORT"] = free_port()  # nothing listens there: the server is down
    report = _send(smtp_app, db, now, digests=False)
    assert report.failed == 1 and report.emails == 0
    smtp_app.config["SMTP_PORT"] = controller.port  # back up
    assert _send(smtp_app, db, now + timedelta(seconds=5), digests=False).emails == 0  # backing off
    assert _send(smtp_app, db, now + timedelta(minutes=2), digests=False).emails == 1
    assert len(inbox.messages()) == 1


def test_wrong_smtp_credentials_fail_and_are_retried(smtp_app, smtp_server, db):
    _, inbox = smtp_server
    smtp_app.config["SMTP_PASSWORD"] = "wrong"
    smtp_app.config["SMTP_TIMEOUT_SECONDS"] = 2  # aiosmtpd answers a failed login slowly
    circle = Circle()
    _agreed(db, circle)
    now = datetime(2027, 3, 1, 8, tzinfo=UTC)
    reminders.sweep(db, ReminderSettings.from_config(smtp_app.config), now)
    assert _send(smtp_app, db, now, digests=False).failed == 1
    assert inbox.messages() == [] and inbox.logins == [False]
    smtp_app.config["SMTP_PASSWORD"] = SECRET
    assert _send(smtp_app, db, now + timedelta(minutes=2), digests=False).emails == 1


NOT_ASCII = "The mail server does not accept this address: it has letters outside plain ASCII \
and the server does not offer SMTPUTF8."


@contextmanager
def _mail_server(smtputf8: bool):
    """A mail server that offers SMTPUTF8 (addresses with letters outside ASCII) or not."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8)
    controller.start()
    try:
        yield SmtpMailer("127.0.0.1", controller.port, use_tls=False, timeout=10), inbox
    finally:
        controller.stop()


def _client_address(db, circle, address: str) -> None:
    with db.write() as s:
        s.get(User, circle.client.id).email = address


def _email_row(db, circle) -> Reminder:
    with db.read() as s:
        return s.query(Reminder).filter_by(channel="email", recipient_id=circle.client.id).one()


@pytest.mark.parametrize("address", ["zoë@example.org", "zoe@bücher.example"])
def test_an_address_a_server_without_smtputf8_cannot_take_is_given_up_at_once(db, address):
    """No later try could succeed there, so the first is the last (and the administrators'
    list of e-mails not sent says why); the other e-mails in the batch still go out."""
    abroad, plain = Circle(), Circle()
    _agreed(db, abroad)
    _agreed(db, plain)
    _client_address(db, abroad, address)
    now = datetime(2027, 3, 1, 8, tzinfo=UTC)  # summaries are not gathered: e-mails only
    settings = ReminderSettings(base_url="https://app.example.org")
    reminders.sweep(db, settings, now)
    assert _email_row(db, abroad).id < _email_row(db, plain).id  # tried first in the batch

    with _mail_server(smtputf8=False) as (mailer, inbox):
        report = send_pending(db, settings, mailer, "reminders@example.org", lambda: now, "w")
        assert (report.emails, report.failed) == (1, 1)
        given_up = _email_row(db, abroad)
        assert (given_up.status, given_up.attempts) == ("failed", 1)
        assert given_up.last_error == NOT_ASCII
        assert _email_row(db, plain).status == "sent"
        assert [rcpt for rcpt, _ in inbox.messages()] == [[plain.client.email]]
        later = now + timedelta(days=1)
        assert not send_pending(db, settings, mailer, "reminders@example.org", lambda: later, "w")
    assert _email_row(db, abroad).status == "failed"


@pytest.mark.parametrize("address", ["zoë@example.org", "zoe@bücher.example"])
def test_an_address_with_letters_outside_ascii_arrives_where_the_server_offers_smtputf8(
    db, address
):
    circle = Circle()
    _agreed(db, circle)
    _client_address(db, circle, address)
    now = datetime(2027, 3, 1, 8, tzinfo=UTC)
    settings = ReminderSettings(base_url="https://app.example.org")
    reminders.sweep(db, settings, now)
    with _mail_server(smtputf8=True) as (mailer, inbox):
        report = send_pending(db, settings, mailer, "reminders@example.org", lambda: now, "w")
    assert (report.emails, report.failed) == (1, 0)
    [(rcpt, msg)] = inbox.messages()
    assert rcpt == [address] and msg["To"] == address
    assert "SMTPUTF8" in inbox.envelopes[0].mail_options
    assert _email_row(db, circle).status == "sent"


class DatabaseOutage:
    """The database becomes unreachable for `seconds`, for real: on PostgreSQL it refuses new
    connections and ends the open ones; on SQLite another process holds the write lock."""

    def __init__(self, url: str, seconds: float):
        self.url, self.seconds = make_url(url), seconds
        self.over = threading.Event()
        self._lock: sqlite3.Connection | None = None
        self._timer: threading.Timer | None = None

    def _admin(self, *statements: str) -> None:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            for sql in statements:
                conn.execute(sql)

    def start(self) -> None:
        if self.url.get_backend_name() == "postgresql":
            name = self.url.database
            self._admin(
                f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
            )
        else:
            self._lock = sqlite3.connect(
                self.url.database, isolation_level=None, check_same_thread=False
            )
            self._lock.execute("BEGIN IMMEDIATE")
        self._timer = threading.Timer(self.seconds, self.end)
        self._timer.start()

    def end(self) -> None:
        if self.over.is_set():
            return
        if self.url.get_backend_name() == "postgresql":
            self._admin(f'ALTER DATABASE "{self.url.database}" ALLOW_CONNECTIONS true')
        elif self._lock is not None:
            self._lock.rollback()
            self._lock.close()
        self.over.set()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.end()


def test_a_database_outage_while_sending_does_not_send_the_email_twice(
    smtp_app, smtp_server, db, database_url
):
    """The mail server accepts the e-mail; at that moment the database becomes unreachable
    for longer than a few quick retries last. The sender keeps trying to record "sent" while
    its claim runs; a sender after the claim ran out finds nothing to send."""
    _, inbox = smtp_server
    circle = Circle()
    _agreed(db, circle)
    now = datetime(2027, 3, 1, 8, tzinfo=UTC)
    settings = ReminderSettings.from_config(smtp_app.config)
    reminders.sweep(db, settings, now)
    # The sender's own connections do not wait long for SQLite's lock, so the outage reaches
    # it as errors (as on PostgreSQL) rather than as one long wait.
    sender_db = Database(database_url, lock_wait_ms=200)
    outage = DatabaseOutage(database_url, seconds=5)
    inbox.on_accept = outage.start
    try:
        try:
            report = _send(smtp_app, sender_db, now, digests=False)
        except OperationalError:  # the scheduler logs a failed run and carries on
            report = None
        inbox.on_accept = None
        assert outage.over.wait(30)
        claims_ran_out = now + settings.lease + timedelta(seconds=1)
        _send(smtp_app, sender_db, claims_ran_out, digests=False)
    finally:
        outage.close()
        sender_db.dispose()
    assert len(inbox.messages()) == 1
    assert report is not None and report.emails == 1
    with db.read() as s:
        row = s.query(Reminder).filter_by(channel="email").one()
    assert (row.status, row.attempts) == ("sent", 1)


class _Refusing(Inbox):
    """Answers RCPT for some addresses as a real server would: 5xx (no such mailbox, for
    good) or 4xx (busy, try later)."""

    def __init__(self, answers: dict[str, str]):
        super().__init__()
        self.answers = answers

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_an_address_the_server_refuses_for_good_is_given_up_and_a_busy_one_tried_again(db):
    gone, busy, plain = Circle(), Circle(), Circle()
    for circle in (gone, busy, plain):
        _agreed(db, circle)
    now = datetime(2027, 3, 1, 8, tzinfo=UTC)
    settings = ReminderSettings(base_url="https://app.example.org")
    reminders.sweep(db, settings, now)
    inbox = _Refusing({
        gone.client.email: "550 5.1.1 No such user here",
        busy.client.email: "450 4.2.1 Mailbox busy, try again later",
    })  # fmt: skip
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        mailer = SmtpMailer("127.0.0.1", controller.port, use_tls=False, timeout=10)
        report = send_pending(db, settings, mailer, "reminders@example.org", lambda: now, "w")
    finally:
        controller.stop()
    assert (report.emails, report.failed) == (1, 2)
    refused = _email_row(db, gone)
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert refused.last_error == (
        "The mail server refused this address for good: 550 5.1.1 No such user here"
    )
    waiting = _email_row(db, busy)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "450" in waiting.last_error
    assert _email_row(db, plain).status == "sent"
    assert [rcpt for rcpt, _ in inbox.messages()] == [[plain.client.email]]
