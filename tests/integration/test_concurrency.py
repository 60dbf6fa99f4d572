"""Acceptance: saves that race each other never overwrite one another.

A client and their key worker each open the latest version of the same care plan and save a
change, over and over, at the same moment, through the real web forms (sign-in, CSRF token,
edit page, POST). A second variant drives the service layer with more threads. Both run
against a real database file (SQLite, WAL, BEGIN IMMEDIATE) or a real PostgreSQL database,
each thread with its own connections.

Every save must either land as a new version whose parent is the version it was based on, or
be refused as a conflict (the 409 conflict page). Afterwards the versions must form a single
unbroken chain 1..N, one version per landed save, no two sharing a parent, with correct
content hashes, and the audit chain must hold exactly one intact "document.edit" per version.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bench.document_form import CONFLICT_PAGE, DocumentForm
from careplan.db.engine import locked
from careplan.db.models import (
    AdvocateInvitation,
    AuditEvent,
    CaseloadLink,
    ContingencyActivation,
    CrisisAlert,
    CrisisResponse,
    Document,
    PdfRender,
    SelfReferralRequest,
    Team,
    User,
    Version,
    utcnow,
)
from careplan.domain.audit_chain import GENESIS, event_hash
from careplan.domain.canonical import content_hash
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_today
from careplan.services import (
    account_settings,
    accounts,
    admin_accounts,
    audit,
    contingencies,
    crisis_alerts,
    documents,
    handovers,
    leaving,
    signoff,
)
from careplan.services.accounts import actor_for
from careplan.services.errors import Conflict, Invalid, NotFound
from tests.conftest import BACKEND, login
from tests.factories import (
    PASSWORD,
    AdvocateFactory,
    Circle,
    KeyWorkerFactory,
    SupervisorFactory,
    make_agreement,
    make_plan,
)

pytestmark = pytest.mark.slow

WEB_ROUNDS = 100  # saves per person in the web variant
STRESS_THREADS = 8
STRESS_ROUNDS = 50  # saves per thread in the service-level variant
BARRIER_TIMEOUT = 60  # seconds; a hung thread breaks the barrier instead of hanging the run


@dataclass(frozen=True)
class Attempt:
    who: str
    round: int
    base: int  # the version number the save was based on
    text: str  # the unique text this save wrote into "What matters to me"
    landed: bool


class Workers:
    """Runs `body(index)` on n threads started together; collects every exception."""

    def __init__(self, n: int):
        self.n = n
        self.barrier = threading.Barrier(n, timeout=BARRIER_TIMEOUT)
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()

    def run(self, body) -> float:
        def target(index: int) -> None:
            try:
                body(index)
            except threading.BrokenBarrierError:
                pass  # another thread failed first; its error is the one to report
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                with self._lock:
                    self.errors.append(exc)
                self.barrier.abort()

        threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(self.n)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=BARRIER_TIMEOUT * 2)
        elapsed = time.perf_counter() - started
        assert not any(t.is_alive() for t in threads), "a worker thread hung"
        if self.errors:
            raise AssertionError(f"{len(self.errors)} worker error(s)") from self.errors[0]
        return elapsed


# --- reading a form the way a browser submits it ------------------------------------------


def form_fields(html: str) -> dict[str, str]:
    fields = dict(DocumentForm(html).fields)
    assert "csrf_token" in fields and "base_number" in fields, html[:2000]
    return fields


# --- checking what ended up in the database -----------------------------------------------


def check_versions(db, document_id: int, attempts: list[Attempt], initial: int) -> list[Version]:
    """The invariants that must hold whatever the interleaving was."""
    with db.read() as s:
        versions = s.scalars(
            sa.select(Version).where(Version.document_id == document_id).order_by(Version.number)
        ).all()
        head = s.scalar(sa.select(Document.head_number).where(Document.id == document_id))

    landed = [a for a in attempts if a.landed]
    refused = [a for a in attempts if not a.landed]
    # One version per landed save, numbered 1..N without gaps, and the head names the last.
    assert len(versions) == initial + len(landed)
    assert [v.number for v in versions] == list(range(1, len(versions) + 1))
    assert head == len(versions)
    # One unbroken chain: each version's parent is the one numbered just before it.
    by_id = {v.id: v for v in versions}
    parents = [v.parent_id for v in versions if v.parent_id is not None]
    assert len(parents) == len(set(parents)), "two versions share a parent"
    assert versions[0].parent_id is None
    for prev, v in zip(versions, versions[1:], strict=False):
        assert v.parent_id == prev.id, f"version {v.number} is not based on {prev.number}"
    # Content hashes: each matches its content, and each version really changed something.
    for prev, v in zip([None, *versions], versions, strict=False):
        assert v.content_hash == content_hash(v.content), f"bad hash on version {v.number}"
        assert prev is None or v.content_hash != prev.content_hash
    # Each landed save is exactly one version, based on the version its author had loaded.
    written = {v.content["what_matters"]["text"]: v for v in versions[initial:]}
    assert len(written) == len(landed)
    for a in landed:
        v = written.get(a.text)
        assert v is not None, f"{a} reported saved but no version holds its text"
        assert v.number == a.base + 1 and by_id[v.parent_id].number == a.base, a
    # A refused save left nothing behind.
    for a in refused:
        assert a.text not in written, f"{a} was refused but its text was saved"
    return versions


def check_audit_chain(db, document_id: int, versions: list[Version]) -> None:
    with db.read() as s:
        events = s.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    prev = GENESIS
    for e in events:
        assert e.prev_hash == prev, f"audit event {e.id} does not follow its predecessor"
        assert e.hash == event_hash(audit._fields(e), e.prev_hash), f"audit event {e.id}"
        prev = e.hash
    edits = [e for e in events if e.action == "document.edit" and e.object_id == document_id]
    assert [(e.detail["version"], e.detail["hash"]) for e in edits] == [
        (v.number, v.content_hash) for v in versions
    ]


# --- the web variant: a client and their key worker, 100 saves each -----------------------


@pytest.fixture
def circle(app):
    return Circle()


def test_client_and_key_worker_saving_at_once_never_overwrite_each_other(app, db, circle):
    doc_id = make_plan(circle.key_worker, circle.client)
    people = [("client", circle.client), ("key worker", circle.key_worker)]
    browsers = [login(app.test_client(), user) for _, user in people]
    attempts: list[list[Attempt]] = [[] for _ in people]
    workers = Workers(len(people))
    edit_url = f"/documents/{doc_id}/edit"

    def person(i: int) -> None:
        who, browser = people[i][0], browsers[i]
        for n in range(WEB_ROUNDS):
            page = browser.get(edit_url)
            assert page.status_code == 200, page.status_code
            form = form_fields(page.get_data(as_text=True))
            base = int(form["base_number"])
            text = f"What matters to the {who}, round {n}."
            assert "what_matters-text" in form
            form["what_matters-text"] = text
            form["change_note"] = f"{who} {n}"
            workers.barrier.wait()  # both press "Save" at the same moment
            response = browser.post(edit_url, data=form)
            if response.status_code == 302:
                landed = True
            else:
                body = response.get_data(as_text=True)
                assert response.status_code == 409, (response.status_code, body[:2000])
                assert CONFLICT_PAGE in body
                # The conflict page offers the latest version as the new base.
                assert int(form_fields(body)["base_number"]) > base
                landed = False
            attempts[i].append(Attempt(who, n, base, text, landed))

    elapsed = workers.run(person)
    everything = [a for per_person in attempts for a in per_person]
    assert len(everything) == len(people) * WEB_ROUNDS
    versions = check_versions(db, doc_id, everything, initial=1)
    check_audit_chain(db, doc_id, versions)
    landed = sum(a.landed for a in everything)
    conflicts = len(everything) - landed
    # Both people got work in, and the race was real: some saves collided.
    assert all(any(a.landed for a in per_person) for per_person in attempts)
    assert conflicts > 0
    per_person = ", ".join(
        f"{who} {sum(a.landed for a in mine)}"
        for (who, _), mine in zip(people, attempts, strict=True)
    )
    print(
        f"\n[{BACKEND}] web: {len(everything)} saves in {elapsed:.1f}s: "
        f"{landed} landed ({per_person}), {conflicts} conflicts"
    )


# --- the service-level variant: more writers, lined up before every save ------------------


def test_many_writers_at_once_keep_one_unbroken_chain(app, db):
    team_circle = Circle()
    # The client and key worker both write; extra threads act as one of the two.
    actors = [actor_for(team_circle.client), actor_for(team_circle.key_worker)]
    doc_id = make_plan(team_circle.key_worker, team_circle.client)
    attempts: list[list[Attempt]] = [[] for _ in range(STRESS_THREADS)]
    workers = Workers(STRESS_THREADS)

    def writer(i: int) -> None:
        actor = actors[i % len(actors)]
        for n in range(STRESS_ROUNDS):
            page = documents.open_document(db, actor, doc_id)
            content = page.content
            text = f"Writer {i}, round {n}."
            content["what_matters"] = {"text": text}
            workers.barrier.wait()  # everyone saves at the same moment
            try:
                result = documents.save_version(
                    db, actor, doc_id, page.head_number, content, f"w{i} r{n}"
                )
            except Conflict as conflict:
                assert conflict.base_number == page.head_number
                assert conflict.head_number > page.head_number
                landed = False
            else:
                assert result.saved and result.number == page.head_number + 1
                landed = True
            attempts[i].append(Attempt(f"writer {i}", n, page.head_number, text, landed))

    elapsed = workers.run(writer)
    everything = [a for per_writer in attempts for a in per_writer]
    assert len(everything) == STRESS_THREADS * STRESS_ROUNDS
    versions = check_versions(db, doc_id, everything, initial=1)
    check_audit_chain(db, doc_id, versions)
    landed = sum(a.landed for a in everything)
    conflicts = len(everything) - landed
    # Every round at least one save lands (whoever loaded last has the latest version).
    assert landed >= STRESS_ROUNDS
    assert conflicts > 0
    print(
        f"\n[{BACKEND}] service: {len(everything)} saves in {elapsed:.1f}s: "
        f"{landed} landed, {conflicts} conflicts"
    )


# --- the last line of defence: the unique constraints on versions -------------------------


def test_when_the_head_check_is_bypassed_the_constraints_still_refuse_as_a_conflict(app, db):
    """If `documents.head_number` ever lags behind the versions (the head check and the
    compare-and-set both pass), the unique constraints on versions must still refuse the save,
    and refuse it as a Conflict, not as a crash."""
    circle = Circle()
    worker = actor_for(circle.key_worker)
    doc_id = make_plan(circle.key_worker, circle.client, versions=2)
    with db.write() as s:  # documents is not append-only; simulate a lagging head
        s.execute(sa.update(Document).where(Document.id == doc_id).values(head_number=1))
    content = documents.open_document(db, worker, doc_id).content
    content["what_matters"] = {"text": "Based on version 1, which is no longer the latest."}
    with pytest.raises(Conflict) as refused:
        documents.save_version(db, worker, doc_id, 1, content, "stale")
    assert refused.value.base_number == 1
    assert documents.count_versions(db, doc_id) == 2
    with db.read() as s:
        assert s.scalar(sa.select(Document.head_number).where(Document.id == doc_id)) == 1


# --- the audit chain alone: events about different things, written at the same moment -----


def test_audit_events_written_at_the_same_moment_keep_one_chain(app, db):
    """Nothing else serialises these writers (each records a download of its own document),
    so only the chain's lock keeps two events from claiming the same predecessor."""
    circle = Circle()
    client = actor_for(circle.client)
    workers = Workers(STRESS_THREADS)

    def writer(i: int) -> None:
        for n in range(STRESS_ROUNDS):
            workers.barrier.wait()
            with db.write() as s:
                audit.record(s, client, "download", "document", 1000 * i + n, circle.client.id)

    workers.run(writer)
    report = audit.verify_chain(db)
    assert report.ok, report
    with db.read() as s:
        downloads = s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "download")
        )
    assert downloads == STRESS_THREADS * STRESS_ROUNDS


def test_handovers_reads_and_crisis_plans_at_once_never_deadlock(app, db):
    """A handover locks the client's row and records events; a supervisor's or advocate's
    read records an event naming the client; a crisis plan put into effect records its event
    and then locks the document to schedule the review after it. On PostgreSQL these waited
    for each other in a circle (the chain's lock against the rows) until the server killed one
    with a deadlock error."""
    circle = Circle()
    other = KeyWorkerFactory(team_id=circle.team.id)
    doc = make_agreement(circle.key_worker, circle.client)
    rounds, workers = 25, Workers(4)

    def body(i: int) -> None:
        for _ in range(rounds):
            workers.barrier.wait()
            if i == 0:
                supervisor = actor_for(circle.supervisor)
                handovers.start(db, supervisor, circle.client.id, other.id, "Cover")
                handovers.cancel(db, supervisor, circle.client.id)
            elif i == 1:
                client, today = actor_for(circle.client), service_today()
                ends = (today + timedelta(days=3)).isoformat()
                contingencies.start_contingency(db, client, doc, "Unsettled", "", ends, today)
                contingencies.end_contingency(db, client, doc, "Better.", today)
            else:
                reader = circle.advocate if i == 2 else circle.supervisor
                documents.open_document(db, actor_for(reader), doc)

    workers.run(body)
    assert audit.verify_chain(db).ok


def test_a_handover_taken_over_while_the_old_worker_signs_leaves_one_true_state(app, db):
    """Either the signature comes first (agreed, then the caseload moves) or the handover
    does (the old worker may no longer sign): never a version stored as agreed, with its PDF
    queued, that the sign-off rules say is not."""
    for _ in range(8):
        doc = _sign_while_handed_over(db)
        with db.read() as s:
            row = s.get(Document, doc)
            fresh = signoff.decide_for(s, row)
            renders = s.scalar(
                sa.select(sa.func.count())
                .select_from(PdfRender)
                .where(PdfRender.document_id == doc)
            )
        assert (row.signoff_state, row.agreed_version) == (
            fresh.state.value,
            fresh.agreed.number if fresh.agreed else None,
        )
        assert renders == (1 if fresh.agreed else 0)


def test_a_save_waiting_on_a_handover_is_decided_after_it_not_before(app, db):
    """The old worker saves while the new one's taking over is being committed: the save
    waits its turn on the client's row and then finds the client is no longer theirs. (It
    once checked access from a read the handover was about to make stale, and saved a
    version after the caseload had moved.) SQLite's writers queue anyway."""
    circle = Circle()
    newcomer = KeyWorkerFactory(team_id=circle.team.id)
    doc = make_plan(circle.key_worker, circle.client)
    content = documents.open_document(db, actor_for(circle.key_worker), doc).content
    content["what_matters"] = {"text": "Saved as the caseload moved"}
    answer: list = []

    def save() -> None:
        try:
            documents.save_version(db, actor_for(circle.key_worker), doc, 1, content)
            answer.append("saved")
        except NotFound:
            answer.append("not theirs")

    with db.write() as s:  # the taking over, half done: the client's row held, link moved
        locked(s, User, circle.client.id)
        s.execute(
            sa.update(CaseloadLink)
            .where(CaseloadLink.client_id == circle.client.id)
            .values(ended_at=utcnow())
        )
        s.add(CaseloadLink(client_id=circle.client.id, key_worker_id=newcomer.id))
        saver = threading.Thread(target=save)
        saver.start()
        saver.join(1.0 if BACKEND == "postgresql" else 0)  # it waits its turn meanwhile
        assert answer == []
    saver.join(30)
    assert answer == ["not theirs"]
    assert documents.count_versions(db, doc) == 1


def _sign_while_handed_over(db) -> int:
    circle = Circle()
    newcomer = KeyWorkerFactory(team_id=circle.team.id)
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, newcomer.id, "Cover")
    workers = Workers(2)

    def body(i: int) -> None:
        workers.barrier.wait()
        if i == 1:
            try:
                handovers.acknowledge(db, actor_for(newcomer), circle.client.id)
            except Invalid as refused:
                # The signature came first: the plan is now agreed, and the newcomer has not
                # read it yet, so taking over waits until they have.
                assert "read these first" in str(refused)
            return
        with contextlib.suppress(NotFound):  # the handover came first: no longer theirs
            signoff.sign(db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD)

    workers.run(body)
    return doc


def _once_at_a_time(n: int, action, allowed=(Invalid, ContentInvalid)) -> list:
    """Runs `action` on n threads at the same moment (the same form sent n times); returns
    what each answered: None, or the refusal a person would be shown."""
    workers, answers = Workers(n), []

    def body(_: int) -> None:
        workers.barrier.wait()
        try:
            action()
            answers.append(None)
        except allowed as refusal:
            answers.append(refusal)

    workers.run(body)
    return answers


def _count(db, model, *where) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_the_same_form_sent_four_times_at_once_acts_once(app, db):
    circle = Circle()
    client, admin = actor_for(circle.client), actor_for(circle.admin)
    other = AdvocateFactory()
    _once_at_a_time(4, lambda: accounts.invite_advocate(db, client, other.id))
    assert _count(db, AdvocateInvitation, AdvocateInvitation.advocate_id == other.id) == 1
    _once_at_a_time(4, lambda: accounts.revoke_advocate(db, client, other.id))
    assert _count(db, AuditEvent, AuditEvent.action == "advocate.revoke") == 1

    answers = _once_at_a_time(4, lambda: accounts.create_team(db, "Riverside", admin))
    assert answers.count(None) == 1 and _count(db, Team, Team.name == "Riverside") == 1

    worker = KeyWorkerFactory(team_id=circle.team.id)
    _once_at_a_time(
        4, lambda: admin_accounts.give_key_worker(db, admin, circle.client.id, worker.id)
    )
    open_links = (CaseloadLink.client_id == circle.client.id, CaseloadLink.ended_at.is_(None))
    assert _count(db, CaseloadLink, *open_links) == 1

    supervisor = SupervisorFactory()
    _once_at_a_time(
        4,
        lambda: admin_accounts.set_supervision(db, admin, supervisor.id, circle.team.id, True),
    )
    assert _count(db, AuditEvent, AuditEvent.action == "supervision.add") == 1

    _once_at_a_time(4, lambda: admin_accounts.set_active(db, admin, supervisor.id, False, "Left"))
    assert _count(db, AuditEvent, AuditEvent.action == "user.close") == 1


def test_a_crisis_plan_sent_four_times_at_once_is_in_effect_once_and_answered_once(app, db):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    client, today = actor_for(circle.client), service_today()
    ends = (today + timedelta(days=3)).isoformat()
    answers = _once_at_a_time(
        4,
        lambda: contingencies.start_contingency(db, client, doc, "Unsettled", "", ends, today),
    )
    assert answers.count(None) == 1
    assert _count(db, ContingencyActivation, ContingencyActivation.document_id == doc) == 1
    answers = _once_at_a_time(
        4,
        lambda: crisis_alerts.respond(
            db, actor_for(circle.key_worker), doc, "On my way.", datetime.now(UTC)
        ),
    )
    assert answers.count(None) == 1 and _count(db, CrisisResponse) == 1
    _once_at_a_time(4, lambda: contingencies.end_contingency(db, client, doc, "Better.", today))
    assert _count(db, AuditEvent, AuditEvent.action == "contingency.end") == 1


def test_a_request_for_a_short_stay_sent_four_times_at_once_is_one_request(app, db):
    """A double tap is one request and one alert to the team; a different one is another."""
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    client, today = actor_for(circle.client), service_today()

    def ask(nights: str) -> None:
        contingencies.request_self_referral(db, client, doc, nights, "", "Please", today)

    assert _once_at_a_time(4, lambda: ask("2")) == [None] * 4  # each is answered the same
    assert _count(db, SelfReferralRequest) == 1 and _count(db, CrisisAlert) == 1
    ask("3")
    assert _count(db, SelfReferralRequest) == 2 and _count(db, CrisisAlert) == 2


def test_a_change_waiting_for_a_row_never_holds_the_chain_it_waits_behind(app, db):
    """One writer holds the client's row and has recorded an event; the client saves their
    profile (an update of that row, and an event). The client's transaction must not take
    the chain's lock before its update has its row, or the two wait for each other."""
    circle = Circle()
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    holding, go, answers = threading.Event(), threading.Event(), {}

    def hold_the_row() -> None:
        try:
            with db.write() as s:
                locked(s, User, circle.client.id)
                audit.record(s, worker, "document.create", "document", 1, circle.client.id)
                holding.set()
                go.wait(BARRIER_TIMEOUT)
            answers["worker"] = "committed"
        except Exception as exc:  # noqa: BLE001 - reported below
            answers["worker"] = repr(exc)

    def save_profile() -> None:
        try:
            account_settings.save_profile(db, client, "Béa", "she/her")
            answers["client"] = "committed"
        except Exception as exc:  # noqa: BLE001 - reported below
            answers["client"] = repr(exc)

    first = threading.Thread(target=hold_the_row, daemon=True)
    first.start()
    assert holding.wait(BARRIER_TIMEOUT)
    second = threading.Thread(target=save_profile, daemon=True)
    second.start()
    time.sleep(1)  # the profile's commit is under way, waiting for the row
    go.set()
    first.join(BARRIER_TIMEOUT)
    second.join(BARRIER_TIMEOUT)
    assert answers == {"worker": "committed", "client": "committed"}
    assert audit.verify_chain(db).ok


def test_leaving_the_service_sent_four_times_at_once_is_recorded_once(app, db):
    circle = Circle()
    worker = actor_for(circle.key_worker)
    answers = _once_at_a_time(
        4,
        lambda: leaving.record(db, worker, circle.client.id, "Moved away.", service_today()),
        allowed=(Invalid, ContentInvalid, NotFound),  # the later ones: no longer on a caseload
    )
    assert answers.count(None) == 1
    assert _count(db, AuditEvent, AuditEvent.action == "caseload.end") == 1
    assert _count(db, CaseloadLink, CaseloadLink.ended_by_id == circle.key_worker.id) == 1


def test_a_crisis_plan_started_while_the_client_leaves_is_never_left_with_nobody_to_answer(app, db):
    """Either the plan comes first (and the client cannot leave while it is in effect) or
    leaving does (and the plan is refused): never a plan in effect with no key worker."""
    for _ in range(6):
        circle, doc = _crisis_plan_while_leaving(db)
        plans = _count(db, ContingencyActivation, ContingencyActivation.document_id == doc)
        open_links = _count(
            db,
            CaseloadLink,
            CaseloadLink.client_id == circle.client.id,
            CaseloadLink.ended_at.is_(None),
        )
        assert (plans, open_links) in {(1, 1), (0, 0)}


def _crisis_plan_while_leaving(db) -> tuple[Circle, int]:
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    today = service_today()
    ends = (today + timedelta(days=3)).isoformat()
    workers = Workers(2)

    def body(i: int) -> None:
        workers.barrier.wait()
        with contextlib.suppress(Invalid):  # the other came first
            if i == 0:
                client = actor_for(circle.client)
                contingencies.start_contingency(db, client, doc, "Unsettled", "", ends, today)
            else:
                worker = actor_for(circle.key_worker)
                leaving.record(db, worker, circle.client.id, "Left", today)

    workers.run(body)
    return circle, doc
