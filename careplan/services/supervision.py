"""The supervisor's dashboard and export: every client's documents in the supervisor's teams,
with dates and states only. Opening a record from here is a recorded read (documents.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import aliased

from ..db.engine import Database
from ..db.models import CaseloadLink, Document, ReviewLog, SupervisorTeam, Team, User, utcnow
from ..domain.kinds import KIND_LABELS
from ..domain.roles import Role
from ..domain.supervision import (
    DUE_SOON_DAYS,
    PAGE_SIZE,
    Chart,
    DashState,
    Filters,
    bar_chart,
    on_time_share,
)
from . import audit
from .actor import Actor
from .errors import NotFound

EXPORT_CHUNK = 1000


@dataclass(frozen=True)
class Row:
    document_id: int
    client_id: int
    client_name: str
    kind_label: str
    state: DashState
    next_review_on: date | None
    days_overdue: int
    key_worker: str
    team: str
    last_signed_at: datetime | None


@dataclass(frozen=True)
class Dashboard:
    rows: list[Row]
    filters: Filters
    has_next: bool
    teams: dict[int, str]
    workers: dict[int, str]


def state_expression(today: date):
    """The dashboard state in SQL, the same rule as domain.supervision.dash_state (a test
    checks they agree), so filtering and sorting happen in the database."""
    soon = today + timedelta(days=DUE_SOON_DAYS)
    unsigned = case(
        (Document.signoff_state == "declined", literal(DashState.DECLINED.value)),
        (Document.signoff_state == "awaiting_signature", literal(DashState.AWAITING.value)),
        else_=literal(DashState.DRAFT.value),
    )
    return case(
        (
            Document.agreed_version.is_(None),
            case(
                (Document.signoff_state == "declined", literal(DashState.DECLINED.value)),
                (Document.signoff_state == "awaiting_signature", literal(DashState.AWAITING.value)),
                else_=literal(DashState.NEVER_AGREED.value),
            ),
        ),
        (Document.next_review_on < today, literal(DashState.OVERDUE.value)),
        (Document.next_review_on <= soon, literal(DashState.DUE_SOON.value)),
        (Document.head_number > Document.agreed_version, unsigned),
        else_=literal(DashState.AGREED.value),
    )


def _scope(actor: Actor):
    if actor.role is not Role.SUPERVISOR:
        raise NotFound()
    return select(SupervisorTeam.team_id).where(SupervisorTeam.supervisor_id == actor.id)


def _choices(s, actor: Actor) -> tuple[dict[int, str], dict[int, str]]:
    teams = dict(
        s.execute(
            select(Team.id, Team.name).where(Team.id.in_(_scope(actor))).order_by(Team.name)
        ).all()
    )
    workers = dict(
        s.execute(
            select(User.id, User.display_name)
            .where(User.role == Role.KEY_WORKER.value, User.team_id.in_(_scope(actor)))
            .order_by(User.display_name)
        ).all()
    )
    return teams, workers


def _query(actor: Actor, filters: Filters, today: date):
    client = aliased(User)
    worker = aliased(User)
    state = state_expression(today).label("state")
    query = (
        select(
            Document.id,
            Document.client_id,
            client.display_name,
            Document.kind,
            state,
            Document.next_review_on,
            worker.display_name,
            Team.name,
            Document.last_signed_at,
        )
        .join(client, client.id == Document.client_id)
        .join(
            CaseloadLink,
            and_(CaseloadLink.client_id == Document.client_id, CaseloadLink.ended_at.is_(None)),
        )
        .join(worker, worker.id == CaseloadLink.key_worker_id)
        .join(Team, Team.id == worker.team_id)
        .where(worker.team_id.in_(_scope(actor)))
    )
    if filters.team_id:
        query = query.where(worker.team_id == filters.team_id)
    if filters.key_worker_id:
        query = query.where(worker.id == filters.key_worker_id)
    if filters.state:
        query = query.where(state_expression(today) == filters.state.value)
    if filters.due_from:
        query = query.where(Document.next_review_on >= filters.due_from)
    if filters.due_to:
        query = query.where(Document.next_review_on <= filters.due_to)
    order = {
        "review": [Document.next_review_on.is_(None), Document.next_review_on, Document.id],
        "overdue": [Document.next_review_on.is_(None), Document.next_review_on, Document.id],
        "client": [client.display_name, Document.id],
        "key_worker": [worker.display_name, client.display_name, Document.id],
        "signed": [Document.last_signed_at.is_(None), Document.last_signed_at, Document.id],
    }[filters.sort]
    return query.order_by(*order)


def _row(values, today: date) -> Row:
    doc_id, client_id, client_name, kind, state, review_on, worker, team, signed = values
    overdue = (today - review_on).days if review_on and review_on < today else 0
    return Row(
        doc_id,
        client_id,
        client_name,
        KIND_LABELS[kind],
        DashState(state),
        review_on,
        overdue,
        worker,
        team,
        signed,
    )


def dashboard(db: Database, actor: Actor, filters: Filters, today: date) -> Dashboard:
    with db.read() as s:
        teams, workers = _choices(s, actor)
        # One row more than a page tells whether there is a next page without counting them all.
        values = s.execute(
            _query(actor, filters, today)
            .limit(PAGE_SIZE + 1)
            .offset((filters.page - 1) * PAGE_SIZE)
        ).all()
    rows = [_row(v, today) for v in values[:PAGE_SIZE]]
    return Dashboard(rows, filters, len(values) > PAGE_SIZE, teams, workers)


def export_csv(db: Database, actor: Actor, filters: Filters, today: date) -> Iterator[str]:
    """The filtered audit as CSV, produced in chunks so 100,000 rows never sit in memory.

    Each client in the export gets an "export" event, so their access log shows it.
    """
    with db.read() as s:
        teams, workers = _choices(s, actor)
    head = io.StringIO()
    writer = csv.writer(head)
    writer.writerow(["Review-date audit"])
    writer.writerow(["Exported by", actor.name])
    writer.writerow(["Exported at", utcnow().strftime("%Y-%m-%d %H:%M UTC")])
    for label, value in filters.describe(teams, workers):
        if label != "Sorted by":
            writer.writerow([label, value])
    writer.writerow(["Sorted by", "document (the order they were created)"])
    writer.writerow([])
    writer.writerow(
        [
            "Client",
            "Document",
            "State",
            "Next review",
            "Days overdue",
            "Key worker",
            "Team",
            "Last signed",
        ]
    )

    def generate() -> Iterator[str]:
        yield head.getvalue()
        last_id = 0
        # Keyset paging on the document id: each chunk costs the same, wherever it starts.
        query = _query(actor, filters, today).order_by(None).order_by(Document.id)
        while True:
            with db.read() as s:
                chunk = s.execute(query.where(Document.id > last_id).limit(EXPORT_CHUNK)).all()
            if not chunk:
                return
            _record_export(db, actor, {v[1] for v in chunk})
            out = io.StringIO()
            w = csv.writer(out)
            for v in chunk:
                r = _row(v, today)
                w.writerow(
                    [
                        r.client_name,
                        r.kind_label,
                        r.state.label,
                        r.next_review_on.isoformat() if r.next_review_on else "",
                        r.days_overdue,
                        r.key_worker,
                        r.team,
                        r.last_signed_at.strftime("%Y-%m-%d") if r.last_signed_at else "",
                    ]
                )
            yield out.getvalue()
            last_id = chunk[-1][0]
            if len(chunk) < EXPORT_CHUNK:
                return

    return generate()


def _record_export(db: Database, actor: Actor, client_ids: set[int]) -> None:
    with db.write() as s:
        for client_id in sorted(client_ids):
            audit.record(
                s,
                actor,
                "export",
                "client",
                client_id,
                client_id=client_id,
                detail={"what": "your review dates, in a team report"},
            )


def charts(db: Database, actor: Actor, today: date) -> tuple[Chart, Chart, list, list]:
    """Share of reviews done on time per month (last 12 months), and overdue reviews per worker."""
    start = today.replace(day=1) - timedelta(days=366)
    worker = aliased(User)
    with db.read() as s:
        scope = _scope(actor)
        reviews = s.execute(
            select(ReviewLog.due_on, ReviewLog.done_on)
            .join(
                CaseloadLink,
                and_(
                    CaseloadLink.client_id == ReviewLog.client_id, CaseloadLink.ended_at.is_(None)
                ),
            )
            .join(worker, worker.id == CaseloadLink.key_worker_id)
            .where(worker.team_id.in_(scope), ReviewLog.due_on >= start)
        ).all()
        # Reviews whose date passed without being done are late too.
        missed = s.execute(
            select(Document.next_review_on)
            .join(
                CaseloadLink,
                and_(CaseloadLink.client_id == Document.client_id, CaseloadLink.ended_at.is_(None)),
            )
            .join(worker, worker.id == CaseloadLink.key_worker_id)
            .where(
                worker.team_id.in_(scope),
                Document.next_review_on < today,
                Document.next_review_on >= start,
            )
        ).all()
        overdue = s.execute(
            select(worker.display_name, func.count(Document.id))
            .join(CaseloadLink, CaseloadLink.key_worker_id == worker.id)
            .join(Document, Document.client_id == CaseloadLink.client_id)
            .where(
                CaseloadLink.ended_at.is_(None),
                worker.team_id.in_(scope),
                Document.next_review_on < today,
            )
            .group_by(worker.display_name)
            .order_by(func.count(Document.id).desc(), worker.display_name)
        ).all()
    months = on_time_share(
        [(d, done) for d, done in reviews] + [(d, None) for (d,) in missed], today
    )
    month_items = [
        (
            m.strftime("%b %Y"),
            (100 * ok / due) if due else 0,
            f"{round(100 * ok / due)}% ({ok} of {due})" if due else "no reviews due",
        )
        for m, due, ok in months
    ]
    worker_items = [(name, count, f"{count} overdue") for name, count in overdue[:20]]
    return (
        bar_chart("Reviews done on time, by month", month_items, axis_max=100, unit="%"),
        bar_chart("Overdue reviews by key worker", worker_items),
        month_items,
        [(name, count) for name, count in overdue],
    )
