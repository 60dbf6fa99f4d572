"""Crisis alerts through the services: raised with the crisis plan or a self-referral, delivered
once to the key worker and their team, answered, and escalated to the supervisors once.

Times are passed in: the senders and the escalation job get `now`, as the scheduler would."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from careplan.db.models import (
    AuditEvent,
    CaseloadLink,
    CrisisAlert,
    CrisisResponse,
    Document,
    Notification,
    Reminder,
    Team,
    User,
    utcnow,
)
from careplan.domain.contingency import NOTHING_AGREED
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_day, service_time, service_today, start_of_day
from careplan.reminders import messages
from careplan.reminders.sender import send_pending
from careplan.services import (
    accounts,
    contingencies,
    crisis_alerts,
    documents,
    handovers,
    reminders,
    signoff,
)
from careplan.services.accounts import actor_for
from careplan.services.crisis_alerts import AlertSettings
from careplan.services.errors import Invalid, NotFound, ReadOnly
from careplan.services.reminders import ReminderSettings
from tests.factories import PASSWORD, Circle, KeyWorkerFactory, SupervisorFactory, make_agreement

from .test_reminders import SENDER, RecordingMailer

SETTINGS = ReminderSettings(base_url="https://app.example.org")
ALERTS = AlertSettings(respond_within=timedelta(minutes=30))
TODAY = service_today()


@pytest.fixture
def team(app):
    """A client, their key worker, a colleague in the same team, one in another team."""
    circle = Circle()
    circle.colleague = KeyWorkerFactory(team_id=circle.team.id)
    circle.stranger = KeyWorkerFactory()  # another team
    circle.agreement = make_agreement(circle.key_worker, circle.client)
    return circle


def start_plan(db, circle, who=None) -> CrisisAlert:
    contingencies.start_contingency(
        db,
        actor_for(who or circle.client),
        circle.agreement,
        "Not sleeping for three nights",
        "Called my sister",
        (TODAY + timedelta(days=5)).isoformat(),
        TODAY,
        ALERTS,
    )
    with db.read() as s:
        return s.scalars(sa.select(CrisisAlert).order_by(CrisisAlert.id.desc())).first()


def reminders_of(db, kind: str) -> set[tuple[int, str, str]]:
    with db.read() as s:
        return set(
            s.execute(
                sa.select(Reminder.recipient_id, Reminder.channel, Reminder.status).where(
                    Reminder.kind == kind
                )
            ).all()
        )


def send(db, mailer, now):
    return send_pending(db, SETTINGS, mailer, SENDER, lambda: now, "sender-1")


def test_putting_the_plan_into_effect_alerts_the_key_worker_and_their_team(db, team):
    alert = start_plan(db, team)
    assert (alert.kind, alert.key_worker_id) == ("contingency", team.key_worker.id)
    assert alert.respond_by == alert.raised_at + timedelta(minutes=30)
    # In the app and by e-mail at once (not in tomorrow's digest); nobody outside the team.
    assert reminders_of(db, f"alert:{alert.id}") == {
        (person.id, channel, "pending")
        for person in (team.key_worker, team.colleague)
        for channel in ("app", "email")
    }
    with db.read() as s:
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "crisis.alert"))
    assert (event.actor_id, event.client_id) == (team.client.id, team.client.id)

    mailer = RecordingMailer()
    report = send(db, mailer, alert.raised_at)
    assert (report.in_app, report.emails) == (2, 2)
    assert {m["To"] for m in mailer.sent} == {team.key_worker.email, team.colleague.email}
    for mail in mailer.sent:
        text = mail["Subject"] + mail.get_content()
        assert messages.indiscretions(text) == [], text
        assert team.client.display_name not in text
        assert f"https://app.example.org/documents/{team.agreement}/respond" in text
    with db.read() as s:
        notes = list(s.scalars(sa.select(Notification)))
    assert {n.user_id for n in notes} == {team.key_worker.id, team.colleague.id}
    assert all(team.client.display_name in n.text for n in notes)  # inside the app: whose
    asked, by = (f"{service_time(t):%H:%M}" for t in (alert.raised_at, alert.respond_by))
    assert all(f"at {asked} on" in n.text and f"promised one by {by}" in n.text for n in notes)
    for mail in mailer.sent:
        assert f"They were told someone would respond by {by}" in mail.get_content()
    # Delivered once: a second run has nothing to send.
    assert not send(db, mailer, alert.raised_at + timedelta(minutes=1))
    assert len(mailer.sent) == 2


def test_in_the_app_the_team_is_told_of_the_client_by_the_name_they_go_by(db, team):
    """As the reply page calls them ("Al asked for a reply"); the message gave their full name."""
    with db.write() as s:
        s.get(User, team.client.id).preferred_name = "Al"
    alert = start_plan(db, team)
    send(db, RecordingMailer(), alert.raised_at)
    with db.read() as s:
        notes = list(s.scalars(sa.select(Notification)))
    assert len(notes) == 2
    assert all(n.text.startswith("Al asked for a reply at ") for n in notes)
    assert not any(team.client.display_name in n.text for n in notes)


def _email(team, kind: str, person, due: date) -> Reminder:
    return Reminder(document_id=team.agreement, due_on=due, kind=kind, recipient_id=person.id,
                    channel="email", owed_on=TODAY)  # fmt: skip


def test_an_alert_is_sent_before_a_backlog_of_other_reminders(db, team):
    # The order, at any hour the test runs: the other reminders wait for none.
    anytime = dataclasses.replace(SETTINGS, reminder_hour=0, last_hour=24)
    # Reminders piled up before the alert (the mail server was down, say): more than a batch.
    with db.write() as s:
        for days in range(anytime.claim_batch + 10):
            due = TODAY - timedelta(days=days)
            s.add(_email(team, "today", team.client, due))
    alert = start_plan(db, team)
    now = alert.raised_at + timedelta(seconds=1)
    first = reminders.claim(db, anytime, now, "sender-1", limit=4)
    assert {(i.kind, i.recipient_id, i.channel) for i in first.items} == {
        (f"alert:{alert.id}", person.id, channel)
        for person in (team.key_worker, team.colleague)
        for channel in ("app", "email")
    }
    # The escalation to the supervisors goes first too.
    with db.write() as s:
        s.add(_email(team, f"alert-escalation:{alert.id}", team.supervisor, TODAY))
    (escalation,) = reminders.claim(db, anytime, now, "sender-1", limit=1).items
    assert escalation.kind == f"alert-escalation:{alert.id}"
    # Then the rest, oldest first.
    after = reminders.claim(db, anytime, now, "sender-1", limit=1)
    with db.read() as s:
        oldest = s.scalar(sa.select(sa.func.min(Reminder.id)).where(Reminder.kind == "today"))
        touched = s.scalar(sa.select(Reminder.status).where(Reminder.id == oldest))
    assert touched != "pending" and len(after.items) + after.cancelled == 1


def test_in_the_evening_and_the_night_only_alerts_go(db, team):
    with db.write() as s:
        s.add(_email(team, "today", team.client, TODAY))
    alert = start_plan(db, team)
    night = max(alert.raised_at + timedelta(seconds=1), start_of_day(TODAY, 22))
    assert SETTINGS.quiet(night)
    claimed = reminders.claim(db, SETTINGS, night, "sender-1")
    assert {i.kind for i in claimed.items} == {f"alert:{alert.id}"}
    assert reminders_of(db, "today") == {(team.client.id, "email", "pending")}
    # From the reminder hour the next morning, the other reminder is taken (sent, or
    # cancelled if no longer owed).
    morning = start_of_day(service_day(night) + timedelta(days=1), SETTINGS.reminder_hour)
    later = reminders.claim(db, SETTINGS, morning, "sender-1")
    assert len([i for i in later.items if i.kind == "today"]) + later.cancelled == 1


def test_an_alert_a_dead_sender_claimed_is_taken_over_within_a_minute(app, db, team):
    """A sender claims what it is about to deliver for a while (a lease), so that no other
    sends it twice; if it dies holding the claim, the rest wait for the lease to run out.
    Review reminders wait the whole lease (5 minutes); an alert waits a minute."""
    anytime = dataclasses.replace(SETTINGS, reminder_hour=0, last_hour=24)
    with db.write() as s:
        s.add(_email(team, "today", team.client, TODAY))
    alert = start_plan(db, team)
    now = alert.raised_at + timedelta(seconds=1)
    taken = reminders.claim(db, anytime, now, "sender-that-dies")
    kinds = {i.kind for i in taken.items}
    assert kinds == {f"alert:{alert.id}", "today"} or (kinds, taken.cancelled) == (
        {f"alert:{alert.id}"}, 1)  # fmt: skip
    alerts = [i for i in taken.items if i.kind != "today"]
    assert {i.claimed_until for i in alerts} == {now + timedelta(minutes=1)}

    assert reminders.claim(db, anytime, now + timedelta(seconds=59), "sender-2").items == []
    later = reminders.claim(db, anytime, now + timedelta(seconds=61), "sender-2")
    assert {(i.kind, i.recipient_id, i.channel) for i in later.items} == {
        (f"alert:{alert.id}", person.id, channel)
        for person in (team.key_worker, team.colleague)
        for channel in ("app", "email")
    }
    assert ReminderSettings.from_config(
        {**app.config, "SMTP_TIMEOUT_SECONDS": 45, "REMINDER_LEASE_SECONDS": 300}
    ).lease_for(alert=True) == timedelta(seconds=90)  # twice the mail server's timeout


def test_the_alert_waits_on_start_pages_until_someone_responds(db, team):
    alert = start_plan(db, team)
    now = alert.raised_at
    for person in (team.key_worker, team.colleague):
        [waiting] = crisis_alerts.waiting_for(db, actor_for(person), now)
        assert (waiting.client_name, waiting.answered, waiting.late) == (
            team.client.display_name,
            False,
            False,
        )
    assert crisis_alerts.waiting_for(db, actor_for(team.stranger), now) == []
    # Supervisors hear of it only once nobody has responded in time.
    assert crisis_alerts.waiting_for(db, actor_for(team.supervisor), now) == []
    late = alert.respond_by
    assert [a.late for a in crisis_alerts.waiting_for(db, actor_for(team.supervisor), late)] == [
        True
    ]

    # The client sees who will respond, and by when.
    [mine] = crisis_alerts.for_client(db, actor_for(team.client), now)
    assert (mine.key_worker, mine.team, mine.respond_by) == (
        team.key_worker.display_name,
        team.team.name,
        alert.respond_by,
    )

    answered = crisis_alerts.respond(
        db, actor_for(team.colleague), team.agreement, "I will phone you at 3pm.", now
    )
    assert answered == 1
    for person in (team.key_worker, team.colleague, team.supervisor):
        assert crisis_alerts.waiting_for(db, actor_for(person), late) == []
    [mine] = crisis_alerts.for_client(db, actor_for(team.client), now)
    [response] = mine.responses
    # The name and the role apart: each page says who they are to its reader.
    assert (response.by, response.by_role) == (team.colleague.display_name, "key_worker")
    assert (response.at, response.note) == (now, "I will phone you at 3pm.")
    with db.read() as s:
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "crisis.respond"))
    assert (event.actor_id, event.client_id) == (team.colleague.id, team.client.id)
    [latest, *_] = documents.history(db, actor_for(team.client), team.agreement).events
    assert (latest.who, latest.what) == (response.by, "responded to the request for a reply")


def test_nothing_is_sent_once_someone_has_responded(db, team):
    alert = start_plan(db, team)
    crisis_alerts.respond(
        db, actor_for(team.key_worker), team.agreement, "On my way.", alert.raised_at
    )
    mailer = RecordingMailer()
    report = send(db, mailer, alert.raised_at)
    assert (report.in_app, report.cancelled) == (0, 4)
    # Only the client hears, that someone replied.
    assert [m["To"] for m in mailer.sent] == [team.client.email]
    # And the supervisors are never told.
    assert crisis_alerts.escalate(db, alert.respond_by + timedelta(hours=5)) == 0
    assert reminders_of(db, f"alert-escalation:{alert.id}") == set()


def test_nobody_responding_in_time_tells_the_supervisors_once(db, team):
    alert = start_plan(db, team)
    assert crisis_alerts.escalate(db, alert.respond_by - timedelta(seconds=1)) == 0
    assert crisis_alerts.escalate(db, alert.respond_by) == 2
    # Again, later, the next day: still once per supervisor and channel.
    assert crisis_alerts.escalate(db, alert.respond_by + timedelta(minutes=1)) == 0
    assert crisis_alerts.escalate(db, alert.respond_by + timedelta(days=1)) == 0
    kind = f"alert-escalation:{alert.id}"
    assert reminders_of(db, kind) == {
        (team.supervisor.id, "app", "pending"),
        (team.supervisor.id, "email", "pending"),
    }
    with db.read() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "crisis.escalate")
            )
            == 1
        )

    mailer = RecordingMailer()
    send(db, mailer, alert.respond_by)
    [mail] = mailer.to(team.supervisor.email)
    assert mail["Subject"] == "Still waiting for a reply"
    # Since when, and how late: the times on the service's clock, still nobody's name.
    asked, by = (f"{service_time(t):%H:%M}" for t in (alert.raised_at, alert.respond_by))
    assert f"asked for a reply at {asked} on" in mail.get_content()
    assert f"They were told someone would respond by {by}" in mail.get_content()
    assert "and nobody has yet" in mail.get_content()
    assert messages.indiscretions(mail["Subject"] + mail.get_content()) == []
    assert reminders_of(db, kind) == {
        (team.supervisor.id, "app", "sent"),
        (team.supervisor.id, "email", "sent"),
    }
    # The supervisor may answer it.
    crisis_alerts.respond(
        db, actor_for(team.supervisor), team.agreement, "Calling now.", alert.respond_by
    )
    assert crisis_alerts.for_client(db, actor_for(team.client), alert.respond_by)[0].answered


def test_an_escalation_recorded_before_the_response_is_not_sent_after_it(db, team):
    alert = start_plan(db, team)
    crisis_alerts.escalate(db, alert.respond_by)
    crisis_alerts.respond(db, actor_for(team.colleague), team.agreement, "Here.", alert.respond_by)
    mailer = RecordingMailer()
    send(db, mailer, alert.respond_by)
    assert [m["To"] for m in mailer.sent] == [team.client.email]  # that someone replied
    assert {s for *_, s in reminders_of(db, f"alert-escalation:{alert.id}")} == {"cancelled"}


def _move_to_another_team(db, team, how: str):
    """The client goes to `team.stranger`, a key worker of another team, with a colleague of
    their own; by an administrator's new link, or by a handover a supervisor of both teams
    starts and the new worker acknowledges."""
    team.new_colleague = KeyWorkerFactory(team_id=team.stranger.team_id)
    team.new_supervisor = SupervisorFactory()
    with db.read() as s:
        other_team = s.get(Team, team.stranger.team_id).name
    accounts.add_supervisor(db, team.new_supervisor.email, other_team)
    if how == "linked":
        accounts.link_caseload(db, team.client.email, team.stranger.email)
        return
    accounts.add_supervisor(db, team.supervisor.email, other_team)
    handovers.start(db, actor_for(team.supervisor), team.client.id, team.stranger.id, "Cover")
    view = handovers.pending_for_client(db, actor_for(team.stranger), team.client.id)
    for doc in view.to_read:
        documents.open_document(db, actor_for(team.stranger), doc.id, doc.agreed_version)
    handovers.acknowledge(db, actor_for(team.stranger), team.client.id)


@pytest.mark.parametrize("how", ["linked", "handed_over"])
def test_a_client_moved_to_another_team_mid_crisis_is_answered_by_the_new_team(db, team, how):
    """Not by the old team, who may no longer read the client's records: in the app the
    notice names the client and links to a page they would be refused."""
    alert = start_plan(db, team)
    _move_to_another_team(db, team, how)
    new_team, old_team = (team.stranger, team.new_colleague), (team.key_worker, team.colleague)

    mailer = RecordingMailer()
    report = send(db, mailer, alert.raised_at + timedelta(minutes=1))
    assert (report.in_app, report.emails, report.cancelled) == (2, 2, 4)
    assert {m["To"] for m in mailer.sent} == {p.email for p in new_team}
    with db.read() as s:
        told = set(
            s.scalars(sa.select(Notification.user_id).where(Notification.link.endswith("/respond")))
        )
    assert told == {p.id for p in new_team}
    assert {(who, status) for who, _, status in reminders_of(db, f"alert:{alert.id}")} == {
        (p.id, "cancelled") for p in old_team
    } | {(p.id, "sent") for p in new_team}

    # Nobody answers: the new team's supervisors are told, not the old one's (who, for the
    # handover, supervises the new team too).
    crisis_alerts.escalate(db, alert.respond_by)
    mailer.sent.clear()
    send(db, mailer, alert.respond_by)
    supervisors = {team.new_supervisor} | ({team.supervisor} if how == "handed_over" else set())
    assert {m["To"] for m in mailer.sent} == {p.email for p in supervisors}


def test_an_escalation_told_before_the_move_reaches_the_new_team_s_supervisor_too(db, team):
    alert = start_plan(db, team)
    crisis_alerts.escalate(db, alert.respond_by)
    _move_to_another_team(db, team, "linked")
    crisis_alerts.escalate(db, alert.respond_by + timedelta(minutes=1))
    mailer = RecordingMailer()
    send(db, mailer, alert.respond_by + timedelta(minutes=1))
    assert len(mailer.to(team.new_supervisor.email)) == 1
    assert not mailer.to(team.supervisor.email)


def test_an_alert_still_reaches_those_asked_if_the_client_has_no_key_worker_now(db, team):
    alert = start_plan(db, team)
    with db.write() as s:  # the caseload ended without a new one (not possible by the pages)
        s.execute(sa.update(CaseloadLink).values(ended_at=utcnow()))
    mailer = RecordingMailer()
    send(db, mailer, alert.raised_at + timedelta(minutes=1))
    assert {m["To"] for m in mailer.sent} == {team.key_worker.email, team.colleague.email}


def test_a_self_referral_request_alerts_the_team_too(db, team):
    contingencies.request_self_referral(
        db, actor_for(team.client), team.agreement, "2", "", "I need a rest.", TODAY, ALERTS
    )
    with db.read() as s:
        alert = s.scalar(sa.select(CrisisAlert))
    assert alert.kind == "self_referral" and alert.self_referral_id is not None
    assert {r for r, _, _ in reminders_of(db, f"alert:{alert.id}")} == {
        team.key_worker.id,
        team.colleague.id,
    }


def test_the_key_worker_raising_it_is_the_response(db, team):
    alert = start_plan(db, team, who=team.key_worker)
    assert reminders_of(db, f"alert:{alert.id}") == set()
    [view] = crisis_alerts.for_client(db, actor_for(team.client), alert.raised_at)
    assert view.answered and view.responses[0].by.startswith(team.key_worker.display_name)
    assert crisis_alerts.escalate(db, alert.respond_by) == 0


def test_who_may_respond_and_bad_input_changes_nothing(db, team):
    alert = start_plan(db, team)
    now = alert.raised_at
    for person in (team.client, team.advocate):
        with pytest.raises(ReadOnly):
            crisis_alerts.respond(db, actor_for(person), team.agreement, "Hello", now)
    for person in (team.stranger, Circle().supervisor, team.admin):
        with pytest.raises(NotFound):
            crisis_alerts.respond(db, actor_for(person), team.agreement, "Hello", now)
    with pytest.raises(ContentInvalid) as err:
        crisis_alerts.respond(db, actor_for(team.key_worker), team.agreement, "   ", now)
    assert "what you are doing" in err.value.errors["note"]
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(CrisisResponse)) == 0

    crisis_alerts.respond(db, actor_for(team.key_worker), team.agreement, "Phoning now.", now)
    with pytest.raises(Invalid, match="already responded"):
        crisis_alerts.respond(db, actor_for(team.supervisor), team.agreement, "Me too.", now)


def test_a_colleague_sees_only_what_they_are_asked_about_and_the_client_sees_that(db, team):
    colleague = actor_for(team.colleague)
    with pytest.raises(NotFound):  # nothing asked: a colleague has no access to the records
        crisis_alerts.alert_page(db, colleague, team.agreement, utcnow())
    alert = start_plan(db, team)
    page = crisis_alerts.alert_page(db, colleague, team.agreement, alert.raised_at)
    assert page.access.respond and page.waiting[0].id == alert.id
    shown = [f["key"] for s in page.essentials.sections for f in s["fields"]]
    assert shown[:2] == ["warning_signs", "what_helps"] and shown[-1] == "out_of_hours"
    assert "contacts" in shown and "worker_hours" not in shown
    assert page.essentials.sections[0]["values"]["warning_signs"]["text"] == "I stop sleeping."
    with db.read() as s:
        reads = s.scalars(
            sa.select(AuditEvent.actor_id).where(
                AuditEvent.action == "read", AuditEvent.client_id == team.client.id
            )
        ).all()
    assert reads == [team.colleague.id]  # shows in the client's access log
    # Once someone else has answered, the colleague's look is over.
    crisis_alerts.respond(db, actor_for(team.key_worker), team.agreement, "Done.", alert.raised_at)
    with pytest.raises(NotFound):
        crisis_alerts.alert_page(db, colleague, team.agreement, alert.raised_at)


def test_a_colleague_who_answered_follows_up_for_a_while_not_for_ever(db, team):
    colleague = actor_for(team.colleague)
    alert = start_plan(db, team)
    crisis_alerts.respond(db, colleague, team.agreement, "I will phone you.", alert.raised_at)
    later = alert.raised_at + crisis_alerts.COLLEAGUE_FOLLOW_UP - timedelta(minutes=1)
    assert crisis_alerts.alert_page(db, colleague, team.agreement, later).alerts[0].id == alert.id
    over = alert.raised_at + crisis_alerts.COLLEAGUE_FOLLOW_UP
    with pytest.raises(NotFound):  # the agreed crisis section is not theirs to keep reading
        crisis_alerts.alert_page(db, colleague, team.agreement, over)
    assert crisis_alerts.alert_page(db, actor_for(team.key_worker), team.agreement, over)


def test_alerts_and_responses_are_append_only(db, team):
    alert = start_plan(db, team)
    crisis_alerts.respond(db, actor_for(team.key_worker), team.agreement, "Done.", alert.raised_at)
    for table in ("crisis_alerts", "crisis_responses"):
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(DatabaseError), db.write() as s:
                s.execute(sa.text(statement))


def test_an_alert_email_is_tried_every_minute_until_the_mail_server_is_back(db, team):
    """Review reminders back off towards an hour and are given up on after the last try
    (tests/services/test_reminders.py); an alert's e-mail is tried within a minute for as
    long as nobody has responded, and administrators see it is still being tried."""
    from careplan.services import undelivered

    settings = dataclasses.replace(SETTINGS, max_attempts=2)
    admin = actor_for(team.admin)
    alert = start_plan(db, team)
    down = RecordingMailer()
    down.fail_with = OSError("Connection refused")
    now = alert.raised_at
    for _ in range(8):  # four times the tries a reminder gets, over several minutes
        send_pending(db, settings, down, SENDER, lambda at=now: at, "sender-1")
        with db.read() as s:
            emails = list(s.scalars(sa.select(Reminder).where(
                Reminder.kind == f"alert:{alert.id}", Reminder.channel == "email")))  # fmt: skip
        assert {e.status for e in emails} == {"pending"}
        assert all(e.not_before <= now + timedelta(seconds=60) for e in emails)
        now = max(e.not_before for e in emails)
    assert min(e.attempts for e in emails) > settings.max_attempts
    listed = undelivered.listing(db, admin, tries=settings.max_attempts)
    assert listed.total == undelivered.count(db, admin, tries=2) == 2
    assert {r.about for r in listed.rows} == {"A crisis alert, still being tried every minute"}
    assert {r.to_address for r in listed.rows} == {team.key_worker.email, team.colleague.email}

    back = RecordingMailer()  # the mail server is back: sent at the next try, within a minute
    report = send_pending(db, settings, back, SENDER, lambda: now, "sender-1")
    assert report.emails == 2 and len(back.sent) == 2
    assert undelivered.count(db, admin, tries=2) == 0


def test_an_alert_to_an_address_refused_for_good_is_given_up_and_listed(db, team):
    import smtplib

    from careplan.services import undelivered

    alert = start_plan(db, team)
    refused = RecordingMailer()
    refused.fail_with = smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"No such user")})
    send(db, refused, alert.raised_at)
    assert reminders_of(db, f"alert:{alert.id}") >= {
        (team.key_worker.id, "email", "failed"),
        (team.colleague.id, "email", "failed"),
    }
    listed = undelivered.listing(db, actor_for(team.admin))
    assert [r.about for r in listed.rows] == ["A crisis alert", "A crisis alert"]
    assert all("550 No such user" in r.last_error for r in listed.rows)


def _ask(db, team, nights: str, last: str, note: str):
    return contingencies.request_self_referral(
        db, actor_for(team.client), team.agreement, nights, last, note, TODAY, ALERTS
    )


def test_whoever_responds_reads_every_field_the_request_asked(db, team):
    last = TODAY - timedelta(days=40)
    _ask(db, team, "3", last.isoformat(), "Voices are back; please ring Sam.")
    [view] = crisis_alerts.waiting_for(db, actor_for(team.key_worker), utcnow())
    # Nothing agreed in this circle: a plain request, neither within nor outside terms.
    assert view.asked == crisis_alerts.AskedStay(
        3, last, "Voices are back; please ring Sam.", False, False, (NOTHING_AGREED,)
    )
    page = crisis_alerts.alert_page(db, actor_for(team.key_worker), team.agreement, utcnow())
    assert page.waiting[0].asked.note == "Voices are back; please ring Sam."
    alert = start_plan(db, team)
    with db.read() as s:
        [plan, stay] = crisis_alerts.alerts_on(s, team.agreement, utcnow())
    assert plan.id == alert.id and plan.asked == crisis_alerts.AskedPlan(
        "Not sleeping for three nights", "Called my sister", TODAY + timedelta(days=5)
    )
    assert stay.asked.nights == 3


def test_asking_again_while_a_request_waits_is_taken_and_said_to_everyone(db, team):
    """Never refused (whoever asks is in crisis), but nobody takes it for a copy: the client
    hears an earlier one still waits, and the team that this one is another request."""
    first = _ask(db, team, "3", "", "")
    assert first.earlier_waiting is None
    with db.read() as s:
        raised = s.scalar(sa.select(CrisisAlert.raised_at))
    second = _ask(db, team, "4", "", "Still nobody has rung.")
    assert second.earlier_waiting == raised
    record = contingencies.crisis_record(db, actor_for(team.client), team.agreement, TODAY)
    assert record.waiting_since == {"self_referral": raised}
    newest, oldest = crisis_alerts.waiting_for(db, actor_for(team.key_worker), utcnow())[::-1]
    assert (newest.again_after, oldest.again_after) == (raised, None)
    assert newest.asked.note == "Still nobody has rung."

    send(db, RecordingMailer(), utcnow())
    with db.read() as s:
        texts = s.scalars(
            sa.select(Notification.text).where(Notification.user_id == team.key_worker.id)
        ).all()
    [again] = [t for t in texts if "This is another request" in t]
    assert f"they first asked at {service_time(raised):%H:%M}" in again
    assert len(texts) == 2

    # Once answered, asking again is a new request, not another one of the same.
    crisis_alerts.respond(db, actor_for(team.key_worker), team.agreement, "On my way.", utcnow())
    assert _ask(db, team, "2", "", "").earlier_waiting is None


def test_a_plan_ended_or_run_out_is_said_to_be_over_where_its_request_is_shown(db, team):
    """The request stayed on pages as "It ends on …" after the plan was ended: its view read
    only what was written when the plan was put into effect."""
    start_plan(db, team)
    with db.read() as s:
        [running] = crisis_alerts.alerts_on(s, team.agreement, utcnow())
    assert not running.asked.over and running.asked.ended_at is None
    contingencies.end_contingency(db, actor_for(team.key_worker), team.agreement, "Better.", TODAY)
    with db.read() as s:
        [ended] = crisis_alerts.alerts_on(s, team.agreement, utcnow())
    plan = ended.asked
    assert plan.over and plan.ended_at is not None and plan.end_note == "Better."
    assert (plan.ended_by.name, plan.ended_by.role, plan.ended_by.id) == (
        team.key_worker.display_name,
        "key_worker",
        team.key_worker.id,
    )


def test_a_plan_past_its_end_date_is_over_though_nobody_ended_it(db, team):
    start_plan(db, team)  # ends in 5 days
    after = start_of_day(TODAY + timedelta(days=6))
    with db.read() as s:
        [alert] = crisis_alerts.alerts_on(s, team.agreement, after)
    assert alert.asked.over and alert.asked.ended_at is None
    with db.read() as s:
        [alert] = crisis_alerts.alerts_on(
            s, team.agreement, start_of_day(TODAY + timedelta(days=5))
        )
    assert not alert.asked.over  # its last day


def test_what_was_agreed_knows_the_parts_both_confirmed_blank(db, team):
    with db.read() as s:
        doc = s.get(Document, team.agreement)
        assert crisis_alerts.essentials(s, doc).blank_on_purpose == frozenset()  # a draft
    for person in (team.client, team.key_worker):
        signoff.sign(db, actor_for(person), team.agreement, 1, "signed", "", PASSWORD, True)
    with db.read() as s:
        blank = crisis_alerts.essentials(s, s.get(Document, team.agreement)).blank_on_purpose
    assert {"boundaries.out_of_hours", "contingencies.contacts"} <= blank
    assert "contingencies.warning_signs" not in blank  # written
    assert "contingencies.what_helps" not in blank  # never asked about


def _messages(db, person) -> list[tuple[str, str, bool]]:
    """(text, link, still new) of each message this person has, oldest first."""
    with db.read() as s:
        return [
            (text, link, read_at is None)
            for text, link, read_at in s.execute(
                sa.select(Notification.text, Notification.link, Notification.read_at)
                .where(Notification.user_id == person.id)
                .order_by(Notification.id)
            )
        ]


def test_a_reply_is_a_message_to_the_client_and_answers_the_alert_messages(db, team):
    """The client was never told someone had replied, and the key worker's message that they
    were waiting stayed "New" after the reply."""
    alert = start_plan(db, team)
    send(db, RecordingMailer(), alert.raised_at)  # the alert's in-app messages, delivered
    waiting = _messages(db, team.key_worker)
    assert waiting and all(new for _, _, new in waiting)
    before = _messages(db, team.client)

    crisis_alerts.respond(
        db, actor_for(team.colleague), team.agreement, "I will phone you at 3pm.", alert.raised_at
    )
    crisis = f"/documents/{team.agreement}/crisis-plan"
    colleague = team.colleague.display_name
    assert _messages(db, team.client) == [
        *before,
        (f"{colleague}, a key worker, responded to your request for help. Read what they said.",
         crisis, True),
    ]  # fmt: skip
    # What the key worker (and their colleague) had been sent is answered, still listed; a
    # colleague answered, so their key worker is told who, as the client is.
    mine = _messages(db, team.key_worker)
    assert [m for m in mine if m[2]] == [
        (f"{colleague}, a key worker, responded to {team.client.display_name}'s request for "
         "help. Read what they said.", crisis, True),
    ]  # fmt: skip
    assert len(mine) == len(waiting) + 1
    assert not [m for m in _messages(db, team.colleague) if m[2]]


def test_a_client_who_gets_e_mails_is_e_mailed_once_that_someone_replied_at_any_hour(db, team):
    """The message in the app reaches a client who looks at the app; one who asked for help
    and then waited by their phone heard nothing. The e-mail says no more than the alerts
    do, and goes in the night too, as they do."""
    alert = start_plan(db, team)
    send(db, RecordingMailer(), alert.raised_at)  # the alert itself, to the team
    night = max(alert.raised_at + timedelta(seconds=1), start_of_day(TODAY, 23))
    assert SETTINGS.quiet(night)
    crisis_alerts.respond(db, actor_for(team.colleague), team.agreement, "Phoning you.", night)
    mailer = RecordingMailer()
    report = send(db, mailer, night)
    [email] = mailer.sent
    assert email["To"] == team.client.email and report.emails == 1
    assert email["Subject"] == "Someone has replied to you"
    body = email.get_content()
    assert "has responded to your request. To read what they said, please sign in:" in body
    assert f"{SETTINGS.base_url}/me/notifications" in body
    assert messages.indiscretions(f"{email['Subject']} {body}") == []
    assert team.colleague.display_name not in body and "Phoning" not in body
    assert reminders_of(db, f"alert-reply:{alert.id}") == {(team.client.id, "email", "sent")}
    assert not send(db, mailer, night + timedelta(minutes=5)) and len(mailer.sent) == 1


def test_a_reply_e_mail_the_server_refuses_is_listed_for_the_administrators_as_such(db, team):
    import smtplib

    from careplan.services import undelivered

    alert = start_plan(db, team)
    send(db, RecordingMailer(), alert.raised_at)
    crisis_alerts.respond(db, actor_for(team.key_worker), team.agreement, "Here.", alert.raised_at)
    refused = RecordingMailer()
    refused.fail_with = smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"No such user")})
    send(db, refused, alert.raised_at)
    listed = undelivered.listing(db, actor_for(team.admin))
    assert [r.about for r in listed.rows] == [
        "To a client: someone replied to their request for help"
    ]


def test_a_client_who_chose_no_e_mails_is_not_e_mailed_that_someone_replied(db, team):
    reminders.choose_channel(db, actor_for(team.client), "app")
    alert = start_plan(db, team)
    send(db, RecordingMailer(), alert.raised_at)
    crisis_alerts.respond(
        db, actor_for(team.key_worker), team.agreement, "On my way.", alert.raised_at
    )
    mailer = RecordingMailer()
    send(db, mailer, alert.raised_at + timedelta(seconds=1))
    assert mailer.to(team.client.email) == []
    assert reminders_of(db, f"alert-reply:{alert.id}") == {(team.client.id, "email", "cancelled")}
    assert _messages(db, team.client)[-1][0].startswith(team.key_worker.display_name)


def test_the_plan_ended_early_is_a_message_to_the_other_of_the_two(db, team):
    start_plan(db, team)
    crisis = f"/documents/{team.agreement}/crisis-plan"
    contingencies.end_contingency(
        db, actor_for(team.key_worker), team.agreement, "You are sleeping again.", TODAY
    )
    worker = team.key_worker.display_name
    said = (f"{worker}, your key worker, ended the plan for when you are not well. Read what "
            "they wrote.")  # fmt: skip
    assert (said, crisis, True) in _messages(db, team.client)
    assert not [m for m in _messages(db, team.key_worker) if "ended" in m[0]]

    start_plan(db, team)
    contingencies.end_contingency(db, actor_for(team.client), team.agreement, "", TODAY)
    said = f"{team.client.display_name} ended their plan for when they are not well."
    assert (said, crisis, True) in _messages(db, team.key_worker)
