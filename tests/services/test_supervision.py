import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, Document, ReviewLog, Team, User
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_today
from careplan.domain.supervision import SORTS, DashState, Filters, dash_state
from careplan.services import (
    accounts,
    admin_accounts,
    audit,
    documents,
    handovers,
    leaving,
    reviews,
    signoff,
    supervision,
)
from careplan.services.accounts import actor_for
from careplan.services.errors import NotFound
from tests.conftest import login
from tests.factories import (
    PASSWORD,
    CaseloadLinkFactory,
    Circle,
    ClientFactory,
    SupervisorFactory,
    SupervisorTeamFactory,
    make_agreement,
    make_plan,
)

TODAY = service_today()


def _agree(db, circle, doc, number=1):
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, number, "signed", "", PASSWORD)


def _set(db, doc, **values):
    with db.write() as s:
        s.execute(sa.update(Document).where(Document.id == doc).values(**values))


@pytest.fixture
def teams(app, db):
    """Team A with a document in every state; team B with one document of its own."""
    a, b = Circle(), Circle()
    docs = {}

    def client_of(circle):
        person = ClientFactory()
        CaseloadLinkFactory(client_id=person.id, key_worker_id=circle.key_worker.id)
        return person

    docs["never"] = make_plan(a.key_worker, a.client)
    awaiting_client = client_of(a)
    docs["awaiting"] = make_plan(a.key_worker, awaiting_client)
    signoff.sign(db, actor_for(a.key_worker), docs["awaiting"], 1, "signed", "", PASSWORD)
    declined_client = client_of(a)
    docs["declined"] = make_plan(a.key_worker, declined_client)
    signoff.sign(
        db, actor_for(declined_client), docs["declined"], 1, "declined", "Not yet", PASSWORD
    )
    for name, review in [("agreed", 60), ("soon", 5), ("overdue", -20), ("draft", 60)]:
        person = client_of(a)
        docs[name] = make_plan(a.key_worker, person)
        for who in (person, a.key_worker):
            signoff.sign(db, actor_for(who), docs[name], 1, "signed", "", PASSWORD)
        _set(db, docs[name], next_review_on=TODAY + timedelta(days=review))
        if name == "draft":
            page = documents.open_document(db, actor_for(person), docs[name])
            page.content["what_matters"] = {"text": "A new draft"}
            documents.save_version(db, actor_for(person), docs[name], 1, page.content)
    docs["other_team"] = make_plan(b.key_worker, b.client)
    return a, b, docs


def states(board):
    return {r.document_id: r.state for r in board.rows}


def test_every_state_shows_and_the_other_team_never_does(db, teams):
    a, b, docs = teams
    board = supervision.dashboard(db, actor_for(a.supervisor), Filters(), TODAY)
    seen = states(board)
    assert docs["other_team"] not in seen
    assert seen == {
        docs["never"]: DashState.NEVER_AGREED,
        docs["awaiting"]: DashState.AWAITING,
        docs["declined"]: DashState.DECLINED,
        docs["agreed"]: DashState.AGREED,
        docs["soon"]: DashState.DUE_SOON,
        docs["overdue"]: DashState.OVERDUE,
        docs["draft"]: DashState.DRAFT,
    }
    overdue = next(r for r in board.rows if r.document_id == docs["overdue"])
    assert overdue.days_overdue == 20 and overdue.key_worker == a.key_worker.display_name
    assert [r.document_id for r in board.rows][0] == docs["overdue"]  # soonest review first
    other = supervision.dashboard(db, actor_for(b.supervisor), Filters(), TODAY)
    assert set(states(other)) == {docs["other_team"]}


# "No care plan yet" is a client's state, not a document's: its own tests are below, as are
# those of a version nobody can sign once a day in it has passed.
DOCUMENT_STATES = [
    state for state in DashState if state not in (DashState.NO_PLAN, DashState.PASSED_DAY)
]


@pytest.mark.parametrize("state", DOCUMENT_STATES)
def test_filter_by_state(db, teams, state):
    a, _, docs = teams
    board = supervision.dashboard(db, actor_for(a.supervisor), Filters(state=state), TODAY)
    assert board.rows and {r.state for r in board.rows} == {state}


def test_filter_by_team_worker_and_dates(db, teams):
    a, b, docs = teams
    sup = actor_for(a.supervisor)
    own = supervision.dashboard(db, sup, Filters(team_id=a.team.id), TODAY)
    assert set(states(own)) == {docs[name] for name in docs if name != "other_team"}
    worker = Filters(key_worker_id=a.key_worker.id)
    assert len(supervision.dashboard(db, sup, worker, TODAY).rows) == len(own.rows)
    # Another team's, or someone who is no key worker of theirs: refused, not "nothing".
    for other in (Filters(team_id=b.team.id), Filters(team_id=10**6)):
        with pytest.raises(ContentInvalid) as refused:
            supervision.dashboard(db, sup, other, TODAY)
        assert set(refused.value.errors) == {"team"}
    for other in (b.key_worker.id, a.client.id):
        with pytest.raises(ContentInvalid) as refused:
            supervision.dashboard(db, sup, Filters(key_worker_id=other), TODAY)
        assert set(refused.value.errors) == {"key_worker"}
    ranged = supervision.dashboard(
        db,
        sup,
        Filters(due_from=TODAY - timedelta(days=30), due_to=TODAY + timedelta(days=10)),
        TODAY,
    )
    assert set(states(ranged)) == {docs["soon"], docs["overdue"]}


def test_paging_and_sorting(db, teams, monkeypatch):
    a, _, _ = teams
    monkeypatch.setattr(supervision, "PAGE_SIZE", 3)
    sup = actor_for(a.supervisor)
    first = supervision.dashboard(db, sup, Filters(sort="client"), TODAY)
    second = supervision.dashboard(db, sup, Filters(sort="client", page=2), TODAY)
    third = supervision.dashboard(db, sup, Filters(sort="client", page=3), TODAY)
    names = [r.client_name for r in first.rows + second.rows + third.rows]
    assert len(names) == 7 and names == sorted(names)
    assert first.has_next and second.has_next and not third.has_next
    # Past the end (an old link, fewer rows since): the last page there is, named as such.
    for beyond in (4, 9, 2**31 - 1):
        last = supervision.dashboard(db, sup, Filters(sort="client", page=beyond), TODAY)
        assert (last.filters.page, last.rows, last.has_next) == (3, third.rows, False)
    narrowed = Filters(sort="client", state=DashState.OVERDUE, page=2)
    assert supervision.dashboard(db, sup, narrowed, TODAY).filters.page == 1


def test_the_sql_state_agrees_with_the_domain_rule(db, teams):
    a, _, _ = teams
    with db.read() as s:
        rows = s.execute(
            sa.select(
                Document.signoff_state,
                Document.agreed_version,
                Document.head_number,
                Document.next_review_on,
                Document.handed_over_until,
                supervision.state_expression(TODAY),
            )
        ).all()
    assert rows and all(
        dash_state(st, ag, head, rev, TODAY, until).value == sql
        for st, ag, head, rev, until, sql in rows
    )


def test_a_review_half_confirmed_is_told_apart_from_one_nobody_has_started(app, db, teams):
    """An overdue review the key worker had confirmed with no changes read as one nobody had
    started: the supervisor could not tell whom it waited for."""
    a, _, docs = teams
    overdue = docs["overdue"]
    with db.read() as s:
        client = s.get(User, s.get(Document, overdue).client_id)

    def rows():
        board = supervision.dashboard(db, actor_for(a.supervisor), Filters(), TODAY)
        return {r.document_id: r for r in board.rows}

    def exported():
        text = "".join(supervision.export_csv(db, actor_for(a.supervisor), Filters(), TODAY))
        table = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
        return {
            r["Reference"]: r["Review confirmed with no changes by"]
            for r in table
            if r["Reference"]
        }

    assert all(r.review_confirmed == () for r in rows().values())
    reviews.confirm_no_changes(db, actor_for(a.key_worker), overdue, 1, PASSWORD)
    shown = rows()
    [confirmed] = shown[overdue].review_confirmed
    assert confirmed.name == a.key_worker.display_name
    assert all(r.review_confirmed == () for d, r in shown.items() if d != overdue)
    assert exported()[str(overdue)] == f"{a.key_worker.display_name} ({TODAY.isoformat()})"
    page = login(app.test_client(), a.supervisor).get("/supervision").get_data(as_text=True)
    said = f"(confirmed with no changes by <bdi>{a.key_worker.display_name}</bdi> on "
    assert said in page and "; done once both have)" in page

    # Both confirmed: the review is done, and the next one nobody has started.
    reviews.confirm_no_changes(db, actor_for(client), overdue, 1, PASSWORD)
    assert rows()[overdue].review_confirmed == ()
    assert exported()[str(overdue)] == ""


def test_a_review_half_confirmed_then_changed_is_not_said_to_wait_for_a_confirmation(db, teams):
    """A new version saved after one side confirmed: the review is done by both signing it,
    but the row and the export still said it was done once both had confirmed."""
    from careplan.services import documents

    a, _, docs = teams
    overdue = docs["overdue"]
    worker = actor_for(a.key_worker)
    reviews.confirm_no_changes(db, worker, overdue, 1, PASSWORD)
    content = documents.open_document(db, worker, overdue).content
    content["what_matters"] = {"text": "Something to change after all."}
    documents.save_version(db, worker, overdue, 1, content, "a change")
    board = supervision.dashboard(db, actor_for(a.supervisor), Filters(), TODAY)
    assert {r.document_id: r for r in board.rows}[overdue].review_confirmed == ()
    text = "".join(supervision.export_csv(db, actor_for(a.supervisor), Filters(), TODAY))
    table = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    [row] = [r for r in table if r["Reference"] == str(overdue)]
    assert row["Review confirmed with no changes by"] == ""


def test_only_supervisors_have_a_dashboard(db, teams):
    a, _, _ = teams
    for person in (a.client, a.key_worker, a.advocate, a.admin):
        with pytest.raises(NotFound):
            supervision.dashboard(db, actor_for(person), Filters(), TODAY)


def test_export_starts_with_its_header_and_says_how_it_was_made_after_the_table(db, teams):
    a, _, docs = teams
    filters = Filters(state=DashState.OVERDUE)
    text = "".join(supervision.export_csv(db, actor_for(a.supervisor), filters, TODAY))
    assert text.startswith("\ufeffClient,Document,State,")  # UTF-8 for spreadsheets
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == [
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
    table = rows[1 : rows.index([])]
    assert len(table) == 1 and table[0][2] == "review overdue" and table[0][4] == "20"
    notes = rows[rows.index([]) + 1 :]
    assert notes[0] == ["Review-date audit"] and ["State", "review overdue"] in notes
    assert ["Exported by", a.supervisor.display_name] in notes
    assert ["Rows", "1"] in notes and ["Of them overdue", "1"] in notes
    # Every state: the rows and the overdue among them counted as the table has them.
    text = "".join(supervision.export_csv(db, actor_for(a.supervisor), Filters(), TODAY))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    table, notes = rows[1 : rows.index([])], rows[rows.index([]) + 1 :]
    assert ["Rows", str(len(table))] in notes and len(table) > 1
    assert ["Of them overdue", str(sum(1 for r in table if r[4]))] in notes


def test_days_overdue_is_empty_where_nothing_is_overdue(db, teams):
    a, _, _ = teams
    text = "".join(supervision.export_csv(db, actor_for(a.supervisor), Filters(), TODAY))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    table = rows[1 : rows.index([])]
    overdue = {row[4] for row in table if row[2] == "review overdue"}
    others = {row[4] for row in table if row[2] != "review overdue"}
    assert overdue and all(days.isdigit() and int(days) > 0 for days in overdue)
    assert others == {""}


def test_the_clients_access_log_after_a_supervisor_read_an_export_and_an_advocate_read(db, teams):
    a, _, docs = teams
    documents.open_document(db, actor_for(a.supervisor), docs["never"])
    "".join(supervision.export_csv(db, actor_for(a.supervisor), Filters(), TODAY))
    documents.open_document(db, actor_for(a.advocate), docs["never"])
    log = audit.access_log(db, actor_for(a.client))
    said = [(e.who, e.what.split(" ")[0]) for e in log]
    assert said == [
        (a.advocate.display_name, "read"),
        (a.supervisor.display_name, "exported"),
        (a.supervisor.display_name, "read"),
    ]
    assert "team report" in log[1].what


def test_charts_count_on_time_and_overdue_reviews(db, teams):
    a, _, docs = teams
    due = TODAY - timedelta(days=40)
    with db.write() as s:
        for done_on in (due, due + timedelta(days=3)):
            s.add(ReviewLog(document_id=docs["agreed"], client_id=a.client.id, due_on=due,
                            done_on=done_on, key_worker_id=a.key_worker.id,
                            team_id=a.key_worker.team_id))  # fmt: skip
    _, _, months, workers = supervision.charts(db, actor_for(a.supervisor), TODAY)
    assert workers == [(a.key_worker.display_name, 1)]
    by_month = {label: text for label, _, text in months}
    # The overdue document's missed date counts as a late review in its own month.
    missed = (TODAY - timedelta(days=20)).strftime("%b %Y")
    expected_due = 2 + (1 if missed == due.strftime("%b %Y") else 0)
    assert by_month[due.strftime("%b %Y")] == f"{round(100 / expected_due)}% (1 of {expected_due})"


def test_every_bar_on_the_charts_is_labelled_with_its_value(app, db, teams):
    """A full bar, an empty one (0%) and a month with nothing due are each labelled, so no bar
    is left for the eye to measure against the axis."""
    a, _, docs = teams
    due = TODAY - timedelta(days=40)
    with db.write() as s:
        s.add(ReviewLog(document_id=docs["agreed"], client_id=a.client.id, due_on=due,
                        done_on=due, key_worker_id=a.key_worker.id,
                        team_id=a.key_worker.team_id))  # fmt: skip
    _, _, months, workers = supervision.charts(db, actor_for(a.supervisor), TODAY)
    page = login(app.test_client(), a.supervisor).get("/supervision/charts")
    month_chart, worker_chart = re.findall(r"<svg.*?</svg>", page.get_data(as_text=True), re.S)

    def written(svg: str, pattern: str) -> list[str]:
        texts = re.findall(r"<text[^>]*>([^<]*)<", svg)
        return [t for t in texts if re.fullmatch(pattern, t)]

    # The axis's top, then each month's share in words ("100% (1 of 1)": "100%").
    values = [
        "none" if text.startswith("no reviews due") else text.split()[0] for _, _, text in months
    ]
    assert written(month_chart, r"\d+%|none") == ["100%", *values]
    # The axis's top and bottom, then each key worker's count.
    assert workers == [(a.key_worker.display_name, 1)]
    assert written(worker_chart, r"\d+") == ["1", "0", "1"]


def _charted(db, circle) -> list[str]:
    months = supervision.charts(db, actor_for(circle.supervisor), TODAY)[2]
    return [text for _, _, text in months if not text.startswith("no reviews due")]


def test_a_review_stays_on_the_chart_of_the_team_it_was_held_in(db):
    """The key worker who held it moving team later takes neither the review nor its lateness
    to their new team's chart."""
    a, b = Circle(), Circle()
    doc = make_plan(a.key_worker, a.client)
    _agree(db, a, doc)
    _set(db, doc, next_review_on=TODAY.replace(day=1) - timedelta(days=3))
    for person in (a.client, a.key_worker):  # held late, in a month that is over
        reviews.confirm_no_changes(db, actor_for(person), doc, 1, PASSWORD)

    assert (_charted(db, a), _charted(db, b)) == (["0% (0 of 1)"], [])
    worker = a.key_worker
    admin_accounts.update_details(
        db,
        actor_for(a.admin),
        worker.id,
        worker.display_name,
        worker.email,
        b.team.id,
        clients_moving=1,
    )
    with db.read() as s:
        assert s.get(User, worker.id).team_id == b.team.id
    assert (_charted(db, a), _charted(db, b)) == (["0% (0 of 1)"], [])


@pytest.mark.parametrize("moved_by", ["worker changes team", "handover", "new key worker"])
def test_a_review_missed_stays_late_on_the_chart_of_the_team_that_held_it(db, moved_by):
    """Overdue and not done when the client moves to a worker in another team (or their
    worker does): it stays late on the first team's chart, the other team's past stays empty,
    and held late afterwards it is still the first team's."""
    a, b = Circle(), Circle()
    doc = make_plan(a.key_worker, a.client)
    _agree(db, a, doc)
    late = TODAY.replace(day=1) - timedelta(days=3)  # last month's: that month is over
    _set(db, doc, next_review_on=late, scheduled_review_on=late)
    assert (_charted(db, a), _charted(db, b)) == (["0% (0 of 1)"], [])
    holder = a.key_worker
    if moved_by == "worker changes team":
        admin_accounts.update_details(
            db,
            actor_for(a.admin),
            holder.id,
            holder.display_name,
            holder.email,
            b.team.id,
            clients_moving=1,
        )
    elif moved_by == "handover":
        SupervisorTeamFactory(supervisor_id=a.supervisor.id, team_id=b.team.id)
        handovers.start(db, actor_for(a.supervisor), a.client.id, b.key_worker.id, "Moving.")
        documents.open_document(db, actor_for(b.key_worker), doc, 1)
        handovers.acknowledge(db, actor_for(b.key_worker), a.client.id)
        holder = b.key_worker
    else:
        accounts.link_caseload(db, a.client.email, b.key_worker.email, actor_for(a.admin))
        holder = b.key_worker
    assert (_charted(db, a), _charted(db, b)) == (["0% (0 of 1)"], [])
    for person in (a.client, holder):  # held late, by the team holding the client now
        reviews.confirm_no_changes(db, actor_for(person), doc, 1, PASSWORD)
    assert (_charted(db, a), _charted(db, b)) == (["0% (0 of 1)"], [])
    with db.read() as s:
        assert s.scalars(sa.select(ReviewLog.team_id)).all() == [a.team.id]


def test_this_month_on_the_chart_says_it_counts_only_the_reviews_due_so_far(db):
    a = Circle()
    doc = make_plan(a.key_worker, a.client)
    _agree(db, a, doc)
    this_month = TODAY.replace(day=1)
    months = supervision.charts(db, actor_for(a.supervisor), TODAY)[2]
    assert months[-1] == (this_month.strftime("%b %Y"), None, "no reviews due so far")
    assert all(text == "no reviews due" for _, _, text in months[:-1])
    if TODAY.day == 1:
        return  # nothing can be late yet this month
    _set(db, doc, next_review_on=this_month)
    months = supervision.charts(db, actor_for(a.supervisor), TODAY)[2]
    assert months[-1][2] == "0% (0 of 1 so far)"


def test_dashboard_and_export_through_the_web(app, db, teams):
    a, _, docs = teams
    web = login(app.test_client(), a.supervisor)
    page = web.get("/supervision?state=overdue")
    assert page.status_code == 200 and "review overdue" in page.get_data(as_text=True)
    bad = web.get("/supervision?due_from=soon")
    assert bad.status_code == 422 and "real date" in bad.get_data(as_text=True)
    # A page past the end: the last there is (here the only one), with a word on why.
    beyond = web.get("/supervision?state=overdue&page=99999999999999999999")
    assert beyond.status_code == 302
    assert beyond.headers["Location"] == "/supervision?state=overdue&page=1"
    page = web.get(beyond.headers["Location"]).get_data(as_text=True)
    assert "past the end of the list" in page and "review overdue" in page
    # A team that is not theirs: said, and all of theirs shown instead of an empty list.
    _, b, _ = teams
    other = web.get(f"/supervision?team={b.team.id}")
    page = other.get_data(as_text=True)
    assert other.status_code == 422 and "Please choose one of your teams" in page
    assert a.client.display_name in page
    refused = web.get(f"/supervision/export.csv?key_worker={b.key_worker.id}")
    assert refused.status_code == 400 and refused.mimetype == "text/html"
    assert "Please choose a key worker in your teams" in refused.get_data(as_text=True)
    export = web.get("/supervision/export.csv?state=overdue")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "review overdue" in export.get_data(as_text=True)
    charts = web.get("/supervision/charts").get_data(as_text=True)
    assert "<svg" in charts and "<table" in charts
    # A month with no reviews due is marked, not drawn like 0% on time.
    assert 'class="none"' in charts and "“none”: no reviews were due that month." in charts
    home = web.get("/").get_data(as_text=True)  # the tabs stay on the clients' page
    assert 'aria-label="Supervision"' in home and 'href="/" aria-current="page">Clients' in home
    worker = login(app.test_client(), a.key_worker)
    assert worker.get("/supervision").status_code == 404


def _named_and_filtered(db, state):
    """The documents state_expression names as `state`, and those state_condition selects."""
    with db.read() as s:
        named = set(
            s.scalars(
                sa.select(Document.id).where(supervision.state_expression(TODAY) == state.value)
            )
        )
        filtered = set(
            s.scalars(sa.select(Document.id).where(supervision.state_condition(state, TODAY)))
        )
    return named, filtered


@pytest.mark.parametrize("state", DOCUMENT_STATES)
def test_the_state_filter_selects_what_the_state_expression_names(db, teams, state):
    named, filtered = _named_and_filtered(db, state)
    assert named and filtered == named


def test_a_version_waiting_past_a_decisions_day_is_not_said_to_wait_for_a_signature(db, teams):
    """Signed by one side; then the earliest day a decision in it is handed over until
    passed: nobody can sign it, so the dashboard, its filter and its export say it needs a
    new version instead. On that day itself it still waits for a signature."""
    a, _, docs = teams
    sup = actor_for(a.supervisor)
    doc = docs["awaiting"]
    _set(db, doc, handed_over_until=TODAY)
    assert states(supervision.dashboard(db, sup, Filters(), TODAY))[doc] is DashState.AWAITING
    _set(db, doc, handed_over_until=TODAY - timedelta(days=1))
    assert states(supervision.dashboard(db, sup, Filters(), TODAY))[doc] is DashState.PASSED_DAY
    for state in (DashState.PASSED_DAY, DashState.AWAITING):
        named, filtered = _named_and_filtered(db, state)
        assert filtered == named
    assert set(
        states(supervision.dashboard(db, sup, Filters(state=DashState.PASSED_DAY), TODAY))
    ) == {doc}
    assert not supervision.dashboard(db, sup, Filters(state=DashState.AWAITING), TODAY).rows
    text = "".join(supervision.export_csv(db, sup, Filters(state=DashState.PASSED_DAY), TODAY))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[1][2] == "cannot be signed: a day in it has passed, needs a new version"
    test_the_sql_state_agrees_with_the_domain_rule(db, teams)


@pytest.mark.parametrize("name", ["never", "draft"])
def test_a_version_signed_by_nobody_past_a_decisions_day_is_not_called_a_draft(db, teams, name):
    """Signed by nobody yet (a document never agreed, or a new version of an agreed one),
    nobody can sign it once the day has passed: the dashboard and its filters say so, as the
    plan cards and caseloads do, not "never agreed" or "new draft"."""
    a, _, docs = teams
    sup = actor_for(a.supervisor)
    doc = docs[name]
    _set(db, doc, handed_over_until=TODAY - timedelta(days=1))
    assert states(supervision.dashboard(db, sup, Filters(), TODAY))[doc] is DashState.PASSED_DAY
    for state in DashState:
        named, filtered = _named_and_filtered(db, state)
        assert filtered == named
        assert (doc in named) is (state is DashState.PASSED_DAY)
    test_the_sql_state_agrees_with_the_domain_rule(db, teams)


def test_the_state_filter_agrees_on_the_edges_of_due_soon(db, teams):
    """Review dates on each boundary: yesterday, today, the last day of "soon", the day after,
    and an agreed document with no date at all. The documents never agreed get the same dates:
    the review after a crisis is the one they can owe."""
    a, _, docs = teams
    for days in (-1, 0, 14, 15, None):
        for name in ("agreed", "draft", "never", "awaiting", "declined"):
            _set(db, docs[name], next_review_on=None if days is None else TODAY + timedelta(days))
        for state in DashState:
            named, filtered = _named_and_filtered(db, state)
            assert filtered == named, (days, state)


def test_a_supervisor_of_no_team_sees_nothing(db, teams):
    lonely = actor_for(SupervisorFactory())
    board = supervision.dashboard(db, lonely, Filters(), TODAY)
    assert board.rows == [] and board.workers == {} and not board.has_next
    text = "".join(supervision.export_csv(db, lonely, Filters(), TODAY))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][-1] == "Regular review" and rows[1] == []  # no rows
    _, _, months, workers = supervision.charts(db, lonely, TODAY)
    assert workers == [] and all(text.startswith("no reviews due") for _, _, text in months)


def test_a_large_export_keeps_the_audit_chain_whole(db, teams, monkeypatch):
    a, _, docs = teams
    monkeypatch.setattr(supervision, "EXPORT_CHUNK", 3)  # seven documents: three chunks
    before = audit.verify_chain(db).events
    text = "".join(supervision.export_csv(db, actor_for(a.supervisor), Filters(), TODAY))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    table = rows[1 : rows.index([])]
    assert len(table) == 7
    report = audit.verify_chain(db)
    assert report.ok and report.events == before + 7
    with db.read() as s:
        exported = s.scalars(
            sa.select(AuditEvent.client_id).where(AuditEvent.action == "export")
        ).all()
        team_a = s.scalars(
            sa.select(Document.client_id).where(Document.id != docs["other_team"])
        ).all()
    assert sorted(exported) == sorted(team_a)


def test_an_export_records_a_client_with_agreements_only_once(db, monkeypatch):
    """Their "no care plan yet" row records them; their agreements' rows, in other chunks,
    do not again. Filtered to agreements' states, those rows record them."""
    circle = Circle()
    make_agreement(circle.key_worker, circle.client)
    make_agreement(circle.key_worker, circle.client)
    monkeypatch.setattr(supervision, "EXPORT_CHUNK", 1)

    def exported(filters: Filters) -> tuple[int, list[int]]:
        with db.read() as s:
            before = s.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0
        sup = actor_for(circle.supervisor)
        text = "".join(supervision.export_csv(db, sup, filters, TODAY))
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        with db.read() as s:
            events = s.scalars(
                sa.select(AuditEvent.client_id).where(
                    AuditEvent.action == "export", AuditEvent.id > before
                )
            ).all()
        return len(rows[1 : rows.index([])]), events

    assert exported(Filters()) == (3, [circle.client.id])
    assert exported(Filters(state=DashState.NEVER_AGREED)) == (2, [circle.client.id] * 2)


@pytest.mark.parametrize("sort", ["review", "client", "signed"])
def test_the_export_keeps_the_order_chosen_on_the_page(db, teams, monkeypatch, sort):
    a, _, _ = teams
    monkeypatch.setattr(supervision, "EXPORT_CHUNK", 2)  # the order holds across chunks
    filters = Filters(sort=sort)
    text = "".join(supervision.export_csv(db, actor_for(a.supervisor), filters, TODAY))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    table = rows[1 : rows.index([])]
    page = supervision.dashboard(db, actor_for(a.supervisor), filters, TODAY).rows
    assert len(table) == len(page) == 7
    assert [(r[0], r[1], r[3]) for r in table] == [
        (r.client_name, r.kind_label, r.next_review_on.isoformat() if r.next_review_on else "")
        for r in page
    ]
    notes = rows[rows.index([]) + 1 :]
    assert ["Sorted by", SORTS[sort]] in notes


FORMULAS = {
    "client": '=HYPERLINK("http://example.invalid","Open")',
    "key_worker": "+1+2",
    "team": "@SUM(A1:A9)",
    "supervisor": "-2+3",
}


def test_an_export_opened_in_a_spreadsheet_runs_no_formula(db, teams):
    """Names that a spreadsheet would run as formulas arrive as plain text (OWASP: cells
    starting with =, +, -, @, tab or carriage return get a leading apostrophe)."""
    a, _, docs = teams
    with db.write() as s:
        for role in ("client", "key_worker", "supervisor"):
            person = getattr(a, role)
            s.execute(
                sa.update(User).where(User.id == person.id).values(display_name=FORMULAS[role])
            )
        s.execute(sa.update(Team).where(Team.id == a.team.id).values(name=FORMULAS["team"]))
        # Tab and carriage return lead into a formula in some spreadsheets too.
        other = s.scalar(sa.select(Document.client_id).where(Document.id == docs["soon"]))
        s.execute(sa.update(User).where(User.id == other).values(display_name="\t=1+1"))
        other = s.scalar(sa.select(Document.client_id).where(Document.id == docs["agreed"]))
        s.execute(sa.update(User).where(User.id == other).values(display_name="\r=1+1"))
    supervisor = actor_for(a.supervisor)
    supervisor = type(supervisor)(supervisor.id, supervisor.role, FORMULAS["supervisor"])

    text = "".join(supervision.export_csv(db, supervisor, Filters(), TODAY))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))

    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert ["Exported by", "'" + FORMULAS["supervisor"]] in rows
    table = rows[1 : rows.index([])]
    names = {row[0] for row in table}
    assert {"'" + FORMULAS["client"], "'\t=1+1", "'\r=1+1"} <= names
    assert {row[5] for row in table} == {"'" + FORMULAS["key_worker"]}
    assert {row[6] for row in table} == {"'" + FORMULAS["team"]}
    # Everything else is exactly as it was: dates, numbers and ordinary names.
    assert any(row[4] == "20" for row in table)
    assert all(not row[3] or row[3][:1].isdigit() for row in table)


def test_oldest_signature_first_puts_the_never_signed_first(db, teams):
    """Sorted by last signed, oldest first: what was never signed is the most out of date, so
    it comes first, on both databases (their NULL order differs by default)."""
    a, _, docs = teams
    rows = supervision.dashboard(db, actor_for(a.supervisor), Filters(sort="signed"), TODAY).rows
    signed = [r.last_signed_at for r in rows]
    never = [r.document_id for r in rows if r.last_signed_at is None]
    assert docs["never"] in never and len(never) < len(rows)
    assert signed[: len(never)] == [None] * len(never)
    assert signed[len(never) :] == sorted(signed[len(never) :])


# --- clients with no care plan yet ----------------------------------------------


def _client_without_documents(circle, name="Cal Noplan"):
    person = ClientFactory(display_name=name)
    CaseloadLinkFactory(client_id=person.id, key_worker_id=circle.key_worker.id)
    return person


def test_a_client_with_no_document_is_a_row_saying_so(db, teams):
    a, b, docs = teams
    cal = _client_without_documents(a)
    _client_without_documents(b, "Bo Otherteam")  # another team's: never here
    sup = actor_for(a.supervisor)
    board = supervision.dashboard(db, sup, Filters(), TODAY)
    assert len(board.rows) == 8
    first = board.rows[0]  # a plan owed now comes before any review date
    assert (first.client_id, first.document_id, first.kind_label) == (cal.id, None, None)
    assert first.state is DashState.NO_PLAN and first.state.label == "no care plan yet"
    assert first.key_worker == a.key_worker.display_name and first.team == a.team.name
    assert first.client_since == cal.created_at.date()
    assert (first.next_review_on, first.last_signed_at, first.days_overdue) == (None, None, 0)
    # The filters: their team and key worker keep them, the "no care plan yet" state shows
    # them alone, another state or a review date range leaves them out.
    for kept in (Filters(team_id=a.team.id), Filters(key_worker_id=a.key_worker.id)):
        assert cal.id in {r.client_id for r in supervision.dashboard(db, sup, kept, TODAY).rows}
    alone = supervision.dashboard(db, sup, Filters(state=DashState.NO_PLAN), TODAY)
    assert [r.client_id for r in alone.rows] == [cal.id]
    for without in (
        Filters(state=DashState.NEVER_AGREED),
        Filters(due_from=TODAY - timedelta(days=365)),
        Filters(due_to=TODAY + timedelta(days=365)),
    ):
        rows = supervision.dashboard(db, sup, without, TODAY).rows
        assert rows and cal.id not in {r.client_id for r in rows}
    # An agreement is not a care plan: its row is there, and so is "no care plan yet".
    agreement = make_agreement(a.key_worker, cal)
    rows = supervision.dashboard(db, sup, Filters(), TODAY).rows
    assert [(r.document_id, r.state) for r in rows if r.client_id == cal.id] == [
        (None, DashState.NO_PLAN),
        (agreement, DashState.NEVER_AGREED),
    ]
    alone = supervision.dashboard(db, sup, Filters(state=DashState.NO_PLAN), TODAY)
    assert [r.client_id for r in alone.rows] == [cal.id]
    # Once a care plan is saved they are their documents' rows, not "no care plan yet".
    doc = make_plan(a.key_worker, cal)
    rows = supervision.dashboard(db, sup, Filters(), TODAY).rows
    assert sorted(r.document_id for r in rows if r.client_id == cal.id) == [agreement, doc]
    assert not supervision.dashboard(db, sup, Filters(state=DashState.NO_PLAN), TODAY).rows


def test_clients_with_no_document_sort_and_page_with_the_rest(db, teams, monkeypatch):
    a, _, docs = teams
    cal = _client_without_documents(a, "Mm Middle")
    sup = actor_for(a.supervisor)
    by_name = supervision.dashboard(db, sup, Filters(sort="client"), TODAY).rows
    names = [r.client_name for r in by_name]
    assert names == sorted(names) and cal.display_name in names
    by_worker = supervision.dashboard(db, sup, Filters(sort="key_worker"), TODAY).rows
    assert cal.id in {r.client_id for r in by_worker}
    signed = supervision.dashboard(db, sup, Filters(sort="signed"), TODAY).rows
    assert signed[0].client_id == cal.id  # never signed, and no document to sign
    # Paged with the documents: eight rows, three a page.
    monkeypatch.setattr(supervision, "PAGE_SIZE", 3)
    pages = [
        supervision.dashboard(db, sup, Filters(sort="client", page=n), TODAY) for n in (1, 2, 3)
    ]
    paged = [r.client_name for p in pages for r in p.rows]
    assert paged == names and [p.has_next for p in pages] == [True, True, False]


def test_the_most_overdue_come_first_before_clients_with_no_care_plan(db, teams):
    """Sorted by days overdue, a supervisor sees the overdue reviews at the top; by review
    date, clients with no care plan come first (a plan is owed them now)."""
    a, _, docs = teams
    cal = _client_without_documents(a)
    sup = actor_for(a.supervisor)
    by_overdue = supervision.dashboard(db, sup, Filters(sort="overdue"), TODAY).rows
    assert by_overdue[0].document_id == docs["overdue"]
    dated = sum(1 for r in by_overdue if r.next_review_on)
    first = [r.next_review_on for r in by_overdue[:dated]]
    assert None not in first and first == sorted(first)
    # Then those with no review date, the client with no care plan first.
    assert by_overdue[dated].client_id == cal.id and by_overdue[dated].document_id is None
    by_review = supervision.dashboard(db, sup, Filters(sort="review"), TODAY).rows
    assert by_review[0].client_id == cal.id and by_review[1].document_id == docs["overdue"]


def test_the_dashboard_counts_the_overdue_reviews_across_the_teams_whatever_the_filters(
    app, db, teams, monkeypatch
):
    """With many clients with no care plan first, the only overdue review was on page 2: the
    page says how many there are and links to them, the most overdue first."""
    a, b, docs = teams
    sup = actor_for(a.supervisor)
    assert supervision.dashboard(db, sup, Filters(), TODAY).overdue == 1
    other_state = Filters(state=DashState.AGREED)
    assert supervision.dashboard(db, sup, other_state, TODAY).overdue == 1
    assert supervision.dashboard(db, actor_for(b.supervisor), Filters(), TODAY).overdue == 0
    _set(db, docs["other_team"], next_review_on=TODAY - timedelta(days=3))
    assert supervision.dashboard(db, sup, Filters(), TODAY).overdue == 1  # not another team's
    assert supervision.dashboard(db, actor_for(b.supervisor), Filters(), TODAY).overdue == 1

    browser = login(app.test_client(), a.supervisor)
    page = " ".join(browser.get("/supervision").get_data(as_text=True).split())
    link = '<a href="/supervision?state=overdue&amp;sort=overdue#results">See it</a>'
    assert f"1 review is overdue across your teams. {link}" in page
    shown = browser.get("/supervision?state=overdue&sort=overdue").get_data(as_text=True)
    assert 'id="overdue-count"' not in shown  # already what the list shows

    # Counted up to a limit, so the page costs the same however many there are.
    monkeypatch.setattr(supervision, "OVERDUE_COUNTED", 2)
    _set(db, docs["soon"], next_review_on=TODAY - timedelta(days=1))
    _set(db, docs["agreed"], next_review_on=TODAY - timedelta(days=2))
    assert supervision.dashboard(db, sup, Filters(), TODAY).overdue == 2
    page = " ".join(browser.get("/supervision").get_data(as_text=True).split())
    assert "2 or more reviews are overdue across your teams." in page
    assert "See them, the most overdue first</a>" in page


def test_a_client_with_no_document_who_left_the_service_is_not_listed(db, teams):
    a, _, _ = teams
    cal = _client_without_documents(a)
    leaving.record(db, actor_for(a.key_worker), cal.id, "Moved away.", TODAY)
    rows = supervision.dashboard(db, actor_for(a.supervisor), Filters(), TODAY).rows
    assert cal.id not in {r.client_id for r in rows} and len(rows) == 7


def test_client_since_is_the_services_day_the_account_was_made(db, teams):
    """Made at 23:30 UTC in summer, half past midnight in London: a client since the next day,
    on the page, in the export and the API alike (all read the dashboard's rows)."""
    a, _, _ = teams
    cal = _client_without_documents(a)
    with db.write() as s:
        s.get(User, cal.id).created_at = datetime(2026, 6, 3, 23, 30, tzinfo=UTC)
    rows = supervision.dashboard(db, actor_for(a.supervisor), Filters(), TODAY).rows
    assert [r.client_since for r in rows if r.client_id == cal.id] == [date(2026, 6, 4)]


def test_the_export_lists_clients_with_no_document_as_the_page_does(db, teams):
    a, _, _ = teams
    cal = _client_without_documents(a)
    sup = actor_for(a.supervisor)
    text = "".join(supervision.export_csv(db, sup, Filters(), TODAY))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    table = rows[1 : rows.index([])]
    assert len(table) == 8
    assert table[0] == [
        cal.display_name,
        "none yet",
        "no care plan yet",
        "",
        "",
        a.key_worker.display_name,
        a.team.name,
        "",
        "",
        "",
        "",
        cal.created_at.date().isoformat(),
        "",
        "",
        "",
        "",
        "",
    ]
    alone = "".join(supervision.export_csv(db, sup, Filters(state=DashState.NO_PLAN), TODAY))
    assert ["State", "no care plan yet"] in list(csv.reader(io.StringIO(alone)))


def test_clients_with_no_document_stand_by_name_among_themselves_in_every_order(db, teams):
    a, _, _ = teams
    # Made in the opposite order to their names, so an order by id would show.
    for name in ("Zo Last", "Mo Middle", "Al First"):
        _client_without_documents(a, name)
    sup = actor_for(a.supervisor)
    for sort in ("review", "signed", "client"):
        rows = supervision.dashboard(db, sup, Filters(sort=sort), TODAY).rows
        among = [r.client_name for r in rows if r.document_id is None]
        assert among == ["Al First", "Mo Middle", "Zo Last"], sort


def test_a_review_asked_for_earlier_says_so_beside_the_regular_one(app, db):
    """An inspector tells a review someone asked for sooner from the regular cycle: the
    dashboard and the export say why it is sooner, and when the regular one still falls."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    _agree(db, circle, doc)
    sup = actor_for(circle.supervisor)
    [regular] = supervision.dashboard(db, sup, Filters(), TODAY).rows
    assert (regular.review_why, regular.regular_review_on) == ("", regular.next_review_on)
    wanted = TODAY + timedelta(days=10)
    reviews.request_earlier_review(
        db, actor_for(circle.client), doc, wanted.isoformat(), "I have moved house", TODAY
    )
    [row] = supervision.dashboard(db, sup, Filters(), TODAY).rows
    assert (row.next_review_on, row.review_why) == (wanted, "asked for earlier")
    assert row.regular_review_on == regular.next_review_on

    text = "".join(supervision.export_csv(db, sup, Filters(), TODAY))
    [exported] = csv.DictReader(io.StringIO(text.removeprefix("\ufeff").split("\r\n\r\n")[0]))
    assert exported["Next review"] == wanted.isoformat()
    assert exported["Why sooner than the regular review"] == "asked for earlier"
    assert exported["Regular review"] == regular.next_review_on.isoformat()

    page = login(app.test_client(), circle.supervisor).get("/supervision")
    words = " ".join(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)).split())
    assert "(asked for earlier; the regular review is on " in words


def test_a_chart_of_many_key_workers_gives_each_name_room_and_is_drawn_at_its_size():
    """Twenty key workers' names ran into each other ("U. MurphyS. Davies")."""
    from careplan.domain.supervision import NAME_SLOT as SLOT
    from careplan.domain.supervision import bar_chart

    title = "Overdue reviews by key worker"
    few = bar_chart(title, [("A. Bee", 1, "1 overdue")], slot=SLOT)
    assert few.width == 640 and not few.own_size
    many = bar_chart(title, [(f"K. Worker{n}", n, "") for n in range(20)], slot=SLOT)
    assert many.own_size
    starts = [bar.x for bar in many.bars]
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= SLOT - 1e-6


def test_a_key_worker_chosen_with_a_team_they_are_not_in_is_refused_on_the_page(app, db):
    """Not "Nothing matches these filters": the page says whose team they are in, and lists
    the chosen team's clients (the key worker filter ignored)."""
    a, b = Circle(), Circle()
    SupervisorTeamFactory(supervisor_id=a.supervisor.id, team_id=b.team.id)
    make_plan(a.key_worker, a.client)
    browser = login(app.test_client(), a.supervisor)
    page = browser.get(f"/supervision?team={a.team.id}&key_worker={b.key_worker.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "Nothing matches these filters" not in text
    assert (
        f"{b.key_worker.display_name} is in {b.team.name}, not {a.team.name}: choose "
        f"{b.team.name} or all your teams" in text.replace("&#39;", "'")
    )
    assert a.client.display_name in text
    # Where the form lands (#results), so a phone shows the refusal, not the list below it.
    assert '<div class="error" role="alert" id="results">' in text
    export = browser.get(f"/supervision/export.csv?team={a.team.id}&key_worker={b.key_worker.id}")
    assert export.status_code in (400, 422)
