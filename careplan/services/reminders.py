"""Reminders owed, and their delivery bookkeeping: exactly once, however many processes run.

1. The **sweep** reads the documents whose review (or waiting signature) is near, through the
   indexes on `documents.next_review_on` and `documents.awaiting_signature_since`, works out
   from the dates every reminder owed by today (see careplan.domain.reviews) and INSERTs them
   with ON CONFLICT DO NOTHING on the unique key (document, due date, kind, recipient,
   channel). Two sweeps at once, a sweep killed half-way, a sweep after three days of
   downtime: each reminder still exists exactly once.
2. A **sender** claims pending rows (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: BEGIN
   IMMEDIATE serialises), each with a lease, and delivers them. In-app notifications are
   written in the same transaction that marks the reminder sent, so they are exactly once.
   E-mails are marked sent straight after the SMTP server accepts them; a sender that dies in
   between leaves its claim to expire and another sends again, with the same Message-ID (the
   one at-least-once window that SMTP leaves; see careplan.reminders.sender).
3. Key workers and supervisors get one **digest** a day: their rows are gathered into one
   `reminder_digests` row per person and day (unique), sent like an e-mail.

Every function takes `now` explicitly: the scheduler passes its clock, tests pass dates.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from ..config import ConfigError, shortest_lease_seconds
from ..db.engine import Database
from ..db.models import (
    CalendarFeed,
    CaseloadLink,
    Document,
    Notification,
    Reminder,
    ReminderDigest,
    SupervisorTeam,
    User,
)
from ..domain.account_rules import called
from ..domain.addresses import record_in
from ..domain.crisis_alerts import (
    ALERT_RETRY_SECONDS,
    URGENT_KIND_PREFIXES,
    alert_of,
    is_alert_kind,
    is_reply_kind,
)
from ..domain.crisis_alerts import KIND_PREFIXES as ALERT_KIND_PREFIXES
from ..domain.local_time import DEFAULT_TIME_ZONE, service_day, service_time, start_of_day
from ..domain.paging import Paged, Window
from ..domain.plan_dates import stuck_on_passed_day
from ..domain.reviews import (
    STAFF_CHANNELS,
    Audience,
    ClientChannel,
    ReminderRules,
    audience_of,
    client_channels,
    is_about_a_document,
    is_about_review_date,
    is_review_kind,
    owed_for_review,
    owed_for_waiting,
    review_date_moved,
    review_due_window,
    superseded,
)
from ..domain.roles import Role
from ..domain.signoff import State
from ..domain.tokens import looks_like_token, new_token, token_hash
from ..domain.wording import without_words_quoted
from . import audit
from .access import visible_clients
from .actor import Actor
from .errors import Invalid, NotFound
from .paging import page_of
from .reviews import ReviewDate, review_dates_for, waiting_for

log = logging.getLogger("careplan.reminders")

OWED_KEY = ["document_id", "due_on", "kind", "recipient_id", "channel"]
NO_LONGER_OWED = "no longer owed"


@dataclass(frozen=True)
class ReminderSettings:
    rules: ReminderRules = field(default_factory=ReminderRules)
    client_default: ClientChannel = ClientChannel.EMAIL
    reminder_hour: int = 7  # on the service's clock: the day's reminders go out from then
    last_hour: int = 21  # ... until then: what is owed later waits for the next morning
    lease: timedelta = timedelta(minutes=5)
    alert_lease: timedelta = timedelta(minutes=1)  # config.shortest_lease_seconds
    max_attempts: int = 8
    base_url: str = "http://127.0.0.1:5000"
    time_zone: str = DEFAULT_TIME_ZONE  # for the moments account e-mails name
    documents_per_transaction: int = 500
    claim_batch: int = 50

    def quiet(self, now: datetime) -> bool:
        """Outside the hours reminders and summaries go out (from the reminder hour until the
        last hour, on the service's clock): nobody is woken by a review reminder. Crisis alerts
        and account e-mails go at any hour."""
        return not self.reminder_hour <= service_time(now).hour < self.last_hour

    def lease_for(self, alert: bool) -> timedelta:
        """How long a sender's claim runs: shorter for a crisis alert, which must not wait
        long for a sender that died holding it."""
        return min(self.alert_lease, self.lease) if alert else self.lease

    @classmethod
    def from_config(cls, config) -> ReminderSettings:
        try:
            rules = ReminderRules(
                due_soon_days=tuple(config["REMINDER_DUE_SOON_DAYS"]),
                due_today=bool(config["REMINDER_DUE_TODAY"]),
                overdue_every_days=int(config["REMINDER_OVERDUE_EVERY_DAYS"]),
                escalate_after_days=int(config["REMINDER_ESCALATE_AFTER_DAYS"]),
                signature_waiting_days=tuple(config["REMINDER_SIGNATURE_WAITING_DAYS"]),
                catch_up_days=int(config["REMINDER_CATCH_UP_DAYS"]),
            )
        except ValueError as exc:
            raise ConfigError(f"Reminder settings: {exc}") from exc
        try:
            default = ClientChannel(config["REMINDER_CLIENT_DEFAULT"])
        except ValueError as exc:
            choices = ", ".join(c.value for c in ClientChannel)
            raise ConfigError(
                f"CAREPLAN_REMINDER_CLIENT_DEFAULT must be one of {choices}, "
                f"got {config['REMINDER_CLIENT_DEFAULT']!r}."
            ) from exc
        hour = int(config["REMINDER_HOUR"])
        if not 0 <= hour <= 23:
            raise ConfigError("CAREPLAN_REMINDER_HOUR must be from 0 to 23.")
        last = int(config["REMINDER_LAST_HOUR"])
        if not hour < last <= 24:
            raise ConfigError(
                f"CAREPLAN_REMINDER_LAST_HOUR must be after CAREPLAN_REMINDER_HOUR ({hour}) "
                f"and at most 24 (reminders at any hour after it), got {last}."
            )
        return cls(
            rules=rules,
            client_default=default,
            reminder_hour=hour,
            last_hour=last,
            lease=timedelta(seconds=int(config["REMINDER_LEASE_SECONDS"])),  # checked in config
            alert_lease=timedelta(
                seconds=shortest_lease_seconds(int(config["SMTP_TIMEOUT_SECONDS"]))
            ),
            max_attempts=int(config["REMINDER_MAX_ATTEMPTS"]),
            base_url=config["PUBLIC_BASE_URL"].rstrip("/"),
            time_zone=config.get("TIME_ZONE") or DEFAULT_TIME_ZONE,
            documents_per_transaction=int(config.get("REMINDER_SWEEP_BATCH") or 500),
            claim_batch=int(config.get("REMINDER_CLAIM_BATCH") or 50),
        )


# --- who gets what ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientContext:
    client_id: int
    client_name: str  # the name the client goes by, as pages call them to staff
    active: bool
    channel: str | None
    worker_id: int | None
    team_id: int | None
    # Has a key worker (an open caseload link): a client who left the service is not
    # reminded of reviews or signatures, and neither is anyone about them.
    in_service: bool = True


def _contexts(s: Session, client_ids: Iterable[int]) -> dict[int, ClientContext]:
    worker = aliased(User)
    rows = s.execute(
        select(
            User.id,
            User.display_name,
            User.preferred_name,
            User.active,
            User.reminder_channel,
            worker.id,
            worker.team_id,
            CaseloadLink.id.is_not(None),
        )
        .select_from(User)
        .outerjoin(
            CaseloadLink, and_(CaseloadLink.client_id == User.id, CaseloadLink.ended_at.is_(None))
        )
        .outerjoin(worker, and_(worker.id == CaseloadLink.key_worker_id, worker.active.is_(True)))
        .where(User.id.in_(set(client_ids)))
    ).all()
    return {r[0]: ClientContext(r[0], called(r[1], r[2]), *r[3:]) for r in rows}


def _supervisors(s: Session, team_ids: Iterable[int | None]) -> dict[int, list[int]]:
    teams = {t for t in team_ids if t is not None}
    out: dict[int, list[int]] = defaultdict(list)
    if teams:
        for team_id, supervisor_id in s.execute(
            select(SupervisorTeam.team_id, SupervisorTeam.supervisor_id)
            .join(User, User.id == SupervisorTeam.supervisor_id)
            .where(SupervisorTeam.team_id.in_(teams), User.active.is_(True))
            .order_by(SupervisorTeam.supervisor_id)
        ):
            out[team_id].append(supervisor_id)
    return out


def _recipients(
    ctx: ClientContext,
    audience: Audience,
    supervisors: dict[int, list[int]],
    settings: ReminderSettings,
    waiting: set[int] | None = None,
) -> list[tuple[int, str]]:
    """(recipient, channel) pairs for one reminder."""
    if not ctx.in_service:
        return []
    mine = client_channels(ctx.channel, settings.client_default) if ctx.active else ()
    if audience is Audience.PARTIES:
        people = [(ctx.client_id, mine)]
        if ctx.worker_id:
            people.append((ctx.worker_id, STAFF_CHANNELS))
    elif audience is Audience.SUPERVISORS:
        people = [(sid, STAFF_CHANNELS) for sid in supervisors.get(ctx.team_id, [])]
    else:
        people = [
            (uid, mine if uid == ctx.client_id else STAFF_CHANNELS) for uid in sorted(waiting or ())
        ]
    return [(uid, ch) for uid, channels in people for ch in channels]


# --- the sweep ----------------------------------------------------------------------------------


@dataclass
class SweepReport:
    reviews_checked: int = 0
    waiting_checked: int = 0
    inserted: int = 0


_PG_INSERT_OWED = text(
    """
    INSERT INTO reminders (document_id, due_on, kind, recipient_id, channel, owed_on, status,
                           attempts, not_before, claimed_by, created_at, last_error)
    SELECT d, du, k, r, ch, o, 'pending', 0, nb, '', :now, ''
    FROM unnest(CAST(:docs AS integer[]), CAST(:dues AS date[]), CAST(:kinds AS text[]),
                CAST(:recipients AS integer[]), CAST(:channels AS text[]),
                CAST(:owed AS date[]), CAST(:not_before AS timestamptz[]))
         AS u(d, du, k, r, ch, o, nb)
    ON CONFLICT (document_id, due_on, kind, recipient_id, channel) DO NOTHING
    RETURNING id
    """
)


def _insert_owed(s: Session, rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on the unique key; returns how many were new."""
    if not rows:
        return 0
    if s.get_bind().dialect.name == "postgresql":
        # One statement with arrays: a multi-row VALUES list of thousands of parameters costs
        # more to build and parse than the insert itself.
        result = s.execute(
            _PG_INSERT_OWED,
            {
                "now": rows[0]["created_at"],
                "docs": [r["document_id"] for r in rows],
                "dues": [r["due_on"] for r in rows],
                "kinds": [r["kind"] for r in rows],
                "recipients": [r["recipient_id"] for r in rows],
                "channels": [r["channel"] for r in rows],
                "owed": [r["owed_on"] for r in rows],
                "not_before": [r["not_before"] for r in rows],
            },
        )
        return len(result.all())
    stmt = (
        sqlite_insert(Reminder.__table__)
        .on_conflict_do_nothing(index_elements=OWED_KEY)
        .returning(Reminder.__table__.c.id)
    )
    return len(s.execute(stmt, rows).all())


def _not_yet_recorded(s: Session, rows: list[dict]) -> list[dict]:
    """Drop rows already recorded (a read on the unique index). Racing sweeps may still
    both try to insert one; ON CONFLICT DO NOTHING settles that."""
    if not rows:
        return rows
    have = set(
        s.execute(
            select(
                Reminder.document_id,
                Reminder.due_on,
                Reminder.kind,
                Reminder.recipient_id,
                Reminder.channel,
            ).where(
                Reminder.document_id.in_({r["document_id"] for r in rows}),
                Reminder.due_on.in_({r["due_on"] for r in rows}),
            )
        ).all()
    )
    return [r for r in rows if tuple(r[k] for k in OWED_KEY) not in have]


def _row(
    doc_id: int, due_on: date, kind: str, owed_on: date, uid: int, ch: str, now, not_before=None
) -> dict:
    return {
        "document_id": doc_id,
        "due_on": due_on,
        "kind": kind,
        "recipient_id": uid,
        "channel": ch,
        "owed_on": owed_on,
        "status": "pending",
        "attempts": 0,
        "not_before": not_before or now,
        "claimed_by": "",
        "created_at": now,
        "last_error": "",
    }


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sweep(db: Database, settings: ReminderSettings, now: datetime) -> SweepReport:
    """Record every reminder owed by `now` that is not yet recorded. Idempotent; safe to run
    in any number of processes at once; its cost follows the documents that are due.
    What it records is not sent before the reminder hour of the service's day."""
    today = service_day(now)
    opens = max(now, start_of_day(today, settings.reminder_hour))
    rules = settings.rules
    report = SweepReport()
    with db.read() as s:
        due = s.execute(
            select(
                Document.id,
                Document.client_id,
                Document.next_review_on,
                Document.next_review_set_on,
            )
            .where(Document.next_review_on <= review_due_window(today, rules))
            .order_by(Document.next_review_on, Document.id)
        ).all()
    # Chunk by chunk: what is owed is worked out in a read; only what is not yet recorded is
    # inserted, in its own short write transaction. A sweep killed half-way has lost nothing
    # the next one will not do again; a sweep with nothing new takes no write lock at all.
    for chunk in _chunks(due, settings.documents_per_transaction):
        with db.read() as s:
            contexts = _contexts(s, (c for _, c, _, _ in chunk))
            supervisors = _supervisors(s, (ctx.team_id for ctx in contexts.values()))
            rows = []
            for doc_id, client_id, due_on, set_on in chunk:
                ctx = contexts.get(client_id)
                if ctx is None:
                    continue
                for owed in owed_for_review(due_on, today, rules, set_on):
                    for uid, ch in _recipients(ctx, owed.audience, supervisors, settings):
                        rows.append(
                            _row(doc_id, due_on, owed.kind, owed.owed_on, uid, ch, now, opens)
                        )
            rows = _not_yet_recorded(s, rows)
        if rows:
            with db.write() as s:
                report.inserted += _insert_owed(s, rows)
        report.reviews_checked += len(chunk)
        log.debug("Swept %s of %s due documents.", report.reviews_checked, len(due))

    first = rules.first_waiting_day
    if first is not None:
        oldest = today - timedelta(days=rules.signature_waiting_days[-1] + rules.catch_up_days)
        with db.read() as s:
            waiting_ids = list(
                s.scalars(
                    select(Document.id)
                    .where(
                        Document.awaiting_signature_since <= today - timedelta(days=first),
                        Document.awaiting_signature_since >= oldest,
                    )
                    .order_by(Document.id)
                )
            )
        for chunk in _chunks(waiting_ids, settings.documents_per_transaction):
            with db.write() as s:
                docs = list(s.scalars(select(Document).where(Document.id.in_(chunk))))
                contexts = _contexts(s, (d.client_id for d in docs))
                rows = []
                for doc in docs:
                    since, ctx = doc.awaiting_signature_since, contexts.get(doc.client_id)
                    if since is None or ctx is None:
                        continue
                    if stuck_on_passed_day(doc.handed_over_until, today):
                        # Nobody can sign or confirm it as it is: nothing to remind anyone
                        # of until a new version is saved (the start page says so).
                        continue
                    who = waiting_for(s, doc)
                    if not who:  # signed or changed since: nothing waits any more
                        doc.awaiting_signature_since = None
                        continue
                    for owed in owed_for_waiting(since, today, rules):
                        for uid, ch in _recipients(ctx, owed.audience, {}, settings, who):
                            rows.append(
                                _row(doc.id, since, owed.kind, owed.owed_on, uid, ch, now, opens)
                            )
                report.inserted += _insert_owed(s, rows)
            report.waiting_checked += len(chunk)
    return report


# --- claiming and delivering --------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    document_id: int
    kind: str
    due_on: date
    channel: str
    recipient_id: int
    recipient_email: str
    recipient_role: Role
    client_name: str
    attempts: int
    claimed_until: datetime
    # A crisis alert's: when it was raised, when the person was told someone would reply, and
    # when an earlier request still waiting was sent (None: none was).
    alert_times: tuple[datetime, datetime, datetime | None] | None = None
    # A review's reminder to a client that a new version of the document waits for them to
    # sign: signing it is the review, said instead of "get in touch".
    signing: bool = False


@dataclass
class Claim:
    items: list[Claimed]
    cancelled: int = 0
    failed: int = 0


IS_ALERT = or_(*(Reminder.kind.startswith(p) for p in ALERT_KIND_PREFIXES))
_IS_URGENT = or_(*(Reminder.kind.startswith(p) for p in URGENT_KIND_PREFIXES))
_URGENT_FIRST = case((_IS_URGENT, 0), else_=1)


def claimable(model, now: datetime):
    """Rows a sender may take now: waiting and due, or claimed by a sender whose lease ran out
    (for every table delivered this way: reminders, digests, account e-mails)."""
    return and_(
        model.status.in_(("pending", "sending")),
        or_(
            and_(model.status == "pending", model.not_before <= now),
            and_(model.status == "sending", model.claimed_until < now),
        ),
    )


def _still_owed(
    s: Session,
    reminder: Reminder,
    doc: Document | None,
    ctx: ClientContext | None,
    supervisors: dict[int, list[int]],
    settings: ReminderSettings,
    waiting_cache: dict[int, set[int]],
    today: date,
) -> bool:
    """Is this reminder still about something that is due, for someone who should hear, and
    not superseded by a later one about the same date?"""
    if doc is None or ctx is None:
        return False
    if is_review_kind(reminder.kind):
        if doc.next_review_on != reminder.due_on:
            return False  # reviewed, or the date moved: a new reminder is owed for the new date
        waiting = None
    else:
        if doc.awaiting_signature_since != reminder.due_on:
            return False
        if stuck_on_passed_day(doc.handed_over_until, today):
            return False  # nobody can sign or confirm it as it is now
        if doc.id not in waiting_cache:
            waiting_cache[doc.id] = waiting_for(s, doc)
        waiting = waiting_cache[doc.id]
    if superseded(reminder.kind, reminder.owed_on, reminder.due_on, today, settings.rules):
        return False
    pairs = _recipients(ctx, audience_of(reminder.kind), supervisors, settings, waiting)
    return (reminder.recipient_id, reminder.channel) in pairs


def _relevance(s: Session, reminders: list[Reminder], settings: ReminderSettings, today: date):
    docs = {
        d.id: d
        for d in s.scalars(
            select(Document).where(Document.id.in_({r.document_id for r in reminders}))
        )
    }
    contexts = _contexts(s, (d.client_id for d in docs.values()))
    supervisors = _supervisors(s, (c.team_id for c in contexts.values()))
    cache: dict[int, set[int]] = {}
    # Crisis alerts are owed until someone answers them (careplan.services.crisis_alerts,
    # which builds on this module, hence the import here).
    from .crisis_alerts import open_among, responders

    alerts = {r.id: alert_of(r.kind) for r in reminders}
    unanswered = open_among(s, {a[0] for a in alerts.values() if a})
    asked = responders(s, {docs[r.document_id].client_id for r in reminders
                           if alerts[r.id] and r.document_id in docs})  # fmt: skip

    def check(r: Reminder) -> tuple[bool, ClientContext | None]:
        doc = docs.get(r.document_id)
        ctx = contexts.get(doc.client_id) if doc else None
        if is_reply_kind(r.kind):
            # Someone did reply, which stays so; e-mailed if the client still wants e-mails.
            wanted = ctx is not None and ctx.active and r.recipient_id == ctx.client_id
            channels = client_channels(ctx.channel, settings.client_default) if wanted else ()
            return r.channel in channels, ctx
        if alerts[r.id]:
            if doc is None or alerts[r.id][0] not in unanswered:
                return False, ctx
            # Moved to another key worker since: their new team is asked instead (the old
            # one may no longer read the client's records at all).
            escalation = alerts[r.id][1]
            team = ctx.team_id if ctx else None
            now_asked = supervisors.get(team, []) if escalation else asked[doc.client_id]
            return not now_asked or r.recipient_id in now_asked, ctx
        return _still_owed(s, r, doc, ctx, supervisors, settings, cache, today), ctx

    return check


def claim(
    db: Database,
    settings: ReminderSettings,
    now: datetime,
    worker: str,
    limit: int | None = None,
    channels: Sequence[str] = ("app", "email"),
) -> Claim:
    """Take up to `limit` reminders to deliver, each leased to `worker` until now + lease,
    crisis alerts first: someone asking for help does not wait behind a backlog of review
    reminders (after the mail server was down for a day, say). Reminders no longer owed
    (reviewed, date moved, person no longer concerned) are cancelled here instead."""
    limit = limit or settings.claim_batch
    result = Claim([])
    # In the evening and the night only crisis alerts, their escalations and the replies to
    # them go.
    hours = _IS_URGENT if settings.quiet(now) else true()
    with db.write() as s:
        rows = list(
            s.scalars(
                select(Reminder)
                .where(Reminder.channel.in_(list(channels)), claimable(Reminder, now), hours)
                .order_by(_URGENT_FIRST, Reminder.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            return result
        check = _relevance(s, rows, settings, service_day(now))
        from .crisis_alerts import times_of  # crisis_alerts builds on this module

        alert_times = times_of(s, {a[0] for r in rows if (a := alert_of(r.kind))})
        people = {
            uid: (email, role)
            for uid, email, role in s.execute(
                select(User.id, User.email, User.role).where(
                    User.id.in_({r.recipient_id for r in rows})
                )
            )
        }
        signers = _waiting_signers(s, rows, people)
        for r in rows:
            owed, ctx = check(r)
            if not owed:
                r.status, r.claimed_until, r.last_error = "cancelled", None, NO_LONGER_OWED
                result.cancelled += 1
                continue
            alert = is_alert(Reminder, r)
            if r.attempts >= settings.max_attempts and not alert:
                r.status, r.claimed_until = "failed", None
                r.last_error = (r.last_error + " | gave up after repeated attempts")[-500:]
                result.failed += 1
                continue
            until = now + settings.lease_for(alert)
            r.status, r.claimed_by, r.claimed_until = "sending", worker, until
            r.attempts += 1
            email, role = people.get(r.recipient_id, ("", Role.CLIENT.value))
            result.items.append(
                Claimed(
                    r.id,
                    r.document_id,
                    r.kind,
                    r.due_on,
                    r.channel,
                    r.recipient_id,
                    email,
                    Role(role),
                    ctx.client_name if ctx else "",
                    r.attempts,
                    until,
                    alert_times.get(a[0]) if (a := alert_of(r.kind)) else None,
                    r.recipient_id in signers.get(r.document_id, ()),
                )
            )
    return result


def _waiting_signers(s: Session, rows, people: dict) -> dict[int, set[int]]:
    """For the claimed reminders of a review sent to a client: the client, for each document
    whose latest version the other has signed and waits for them to sign (not a review to
    confirm with no changes, which is not a new version)."""
    from .signoff import decide_for  # signoff builds on this module

    documents = {
        r.document_id
        for r in rows
        if is_about_review_date(r.kind)
        and people.get(r.recipient_id, ("", ""))[1] == Role.CLIENT.value
    }
    waiting = {}
    for d in s.scalars(select(Document).where(Document.id.in_(documents))):
        decision = decide_for(s, d)
        if decision.state is State.AWAITING_SIGNATURE and Role.CLIENT in decision.waiting_for:
            waiting[d.id] = {d.client_id}
    return waiting


def deliver_in_app(
    db: Database, items: Sequence[Claimed], texts: dict[int, tuple[str, str]], now: datetime,
    worker: str,
) -> int:  # fmt: skip
    """Write the notifications and mark their reminders sent, in one transaction: exactly
    once, whatever happens to this process. Returns how many were delivered."""
    delivered = 0
    with db.write() as s:
        for item in items:
            moved = s.execute(
                update(Reminder)
                .where(
                    Reminder.id == item.id,
                    Reminder.status == "sending",
                    Reminder.claimed_by == worker,
                )
                .values(status="sent", sent_at=now, claimed_until=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved != 1:
                continue  # the lease ran out and another sender took it over
            text, link = texts[item.id]
            s.add(
                Notification(
                    user_id=item.recipient_id,
                    reminder_id=item.id,
                    document_id=item.document_id,
                    text=text,
                    link=link,
                    created_at=now,
                )
            )
            delivered += 1
    return delivered


def extend_claim(db: Database, row_id: int, worker: str, until: datetime, model=Reminder) -> bool:
    """Just before an e-mail goes out: the claim now runs until `until` (a whole lease from
    now), so however late in its batch, the sender has all of it to send and record "sent".
    False: the claim was lost (it ran out and another sender took the row)."""
    with db.write() as s:
        return (
            s.execute(
                update(model)
                .where(model.id == row_id, model.status == "sending", model.claimed_by == worker)
                .values(claimed_until=until)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )


def mark_sent(db: Database, row_id: int, worker: str, now: datetime, model=Reminder) -> bool:
    """After the e-mail was accepted. False: the lease had run out (another may send it)."""
    with db.write() as s:
        return (
            s.execute(
                update(model)
                .where(model.id == row_id, model.status == "sending", model.claimed_by == worker)
                .values(status="sent", sent_at=now, claimed_until=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )


def _backoff(attempts: int, alert: bool = False) -> timedelta:
    longest = ALERT_RETRY_SECONDS if alert else 3600
    return timedelta(seconds=min(longest, 30 * 2 ** max(0, attempts - 1)))


def is_alert(model, item) -> bool:
    """Whether `item` (a row of `model`, or what was claimed of one) delivers a crisis alert
    or its escalation. Only reminders do, and only they have a kind to ask."""
    return model is Reminder and alert_of(item.kind) is not None


def mark_failed(
    db: Database,
    settings: ReminderSettings,
    reminder_id: int,
    worker: str,
    now: datetime,
    error: str,
    model=Reminder,
    give_up: bool = False,
) -> None:
    """Delivery failed: try again later (with back-off), or give up after max attempts, or
    at once when no later try could succeed (`give_up`)."""
    with db.write() as s:
        row = s.get(model, reminder_id)
        if row is None or row.status != "sending" or row.claimed_by != worker:
            return
        row.last_error = error[:500]
        row.claimed_until = None
        alert = is_alert(model, row)
        if give_up or (row.attempts >= settings.max_attempts and not alert):
            row.status = "failed"
        else:
            row.status, row.not_before = "pending", now + _backoff(row.attempts, alert)


def release(db: Database, ids: Sequence[int], worker: str, model=Reminder) -> None:
    """Give back claimed rows that were not tried, so they need not wait for the lease."""
    if not ids:
        return
    with db.write() as s:
        s.execute(
            update(model)
            .where(model.id.in_(list(ids)), model.status == "sending", model.claimed_by == worker)
            .values(status="pending", claimed_until=None, attempts=model.attempts - 1)
            .execution_options(synchronize_session=False)
        )


# --- daily digests for key workers and supervisors -------------------------------------------


@dataclass(frozen=True)
class DigestItem:
    reminder_id: int
    document_id: int
    kind: str
    due_on: date
    client_name: str


@dataclass(frozen=True)
class ClaimedDigest:
    id: int
    recipient_id: int
    recipient_email: str
    day: date
    items: list[DigestItem]
    claimed_until: datetime


def build_digests(db: Database, settings: ReminderSettings, now: datetime) -> int:
    """Gather each worker's and supervisor's pending digest reminders into today's digest.
    Does nothing outside the hours reminders go out (ReminderSettings.quiet). A digest
    already sent today is not added to: what arrives later goes into tomorrow's. Returns how
    many reminders were gathered."""
    clock = service_time(now)
    if settings.quiet(now):
        return 0
    today = clock.date()
    with db.write() as s:
        fold_digests(s, _earlier_unsent(now))
    with db.read() as s:
        recipients = list(
            s.scalars(
                select(Reminder.recipient_id)
                .where(Reminder.channel == "digest", Reminder.status == "pending")
                .distinct()
                .order_by(Reminder.recipient_id)
            )
        )
    gathered = 0
    for chunk in _chunks(recipients, 100):
        with db.write() as s:
            insert = (pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert)(
                ReminderDigest.__table__
            )
            s.execute(
                insert.on_conflict_do_nothing(index_elements=["recipient_id", "day"]),
                [
                    {
                        "recipient_id": uid,
                        "day": today,
                        "status": "pending",
                        "attempts": 0,
                        "not_before": now,
                        "claimed_by": "",
                        "created_at": now,
                        "last_error": "",
                    }
                    for uid in chunk
                ],
            )
            # Locked, so a sender cannot claim a digest while reminders are added to it.
            digests = {
                d.recipient_id: d
                for d in s.scalars(
                    select(ReminderDigest)
                    .where(ReminderDigest.recipient_id.in_(chunk), ReminderDigest.day == today)
                    .with_for_update()
                )
                if d.status == "pending"
            }
            if not digests:
                continue
            rows = list(
                s.scalars(
                    select(Reminder)
                    .where(
                        Reminder.recipient_id.in_(list(digests)),
                        Reminder.channel == "digest",
                        Reminder.status == "pending",
                    )
                    .order_by(Reminder.id)
                    .with_for_update(skip_locked=True)
                )
            )
            check = _relevance(s, rows, settings, service_day(now)) if rows else None
            for r in rows:
                if not check(r)[0]:
                    r.status, r.last_error = "cancelled", NO_LONGER_OWED
                    continue
                r.status, r.digest_id = "digested", digests[r.recipient_id].id
                gathered += 1
    return gathered


FOLDED = "its reminders went into a later summary"


def _earlier_unsent(now: datetime):
    """Summaries of an earlier day that a sender would still take (never sent, or its sender
    died): a summary goes out on its own day or not at all."""
    return and_(claimable(ReminderDigest, now), ReminderDigest.day < service_day(now))


def fold_digests(s: Session, which) -> int:
    """End the summaries `which` selects without sending them; their reminders wait for the
    next summary, which checks each is still owed when it gathers them. Only rows that still
    match when this transaction reaches them move, so two callers fold each summary once."""
    ids = list(
        s.execute(
            update(ReminderDigest)
            .where(which)
            .values(status="cancelled", claimed_until=None, last_error=FOLDED)
            .returning(ReminderDigest.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if ids:
        s.execute(
            update(Reminder)
            .where(Reminder.digest_id.in_(ids), Reminder.status == "digested")
            .values(status="pending", digest_id=None)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def claim_digests(
    db: Database, settings: ReminderSettings, now: datetime, worker: str, limit: int = 20
) -> list[ClaimedDigest]:
    """Take today's summaries to send. Each reminder in them is checked again (reviewed,
    moved or handed over since it was gathered: cancelled, and a summary left with nothing
    is not sent); an earlier day's summary is not sent late (fold_digests)."""
    out = []
    if settings.quiet(now):
        return out  # not in the evening or the night; tomorrow's takes in what is left
    with db.write() as s:
        fold_digests(s, _earlier_unsent(now))
        digests = list(
            s.scalars(
                select(ReminderDigest)
                .where(claimable(ReminderDigest, now))
                .order_by(ReminderDigest.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not digests:
            return out
        until = now + settings.lease
        gathered = s.execute(
            select(Reminder, Document.client_id)
            .join(Document, Document.id == Reminder.document_id)
            .where(Reminder.digest_id.in_([d.id for d in digests]), Reminder.status == "digested")
            .order_by(Reminder.due_on, Reminder.id)
        ).all()
        # Checked again, all at once: what is no longer owed is left out and cancelled.
        check = (
            _relevance(s, [r for r, _ in gathered], settings, service_day(now))
            if gathered
            else None
        )
        owed: dict[int, list] = defaultdict(list)
        for r, client_id in gathered:
            if check(r)[0]:
                owed[r.digest_id].append((r, client_id))
            else:
                r.status, r.last_error = "cancelled", NO_LONGER_OWED
        for d in digests:
            rows = owed[d.id]
            if not rows:
                d.status = "empty"
                continue
            if d.attempts >= settings.max_attempts:
                d.status, d.claimed_until = "failed", None
                continue
            names = dict(
                s.execute(
                    select(User.id, User.display_name).where(
                        User.id.in_({client_id for _, client_id in rows})
                    )
                ).all()
            )
            d.status, d.claimed_by, d.claimed_until = "sending", worker, until
            d.attempts += 1
            out.append(
                ClaimedDigest(
                    d.id,
                    d.recipient_id,
                    s.scalar(select(User.email).where(User.id == d.recipient_id)) or "",
                    d.day,
                    [
                        DigestItem(r.id, r.document_id, r.kind, r.due_on, names.get(cid, ""))
                        for r, cid in rows
                    ],
                    until,
                )
            )
    return out


def mark_digest_sent(db: Database, digest: ClaimedDigest, worker: str, now: datetime) -> bool:
    with db.write() as s:
        moved = s.execute(
            update(ReminderDigest)
            .where(
                ReminderDigest.id == digest.id,
                ReminderDigest.status == "sending",
                ReminderDigest.claimed_by == worker,
            )
            .values(status="sent", sent_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved == 1:
            s.execute(
                update(Reminder)
                .where(Reminder.id.in_([i.reminder_id for i in digest.items]))
                .values(status="sent", sent_at=now)
                .execution_options(synchronize_session=False)
            )
        return moved == 1


# --- in-app notifications ------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationView:
    id: int
    text: str
    link: str
    created_at: datetime
    read: bool
    # It led into a client's records this person can no longer open (a handover since, an
    # advocate's invitation ended): kept, without a link that would answer "not found".
    closed: bool = False
    # A reminder of a review date that has changed since: the date now (None: none is set).
    review_moved: bool = False
    next_review_on: date | None = None
    # And the day the review was done, when that is why it moved (done since the message).
    reviewed_on: date | None = None
    # A reminder about one document: its title ("Care plan"), as a client's two documents'
    # reminders read alike. Not for someone who can no longer open it.
    about: str = ""
    # A request for help: still open to a key worker of the team answering it, who may no
    # longer hold the client (handed over within the team).
    alert: bool = False


def notifications_for(db: Database, actor: Actor, limit: int = 100) -> list[NotificationView]:
    """This person's latest notices, newest first (the reminders page shows `limit`)."""
    with db.read() as s:
        items = [_notification(*row) for row in s.execute(_notifications(actor).limit(limit))]
        return _still_open(s, actor, items)


def notifications_page(db: Database, actor: Actor, window: Window) -> Paged[NotificationView]:
    """All of them, one page at a time, with the count of the whole list."""
    with db.read() as s:
        paged = page_of(s, _notifications(actor), window, _notification)
        return replace(paged, items=_still_open(s, actor, paged.items))


def _still_open(s: Session, actor: Actor, items: list[NotificationView]) -> list[NotificationView]:
    """The notices with links into records the person may no longer read marked closed, their
    link taken off: two statements at most, whatever the number of notices."""
    records = {n.id: found for n in items if n.link and (found := record_in(n.link))}
    if not records:
        return items
    documents = {i for kind, i in records.values() if kind == "documents"}
    client_of = (
        dict(
            s.execute(
                select(Document.id, Document.client_id).where(Document.id.in_(documents))
            ).all()
        )
        if documents
        else {}
    )
    wanted = {i for kind, i in records.values() if kind == "clients"} | set(client_of.values())
    visible = set(
        s.scalars(visible_clients(actor).with_only_columns(User.id).where(User.id.in_(wanted)))
    )

    def client(kind: str, i: int) -> int | None:
        return client_of.get(i) if kind == "documents" else i

    asked = {client(*records[n.id]) for n in items if n.alert and n.id in records} - visible
    if asked:
        from .crisis_alerts import responders  # crisis_alerts builds on this module

        answering = {c for c, people in responders(s, asked).items() if actor.id in people}
    else:
        answering = set()

    def open_(n: NotificationView) -> bool:
        about = client(*records[n.id])
        return about in visible or (n.alert and about in answering)

    return [
        replace(n, text=without_words_quoted(n.text), link="", closed=True, about="")
        if n.id in records and not open_(n)
        else n
        for n in items
    ]


def _notifications(actor: Actor):
    # With the reminder a notice came from, and its document's review date now (one row each).
    return (
        select(
            Notification,
            Reminder.kind,
            Reminder.due_on,
            Document.next_review_on,
            Document.title,
            Document.last_reviewed_on,
        )
        .outerjoin(Reminder, Reminder.id == Notification.reminder_id)
        .outerjoin(Document, Document.id == Reminder.document_id)
        .where(Notification.user_id == actor.id)
        .order_by(Notification.id.desc())
    )


def _notification(
    n: Notification,
    kind: str | None,
    reminded_of: date | None,
    next_review_on: date | None,
    title: str | None,
    last_reviewed_on: date | None = None,
) -> NotificationView:
    moved = (
        is_about_review_date(kind)
        and reminded_of is not None
        and review_date_moved(reminded_of, next_review_on)
    )
    # Moved because the review it reminded of was done since: said so, not only "changed".
    done = (
        last_reviewed_on
        if moved and last_reviewed_on is not None and last_reviewed_on >= service_day(n.created_at)
        else None
    )
    return NotificationView(
        n.id,
        n.text,
        n.link,
        n.created_at,
        n.read_at is not None,
        review_moved=moved,
        next_review_on=next_review_on if moved else None,
        reviewed_on=done,
        about=(title or "") if is_about_a_document(kind) else "",
        alert=bool(kind) and is_alert_kind(kind),
    )


def unread_count(db: Database, actor: Actor) -> int:
    with db.read() as s:
        return s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        )


def mark_read(db: Database, actor: Actor, now: datetime, notification_id: int | None = None) -> int:
    """Mark this person's notifications read (one, or all). Nobody else's are touched."""
    with db.write() as s:
        query = update(Notification).where(
            Notification.user_id == actor.id, Notification.read_at.is_(None)
        )
        if notification_id is not None:
            query = query.where(Notification.id == notification_id)
        return s.execute(
            query.values(read_at=now).execution_options(synchronize_session=False)
        ).rowcount


# --- the client's choice ---------------------------------------------------------------------


def channel_of(db: Database, actor: Actor, settings: ReminderSettings) -> ClientChannel:
    with db.read() as s:
        choice = s.scalar(select(User.reminder_channel).where(User.id == actor.id))
    try:
        return ClientChannel(choice) if choice else settings.client_default
    except ValueError:
        return settings.client_default


def choose_channel(db: Database, actor: Actor, choice: str) -> ClientChannel:
    """A client chooses how they are reminded: e-mail, in the app only, or not at all."""
    if actor.role is not Role.CLIENT:
        raise NotFound()
    try:
        channel = ClientChannel(choice)
    except ValueError as exc:
        raise Invalid("Please choose one of the options.") from exc
    with db.write() as s:
        user = s.get(User, actor.id)
        user.reminder_channel = channel.value
        audit.record(
            s, actor, "reminders.channel", "user", actor.id, client_id=actor.id,
            detail={"channel": channel.value},
        )  # fmt: skip
    return channel


# --- private calendar feed -------------------------------------------------------------------


def refuse_admins(role: Role) -> None:
    """Administrators see no clinical content, so they have no review dates: neither the page
    of review dates and reminders nor a calendar of them is there for them (NotFound, as the
    access log and the supervisors' pages are not)."""
    if role is Role.ADMIN:
        raise NotFound()


def new_calendar_token(db: Database, actor: Actor, now: datetime) -> str:
    """A new secret calendar address; any earlier one stops working. Shown once."""
    refuse_admins(actor.role)
    token = new_token()
    with db.write() as s:
        feed = s.get(CalendarFeed, actor.id)
        if feed is None:
            s.add(CalendarFeed(user_id=actor.id, token_hash=token_hash(token), created_at=now))
        else:
            feed.token_hash, feed.created_at = token_hash(token), now
        audit.record(
            s, actor, "calendar.new_address", "user", actor.id,
            client_id=actor.own_client_id,
        )  # fmt: skip
    return token


def forget_calendar(s: Session, user_id: int) -> None:
    """End the person's calendar address, inside the caller's transaction (closing an
    account: opened again, it starts without one)."""
    s.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))


def stop_calendar(db: Database, actor: Actor) -> None:
    refuse_admins(actor.role)
    with db.write() as s:
        feed = s.get(CalendarFeed, actor.id)
        if feed is not None:
            s.delete(feed)
            audit.record(
                s, actor, "calendar.stop", "user", actor.id,
                client_id=actor.own_client_id,
            )  # fmt: skip


def calendar_started(db: Database, actor: Actor) -> datetime | None:
    refuse_admins(actor.role)
    with db.read() as s:
        feed = s.get(CalendarFeed, actor.id)
        return feed.created_at if feed else None


def calendar_for_token(db: Database, token: str) -> tuple[Actor, list[ReviewDate]]:
    """The review dates behind a calendar address; NotFound for any unknown address."""
    if not looks_like_token(token):
        raise NotFound()
    with db.read() as s:
        user = s.scalar(
            select(User)
            .join(CalendarFeed, CalendarFeed.user_id == User.id)
            .where(CalendarFeed.token_hash == token_hash(token), User.active.is_(True))
        )
        if user is None:
            raise NotFound()
        actor = Actor(user.id, Role(user.role), user.display_name)
    refuse_admins(actor.role)  # an address made before admins were refused one
    return actor, review_dates_for(db, actor)


# --- counts, for tests, the bench and the command line --------------------------------------


def status_counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return dict(
            s.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all()
        )
