"""What a page costs the database, counted on the engine: one read transaction (and, for a read
that is recorded in the audit trail, one short write), no statement sent twice, a fixed budget
per page, and the same count whether the page shows a little or a lot (more versions,
signatures, comments, review requests, people on a caseload)."""

from __future__ import annotations

import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from careplan.db.models import CaseloadLink, Document
from careplan.domain.local_time import service_today
from careplan.services import comments, documents, drafts, handovers, reviews, signoff
from careplan.services.accounts import actor_for
from tests.conftest import login
from tests.factories import (
    PASSWORD,
    CaseloadLinkFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    make_plan,
    plan_content,
)

# Statements per page, transaction control not counted. A recorded read (supervisor,
# advocate) adds its audit event: the chain's head and the insert (on PostgreSQL the head is
# read together with the chain's lock in one pipelined round trip, which the engine does not
# see, so the count there is one lower). The agreed version's review interval is taken from
# the version on screen when it is the agreed one.
PLAN_PAGE = {"client": 9, "key_worker": 10, "supervisor": 12, "advocate": 13}
# The edit page: the latest version, its sign-off, and the person's kept draft, with the
# document and their access looked at once.
EDIT_PAGE = {"client": 7, "key_worker": 8}
# The history (versions and events) and a comparison of two versions, each with the document
# and its client's names read together.
HISTORY_PAGE = {"client": 8, "key_worker": 9, "supervisor": 11}
COMPARE_PAGE = {"client": 6, "key_worker": 7, "supervisor": 9}
# Each home opens with what needs the person now: the client's comes with the documents it
# lists; a key worker's and a supervisor's is one more query over their people.
CLIENT_HOME = 9  # with the crisis alerts the client is waiting on a response to
WORKER_HOME = 5  # with the crisis alerts waiting for the team (the worker's team, then its alerts)
SUPERVISOR_HOME = 8  # with the crisis alerts nobody answered in time


@dataclass
class Cost:
    statements: list[str]
    reads: int  # read transactions
    writes: int  # writing transactions

    @property
    def repeated(self) -> dict[str, int]:
        return {s[:300]: n for s, n in Counter(self.statements).items() if n > 1}


@contextmanager
def counting(db):
    cost = Cost([], 0, 0)

    def on_statement(_conn, _cursor, statement, _params, _context, _many):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            cost.statements.append(re.sub(r"\s+", " ", statement).strip())

    def on_begin(conn):
        if conn.get_execution_options().get("careplan_write"):
            cost.writes += 1
        else:
            cost.reads += 1

    event.listen(db.engine, "before_cursor_execute", on_statement)
    event.listen(db.engine, "begin", on_begin)
    try:
        yield cost
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)
        event.remove(db.engine, "begin", on_begin)


def cost_of(db, browser, url: str) -> Cost:
    browser.get(url)  # the first request of a browser session may set things up
    with counting(db) as cost:
        response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return cost


def check(cost: Cost, budget: int, logged: bool = False) -> None:
    assert not cost.repeated, cost.repeated
    assert len(cost.statements) <= budget, "\n".join(cost.statements)
    assert cost.reads == 1
    assert cost.writes == (1 if logged else 0)


# --- the plan page ---------------------------------------------------------------------------


def little(db):
    """An agreed plan of two versions with one comment."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), doc, 2, "signed", "", PASSWORD)
    comments.add_comment(db, actor_for(circle.client), doc, "what_matters", 2, "Good.")
    return circle, doc


def a_lot(db):
    """The same state with much more on the page: 14 versions, a decline, an earlier agreed
    version, a new draft signed by one side, comments by three people, review requests."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=4)
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    signoff.sign(db, client, doc, 4, "declined", "Not yet: goal 2 is not mine.", PASSWORD)
    content = documents.open_document(db, worker, doc).content
    for n in range(5, 15):
        content["what_matters"] = {"text": f"Being listened to, take {n}."}
        documents.save_version(db, worker if n % 2 else client, doc, n - 1, content, f"v{n}")
        if n in (8, 14):
            for who in (client, worker):
                signoff.sign(db, who, doc, n, "signed_with_comment", f"Fine at {n}", PASSWORD)
    for n, who in enumerate([circle.client, circle.key_worker, circle.advocate] * 3):
        comments.add_comment(db, actor_for(who), doc, "what_matters", 14, f"Comment {n}")
    today = service_today()
    for days, who in ((20, client), (10, worker)):  # each earlier than the one before
        reviews.request_earlier_review(
            db, who, doc, (today + timedelta(days=days)).isoformat(), "Things changed.", today
        )
    return circle, doc


def with_little_and_a_lot(app, db, role: str, path: str, budget: int, logged: bool = False):
    """The page at `path` (under the document's address) for `role`, built with little on it
    and with a lot: within the budget each time, and the same count both times."""
    costs = []
    for build in (little, a_lot):
        circle, doc = build(db)
        browser = login(app.test_client(), getattr(circle, role))
        cost = cost_of(db, browser, f"/documents/{doc}{path}")
        check(cost, budget, logged)
        costs.append(cost)
    assert len(costs[0].statements) == len(costs[1].statements), (
        costs[0].statements,
        costs[1].statements,
    )


@pytest.mark.parametrize("role", list(PLAN_PAGE))
def test_the_plan_page_reads_once_and_costs_the_same_with_more_on_it(app, db, role):
    with_little_and_a_lot(app, db, role, "", PLAN_PAGE[role], role in ("supervisor", "advocate"))


@pytest.mark.parametrize("role", list(PLAN_PAGE))
def test_a_draft_after_an_agreed_version_reads_the_version_in_force_once(app, db, role):
    """The agreed version's content, read once, serves both the review interval and the
    draft's side-by-side view of it: one statement more than an agreed plan, no repeat."""
    circle, doc = little(db)
    content = documents.open_document(db, actor_for(circle.key_worker), doc).content
    content["what_matters"] = {"text": "Being heard, and answered."}
    documents.save_version(db, actor_for(circle.key_worker), doc, 2, content, "draft")
    browser = login(app.test_client(), getattr(circle, role))
    cost = cost_of(db, browser, f"/documents/{doc}")
    check(cost, PLAN_PAGE[role] + 1, role in ("supervisor", "advocate"))
    assert sum(s.startswith("SELECT versions.content FROM versions") for s in cost.statements) == 1


@pytest.mark.parametrize("role", ["client", "key_worker"])
def test_unsaved_changes_waiting_cost_the_plan_page_nothing_more(app, db, role):
    """Whether the reader has a draft of the document comes with the document's own read."""
    circle, doc = little(db)
    drafts.keep(db, actor_for(getattr(circle, role)), doc, 2, "", [("what_matters-text", "x")])
    browser = login(app.test_client(), getattr(circle, role))
    cost = cost_of(db, browser, f"/documents/{doc}")
    check(cost, PLAN_PAGE[role])
    assert "not saved yet" in browser.get(f"/documents/{doc}").get_data(True)


@pytest.mark.parametrize("role", list(EDIT_PAGE))
def test_the_edit_page_reads_once_and_looks_at_the_document_once(app, db, role):
    with_little_and_a_lot(app, db, role, "/edit", EDIT_PAGE[role])


@pytest.mark.parametrize("role", list(HISTORY_PAGE))
def test_the_history_reads_once_without_repeats(app, db, role):
    with_little_and_a_lot(app, db, role, "/history", HISTORY_PAGE[role], role == "supervisor")


@pytest.mark.parametrize("role", list(COMPARE_PAGE))
def test_a_comparison_reads_once_without_repeats(app, db, role):
    path = "/compare?older=1&newer=2"
    with_little_and_a_lot(app, db, role, path, COMPARE_PAGE[role], role == "supervisor")


# --- home pages --------------------------------------------------------------------------------


def _caseload(db, clients: int) -> Circle:
    circle = Circle()
    make_plan(circle.key_worker, circle.client, versions=2)
    for _ in range(clients - 1):
        other = ClientFactory()
        CaseloadLinkFactory(client_id=other.id, key_worker_id=circle.key_worker.id)
        doc = make_plan(circle.key_worker, other)
        # Each one waits for the key worker's signature: one more line on their home.
        signoff.sign(db, actor_for(other), doc, 1, "signed", "", PASSWORD)
    return circle


def _handover(db, circle: Circle) -> None:
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(
        db, actor_for(circle.key_worker), circle.client.id, incoming.id, "Moving to Lee."
    )


def test_home_pages_read_once_and_cost_the_same_for_a_bigger_caseload(app, db):
    seen: dict[str, list[int]] = {"client": [], "key_worker": [], "supervisor": []}
    for clients in (1, 12):
        circle = _caseload(db, clients)
        make_plan(circle.key_worker, circle.client, versions=clients)  # more of the client's
        _handover(db, circle)
        client = login(app.test_client(), circle.client)
        cost = cost_of(db, client, f"/clients/{circle.client.id}")
        check(cost, CLIENT_HOME)
        seen["client"].append(len(cost.statements))
        for role, budget in (("key_worker", WORKER_HOME), ("supervisor", SUPERVISOR_HOME)):
            cost = cost_of(db, login(app.test_client(), getattr(circle, role)), "/")
            check(cost, budget)
            seen[role].append(len(cost.statements))
    assert all(a == b for a, b in seen.values()), seen


def test_unsaved_changes_waiting_cost_the_clients_start_page_nothing_more(app, db):
    """Whether the reader has a draft of each listed document comes with the list's own read."""
    circle = _caseload(db, 1)
    for doc in (make_plan(circle.key_worker, circle.client) for _ in range(2)):
        drafts.keep(db, actor_for(circle.client), doc, 1, "", [("what_matters-text", "x")])
    client = login(app.test_client(), circle.client)
    check(cost_of(db, client, f"/clients/{circle.client.id}"), CLIENT_HOME)
    html = client.get(f"/clients/{circle.client.id}").get_data(True)
    # Each said twice: on the plan's card, and as a line of "What needs you now".
    assert html.count("not saved yet") == 4 and html.count("?draft=restore") == 4


def test_unsaved_changes_waiting_cost_the_key_workers_home_nothing_more(app, db):
    """The worker's own drafts of their clients' documents come with the caseload's read and
    with what needs them now, one draft or many: on the caseload a row more for a client
    only where they have more than one draft of theirs, no statement more."""
    seen = []
    for clients in (1, 12):
        circle = _caseload(db, clients)
        worker = actor_for(circle.key_worker)
        with db.read() as s:
            docs = s.scalars(
                select(Document.id).join(CaseloadLink, CaseloadLink.client_id == Document.client_id)
                .where(CaseloadLink.key_worker_id == circle.key_worker.id)
            ).all()  # fmt: skip
        docs.append(make_plan(circle.key_worker, circle.client))  # two of one client's
        for doc in docs:
            drafts.keep(db, worker, doc, 1, "", [("what_matters-text", "x")])
        browser = login(app.test_client(), circle.key_worker)
        cost = cost_of(db, browser, "/")
        check(cost, WORKER_HOME)
        seen.append(len(cost.statements))
        html = browser.get("/").get_data(True)
        # Each said twice: in its client's row, and as a line of "What needs you now".
        assert html.count("not saved yet") == 2 * len(docs) == 2 * (clients + 1)
    assert seen[0] == seen[1], seen


def test_the_content_of_the_counted_pages_is_what_it_was(app, db):
    """The pages above still show what they show: the counting is of the real pages."""
    circle, doc = a_lot(db)
    html = login(app.test_client(), circle.client).get(f"/documents/{doc}").get_data(True)
    assert "Fine at 8" in html and "Comment 8" in html and "Things changed." in html
    assert plan_content()["care_team"][0]["name"] in html
