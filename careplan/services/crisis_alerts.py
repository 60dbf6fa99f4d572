"""Crisis alerts: asking for help reaches a person, and someone answers.

- **Raising** (inside the transaction that puts the crisis plan into effect or records a
  self-referral request): one append-only `crisis_alerts` row, and a reminder per person and
  channel (in the app and by e-mail) for the client's key worker and the key workers of their
  team. The reminders are recorded with the reminders' own unique key, so the senders that
  deliver review reminders deliver these exactly once too (careplan.services.reminders).
- **Responding**: an append-only `crisis_responses` row (who, when, what they said) and an
  audit event. From then on the alert is answered: it leaves the start pages, and reminders
  about it that are still waiting are cancelled when a sender claims them, not sent.
- **Escalating** (a scheduler job): an alert nobody has answered by its `respond_by` gets a
  reminder for each supervisor of the key worker's team, again under the unique key, so
  however many schedulers run and however often, each supervisor is told once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from ..db.engine import Database, locked
from ..db.models import (
    CaseloadLink,
    ContingencyActivation,
    CrisisAlert,
    CrisisResponse,
    Document,
    SelfReferralRequest,
    SupervisorTeam,
    Team,
    User,
    Version,
)
from ..domain.account_rules import called
from ..domain.agreement import blank_on_purpose
from ..domain.crisis_alerts import (
    ALERT_CHANNELS,
    AlertAccess,
    AlertKind,
    UrgentNumber,
    alert_access,
    alert_of,
    earliest_waiting,
    needs_escalation,
    parse_urgent_numbers,
    reminder_kind,
    reply_kind,
    respond_by,
    validate_response,
)
from ..domain.local_time import service_day
from ..domain.roles import Role
from ..domain.wording import Named, crisis_reply_notice
from . import audit
from .access import PERSON, access_to
from .actor import Actor
from .answered_messages import mark_answered
from .errors import Invalid, NotFound, ReadOnly

# The reminders' own bookkeeping: one way of recording deliveries exactly once.
from .reminders import _contexts, _insert_owed, _not_yet_recorded, _row
from .reminders import _supervisors as supervisors_of_teams

log = logging.getLogger("careplan.crisis")

# How long an answered alert stays on the client's own start page.
ANSWERED_SHOWN_FOR = timedelta(days=2)
# How long a team colleague who answered an alert keeps its page, to follow up on what they
# said. Not for ever: the page shows the agreed crisis section, which is not theirs to read.
COLLEAGUE_FOLLOW_UP = timedelta(days=2)
SELF_ANSWER = "I raised this myself and I am dealing with it."


@dataclass(frozen=True)
class AlertSettings:
    respond_within: timedelta = timedelta(minutes=60)
    urgent_numbers: tuple[UrgentNumber, ...] = (UrgentNumber("Emergency services", "999"),)

    @classmethod
    def from_config(cls, config) -> AlertSettings:
        return cls(
            respond_within=timedelta(minutes=int(config["CRISIS_RESPONSE_MINUTES"])),
            urgent_numbers=parse_urgent_numbers(config["URGENT_HELP_NUMBERS"]),
        )


DEFAULT_SETTINGS = AlertSettings()


# --- views ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseView:
    by: str  # "Kim Reid"; pages say who they are to the reader (domain.wording)
    at: datetime
    note: str
    by_role: str = ""
    by_id: int | None = None


@dataclass(frozen=True)
class AskedStay:
    """What a request for a short stay asked: every field as it was sent."""

    nights: int
    last_discharge_on: date | None
    note: str  # in the client's words
    within_terms: bool
    agreed: bool  # False: nothing was agreed, so it was a plain request, not checked
    # How it was checked against each term, when it was sent ("6 nights is more than the
    # agreed 5 nights."): "outside them" alone did not say which.
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class AskedPlan:
    """What was written when the plan was put into effect, and whether it has stopped since:
    the request stays on pages after the plan ends, which must not read as still running."""

    observed: str
    actions_taken: str
    ends_on: date
    # Someone ended it before its end date: who, when and what they noted.
    ended_at: datetime | None = None
    ended_by: Named = Named("")
    end_note: str = ""
    # It is no longer in effect: ended by someone, or its end date has passed.
    over: bool = False


@dataclass(frozen=True)
class AlertView:
    id: int
    document_id: int
    client_id: int
    client_name: str
    kind: AlertKind
    raised_by: str
    raised_at: datetime
    respond_by: datetime
    # Who is asked to respond: the client's key worker now and their team (after a handover,
    # the new ones: `reach_new_key_worker`), or those asked first while the client has none.
    # Empty if nobody is.
    key_worker: str
    team: str
    responses: list[ResponseView] = field(default_factory=list)
    late: bool = False  # nobody answered in time: the supervisors are told
    raised_by_role: str = ""
    raised_by_id: int | None = None
    key_worker_id: int | None = None  # who `key_worker` is
    client_called: str = ""  # the name the client goes by, which pages use for them
    # The key worker who holds the client now (None once they left the service): pages name
    # the alert's people by it, as a document's pages do by its sign-off (web.wording.person).
    held_by: int | None = None
    # Every key worker the client has had: any other who answered (a colleague of theirs)
    # is not a former one of the client's.
    theirs: frozenset[int] = frozenset()
    # What was asked, so whoever responds reads it beside their answer.
    asked: AskedStay | AskedPlan | None = None
    # When an earlier request of the same kind was sent that was still waiting when this one
    # was: the same client asking again, not a new matter.
    again_after: datetime | None = None

    @property
    def answered(self) -> bool:
        return bool(self.responses)


@dataclass(frozen=True)
class Essentials:
    """What was agreed for when the client is not well, repeated where it is needed."""

    version_number: int
    agreed: bool  # False: nothing is agreed yet, this is the latest draft
    sections: list[dict]  # template sections (only the fields shown), each with its "values"
    # "section.field" of the empty parts both signers confirmed are left blank on purpose:
    # the signed PDF says so, and so do the pages repeating what was agreed.
    blank_on_purpose: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AlertPage:
    document_id: int
    client_id: int
    client_called: str  # the name the client goes by, which pages use for them
    title: str
    access: AlertAccess
    alerts: list[AlertView]
    essentials: Essentials | None
    # Who holds the client now (None: nobody), so a key worker who wrote the plan and has
    # handed them over since is named as their former one.
    key_worker_id: int | None = None

    @property
    def waiting(self) -> list[AlertView]:
        return [a for a in self.alerts if not a.answered]


# --- raising ---------------------------------------------------------------------------------------


def raise_alert(
    s: Session,
    actor: Actor,
    doc: Document,
    kind: AlertKind,
    now: datetime,
    settings: AlertSettings,
    activation_id: int | None = None,
    self_referral_id: int | None = None,
) -> CrisisAlert:
    """Record the alert and what it owes, in the caller's transaction: it is raised exactly
    when the request it belongs to is recorded, or not at all."""
    from .signoff import current_key_worker

    key_worker_id = current_key_worker(s, doc.client_id)
    alert = CrisisAlert(
        document_id=doc.id,
        client_id=doc.client_id,
        kind=kind.value,
        activation_id=activation_id,
        self_referral_id=self_referral_id,
        raised_by_id=actor.id,
        raised_at=now,
        key_worker_id=key_worker_id,
        respond_by=respond_by(now, settings.respond_within),
    )
    s.add(alert)
    s.flush()
    audit.record(
        s,
        actor,
        "crisis.alert",
        "document",
        doc.id,
        client_id=doc.client_id,
        detail={"alert": alert.id, "kind": kind.value, "respond_by": alert.respond_by.isoformat()},
        at=now,
    )
    if actor.role is Role.KEY_WORKER and actor.id == key_worker_id:
        # The key worker raised it with the client: they are the response; nobody is paged.
        _answer(s, actor, alert, SELF_ANSWER, now)
        return alert
    rows = [
        _row(doc.id, service_day(now), reminder_kind(alert.id), service_day(now), uid, channel, now)
        for uid in _team_of(s, key_worker_id)
        for channel in ALERT_CHANNELS
    ]
    _insert_owed(s, rows)
    return alert


def reach_new_key_worker(s: Session, client_id: int, now: datetime) -> int:
    """The client has just been put on another key worker's caseload: what they asked for
    that nobody has answered goes to the new key worker and their team too, in the caller's
    transaction. (Those no longer concerned are not sent theirs: `responders`.)"""
    from .signoff import current_key_worker

    people = _team_of(s, current_key_worker(s, client_id))
    rows = [
        _row(alert.document_id, day, reminder_kind(alert.id), day, uid, channel, now)
        for alert in s.scalars(_waiting().where(CrisisAlert.client_id == client_id))
        for day in (service_day(alert.raised_at),)  # the day in the alert's unique key
        for uid in people
        for channel in ALERT_CHANNELS
    ]
    return _insert_owed(s, rows)


def responders(s: Session, client_ids: Iterable[int]) -> dict[int, set[int]]:
    """Who is asked to answer each client's alerts now: their key worker and that worker's
    team. A client with no key worker has nobody here, and then whoever was asked when the
    alert was raised stays asked rather than nobody."""
    from .signoff import current_key_worker

    return {c: set(_team_of(s, current_key_worker(s, c))) for c in set(client_ids)}


def _team_of(s: Session, key_worker_id: int | None) -> list[int]:
    """The key worker and the other active key workers of their team."""
    if key_worker_id is None:
        return []
    worker = s.get(User, key_worker_id)
    people = {worker.id} if worker.active else set()
    if worker.team_id is not None:
        people |= set(
            s.scalars(
                select(User.id).where(
                    User.team_id == worker.team_id,
                    User.role == Role.KEY_WORKER.value,
                    User.active.is_(True),
                )
            )
        )
    return sorted(people)


# --- responding ------------------------------------------------------------------------------------


def respond(db: Database, actor: Actor, document_id: int, note: str, now: datetime) -> int:
    """Answer every alert on this agreement that is waiting. Returns how many were answered."""
    note = validate_response(note)
    with db.write() as s:
        doc, access = _document_and_access(s, actor, document_id, now)
        if not access.respond:
            raise ReadOnly("Your key worker, their team or their supervisor responds here.")
        # Two answers at once take turns, so the second finds the alerts answered.
        locked(s, Document, doc.id)
        waiting = list(s.scalars(_waiting().where(CrisisAlert.document_id == doc.id)))
        if not waiting:
            raise Invalid("Someone has already responded. Nothing else is waiting.")
        for alert in waiting:
            _answer(s, actor, alert, note, now)
        _alert_messages_answered(s, doc.id, {a.id for a in waiting}, now)
        if note != SELF_ANSWER:  # raised by the key worker with the client: they know
            _tell_of_reply(s, actor, doc, min(a.id for a in waiting), now)
        return len(waiting)


def _alert_messages_answered(s: Session, document_id: int, alert_ids: set[int], now) -> None:
    """The messages that these requests were waiting for a reply (and their escalations) are
    answered."""
    mark_answered(
        s,
        document_id,
        lambda _link, kind: kind is not None and (alert_of(kind) or (None,))[0] in alert_ids,
        now,
    )


def _tell_of_reply(s: Session, actor: Actor, doc: Document, alert_id: int, now: datetime) -> None:
    """The client (and their key worker, when a colleague or a supervisor answered) hears at
    once that someone responded: they may not be looking at the page, or the app. The client
    is also e-mailed if they get their reminders by e-mail, which the sender decides as it
    sends (careplan.services.reminders), as for any reminder of theirs."""
    from .signoff import current_key_worker, tell_the_two  # signoff builds on this module

    theirs = actor.id == current_key_worker(s, doc.client_id)
    tell_the_two(
        s, actor, doc,
        lambda to_client, client_name: crisis_reply_notice(
            actor.name, actor.role, theirs=theirs, reader_is_client=to_client,
            client_name=client_name,
        ),
        f"/documents/{doc.id}/crisis-plan",
    )  # fmt: skip
    day = service_day(now)
    _insert_owed(s, [_row(doc.id, day, reply_kind(alert_id), day, doc.client_id, "email", now)])


def _answer(s: Session, actor: Actor, alert: CrisisAlert, note: str, now: datetime) -> None:
    s.add(
        CrisisResponse(
            alert_id=alert.id, user_id=actor.id, role=actor.role.value, responded_at=now, note=note
        )
    )
    audit.record(
        s,
        actor,
        "crisis.respond",
        "document",
        alert.document_id,
        client_id=alert.client_id,
        # Raised by the key worker with the client: nobody else was asked, which the history
        # says rather than a reply to themselves.
        detail={"alert": alert.id, **({"raised_it": True} if note == SELF_ANSWER else {})},
        at=now,
    )


def _answered(alert_id_column=CrisisAlert.id):
    return exists().where(CrisisResponse.alert_id == alert_id_column)


def _waiting():
    return select(CrisisAlert).where(~_answered()).order_by(CrisisAlert.id)


def times_of(
    s: Session, alert_ids: set[int]
) -> dict[int, tuple[datetime, datetime, datetime | None]]:
    """When each alert was raised, by when someone was to respond, and when an earlier request
    of the same kind still waiting then was sent (None if none was): for its messages."""
    if not alert_ids:
        return {}
    rows = s.execute(
        select(CrisisAlert.id, CrisisAlert.raised_at, CrisisAlert.respond_by).where(
            CrisisAlert.id.in_(alert_ids)
        )
    )
    again = asked_again(s, alert_ids)
    return {alert_id: (raised, by, again.get(alert_id)) for alert_id, raised, by in rows}


def asked_again(s: Session, alert_ids: Iterable[int]) -> dict[int, datetime]:
    """For each of these alerts raised while an earlier one of the same kind on the same
    agreement was still waiting: when the earliest such one was raised."""
    alert_ids = set(alert_ids)
    if not alert_ids:
        return {}
    this, earlier = CrisisAlert.__table__.alias("this"), CrisisAlert.__table__.alias("earlier")
    answered_by_then = exists().where(
        CrisisResponse.alert_id == earlier.c.id, CrisisResponse.responded_at <= this.c.raised_at
    )
    rows = s.execute(
        select(this.c.id, func.min(earlier.c.raised_at))
        .join(
            earlier,
            and_(
                earlier.c.document_id == this.c.document_id,
                earlier.c.kind == this.c.kind,
                earlier.c.id < this.c.id,
            ),
        )
        .where(this.c.id.in_(alert_ids), ~answered_by_then)
        .group_by(this.c.id)
    )
    return dict(rows.all())


def waiting_since(s: Session, document_id: int) -> dict[AlertKind, datetime]:
    """When the earliest request of each kind on this agreement still waiting was sent
    (domain.crisis_alerts.earliest_waiting): the client is told before asking again."""
    rows = [
        (AlertKind(a.kind), a.raised_at, False)
        for a in s.scalars(_waiting().where(CrisisAlert.document_id == document_id))
    ]
    found = {kind: earliest_waiting(kind, rows) for kind in AlertKind}
    return {kind: at for kind, at in found.items() if at is not None}


def open_among(s: Session, alert_ids: set[int]) -> set[int]:
    """Which of these alerts nobody has answered yet (a sender asks before delivering)."""
    if not alert_ids:
        return set()
    return set(s.scalars(select(CrisisAlert.id).where(CrisisAlert.id.in_(alert_ids), ~_answered())))


# --- escalating ------------------------------------------------------------------------------------


def escalate(db: Database, now: datetime) -> int:
    """Tell the supervisors about every alert nobody has answered in time. Idempotent and safe
    in any number of processes at once: each supervisor's reminder exists once (unique key,
    dated by the alert, not by the run). Returns how many reminders were newly recorded."""
    owed: dict[int, tuple[CrisisAlert, list[int], list[dict]]] = {}
    with db.read() as s:
        late = list(
            s.scalars(
                select(CrisisAlert)
                .where(CrisisAlert.respond_by <= now, ~_answered())
                .order_by(CrisisAlert.id)
            )
        )
        if not late:
            return 0
        contexts = _contexts(s, {a.client_id for a in late})
        teams = {a.id: getattr(contexts.get(a.client_id), "team_id", None) for a in late}
        supervisors = supervisors_of_teams(s, teams.values())
        rows = []
        for alert in late:
            people = supervisors.get(teams[alert.id], [])
            if not people:
                log.warning("Alert %s is not answered and its team has no supervisor.", alert.id)
                continue
            day, kind = service_day(alert.raised_at), reminder_kind(alert.id, escalation=True)
            owed_on = service_day(alert.respond_by)
            for uid in people:
                for channel in ALERT_CHANNELS:
                    rows.append(_row(alert.document_id, day, kind, owed_on, uid, channel, now))
            owed[alert.id] = (alert, people, [])
        by_kind = {reminder_kind(a.id, escalation=True): a.id for a, _, _ in owed.values()}
        for row in _not_yet_recorded(s, rows):
            owed[by_kind[row["kind"]]][2].append(row)
    inserted = 0
    for alert, people, rows in owed.values():
        if not rows:
            continue  # told already
        with db.write() as s:
            new = _insert_owed(s, rows)
            if new:
                audit.record(
                    s,
                    None,
                    "crisis.escalate",
                    "document",
                    alert.document_id,
                    client_id=alert.client_id,
                    detail={"alert": alert.id, "supervisors": people},
                    at=now,
                )
        inserted += new
    return inserted


# --- reading ---------------------------------------------------------------------------------------


def _document_and_access(s: Session, actor: Actor, document_id: int, now: datetime):
    doc = s.get(Document, document_id)
    if doc is None or doc.kind != "agreement":
        raise NotFound()
    records = access_to(s, actor, doc.client_id)
    colleague = involved = False
    if actor.role is Role.KEY_WORKER and not records.sign:
        colleague = _team_colleague(s, actor.id, doc.client_id)
        involved = colleague and bool(
            s.scalar(
                select(
                    exists().where(
                        CrisisAlert.document_id == doc.id,
                        or_(
                            ~_answered(),
                            exists().where(
                                CrisisResponse.alert_id == CrisisAlert.id,
                                CrisisResponse.user_id == actor.id,
                                CrisisResponse.responded_at > now - COLLEAGUE_FOLLOW_UP,
                            ),
                        ),
                    )
                )
            )
        )
    access = alert_access(actor.role, records, colleague, involved)
    if not access.see:
        raise NotFound()
    return doc, access


def _team_colleague(s: Session, worker_id: int, client_id: int) -> bool:
    """Is this key worker in the team of the client's current key worker?"""
    current = User.__table__.alias("current_worker")
    me = User.__table__.alias("me")
    return bool(
        s.scalar(
            select(
                exists()
                .where(CaseloadLink.client_id == client_id, CaseloadLink.ended_at.is_(None))
                .where(current.c.id == CaseloadLink.key_worker_id, current.c.team_id.is_not(None))
                .where(me.c.id == worker_id, me.c.team_id == current.c.team_id)
            )
        )
    )


def alert_page(db: Database, actor: Actor, document_id: int, now: datetime) -> AlertPage:
    """The page a key worker, colleague or supervisor opens from an alert."""
    with db.read() as s:
        doc, access = _document_and_access(s, actor, document_id, now)
    if access.read_is_logged:
        with db.write() as s:
            audit.record(
                s,
                actor,
                "read",
                "document",
                doc.id,
                client_id=doc.client_id,
                detail={"what": "your requests for help and what was agreed for them"},
            )
    with db.read() as s:
        doc = s.get(Document, document_id)
        client = s.get(User, doc.client_id)
        return AlertPage(
            doc.id,
            doc.client_id,
            called(client.display_name, client.preferred_name),
            doc.title,
            access,
            alerts_on(s, doc.id, now),
            essentials(s, doc),
            s.scalar(
                select(CaseloadLink.key_worker_id).where(
                    CaseloadLink.client_id == doc.client_id, CaseloadLink.ended_at.is_(None)
                )
            ),
        )


def alerts_on(s: Session, document_id: int, now: datetime, limit: int = 20) -> list[AlertView]:
    """The newest alerts of one agreement, with their responses."""
    rows = list(
        s.scalars(
            select(CrisisAlert)
            .where(CrisisAlert.document_id == document_id)
            .order_by(CrisisAlert.id.desc())
            .limit(limit)
        )
    )
    return _views(s, rows, now)


def waiting_for(db: Database, actor: Actor, now: datetime) -> list[AlertView]:
    """What a key worker or supervisor must respond to, for their start page: a key worker's
    own clients' and their team's alerts until answered; a supervisor's teams' alerts once
    nobody has answered them in time."""
    if actor.role not in (Role.KEY_WORKER, Role.SUPERVISOR):
        return []
    values = {PERSON.key: actor.id, "now": now}
    with db.read() as s:
        if actor.role is Role.KEY_WORKER:
            # A worker without a team: team_id = NULL matches nobody, so only their own.
            values["team"] = s.scalar(_TEAM_OF, values)
            query = _FOR_WORKER_AND_TEAM
        else:
            query = _FOR_SUPERVISOR
        return _views(s, list(s.scalars(query, values)), now)


# Every key worker's and supervisor's start page runs these: built once, with bound
# parameters, because building them took longer than running them.
_TEAM_OF = select(User.team_id).where(User.id == PERSON)
_CURRENT_WORKER = User.__table__.alias("current_worker")
_WAITING_WITH_WORKER = (
    _waiting()
    .join(
        CaseloadLink,
        and_(CaseloadLink.client_id == CrisisAlert.client_id, CaseloadLink.ended_at.is_(None)),
    )
    .join(_CURRENT_WORKER, _CURRENT_WORKER.c.id == CaseloadLink.key_worker_id)
)
_FOR_WORKER_AND_TEAM = _WAITING_WITH_WORKER.where(
    or_(_CURRENT_WORKER.c.id == PERSON, _CURRENT_WORKER.c.team_id == bindparam("team"))
)
_FOR_SUPERVISOR = _WAITING_WITH_WORKER.where(
    _CURRENT_WORKER.c.team_id.in_(
        select(SupervisorTeam.team_id).where(SupervisorTeam.supervisor_id == PERSON)
    ),
    CrisisAlert.respond_by <= bindparam("now"),
)


def for_client(db: Database, actor: Actor, now: datetime) -> list[AlertView]:
    """A client's own alerts: waiting ones, and ones answered in the last two days."""
    if actor.role is not Role.CLIENT:
        return []
    with db.read() as s:
        rows = list(
            s.scalars(
                _CLIENTS_ALERTS,
                {"client_id": actor.id, "answered_since": now - ANSWERED_SHOWN_FOR},
            )
        )
        return _views(s, rows, now)


# Every client's start page runs this: built once, with bound parameters, because building it
# took longer than running it.
_CLIENTS_ALERTS = (
    select(CrisisAlert)
    .where(
        CrisisAlert.client_id == bindparam("client_id"),
        or_(
            ~_answered(),
            exists().where(
                CrisisResponse.alert_id == CrisisAlert.id,
                CrisisResponse.responded_at >= bindparam("answered_since"),
            ),
        ),
    )
    .order_by(CrisisAlert.id.desc())
    .limit(10)
)


def _views(s: Session, alerts: list[CrisisAlert], now: datetime) -> list[AlertView]:
    if not alerts:
        return []
    ids = [a.id for a in alerts]
    responses: dict[int, list[CrisisResponse]] = {}
    for r in s.scalars(
        select(CrisisResponse).where(CrisisResponse.alert_id.in_(ids)).order_by(CrisisResponse.id)
    ):
        responses.setdefault(r.alert_id, []).append(r)
    people = {a.client_id for a in alerts} | {a.raised_by_id for a in alerts}
    people |= {a.key_worker_id for a in alerts if a.key_worker_id}
    people |= {r.user_id for rs in responses.values() for r in rs}
    # Each client's key workers: the one who holds them now (none once they left the
    # service), and every one they have had.
    holders: dict[int, int] = {}
    theirs: dict[int, set[int]] = {a.client_id: set() for a in alerts}
    for client_id, worker_id, ended_at in s.execute(
        select(CaseloadLink.client_id, CaseloadLink.key_worker_id, CaseloadLink.ended_at).where(
            CaseloadLink.client_id.in_(theirs)
        )
    ):
        theirs[client_id].add(worker_id)
        if ended_at is None:
            holders[client_id] = worker_id
    people |= set(holders.values())
    what_asked = _asked(s, alerts, service_day(now))
    again = asked_again(s, ids)
    users = {u.id: u for u in s.scalars(select(User).where(User.id.in_(people)))}
    team_ids = {u.team_id for u in users.values() if u.team_id is not None}
    teams = dict(s.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())

    def name(user_id: int | None) -> str:
        user = users.get(user_id)
        return user.display_name if user else ""

    def role(user_id: int | None) -> str:
        user = users.get(user_id)
        return Role(user.role).value if user else ""

    views = []
    for a in alerts:
        answers = [
            ResponseView(name(r.user_id), r.responded_at, r.note, role(r.user_id), r.user_id)
            for r in responses.get(a.id, [])
        ]
        asked = holders.get(a.client_id, a.key_worker_id)
        worker, client = users.get(asked), users[a.client_id]
        views.append(
            AlertView(
                a.id,
                a.document_id,
                a.client_id,
                client.display_name,
                AlertKind(a.kind),
                name(a.raised_by_id),
                a.raised_at,
                a.respond_by,
                worker.display_name if worker else "",
                teams.get(worker.team_id, "") if worker and worker.team_id else "",
                answers,
                needs_escalation(a.respond_by, now, bool(answers)),
                role(a.raised_by_id),
                a.raised_by_id,
                asked,
                called(client.display_name, client.preferred_name),
                holders.get(a.client_id),
                frozenset(theirs[a.client_id]),
                what_asked.get(a.id),
                again.get(a.id),
            )
        )
    return views


def _asked(s: Session, alerts: list[CrisisAlert], today: date) -> dict[int, AskedStay | AskedPlan]:
    """What each alert's request asked, by alert id; for the plan, whether it is over."""
    from .contingencies import NO_AGREED_VERSION  # contingencies builds on this module
    from .reviews import period_of

    stays = {a.self_referral_id: a.id for a in alerts if a.self_referral_id}
    plans = {a.activation_id: a.id for a in alerts if a.activation_id}
    found: dict[int, AskedStay | AskedPlan] = {}
    if stays:
        for r in s.scalars(select(SelfReferralRequest).where(SelfReferralRequest.id.in_(stays))):
            found[stays[r.id]] = AskedStay(
                r.nights,
                r.last_discharge_on,
                r.note,
                r.within_terms,
                r.version_number != NO_AGREED_VERSION,
                tuple(r.reasons or ()),
            )
    if plans:
        activations = list(
            s.scalars(select(ContingencyActivation).where(ContingencyActivation.id.in_(plans)))
        )
        enders = {p.ended_by_id for p in activations if p.ended_by_id}
        named = {
            uid: Named(name, Role(role).value, uid)
            for uid, name, role in (
                s.execute(select(User.id, User.display_name, User.role).where(User.id.in_(enders)))
                if enders
                else ()
            )
        }
        for p in activations:
            found[plans[p.id]] = AskedPlan(
                p.observed,
                p.actions_taken,
                p.ends_on,
                p.ended_at,
                named.get(p.ended_by_id, Named("")),
                p.end_note or "",
                not period_of(p).active(today),
            )
    return found


def essentials(s: Session, doc: Document) -> Essentials | None:
    """The agreed "when I am not well" section, and the out-of-hours contacts from the
    boundaries, of the version in force (or the latest, while nothing is agreed yet)."""
    number = doc.agreed_version or doc.head_number
    if not number or not doc.template:
        return None
    content = s.scalar(
        select(Version.content).where(Version.document_id == doc.id, Version.number == number)
    )
    sections = []
    # The crisis part first: warning signs, what helps, contacts; then out-of-hours contacts.
    ordered = sorted(doc.template["sections"], key=lambda s: s["key"] != "contingencies")
    for section in ordered:
        if section["key"] == "contingencies":
            shown = section["fields"]
        elif section["key"] == "boundaries":
            shown = [f for f in section["fields"] if f["type"] == "people"]
        else:
            continue
        if shown:
            values = content.get("sections", {}).get(section["key"], {})
            sections.append({**section, "fields": shown, "values": values})
    agreed = doc.agreed_version is not None
    return Essentials(number, agreed, sections, blank_on_purpose(doc.template, content, agreed))
