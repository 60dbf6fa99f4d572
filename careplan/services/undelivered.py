"""E-mails the senders gave up on, and trying them again once the mail server is back.

A reminder, a daily summary of reminders or an e-mail about someone's account is given up on
after REMINDER_MAX_ATTEMPTS tries, about an hour of a mail server that is down or refuses it.
Without this, a longer outage would lose them for good. A crisis alert is never given up on
while it is owed (careplan.domain.crisis_alerts): once tried as often, it is listed too, as
still being tried, so that an administrator knows the mail server is failing people who
asked for help. An administrator sees how many there are and which: who they were for, what
sort, when, how often tried and the last error, never what a plan says (a reminder is listed
as "a reminder", not what it is about). One button puts them all back to be sent.

Tried again, nothing goes out that is no longer owed: the senders check each reminder again
before sending it (reviewed, date moved: cancelled instead). A daily summary is only sent on
its own day; the reminders in an earlier day's summary go back to wait for the next summary,
which checks them again when it gathers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, literal, null, or_, select, update
from sqlalchemy.orm import Session, aliased

from ..db.engine import Database
from ..db.models import AccountEmail, PasswordLink, Reminder, ReminderDigest, User, utcnow
from ..domain.crisis_alerts import alert_of, is_reply_kind
from ..domain.local_time import service_day
from . import account_emails, audit
from .actor import Actor
from .admin_accounts import link_about, require_admin
from .reminders import IS_ALERT, ReminderSettings, fold_digests

LISTED = 50
REMINDER = "A reminder"
SUMMARY = "A daily summary of reminders"
ALERT = "A crisis alert"
ALERT_STILL_TRIED = "A crisis alert, still being tried every minute"
REPLY = "To a client: someone replied to their request for help"


@dataclass(frozen=True)
class UndeliveredEmail:
    about: str
    user_id: int
    name: str
    to_address: str
    written_at: datetime
    attempts: int
    last_error: str
    new_link_needed: bool = False  # a password link: sent again only as a new link


@dataclass(frozen=True)
class UndeliveredList:
    rows: list[UndeliveredEmail]  # the latest LISTED, newest first
    total: int


@dataclass(frozen=True)
class TriedAgain:
    emails: int  # put back to be sent
    summaries_folded: int  # earlier days' summaries whose reminders wait for the next one

    @property
    def any(self) -> bool:
        return bool(self.emails or self.summaries_folded)


def count(db: Database, admin: Actor, tries: int = ReminderSettings.max_attempts) -> int:
    """How many e-mails have been given up on, or are crisis alerts tried `tries` times
    (REMINDER_MAX_ATTEMPTS) and still being tried (the administrators' start page says so)."""
    require_admin(admin)
    with db.read() as s:
        return _count(s, tries)


def _listed(model, tries: int):
    if model is not Reminder:
        return model.status == "failed"
    still_tried = and_(IS_ALERT, Reminder.status.in_(("pending", "sending")))
    return or_(Reminder.status == "failed", and_(still_tried, Reminder.attempts >= tries))


def _links_not_sent():
    """Password links that reached nobody and are still the account's latest, unended link."""
    newer = aliased(PasswordLink)
    return (
        PasswordLink.not_sent.is_not(None),
        PasswordLink.used_at.is_(None),
        User.active.is_(True),
        ~exists().where(newer.user_id == PasswordLink.user_id, newer.id > PasswordLink.id),
    )


def _count(s: Session, tries: int) -> int:
    listed = [
        select(func.count()).select_from(m).where(_listed(m, tries)).scalar_subquery()
        for m in (Reminder, ReminderDigest, AccountEmail)
    ]
    listed.append(
        select(func.count())
        .select_from(PasswordLink)
        .join(User, User.id == PasswordLink.user_id)
        .where(*_links_not_sent())
        .scalar_subquery()
    )
    return s.scalar(select(sum(listed, start=literal(0)))) or 0


def listing(
    db: Database, admin: Actor, tries: int = ReminderSettings.max_attempts, limit: int = LISTED
) -> UndeliveredList:
    require_admin(admin)
    with db.read() as s:
        rows: list[UndeliveredEmail] = []
        for model in (Reminder, ReminderDigest, AccountEmail):
            address = AccountEmail.to_address if model is AccountEmail else User.email
            kind = null() if model is ReminderDigest else model.kind
            found = s.execute(
                select(
                    kind,
                    model.status,
                    model.recipient_id,
                    User.display_name,
                    address,
                    model.created_at,
                    model.attempts,
                    model.last_error,
                )
                .join(User, User.id == model.recipient_id)
                .where(_listed(model, tries))
                .order_by(model.created_at.desc(), model.id.desc())
                .limit(limit)
            )
            rows += [
                UndeliveredEmail(_about(model, k, status), uid, name, to, at, n, error)
                for k, status, uid, name, to, at, n, error in found
            ]
        links = s.execute(
            select(
                PasswordLink.purpose,
                User.id,
                User.display_name,
                User.email,
                PasswordLink.created_at,
                PasswordLink.not_sent,
            )
            .join(User, User.id == PasswordLink.user_id)
            .where(*_links_not_sent())
            .order_by(PasswordLink.created_at.desc(), PasswordLink.id.desc())
            .limit(limit)
        )
        rows += [
            UndeliveredEmail(link_about(purpose), uid, name, to, at, 1, error, True)
            for purpose, uid, name, to, at, error in links
        ]
        rows.sort(key=lambda r: r.written_at, reverse=True)
        return UndeliveredList(rows[:limit], _count(s, tries))


def _about(model, kind, status: str) -> str:
    if model is Reminder:
        if is_reply_kind(kind):
            return REPLY
        if alert_of(kind) is None:
            return REMINDER
        return ALERT if status == "failed" else ALERT_STILL_TRIED
    if model is ReminderDigest:
        return SUMMARY
    return account_emails.ABOUT.get(kind, kind)


def try_again(db: Database, admin: Actor, now: datetime | None = None) -> TriedAgain:
    """Put every e-mail given up on back to be sent now, with a fresh set of tries. Two
    administrators pressing at once put each back once: only rows still `failed` move."""
    require_admin(admin)
    now = now or utcnow()
    again = {
        "status": "pending",
        "attempts": 0,
        "not_before": now,
        "claimed_by": "",
        "claimed_until": None,
    }
    with db.write() as s:
        emails = 0
        for model, which in (
            (Reminder, Reminder.status == "failed"),
            (AccountEmail, AccountEmail.status == "failed"),
            # Today's summary is still today's: sent as it is.
            (
                ReminderDigest,
                (ReminderDigest.status == "failed") & (ReminderDigest.day >= service_day(now)),
            ),
        ):
            emails += _moved(s, update(model).where(which).values(**again))
        # Its reminders wait for the next summary, which checks each one is still owed.
        folded = fold_digests(
            s, (ReminderDigest.status == "failed") & (ReminderDigest.day < service_day(now))
        )
        result = TriedAgain(emails, folded)
        if result.any:
            audit.record(
                s,
                admin,
                "email.try_again",
                detail={"emails": result.emails, "summaries_folded": result.summaries_folded},
            )
    if result.emails:
        account_emails.send_soon(db)
    return result


def _moved(s: Session, statement) -> int:
    return s.execute(statement.execution_options(synchronize_session=False)).rowcount or 0
