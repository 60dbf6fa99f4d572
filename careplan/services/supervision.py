"""The supervisor's dashboard and export: every client's documents in the supervisor's teams,
with dates and states only. Opening a record from here is a recorded read (documents.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import (
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from ..db.engine import Database
from ..db.models import (
    CaseloadLink,
    Document,
    PdfRender,
    ReviewConfirmation,
    ReviewLog,
    SupervisorTeam,
    Team,
    User,
    utcnow,
)
from ..domain.account_rules import introduce
from ..domain.addresses import under
from ..domain.kinds import KIND_LABELS
from ..domain.local_time import service_day, start_of_day
from ..domain.paging import Window, nearest_page
from ..domain.reviews import ReviewReason
from ..domain.roles import Role
from ..domain.spreadsheet import text_cell
from ..domain.supervision import (
    DUE_SOON_DAYS,
    NAME_SLOT,
    PAGE_SIZE,
    Chart,
    DashState,
    Filters,
    bar_chart,
    on_time_share,
)
from . import audit
from .actor import Actor
from .document_states import not_stuck, stuck_on_passed_day
from .errors import NotFound

EXPORT_CHUNK = 1000


@dataclass(frozen=True)
class Confirmed:
    """Someone who confirmed "reviewed, no changes" in the review under way, and when: a
    review half done, told apart from one nobody has started."""

    name: str
    at: datetime


@dataclass(frozen=True)
class Row:
    """A document, or (document_id and kind_label None, state NO_PLAN) a client with none."""

    document_id: int | None
    client_id: int
    client_name: str
    kind_label: str | None
    state: DashState
    next_review_on: date | None
    days_overdue: int
    key_worker: str
    team: str
    # The last signature of any kind on any version (a decline on a draft too): the "signed"
    # order's key, not the date anything was agreed (agreed_on).
    last_signed_at: datetime | None
    # The name with how they like to be called, for the page ("Bea Client, known as Béa,
    # she/her"); the export keeps the name alone.
    client_introduced: str = ""
    # The day their account was made: for a client with no care plan, since when they have
    # been without one.
    client_since: date | None = None
    # The document as the rest of the app names it (its template's name, "Care plan").
    title: str | None = None
    # The version in force (the one agreed; a newer draft is not) and the service's day it was
    # agreed on, and the day it was last agreed or reviewed (a review with no changes too).
    agreed_version: int | None = None
    agreed_on: date | None = None
    last_reviewed_on: date | None = None
    review_confirmed: tuple[Confirmed, ...] = ()
    # Why the next review falls when it does, and the regular review's day: a review asked
    # for earlier, or after a crisis, is not the regular one, and that one still falls.
    review_reason: ReviewReason | None = None
    regular_review_on: date | None = None

    @property
    def review_why(self) -> str:
        """Why the next review is sooner than the regular one, in words; "" for the regular
        review itself (or none)."""
        if self.review_reason in (None, ReviewReason.INTERVAL):
            return ""
        return self.review_reason.label(self.client_name, reader_is_client=False)


@dataclass(frozen=True)
class Dashboard:
    rows: list[Row]
    filters: Filters
    has_next: bool
    teams: dict[int, str]
    workers: dict[int, str]
    # Reviews overdue across all the supervisor's teams, whatever the filters, up to
    # OVERDUE_COUNTED: in the usual order the clients with no care plan come first, and an
    # overdue review fell to page 2.
    overdue: int = 0


OVERDUE_COUNTED = 100


def state_expression(today: date):
    """The dashboard state in SQL, the same rule as domain.supervision.dash_state (a test
    checks they agree), so filtering and sorting happen in the database."""
    soon = today + timedelta(days=DUE_SOON_DAYS)

    def not_agreed(otherwise: DashState):
        return case(
            (Document.signoff_state == "declined", literal(DashState.DECLINED.value)),
            (stuck_on_passed_day(today), literal(DashState.PASSED_DAY.value)),
            (Document.signoff_state == "awaiting_signature", literal(DashState.AWAITING.value)),
            else_=literal(otherwise.value),
        )

    return case(
        (Document.next_review_on < today, literal(DashState.OVERDUE.value)),
        (Document.next_review_on <= soon, literal(DashState.DUE_SOON.value)),
        (Document.agreed_version.is_(None), not_agreed(DashState.NEVER_AGREED)),
        (Document.head_number > Document.agreed_version, not_agreed(DashState.DRAFT)),
        else_=literal(DashState.AGREED.value),
    )


def state_condition(state: DashState, today: date):
    """`state_expression(today) == state` as plain conditions on the columns (a test checks
    they select the same documents), so the planners can estimate them and read the review
    date's index instead of guessing at a CASE."""
    soon = today + timedelta(days=DUE_SOON_DAYS)
    agreed = Document.agreed_version.is_not(None)
    not_due = or_(Document.next_review_on.is_(None), Document.next_review_on > soon)
    newer = Document.head_number > Document.agreed_version
    declined = Document.signoff_state == "declined"
    awaiting = Document.signoff_state == "awaiting_signature"
    neither = Document.signoff_state.not_in(["declined", "awaiting_signature"])
    if state is DashState.NO_PLAN:  # a client's, never a document's
        return false()
    if state is DashState.OVERDUE:
        return Document.next_review_on < today
    if state is DashState.DUE_SOON:
        return and_(Document.next_review_on >= today, Document.next_review_on <= soon)
    if state is DashState.AGREED:
        return and_(agreed, not_due, Document.head_number <= Document.agreed_version)
    if state is DashState.NEVER_AGREED:
        return and_(Document.agreed_version.is_(None), not_due, neither, not_stuck(today))
    if state is DashState.DRAFT:
        return and_(agreed, not_due, newer, neither, not_stuck(today))
    unsigned = {
        DashState.DECLINED: declined,
        DashState.PASSED_DAY: stuck_on_passed_day(today),
        DashState.AWAITING: and_(awaiting, not_stuck(today)),
    }[state]
    return and_(unsigned, not_due, or_(Document.agreed_version.is_(None), newer))


@dataclass(frozen=True)
class Scope:
    """A supervisor's teams and the key workers in them, by id, in name order."""

    teams: dict[int, str]
    workers: dict[int, str]
    worker_teams: dict[int, int]  # each key worker's team

    def holds(self, key_worker_id):
        """The clients in scope, as a condition on their caseload link's key worker column.

        On the link's own column, not on users.team_id: that column is empty for every
        client, which made both planners misjudge the scope and sort every row for one page.
        The ids are rendered into the SQL (they come from the database): as 1,000 bound
        parameters they cost a few milliseconds a query.
        """
        ids = bindparam("scope_workers", list(self.workers), expanding=True, literal_execute=True)
        return key_worker_id.in_(ids)

    def recorded_in(self, team_id):
        """What was recorded in one of the supervisor's teams (a review logged, a client who
        left), as a condition on its team column: it stays with the team it happened in."""
        return team_id.in_(list(self.teams))


def _scope(s, actor: Actor) -> Scope:
    if actor.role is not Role.SUPERVISOR:
        raise NotFound()
    teams = dict(
        s.execute(
            select(Team.id, Team.name)
            .join(SupervisorTeam, SupervisorTeam.team_id == Team.id)
            .where(SupervisorTeam.supervisor_id == actor.id)
            .order_by(Team.name)
        ).all()
    )
    rows = s.execute(
        select(User.id, User.display_name, User.team_id)
        .where(User.role == Role.KEY_WORKER.value, User.team_id.in_(list(teams)))
        .order_by(User.display_name)
    ).all()
    return Scope(teams, {i: name for i, name, _ in rows}, {i: team for i, _, team in rows})


# The keys that are constants among clients without a care plan (_without_care_plans).
_SAME_FOR_EVERY_CLIENT = frozenset(
    ("has_plan", "document_id", "no_review", "next_review_on", "signed", "last_signed_at")
)


def _query(scope: Scope, filters: Filters, today: date, first: int | None = None):
    """The documents in scope, and the clients in scope with no care plan saved ("no care
    plan yet", whatever agreements they have), as one list in the order chosen: one
    statement, counted and paged by the database. Each part is read through its own index:
    the documents as before, the clients without a care plan through an index on the flag
    services.documents keeps
    (not by looking for missing documents among all clients).

    `first`: only that many rows from the top are wanted (a page). Each part is then ordered
    and cut to that many before the two are merged: ordering the UNION as a whole made both
    planners sort every document for one page."""
    # Clients with no care plan come first in review-date order: a plan is owed them now,
    # which is more pressing than any review date, and it is what an inspector asks about
    # first. In oldest-signature order they come first too (never signed), and by name or by
    # key worker they stand where their names put them. "review" still matches
    # ix_documents_review_order after the constant first key, so the documents' first page
    # is read in order. Booleans, not the databases' NULL order (SQLite puts NULL first,
    # PostgreSQL last).
    # Clients with no document share every other key, so they stand by name among themselves:
    # what a reader looks for, and the order of the index that finds them, so the planners
    # stop at a page's worth instead of reading every account (PostgreSQL walked the primary
    # key, filtering out staff, when they were ordered by id).
    BY_NAME = ("client_name", "client_id")
    order = {
        "review": ["has_plan", "no_review", "next_review_on", "document_id", *BY_NAME],
        # Asked for what is most overdue: reviews by date first (the most overdue at the
        # top), then everything with no review date, clients with no care plan first.
        "overdue": ["no_review", "next_review_on", "has_plan", "document_id", *BY_NAME],
        "client": ["client_name", "has_plan", "document_id", "client_id"],
        "key_worker": ["worker_name", "client_name", "has_plan", "document_id", "client_id"],
        # Never signed first: the oldest signature is the most out of date, and none at all
        # is older still; a client with no document before a document never signed.
        "signed": ["signed", "last_signed_at", "has_plan", "document_id", *BY_NAME],
    }[filters.sort]

    def ordered(query, names=order):
        return query.order_by(*(query.selected_columns[name] for name in names))

    # Within one part, a key that is the same on every row (has_plan; among clients without
    # documents, every document column) or that follows a unique one is left out, so the
    # part's order is its index's (ix_documents_review_order,
    # ix_users_role_documents_display_name): sorting by a constant made SQLite sort every
    # client without documents for one page.
    in_documents = [n for n in order if n != "has_plan"]
    in_documents = in_documents[: in_documents.index("document_id") + 1]
    in_clients = [n for n in order if n not in _SAME_FOR_EVERY_CLIENT]
    parts = []
    if filters.state is not DashState.NO_PLAN:
        parts.append((_documents(scope, filters, today), in_documents))
    if filters.may_show_clients_without_care_plans:
        parts.append((_without_care_plans(scope, filters), in_clients))
    if len(parts) == 1:
        return ordered(parts[0][0], parts[0][1])
    if first is None:
        return ordered(union_all(*(part for part, _ in parts)))
    return ordered(
        union_all(*(select(ordered(part, keys).limit(first).subquery()) for part, keys in parts))
    )


def _documents(scope: Scope, filters: Filters, today: date):
    client = aliased(User)
    worker = aliased(User)
    query = (
        select(
            Document.id.label("document_id"),
            Document.client_id.label("client_id"),
            client.display_name.label("client_name"),
            Document.kind.label("kind"),
            state_expression(today).label("state"),
            Document.next_review_on.label("next_review_on"),
            worker.display_name.label("worker_name"),
            Team.name.label("team_name"),
            Document.last_signed_at.label("last_signed_at"),
            client.preferred_name.label("preferred_name"),
            client.pronouns.label("pronouns"),
            client.created_at.label("client_since"),
            Document.title.label("title"),
            Document.agreed_version.label("agreed_version"),
            PdfRender.agreed_at.label("agreed_at"),
            Document.last_reviewed_on.label("last_reviewed_on"),
            Document.next_review_reason.label("review_reason"),
            Document.scheduled_review_on.label("regular_review_on"),
            # Whether the client has a care plan: one without has a row of their own too.
            client.has_care_plan.label("client_has_care_plan"),
            # Sort keys (see _query).
            literal_column("1").label("has_plan"),
            Document.next_review_on.is_(None).label("no_review"),
            Document.last_signed_at.is_not(None).label("signed"),
        )
        .join(client, client.id == Document.client_id)
        .join(
            CaseloadLink,
            and_(CaseloadLink.client_id == Document.client_id, CaseloadLink.ended_at.is_(None)),
        )
        .join(worker, worker.id == CaseloadLink.key_worker_id)
        # Outer, because an inner join on worker.team_id brings the planners' misjudged
        # estimate back; every worker in scope has a team.
        .outerjoin(Team, Team.id == worker.team_id)
        # When the version in force was agreed: its sealed PDF's row is written in the
        # transaction that agreed it, one per version (uq_pdf_renders_version), so this is
        # one index lookup per row shown, in the same statement.
        .outerjoin(
            PdfRender,
            and_(
                PdfRender.document_id == Document.id,
                PdfRender.version_number == Document.agreed_version,
            ),
        )
        .where(
            scope.holds(CaseloadLink.key_worker_id),
            # Only started, nothing saved: not a document anyone has to account for (the
            # client then counts as having none, by the flag services.documents keeps).
            Document.head_number > 0,
        )
    )
    if filters.sort == "client":
        # Always true (only clients have documents, services.documents), but it lets SQLite
        # read the name order from ix_users_role_display_name at any size: without it SQLite
        # reads the name index only past about 100,000 clients and sorts every document in
        # scope below that. Not in the other orders, where it makes SQLite start from the
        # clients instead of the review date's index. A constant in the SQL, as for the
        # clients without documents.
        query = query.where(client.role == literal_column(f"'{Role.CLIENT.value}'"))
    if filters.team_id:
        query = query.where(worker.team_id == filters.team_id)
    if filters.key_worker_id:
        query = query.where(CaseloadLink.key_worker_id == filters.key_worker_id)
    if filters.state:
        query = query.where(state_condition(filters.state, today))
    if filters.due_from:
        query = query.where(Document.next_review_on >= filters.due_from)
    if filters.due_to:
        query = query.where(Document.next_review_on <= filters.due_to)
    return query


def _without_care_plans(scope: Scope, filters: Filters):
    """Clients with a key worker in scope and no care plan saved (User.has_care_plan): their
    agreements, if any, are rows of their own. A client who left the service has no open
    caseload link, so is not here, as their documents are not."""
    client = aliased(User)
    worker = aliased(User)
    query = (
        select(
            # Typed, so PostgreSQL matches them with the documents' columns in the UNION.
            cast(null(), Document.id.type).label("document_id"),
            client.id.label("client_id"),
            client.display_name.label("client_name"),
            cast(null(), Document.kind.type).label("kind"),
            literal_column(f"'{DashState.NO_PLAN.value}'").label("state"),
            cast(null(), Document.next_review_on.type).label("next_review_on"),
            worker.display_name.label("worker_name"),
            Team.name.label("team_name"),
            cast(null(), Document.last_signed_at.type).label("last_signed_at"),
            client.preferred_name.label("preferred_name"),
            client.pronouns.label("pronouns"),
            client.created_at.label("client_since"),
            cast(null(), Document.title.type).label("title"),
            cast(null(), Document.agreed_version.type).label("agreed_version"),
            cast(null(), PdfRender.agreed_at.type).label("agreed_at"),
            cast(null(), Document.last_reviewed_on.type).label("last_reviewed_on"),
            cast(null(), Document.next_review_reason.type).label("review_reason"),
            cast(null(), Document.scheduled_review_on.type).label("regular_review_on"),
            false().label("client_has_care_plan"),
            literal_column("0").label("has_plan"),
            true().label("no_review"),
            false().label("signed"),
        )
        .join(
            CaseloadLink,
            and_(CaseloadLink.client_id == client.id, CaseloadLink.ended_at.is_(None)),
        )
        .join(worker, worker.id == CaseloadLink.key_worker_id)
        .outerjoin(Team, Team.id == worker.team_id)
        # Constants in the SQL, so both planners read ix_users_role_documents_display_name.
        .where(
            client.role == literal_column(f"'{Role.CLIENT.value}'"),
            client.has_care_plan == false(),
            scope.holds(CaseloadLink.key_worker_id),
        )
    )
    if filters.team_id:
        query = query.where(worker.team_id == filters.team_id)
    if filters.key_worker_id:
        query = query.where(CaseloadLink.key_worker_id == filters.key_worker_id)
    return query


def _row(values, today: date) -> Row:
    doc_id, client_id, client_name, kind, state, review_on, worker, team, signed = values[:9]
    preferred, pronouns, since, title, agreed_version, agreed_at, reviewed_on = values[9:16]
    reason, regular_on = values[16:18]
    overdue = (today - review_on).days if review_on and review_on < today else 0
    return Row(
        doc_id,
        client_id,
        client_name,
        KIND_LABELS[kind] if kind else None,
        DashState(state),
        review_on,
        overdue,
        worker,
        team,
        signed,
        introduce(client_name, preferred, pronouns),
        service_day(since) if since else None,
        title,
        agreed_version,
        service_day(agreed_at) if agreed_at else None,
        reviewed_on,
        review_reason=ReviewReason(reason) if reason else None,
        regular_review_on=regular_on,
    )


def dashboard(db: Database, actor: Actor, filters: Filters, today: date) -> Dashboard:
    with db.read() as s:
        scope = _scope(s, actor)
        filters.check_choices(scope.teams, scope.workers, scope.worker_teams)

        def page(number: int):
            offset = Window(number, PAGE_SIZE).offset
            query = _query(scope, filters, today, first=offset + PAGE_SIZE + 1)
            return s.execute(query.limit(PAGE_SIZE + 1).offset(offset)).all()

        # One row more than a page tells whether there is a next page without counting them
        # all; only a page past the end (an old link, an edited address) counts them, to show
        # the last page there is, as every paged list does.
        values = page(filters.page)
        if not values and filters.page > 1:
            whole = _query(scope, filters, today).order_by(None)
            total = s.scalar(select(func.count()).select_from(whole.subquery()))
            filters = replace(filters, page=nearest_page(filters.page, total, PAGE_SIZE))
            values = page(filters.page)
        rows = _with_confirmations(s, [_row(v, today) for v in values[:PAGE_SIZE]])
        # Counted up to OVERDUE_COUNTED ("100 or more"), so the page costs the same however
        # many there are.
        overdue_rows = (
            select(Document.id)
            .join(
                CaseloadLink,
                and_(CaseloadLink.client_id == Document.client_id, CaseloadLink.ended_at.is_(None)),
            )
            .where(
                scope.holds(CaseloadLink.key_worker_id),
                Document.head_number > 0,
                state_condition(DashState.OVERDUE, today),
            )
            .limit(OVERDUE_COUNTED)
        )
        overdue = s.scalar(select(func.count()).select_from(overdue_rows.subquery()))
    return Dashboard(
        rows, filters, len(values) > PAGE_SIZE, scope.teams, scope.workers, overdue or 0
    )


def export_csv(
    db: Database,
    actor: Actor,
    filters: Filters,
    today: date,
    zone: tzinfo = UTC,
    base_url: str = "",
) -> Iterator[str]:
    """The filtered audit as CSV, produced in chunks so 100,000 rows never sit in memory.

    The header is the first row, so a spreadsheet sorts and filters it as it is; what was
    exported, by whom and how follows the table after an empty row (outside the table a
    spreadsheet selects). A byte-order mark tells spreadsheets it is UTF-8, so names keep
    their accents. Each client in the export gets an "export" event, so their access log
    shows it.

    Each document is named as the app names it, with its number (the reference, the same in
    every export and in its address) and, given `base_url` (the app's public address), a link
    its reader opens it at, as supervisors of the team may.
    """
    with db.read() as s:
        scope = _scope(s, actor)
    filters.check_choices(scope.teams, scope.workers, scope.worker_teams)
    exported_at = utcnow().astimezone(zone)

    def notes(rows: int, overdue: int) -> str:
        out = io.StringIO()
        writer = _SpreadsheetWriter(out)
        writer.writerow([])
        writer.writerow(["Review-date audit"])
        writer.writerow(["Exported by", actor.name])
        writer.writerow(["Exported at", f"{exported_at:%Y-%m-%d %H:%M} ({zone})"])
        for label, value in filters.describe(scope.teams, scope.workers):
            writer.writerow([label, value])
        # Counted as written, so nobody has to count the table to say what it holds.
        writer.writerow(["Rows", rows])
        writer.writerow(["Of them overdue", overdue])
        writer.writerow(
            ["Reference", "the document's number: it stays the same, and is in its link"]
        )
        writer.writerow(["Days overdue", "empty where the review is not overdue"])
        writer.writerow(
            ["Agreed on", "the day the version in force was signed by both; empty if never agreed"]
        )
        writer.writerow(
            ["Last signature", "the last signature of any kind, a decline on a draft too"]
        )
        writer.writerow(
            [
                "Review confirmed with no changes by",
                "who has confirmed the review under way, and when; it is done once the client "
                "and their key worker both have",
            ]
        )
        writer.writerow(
            [
                "Why sooner than the regular review",
                "asked for earlier, or to look back after the plan for when the client is not "
                "well was used; empty for the regular review",
            ]
        )
        writer.writerow(
            ["Regular review", "when the regular review falls, whatever is asked for sooner"]
        )
        return out.getvalue()

    head = io.StringIO()
    head.write("\ufeff")
    _SpreadsheetWriter(head).writerow(EXPORT_COLUMNS)

    def generate() -> Iterator[str]:
        yield head.getvalue()
        # In the order chosen on the page, streamed a chunk at a time from one snapshot (a
        # server-side cursor on PostgreSQL), so 100,000 rows never sit in memory and the
        # rows agree with each other however long the download takes.
        query = _query(scope, filters, today).execution_options(yield_per=EXPORT_CHUNK)
        # A client with no care plan has a row of their own beside their agreements' rows, in
        # another chunk as often as not: that row records them, once (a set of every client
        # recorded would grow with the export).
        alone = filters.may_show_clients_without_care_plans
        rows = overdue = 0
        with db.snapshot() as s:
            for chunk in s.execute(query).partitions():
                _record_export(
                    db,
                    actor,
                    {
                        v.client_id
                        for v in chunk
                        if v.document_id is None or v.client_has_care_plan or not alone
                    },
                )
                out = io.StringIO()
                w = _SpreadsheetWriter(out)
                for r in _with_confirmations(s, [_row(v, today) for v in chunk]):
                    rows, overdue = rows + 1, overdue + (r.days_overdue > 0)
                    w.writerow(
                        [
                            r.client_name,
                            r.title or "none yet",
                            r.state.label,
                            _iso(r.next_review_on),
                            r.days_overdue or "",
                            r.key_worker,
                            r.team,
                            r.agreed_version or "",
                            _iso(r.agreed_on),
                            _iso(r.last_reviewed_on),
                            _iso(r.last_signed_at and service_day(r.last_signed_at)),
                            _iso(r.client_since),
                            r.document_id or "",
                            under(base_url, f"/documents/{r.document_id}") if r.document_id else "",
                            "; ".join(
                                f"{c.name} ({_iso(service_day(c.at))})" for c in r.review_confirmed
                            ),
                            r.review_why,
                            _iso(r.regular_review_on),
                        ]
                    )
                yield out.getvalue()
        yield notes(rows, overdue)

    return generate()


# The columns the export had before keep their places (Client to Team), so a spreadsheet
# built on an earlier export still reads them; "Last signed" gave way to what was agreed when.
EXPORT_COLUMNS = [
    "Client",
    "Document",
    "State",
    "Next review",
    "Days overdue",
    "Key worker",
    "Team",
    "Version in force",
    "Agreed on",
    "Last agreed or reviewed",
    "Last signature",
    "Client since",
    "Reference",
    "Link",
    "Review confirmed with no changes by",
    "Why sooner than the regular review",
    "Regular review",
]


# Who confirmed "reviewed, no changes" in each document's review under way: one statement for
# a page or a chunk of the export, never one per row. Only while the agreed version is still
# the latest: once a new version is saved, the review is done by both signing it instead.
_CONFIRMED_IN_CYCLE = (
    select(ReviewConfirmation.document_id, User.display_name, ReviewConfirmation.confirmed_at)
    .join(
        Document,
        and_(
            Document.id == ReviewConfirmation.document_id,
            Document.review_cycle == ReviewConfirmation.cycle,
            Document.head_number == Document.agreed_version,
        ),
    )
    .join(User, User.id == ReviewConfirmation.user_id)
    .where(ReviewConfirmation.document_id.in_(bindparam("documents", expanding=True)))
    .order_by(ReviewConfirmation.id)
)


def _with_confirmations(s, rows: list[Row]) -> list[Row]:
    documents = [r.document_id for r in rows if r.state is not DashState.NO_PLAN]
    if not documents:
        return rows
    confirmed: dict[int, list[Confirmed]] = {}
    for doc_id, name, at in s.execute(_CONFIRMED_IN_CYCLE, {"documents": documents}):
        confirmed.setdefault(doc_id, []).append(Confirmed(name, at))
    return [
        replace(r, review_confirmed=tuple(confirmed[r.document_id]))
        if r.document_id in confirmed
        else r
        for r in rows
    ]


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


class _SpreadsheetWriter:
    """csv.writer whose every cell is safe to open in a spreadsheet (names, teams, filters)."""

    def __init__(self, out: io.StringIO):
        self._writer = csv.writer(out)

    def writerow(self, row: list) -> None:
        self._writer.writerow([text_cell(value) for value in row])


def _record_export(db: Database, actor: Actor, client_ids: set[int]) -> None:
    with db.write() as s:
        audit.record_many(
            s,
            actor,
            "export",
            "client",
            [(client_id, client_id) for client_id in sorted(client_ids)],
            detail={"what": "your review dates, in a team report"},
        )


# How far back the dashboard lists clients who left the service.
LEFT_WITHIN_DAYS = 90


@dataclass(frozen=True)
class LeftRow:
    client_name: str
    left_at: datetime
    key_worker: str
    recorded_by: str
    recorded_by_id: int | None = None  # "recorded by you" to whoever recorded it


def recently_left(db: Database, actor: Actor, today: date, limit: int = 50) -> list[LeftRow]:
    """Clients who left the service from the supervisor's teams in the last LEFT_WITHIN_DAYS
    days and have not come back, newest first (each time, if twice): who, when, whose
    caseload and who recorded it. Not why: that note is written to the client, whose records
    the supervisor no longer opens."""
    since = start_of_day(today - timedelta(days=LEFT_WITHIN_DAYS))
    client, worker, recorder = aliased(User), aliased(User), aliased(User)
    later = aliased(CaseloadLink)
    with db.read() as s:
        scope = _scope(s, actor)
        rows = s.execute(
            select(
                client.display_name,
                CaseloadLink.ended_at,
                worker.display_name,
                recorder.display_name,
                recorder.id,
            )  # fmt: skip
            .join(client, client.id == CaseloadLink.client_id)
            .join(worker, worker.id == CaseloadLink.key_worker_id)
            .join(recorder, recorder.id == CaseloadLink.ended_by_id)
            .where(
                CaseloadLink.ended_by_id.is_not(None),
                CaseloadLink.ended_at >= since,
                scope.recorded_in(CaseloadLink.ended_in_team_id),
                # Not back with a key worker (the one-open-caseload index answers this).
                ~exists().where(
                    later.client_id == CaseloadLink.client_id, later.ended_at.is_(None)
                ),
            )
            .order_by(CaseloadLink.ended_at.desc(), CaseloadLink.id.desc())
            .limit(limit)
        ).all()
    return [LeftRow(*r) for r in rows]


def charts(db: Database, actor: Actor, today: date) -> tuple[Chart, Chart, list, list]:
    """Share of reviews done on time per month (last 12 months), and overdue reviews per worker.

    Counted in the database, per due date: a few hundred rows come back, however many
    reviews there were.
    """
    start = today.replace(day=1) - timedelta(days=366)
    open_link = CaseloadLink.ended_at.is_(None)
    with db.read() as s:
        scope = _scope(s, actor)
        # Reviews already held count under the team of the key worker who held the client
        # then, so a handover, leaving the service or the worker moving team does not rewrite
        # the chart's past. One never done (the client left with it overdue) has no done
        # date: late.
        on_time = case((ReviewLog.done_on <= ReviewLog.due_on, 1), else_=0)
        reviews = s.execute(
            select(ReviewLog.due_on, on_time, func.count())
            .where(scope.recorded_in(ReviewLog.team_id), ReviewLog.due_on >= start)
            .group_by(ReviewLog.due_on, on_time)
        ).all()
        # Reviews whose date passed without being done are late too: under the team holding
        # the client now, unless logged as not done when the client or their worker moved on
        # (reviews.keep_overdue_with_holder), and so counted above under the team then.
        logged = (
            select(ReviewLog.id)
            .where(
                ReviewLog.document_id == Document.id, ReviewLog.due_on == Document.next_review_on
            )
            .exists()
        )
        missed = s.execute(
            select(Document.next_review_on, func.count())
            .join(CaseloadLink, and_(CaseloadLink.client_id == Document.client_id, open_link))
            .where(
                scope.holds(CaseloadLink.key_worker_id),
                Document.next_review_on < today,
                Document.next_review_on >= start,
                ~logged,
            )
            .group_by(Document.next_review_on)
        ).all()
        overdue = s.execute(
            select(CaseloadLink.key_worker_id, func.count(Document.id))
            .join(Document, Document.client_id == CaseloadLink.client_id)
            .where(
                open_link,
                scope.holds(CaseloadLink.key_worker_id),
                Document.next_review_on < today,
            )
            .group_by(CaseloadLink.key_worker_id)
        ).all()
    months = on_time_share(
        [(due, bool(ok), n) for due, ok, n in reviews] + [(due, None, n) for due, n in missed],
        today,
    )
    this_month = today.replace(day=1)
    month_items = [
        (
            m.strftime("%b %Y"),
            # None, not 0: a month with nothing due is not 0% on time (the API says null).
            (100 * ok / due) if due else None,
            # This month counts only the reviews due by today: it is not over.
            (f"{round(100 * ok / due)}% ({ok} of {due}" if due else "no reviews due")
            + (" so far" if m == this_month else "")
            + (")" if due else ""),
        )
        for m, due, ok in months
    ]
    per_worker = sorted(
        ((scope.workers[worker_id], count) for worker_id, count in overdue),
        key=lambda item: (-item[1], item[0]),
    )
    worker_items = [(name, count, f"{count} overdue") for name, count in per_worker[:20]]
    return (
        bar_chart("Reviews done on time, by month", month_items, axis_max=100, unit="%"),
        bar_chart("Overdue reviews by key worker", worker_items, slot=NAME_SLOT),
        month_items,
        per_worker,
    )
