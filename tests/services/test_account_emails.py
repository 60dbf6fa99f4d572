"""E-mails about a person's own account are kept in the database from the transaction that
made the change until a real SMTP server (aiosmtpd, tests/smtp.py) has accepted them: a mail
server that is down, or an app process stopped before it could send, loses none of them, and
none is sent twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from careplan.db.models import AccountEmail, Notification, utcnow
from careplan.domain.errors import ContentInvalid
from careplan.reminders import account_mail
from careplan.reminders.mail import SmtpMailer, row_message_id
from careplan.reminders.messages import indiscretions
from careplan.reminders.sender import send_pending
from careplan.services import (
    account_emails,
    account_settings,
    admin_accounts,
    signoff,
    throttle,
)
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid
from careplan.services.reminders import ReminderSettings
from tests.factories import (
    PASSWORD,
    AdminFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    SupervisorFactory,
    make_plan,
)
from tests.smtp import SECRET, USER, free_port

NEW = "a long new password nobody guesses"
SENDER = "Reminders <reminders@example.org>"
SETTINGS = ReminderSettings(base_url="https://app.example.org")


def _mailer(port: int) -> SmtpMailer:
    return SmtpMailer("127.0.0.1", port, False, False, USER, SECRET, 10)


def _kept(db) -> list[AccountEmail]:
    with db.read() as s:
        return list(s.scalars(sa.select(AccountEmail).order_by(AccountEmail.id)))


def _send(db, mailer, at, settings=SETTINGS, worker="sender"):
    return send_pending(db, settings, mailer, SENDER, lambda: at, worker)


@pytest.fixture
def no_sender_in_the_app(db, monkeypatch):
    """As if the app process stopped right after the change committed: nothing sends at once."""
    monkeypatch.setattr(db, "account_notices", None)


def test_the_email_is_written_with_the_change_and_only_with_it(db, no_sender_in_the_app):
    person = ClientFactory()
    with pytest.raises(ContentInvalid):
        account_settings.change_password(db, actor_for(person), "not it", NEW, NEW)
    # The box left empty is asked for, with the new password's own problems.
    with pytest.raises(ContentInvalid) as refused:
        account_settings.change_password(db, actor_for(person), "", "short", "other")
    assert refused.value.errors == {
        "current_password": "Please type the password you have now.",
        "password": "Please use at least 10 characters.",
        "password_again": "The two passwords are not the same. Please type them again.",
    }
    assert _kept(db) == []
    account_settings.change_password(db, actor_for(person), PASSWORD, NEW, NEW)
    [kept] = _kept(db)
    assert (kept.to_address, kept.kind, kept.status, kept.attempts) == (
        person.email,
        "password_changed",
        "pending",
        0,
    )


def test_an_email_the_app_could_not_send_is_sent_later_once(db, smtp_server, no_sender_in_the_app):
    controller, inbox = smtp_server
    person = ClientFactory()
    account_settings.change_password(db, actor_for(person), PASSWORD, NEW, NEW)
    now = utcnow()
    # The mail server is down at the first try: the e-mail is kept, to be tried again later.
    report = _send(db, _mailer(free_port()), now)
    assert report.failed == 1 and report.account_emails == 0
    [kept] = _kept(db)
    assert kept.status == "pending" and kept.attempts == 1 and kept.last_error
    assert kept.not_before > now
    # Back, but before the pause between tries is over: not yet.
    assert _send(db, _mailer(controller.port), now).account_emails == 0
    assert inbox.messages() == []
    # After it: sent, once, whatever runs afterwards.
    assert _send(db, _mailer(controller.port), kept.not_before).account_emails == 1
    assert _send(db, _mailer(controller.port), kept.not_before + timedelta(hours=1)) is not None
    [(to, message)] = inbox.messages()
    assert to == [person.email] and message["Subject"] == "Your password was changed"
    assert message["Message-ID"] == row_message_id(
        "account", kept.id, kept.created_at, SENDER, SETTINGS.base_url
    )
    assert "https://app.example.org/forgot-password" in message.get_content()
    [sent] = _kept(db)
    assert sent.status == "sent" and sent.sent_at is not None


def test_an_email_claimed_by_a_sender_that_stopped_is_sent_by_another_after_its_lease(
    db, smtp_server, no_sender_in_the_app
):
    controller, inbox = smtp_server
    person = ClientFactory()
    account_settings.change_password(db, actor_for(person), PASSWORD, NEW, NEW)
    now = utcnow()
    [claimed] = account_emails.claim(db, SETTINGS, now, "stopped-sender")
    assert claimed.to_address == person.email
    # Its lease still runs: nobody else takes it.
    assert _send(db, _mailer(controller.port), now + SETTINGS.lease).account_emails == 0
    later = now + SETTINGS.lease + timedelta(seconds=1)
    assert _send(db, _mailer(controller.port), later, worker="other").account_emails == 1
    assert _send(db, _mailer(controller.port), later, worker="third").account_emails == 0
    assert len(inbox.messages()) == 1


def test_an_email_that_cannot_be_sent_is_given_up_after_the_last_try(db, no_sender_in_the_app):
    person = ClientFactory()
    account_settings.change_password(db, actor_for(person), PASSWORD, NEW, NEW)
    settings = replace(SETTINGS, max_attempts=2)
    at, down = utcnow(), _mailer(free_port())
    for _ in range(2):
        assert _send(db, down, at, settings).failed == 1
        [kept] = _kept(db)
        at = kept.not_before
    assert kept.status == "failed" and kept.attempts == 2
    assert _send(db, down, at + timedelta(days=1), settings).failed == 0


def test_the_app_sends_it_at_once_when_it_can(smtp_app, smtp_server, db):
    _, inbox = smtp_server
    person = ClientFactory()
    account_settings.change_password(db, actor_for(person), PASSWORD, NEW, NEW)
    db.account_notices.wait(30)
    [(to, message)] = inbox.messages()
    assert to == [person.email] and message["Subject"] == "Your password was changed"
    assert [k.status for k in _kept(db)] == ["sent"]


def test_an_advocate_asked_to_look_first_is_e_mailed_at_once(smtp_app, smtp_server, db):
    """Over a real SMTP conversation: the advocate has no reminders, and heard of it only in
    the app."""
    _, inbox = smtp_server
    circle = Circle()
    advocate = circle.advocate  # invited by the client
    doc = make_plan(circle.key_worker, circle.client)
    signoff.ask_advocate_to_look(db, actor_for(circle.client), doc, 1)
    db.account_notices.wait(30)
    [(to, message)] = inbox.messages()
    assert to == [advocate.email]
    assert message["Subject"] == "Someone asked you to look at something before they sign it"
    body = message.get_content()
    assert f"/documents/{doc}" in body and circle.client.display_name not in body
    assert [k.status for k in _kept(db)] == ["sent"]


@pytest.mark.parametrize(
    "kind, detail, says",
    [
        ("password_changed", {}, "/forgot-password"),
        ("second_factor_on", {}, "/me/account"),
        ("second_factor_off", {}, "If this was not you"),
        ("second_factor_off", {"by_service": True}, "the service turned the second step off"),
        ("backup_code_used", {"left": 3}, "You have 3 left"),
        ("signing_in_paused", {"until": "2027-01-05T10:30:00+00:00"}, "5 January 2027"),
        ("email_changed", {}, "no longer signs in"),
        ("email_now_here", {}, "sign in with this address"),
        ("account_closed", {"role": "client"}, "please ask the people you work with"),
        ("account_closed", {"role": "key_worker"}, "please ask an administrator of the service"),
        ("asked_to_look", {"document_id": 7}, "https://app.example.org/documents/7"),
    ],
)
def test_each_kind_is_written_discreetly(kind, detail, says):
    assert kind in account_emails.KINDS
    email = account_mail.account_email(kind, detail, utcnow(), "https://app.example.org/")
    assert says in email.body
    assert indiscretions(email.subject + " " + email.body) == []


@pytest.mark.parametrize(
    "role, tell",
    [
        ("client", "please tell the people you work with at the service (your key worker, for"),
        ("key_worker", "please tell an administrator of the service."),
        ("supervisor", "please tell an administrator of the service."),
        ("admin", "please tell another administrator of the service."),
    ],
)
def test_a_pause_after_wrong_passwords_says_whom_to_tell_in_words_for_the_owner(
    db, no_sender_in_the_app, role, tell
):
    """A client tells the people they work with; staff have no key worker to tell."""
    person = {"client": ClientFactory, "key_worker": KeyWorkerFactory,
              "supervisor": SupervisorFactory, "admin": AdminFactory}[role]()  # fmt: skip
    until = utcnow() + timedelta(minutes=15)
    assert throttle.record_lockout(db, person.email, until)
    [kept] = _kept(db)
    email = account_mail.account_email(kept.kind, kept.detail, kept.created_at, SETTINGS.base_url)
    with db.read() as s:
        notice = s.scalar(sa.select(Notification.text).where(Notification.user_id == person.id))
    for said in (" ".join(email.body.split()), notice):
        assert tell in said and indiscretions(said) == []
        if role != "client":
            assert "key worker" not in said


def test_an_unknown_kind_is_refused(db):
    person = ClientFactory()
    with db.write() as s, pytest.raises(ValueError):
        account_emails.queue(s, person, "care_plan_overdue")


def test_an_address_changed_by_an_administrator_is_told_to_the_old_address(
    db, no_sender_in_the_app
):
    person, admin = ClientFactory(), actor_for(AdminFactory())
    old = person.email
    admin_accounts.update_details(db, admin, person.id, "New Name", old, None)
    assert _kept(db) == []  # the name alone: nothing to tell
    with pytest.raises(Invalid):
        admin_accounts.update_details(db, admin, person.id, "New Name", "not an address", None)
    assert _kept(db) == []
    admin_accounts.update_details(db, admin, person.id, "New Name", "moved@example.org", None)
    told = {(k.to_address, k.kind, k.recipient_id) for k in _kept(db)}
    assert told == {
        (old, "email_changed", person.id),
        ("moved@example.org", "email_now_here", person.id),  # where to sign in from now on
    }


def test_one_email_that_cannot_be_written_holds_up_no_other(db, smtp_server, no_sender_in_the_app):
    """A kind this version does not know (written by a newer one, say) fails alone: the
    e-mails after it, and the reminders, are still sent."""
    controller, inbox = smtp_server
    person = ClientFactory()
    with db.write() as s:
        s.add(AccountEmail(recipient_id=person.id, to_address=person.email, kind="from_later"))
    account_settings.change_password(db, actor_for(person), PASSWORD, NEW, NEW)
    report = _send(db, _mailer(controller.port), utcnow())
    assert (report.failed, report.account_emails) == (1, 1)
    unknown, sent = _kept(db)
    assert unknown.status == "pending" and "from_later" in unknown.last_error
    assert sent.status == "sent"
    assert [m["Subject"] for _, m in inbox.messages()] == ["Your password was changed"]


def test_a_welcome_says_what_the_account_is_for_to_a_client_alone():
    # A key worker, supervisor, advocate or administrator was told they could "read and write
    # your plans with them, and sign them": untrue of all but a client.
    def body(role: str) -> str:
        link = "https://x.example/l"
        return account_mail.password_link_email("welcome", link, "9 December", True, role).body

    assert "so that you can read and write your plans with them, and sign them" in body("client")
    for role in ("key_worker", "supervisor", "advocate", "admin"):
        said = body(role)
        assert "An account has been made for you. To start, choose your password here:" in said
        assert "plans" not in said, role
