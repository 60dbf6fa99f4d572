"""Acceptance for crisis alerts: the alert e-mail in a real SMTP conversation (aiosmtpd), and
the escalation to supervisors exactly once with two scheduler processes, an extra worker
outside the leader election, and the active scheduler killed and restarted.

Run as a module (`python -m tests.integration.test_crisis_alerts ROLE ...`) this file is also
the child process the second test starts.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from careplan.db.models import (
    AuditEvent,
    CrisisAlert,
    Document,
    Notification,
    Reminder,
    utcnow,
)
from careplan.domain.crisis_alerts import AlertKind
from careplan.domain.local_time import service_today
from careplan.reminders import messages
from careplan.reminders.mail import SmtpMailer, mailer_from_config, row_message_id
from careplan.reminders.sender import send_pending
from careplan.services import contingencies, crisis_alerts
from careplan.services.accounts import actor_for
from careplan.services.crisis_alerts import AlertSettings
from careplan.services.reminders import ReminderSettings
from tests.factories import Circle, KeyWorkerFactory, make_agreement
from tests.integration.test_reminders_exactly_once import ROOT
from tests.integration.test_reminders_exactly_once import Child as _Child

pytestmark = pytest.mark.slow

MODULE = "tests.integration.test_crisis_alerts"
ALERTS = AlertSettings(respond_within=timedelta(minutes=30))


def _circle_with_colleague() -> Circle:
    circle = Circle()
    circle.colleague = KeyWorkerFactory(team_id=circle.team.id)
    circle.agreement = make_agreement(circle.key_worker, circle.client)
    return circle


def _start_plan(db, circle) -> CrisisAlert:
    contingencies.start_contingency(
        db,
        actor_for(circle.client),
        circle.agreement,
        "Not sleeping",
        "",
        (service_today() + timedelta(days=3)).isoformat(),
        service_today(),
        ALERTS,
    )
    with db.read() as s:
        return s.scalar(sa.select(CrisisAlert).where(CrisisAlert.document_id == circle.agreement))


def test_the_alert_and_its_escalation_arrive_once_over_smtp_and_discreetly(
    smtp_app,  # noqa: F811
    smtp_server,  # noqa: F811
    db,
):
    _, inbox = smtp_server
    settings = ReminderSettings.from_config(smtp_app.config)
    mailer = mailer_from_config(smtp_app.config)
    assert isinstance(mailer, SmtpMailer)

    def send(now):
        sender = smtp_app.config["SMTP_FROM"]
        return send_pending(db, settings, mailer, sender, lambda: now, "smtp-test")

    circle = _circle_with_colleague()
    alert = _start_plan(db, circle)
    assert send(alert.raised_at).emails == 2
    assert not send(alert.raised_at + timedelta(minutes=1))  # nothing twice
    mails = inbox.messages()
    assert sorted(rcpt for rcpt, _ in mails) == sorted(
        [[circle.key_worker.email], [circle.colleague.email]]
    )
    for _, msg in mails:
        body = msg.get_content()
        assert msg["Subject"] == "Someone is waiting for a reply"
        assert msg["List-Unsubscribe"] is None  # nobody can opt out of a crisis alert
        assert f"https://app.example.org/documents/{circle.agreement}/respond" in body
        assert messages.indiscretions(str(msg["Subject"]) + body) == []
        assert circle.client.display_name not in body

    # Nobody responds in time: the team's supervisor is told, once.
    crisis_alerts.escalate(db, alert.respond_by)
    crisis_alerts.escalate(db, alert.respond_by + timedelta(minutes=5))
    send(alert.respond_by)
    send(alert.respond_by + timedelta(minutes=5))
    escalations = [m for rcpt, m in inbox.messages() if rcpt == [circle.supervisor.email]]
    assert [m["Subject"] for m in escalations] == ["Still waiting for a reply"]
    assert messages.indiscretions(escalations[0].get_content()) == []

    # Someone responds before the e-mails go: none of them is sent; the client is e-mailed
    # that someone replied.
    other = _circle_with_colleague()
    second = _start_plan(db, other)
    crisis_alerts.respond(
        db, actor_for(other.colleague), other.agreement, "Phoning now.", second.raised_at
    )
    before = len(inbox.messages())
    report = send(second.raised_at)
    crisis_alerts.escalate(db, second.respond_by)
    send(second.respond_by)
    assert report.cancelled == 4
    [(rcpt, reply)] = inbox.messages()[before:]
    assert rcpt == [other.client.email] and reply["Subject"] == "Someone has replied to you"
    assert messages.indiscretions(reply.get_content()) == []


# --- two schedulers -----------------------------------------------------------------------------

CHILD_CONFIG = {
    "ENV": "testing",
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_KIB": 1024,
    "PUBLIC_BASE_URL": "https://app.example.org",
    "SMTP_FROM": "Reminders <reminders@example.org>",
    "REMINDER_SEND_SECONDS": 1,
    "CRISIS_ESCALATION_SECONDS": 1,
}
ALERTED = 12
ANSWERED = 4  # of them, before any scheduler runs


def _child(role: str, url: str, outbox: str, instance: str) -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    from careplan import create_app
    from careplan.reminders.mail import OutboxFileMailer
    from careplan.reminders.scheduler import (
        JOBS,
        context_for,
        escalate_crisis_alerts,
        run,
        send_reminders,
    )

    app = create_app({**CHILD_CONFIG, "DATABASE_URL": url}, instance_path=instance)
    mailer = OutboxFileMailer(outbox)
    if role == "scheduler":
        jobs = [job for job in JOBS if job.name in ("crisis.escalate", "reminders.send")]
        run(app, mailer=mailer, jobs=jobs, poll_seconds=0.5)
        return
    # An extra worker outside the leader election (as `careplan send-reminders --loop`): two
    # processes escalating and sending at the same moment, whatever the lock says.
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    ctx = context_for(app, mailer=mailer)
    logging.getLogger("careplan").info("Worker %s ready.", ctx.worker)
    while not stop:
        with app.app_context():
            escalate_crisis_alerts(ctx)
            send_reminders(ctx)
        time.sleep(0.1)


class Child(_Child):
    """A child process of this module (the reminders test's helper, with these arguments)."""

    def __init__(self, role: str, name: str, url: str, tmp: Path):
        self.name = name
        self.log = tmp / f"{name}.log"
        args = [role, url, str(tmp / "outbox.jsonl"), str(tmp / "instance")]
        self.process = subprocess.Popen(
            [sys.executable, "-m", MODULE, *args],
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def count(self, needle: str) -> int:
        return self.text().count(needle)


def _statuses(db) -> Counter:
    with db.read() as s:
        return Counter(s.scalars(sa.select(Reminder.status)))


def _wait_until(condition, children, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for child in children:
            assert child.process.poll() is None, f"{child.name} died:\n{child.text()[-3000:]}"
        assert time.monotonic() < deadline, f"not in time: {what}"
        time.sleep(0.2)


def test_the_escalation_is_made_and_sent_once_with_two_schedulers_and_a_restart(
    db, database_url, tmp_path
):
    circles = [_circle_with_colleague() for _ in range(ALERTED)]
    past = utcnow() - timedelta(hours=2)  # everyone is late: every open alert escalates now
    alerts = []
    for circle in circles:
        with db.write() as s:
            doc = s.get(Document, circle.agreement)
            alert = crisis_alerts.raise_alert(
                s, actor_for(circle.client), doc, AlertKind.CONTINGENCY, past, ALERTS
            )
            alerts.append((alert.id, circle))
    answered = {alert_id for alert_id, _ in alerts[:ANSWERED]}
    for _, circle in alerts[:ANSWERED]:
        crisis_alerts.respond(db, actor_for(circle.key_worker), circle.agreement, "Done.", past)
    first = ALERTED * 2 * 2  # key worker and colleague, in the app and by e-mail
    escalated = (ALERTED - ANSWERED) * 2  # one supervisor each, in the app and by e-mail
    replies = ANSWERED  # each client answered is e-mailed that someone replied

    def settled() -> bool:
        counts = _statuses(db)
        total = first + escalated + replies
        return sum(counts.values()) == total and set(counts) <= {"sent", "cancelled"}

    children: list[Child] = []
    try:
        # Started together (each takes seconds to start): one leads, one stands by.
        children = [Child("scheduler", f"scheduler-{n}", database_url, tmp_path) for n in "ab"]
        children.append(Child("worker", "worker", database_url, tmp_path))
        children[2].wait_for("ready")
        _wait_until(
            lambda: (
                sum("now active" in c.text() for c in children[:2]) == 1
                and sum("standing by" in c.text() for c in children[:2]) == 1
            ),
            children,
            "one scheduler active and one standing by",
        )
        leader, standby = sorted(children[:2], key=lambda c: "now active" not in c.text())
        _wait_until(settled, children, "every alert delivered and escalated")

        # The active scheduler dies; the standby takes over; the dead one comes back.
        leader.kill()
        children.remove(leader)
        children.append(Child("scheduler", "scheduler-again", database_url, tmp_path))
        standby.wait_for("now active")
        runs = 'Job "crisis.escalate'
        seen = standby.count(runs)
        _wait_until(lambda: standby.count(runs) >= seen + 3, children, "the new leader's runs")
        children[-1].wait_for("standing by")
        assert settled()
    finally:
        for child in children:
            child.stop()

    with db.read() as s:
        rows = s.execute(
            sa.select(Reminder.id, Reminder.kind, Reminder.recipient_id, Reminder.channel)
            .where(Reminder.status == "sent")
            .order_by(Reminder.id)
        ).all()
        written = dict(s.execute(sa.select(Reminder.id, Reminder.created_at)).all())
        cancelled = set(s.scalars(sa.select(Reminder.kind).where(Reminder.status == "cancelled")))
        # The reminders' messages (a reply also tells the client, in a message of its own).
        notes = Counter(
            s.scalars(
                sa.select(Notification.reminder_id).where(Notification.reminder_id.is_not(None))
            )
        )
        told = Counter(
            d["alert"]
            for d in s.scalars(
                sa.select(AuditEvent.detail).where(AuditEvent.action == "crisis.escalate")
            )
        )
    supervisor = {alert_id: circle.supervisor.id for alert_id, circle in alerts}
    escalations = {(k, r, ch) for _, k, r, ch in rows if k.startswith("alert-escalation:")}
    assert escalations == {
        (f"alert-escalation:{alert_id}", supervisor[alert_id], ch)
        for alert_id, _ in alerts
        if alert_id not in answered
        for ch in ("app", "email")
    }
    assert told == Counter({alert_id: 1 for alert_id, _ in alerts if alert_id not in answered})
    # What was answered before anyone could deliver it was never sent.
    assert cancelled == {f"alert:{alert_id}" for alert_id in answered}

    outbox = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    sent = Counter(m["message_id"] for m in outbox)
    assert set(sent) == {
        row_message_id(
            "reminder", i, written[i], CHILD_CONFIG["SMTP_FROM"], CHILD_CONFIG["PUBLIC_BASE_URL"]
        )
        for i, _, _, ch in rows
        if ch == "email"
    }
    assert max(sent.values()) == 1, "an e-mail was sent twice"
    assert set(notes) == {i for i, _, _, ch in rows if ch == "app"} and max(notes.values()) == 1
    assert all(messages.indiscretions(m["subject"] + m["body"]) == [] for m in outbox)


if __name__ == "__main__":
    _child(*sys.argv[1:5])
