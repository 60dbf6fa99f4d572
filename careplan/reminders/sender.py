"""Delivering the reminders the sweep recorded: in the app, by e-mail, and daily digests.

Any number of senders may run at once (the scheduler's own job, extra `careplan
send-reminders --loop` workers, several machines): each claims its own rows.

Exactly once, and the one window where it is at least once:

- In-app notifications are written in the same transaction that marks the reminder sent:
  exactly once whatever happens.
- An e-mail is claimed (committed, with a lease). Just before it is sent its claim is renewed
  to a whole lease from now (committed; if the claim was lost meanwhile, it is not sent). It is
  marked sent as soon as the SMTP server has accepted it. A sender killed *before* the server
  accepted the message loses nothing: its lease runs out and another sender sends it.
- If the database cannot be reached when "sent" is to be recorded, the sender keeps trying
  for as long as its renewed claim runs: nobody else can take the row meanwhile, so an outage
  shorter than the lease duplicates nothing.
- A sender killed in the moment *after* the server accepted the message but *before* "sent"
  is committed (or a database outage outlasting the claim at that moment) cannot be told
  apart from one killed just before: another sender sends it again after the lease, with the
  same Message-ID. No protocol over SMTP can close that window: a message cannot be sent and
  recorded in one transaction.

No setting makes a sender go round in circles: each batch either delivers, cancels or fails
something, or the run ends.
"""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError

from ..db.engine import Database
from ..db.models import AccountEmail, Reminder, ReminderDigest, utcnow
from ..domain.local_time import service_day
from ..domain.roles import Role
from ..services import account_emails, reminders
from ..services.reminders import ReminderSettings
from . import account_mail, messages
from .mail import AddressNotAccepted, Mailer, build_message, row_message_id

log = logging.getLogger("careplan.reminders")

Clock = Callable[[], datetime]
PERSIST_PAUSE_SECONDS = (0.2, 5.0)  # first and longest pause between tries to record "sent"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class SendReport:
    in_app: int = 0
    emails: int = 0
    digests: int = 0
    cancelled: int = 0
    failed: int = 0
    account_emails: int = 0

    def __bool__(self) -> bool:
        return any(_progress(self))


def send_pending(
    db: Database,
    settings: ReminderSettings,
    mailer: Mailer,
    sender: str,
    clock: Clock = utcnow,
    worker: str | None = None,
    max_batches: int | None = None,
) -> SendReport:
    """Deliver what is pending now: e-mails about people's own accounts first, then
    reminders batch after batch, then the digests gathered for today."""
    worker = worker or worker_name()
    report = send_account_emails(db, settings, mailer, sender, clock, worker)
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        before = _progress(report)
        claim = reminders.claim(db, settings, clock(), worker)
        report.cancelled += claim.cancelled
        report.failed += claim.failed
        if not claim.items:
            break
        _deliver_batch(db, settings, mailer, sender, clock, worker, claim.items, report)
        if _progress(report) == before:
            break  # nothing in the batch could be done now: try again on the next run
    # Digests are gathered by the sweep job, after a complete sweep (see scheduler.py).
    while True:
        before = _progress(report)
        digests = reminders.claim_digests(db, settings, clock(), worker)
        if not digests:
            break
        _send_digests(db, settings, mailer, sender, clock, worker, digests, report)
        if _progress(report) == before:
            break
    return report


def _progress(report: SendReport) -> tuple[int, ...]:
    return (
        report.in_app,
        report.emails,
        report.digests,
        report.cancelled,
        report.failed,
        report.account_emails,
    )


def send_account_emails(
    db: Database,
    settings: ReminderSettings,
    mailer: Mailer,
    sender: str,
    clock: Clock = utcnow,
    worker: str | None = None,
) -> SendReport:
    """Send the account e-mails that are waiting (careplan.services.account_emails), by the
    same protocol as reminder e-mails: claimed, the claim renewed just before sending, marked
    sent once the server accepted it."""
    worker = worker or worker_name()
    report = SendReport()

    def build(item, written: datetime):
        text = account_mail.account_email(
            item.kind, item.detail, item.created_at, settings.base_url, settings.time_zone
        )
        return _message(sender, item.to_address, text, "account", item.id, written, settings)

    def mark(item) -> bool:
        return reminders.mark_sent(db, item.id, worker, clock(), AccountEmail)

    while True:
        before = _progress(report)
        claimed = account_emails.claim(db, settings, clock(), worker)
        if not claimed:
            break
        _send_each(
            db, settings, mailer, clock, worker, claimed, report, AccountEmail, build, mark,
            "account_emails",
        )  # fmt: skip
        if _progress(report) == before:
            break
    return report


def _deliver_batch(db, settings, mailer, sender, clock, worker, items, report) -> None:
    today = service_day(clock())
    in_app = [i for i in items if i.channel == "app"]
    if in_app:
        texts = {
            i.id: messages.notification(
                i.kind,
                i.due_on,
                i.document_id,
                today,
                i.recipient_role is not Role.CLIENT,
                i.client_name,
                i.alert_times,
                i.signing,
            )
            for i in in_app
        }
        report.in_app += reminders.deliver_in_app(db, in_app, texts, clock(), worker)
    emails = [i for i in items if i.channel == "email"]
    if emails:
        _send_emails(db, settings, mailer, sender, clock, worker, emails, report)


def _send_emails(db, settings, mailer, sender, clock, worker, items, report) -> None:
    def build(item, written: datetime):
        text = messages.reminder_email(
            item.kind,
            item.due_on,
            item.document_id,
            service_day(clock()),
            settings.base_url,
            item.alert_times,
            item.signing,
        )
        return _message(sender, item.recipient_email, text, "reminder", item.id, written, settings)

    def mark(item) -> bool:
        return reminders.mark_sent(db, item.id, worker, clock())

    _send_each(db, settings, mailer, clock, worker, items, report, Reminder, build, mark, "emails")


def _send_digests(db, settings, mailer, sender, clock, worker, digests, report) -> None:
    def build(digest, written: datetime):
        text = messages.digest_email(digest.items, digest.day, settings.base_url)
        return _message(
            sender, digest.recipient_email, text, "digest", digest.id, written, settings
        )

    def mark(digest) -> bool:
        return reminders.mark_digest_sent(db, digest, worker, clock())

    _send_each(
        db, settings, mailer, clock, worker, digests, report, ReminderDigest, build, mark, "digests"
    )


def _message(
    sender: str,
    to: str,
    text: messages.Email,
    kind: str,
    row_id: int,
    written: datetime,
    settings: ReminderSettings,
):
    """The message for one row; its Message-ID names the row, so a resend is recognisable."""
    mid = row_message_id(kind, row_id, written, sender, settings.base_url)
    return build_message(sender, to, text.subject, text.body, mid, text.stop_link)


def _written_at(db: Database, model, items) -> dict[int, datetime]:
    """When each row was written (its Message-ID includes it)."""
    ids = [i.id for i in items]
    with db.read() as s:
        return {
            row_id: at
            for row_id, at in s.execute(select(model.id, model.created_at).where(model.id.in_(ids)))
        }


def _send_each(db, settings, mailer, clock, worker, items, report, model, build, mark, counted):
    """Send claimed rows of `model` over one connection, one after another: renew the claim,
    send what `build` makes of the row (and when it was written), record it with `mark`,
    count it in `report.<counted>`. A row that cannot be written or a refused recipient fails
    that row only, and an address the server can never take (or refuses for good, 5xx) is
    given up at once; any other
    error fails it and leaves the rest for the next run; rows not tried are given back."""
    remaining = list(items)
    written = _written_at(db, model, items)
    try:
        with mailer.connect() as send:
            while remaining:
                item = remaining.pop(0)
                until = clock() + settings.lease_for(reminders.is_alert(model, item))
                if not reminders.extend_claim(db, item.id, worker, until, model):
                    continue  # its claim ran out and another sender has it
                try:
                    message = build(item, written[item.id])
                except Exception as exc:  # noqa: BLE001 - one row that cannot be written
                    # (a kind this version does not know, say) must not hold up the others.
                    log.exception("Could not write %s %s.", _row_name(model), item.id)
                    _failed(db, settings, item.id, worker, clock(), exc, report, model)
                    continue
                try:
                    send(message)
                except AddressNotAccepted as exc:
                    _failed(db, settings, item.id, worker, clock(), exc, report, model, True)
                    continue
                except smtplib.SMTPRecipientsRefused as exc:
                    refused = _refused_for_good(exc)
                    _failed(db, settings, item.id, worker, clock(), refused or exc, report, model,
                            refused is not None)  # fmt: skip
                    continue
                except (smtplib.SMTPException, OSError) as exc:
                    _failed(db, settings, item.id, worker, clock(), exc, report, model)
                    break  # the connection is probably gone: the rest wait for the next run
                if _persist(partial(mark, item), until - clock()):
                    setattr(report, counted, getattr(report, counted) + 1)
                else:
                    log.warning(
                        "%s %s was sent after its claim had run out; another sender may send "
                        "it again (same Message-ID).",
                        _row_name(model),
                        item.id,
                    )
    except (smtplib.SMTPException, OSError) as exc:
        log.error("Could not reach the mail server: %s", exc)
        for item in remaining:
            _failed(db, settings, item.id, worker, clock(), exc, report, model)
        remaining = []
    reminders.release(db, [i.id for i in remaining], worker, model)


def _refused_for_good(exc: smtplib.SMTPRecipientsRefused) -> AddressNotAccepted | None:
    """A 5xx answer to the address (no such mailbox, say) is the server's final word: trying
    again for days would only keep it off the administrators' "E-mails not sent" list. A 4xx
    answer (mailbox busy, try later) is tried again."""
    answers = list(exc.recipients.values())
    if not answers or not all(500 <= code < 600 for code, _ in answers):
        return None
    code, text = answers[0]
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return AddressNotAccepted(f"The mail server refused this address for good: {code} {text}")


def _persist(mark: Callable[[], bool], lease_left: timedelta) -> bool:
    """Record "sent" right after the server accepted the message. While the database cannot
    be reached, keep trying for as long as the claim runs (`lease_left`): until then no other
    sender can take the row, so the e-mail is not sent twice. Measured on this process's own
    clock, whatever the scheduler's clock says."""
    deadline = time.monotonic() + max(0.0, lease_left.total_seconds())
    pause, longest = PERSIST_PAUSE_SECONDS
    while True:
        try:
            return mark()
        except (OperationalError, InterfaceError):
            left = deadline - time.monotonic()
            if left <= 0:
                log.error(
                    "Could not record a sent e-mail before its claim ran out; another sender "
                    "may send it again (same Message-ID)."
                )
                raise
            log.warning("Could not record a sent e-mail yet; trying again.")
            time.sleep(min(pause, left))
            pause = min(pause * 2, longest)


def _failed(db, settings, row_id, worker, now, exc, report, model, give_up=False) -> None:
    """Record a failed try: tried again later, or, after the last try, given up. `give_up`:
    no later try could succeed (AddressNotAccepted, whose words say why), so this one is the
    last."""
    log.warning("Sending %s %s failed: %s", _row_name(model), row_id, exc)
    error = str(exc) if give_up else f"{type(exc).__name__}: {exc}"
    reminders.mark_failed(db, settings, row_id, worker, now, error, model=model, give_up=give_up)
    report.failed += 1


def _row_name(model) -> str:
    return {Reminder: "reminder", ReminderDigest: "digest", AccountEmail: "account e-mail"}[model]
