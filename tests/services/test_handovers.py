import re
import threading

import pytest
import sqlalchemy as sa

from careplan.db.models import (
    AuditEvent,
    Document,
    Handover,
    Notification,
    PdfRender,
    User,
)
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_today
from careplan.domain.signoff import State
from careplan.domain.supervision import DashState, Filters
from careplan.reminders.messages import indiscretions
from careplan.services import (
    contingencies,
    documents,
    handovers,
    leaving,
    pdfs,
    reminders,
    signoff,
    supervision,
)
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid, NotFound
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    Circle,
    KeyWorkerFactory,
    NotificationFactory,
    SupervisorTeamFactory,
    TeamFactory,
    forget_messages,
    make_agreement,
    make_plan,
)
from tests.notices import newest_message
from tests.services.test_review_messages import _new, _reminder_notice


@pytest.fixture
def setup(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    signoff.sign(db, actor_for(circle.client), doc, 2, "signed", "", PASSWORD)
    signoff.sign(db, actor_for(circle.key_worker), doc, 2, "signed", "", PASSWORD)
    forget_messages()  # the client told it is agreed: these tests count a handover's
    new_worker = KeyWorkerFactory(team_id=circle.team.id)
    return circle, doc, new_worker


def test_handover_end_to_end_through_the_web(app, db, setup):
    circle, doc, new_worker = setup
    supervisor = login(app.test_client(), circle.supervisor)
    token = csrf_token(supervisor)
    page = supervisor.get(f"/clients/{circle.client.id}/handover").get_data(as_text=True)
    assert (
        new_worker.display_name in page
        and circle.key_worker.display_name not in page.split("<select")[1]
    )
    refused = supervisor.post(
        f"/clients/{circle.client.id}/handover",
        data={"csrf_token": token, "to_worker_id": new_worker.id, "note": ""},
    )
    assert refused.status_code == 422 and "handover note" in refused.get_data(as_text=True)
    started = supervisor.post(
        f"/clients/{circle.client.id}/handover",
        data={
            "csrf_token": token,
            "to_worker_id": new_worker.id,
            "note": "Script is collected on Mondays.",
        },
    )
    assert started.status_code == 302
    assert "Handovers waiting" in supervisor.get("/").get_data(as_text=True)

    client = login(app.test_client(), circle.client)
    told = client.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    assert f"{new_worker.display_name} will be your new key worker" in told

    incoming = login(app.test_client(), new_worker)
    token = csrf_token(incoming)
    records = incoming.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    assert "Script is collected on Mondays." in records and "not opened yet" in records
    early = incoming.post(
        f"/clients/{circle.client.id}/handover/acknowledge", data={"csrf_token": token}
    )
    assert early.status_code == 400 and "Please open and read these first" in early.get_data(
        as_text=True
    )
    # Reading is allowed before taking over; editing and signing are not.
    assert incoming.get(f"/documents/{doc}/versions/2").status_code == 200
    assert incoming.get(f"/documents/{doc}/edit").status_code == 403
    done = incoming.post(
        f"/clients/{circle.client.id}/handover/acknowledge", data={"csrf_token": token}
    )
    assert done.status_code == 302

    old = login(app.test_client(), circle.key_worker)
    for url in (f"/clients/{circle.client.id}", f"/documents/{doc}", f"/documents/{doc}/history"):
        assert old.get(url).status_code == 404
    assert incoming.get(f"/documents/{doc}/edit").status_code == 200
    with db.read() as s:
        actions = s.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("handover%"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["handover.start", "handover.complete"]


def test_the_handover_form_calls_the_client_by_the_name_they_go_by(app, db, setup):
    """As the client's other pages and the handover's messages do (it gave their full name).
    The way back to their records keeps the full name those records are headed with."""
    circle, _doc, new_worker = setup
    _goes_by(db, circle, "Al")
    url, records = f"/clients/{circle.client.id}/handover", f"/clients/{circle.client.id}"
    page = login(app.test_client(), circle.key_worker).get(url).text
    assert "<title>Hand over Al" in page
    assert "<h1>Hand Al over to another key worker</h1>" in page
    assert "will be asked to read Al's agreed plans" in page
    assert "Al can see who their new worker will be." in page
    assert "Al (and any advocate they invited) can read this note too." in page
    assert f'<a href="{records}">{circle.client.display_name}</a>' in page
    assert page.count(circle.client.display_name) == 1
    # With nobody to hand over to, the key worker is told whom to ask.
    with db.write() as s:
        s.get(User, new_worker.id).active = False
    page = login(app.test_client(), circle.key_worker).get(url).text
    assert "There is no other key worker in your team to hand Al over to." in page


def test_the_agreed_version_stays_in_force_and_the_next_one_needs_the_new_worker(app, db, setup):
    circle, doc, new_worker = setup
    with db.read() as s:
        code = s.scalar(sa.select(PdfRender.short_code).where(PdfRender.document_id == doc))
        review_on = s.scalar(sa.select(Document.next_review_on).where(Document.id == doc))
    handovers.start(
        db, actor_for(circle.key_worker), circle.client.id, new_worker.id, "Over to you"
    )
    documents.open_document(db, actor_for(new_worker), doc, 2)
    handovers.acknowledge(db, actor_for(new_worker), circle.client.id)

    # Version 2 was agreed by the client and the key worker of the time: it stays in force.
    page = documents.open_document(db, actor_for(circle.client), doc)
    assert (page.signoff.state, page.signoff.agreed.number) == (State.AGREED, 2)
    html = login(app.test_client(), circle.client).get(f"/documents/{doc}").get_data(as_text=True)
    assert f"/documents/{doc}/versions/2/signed.pdf" in html
    assert "Agreed by both of you" in html and "waiting for" not in html
    rows = supervision.dashboard(db, actor_for(circle.supervisor), Filters(), service_today()).rows
    assert [(r.document_id, r.state) for r in rows] == [(doc, DashState.AGREED)]
    with db.read() as s:
        stored = s.execute(
            sa.select(Document.agreed_version, Document.next_review_on).where(Document.id == doc)
        ).one()
    assert tuple(stored) == (2, review_on)
    verdict = pdfs.verify_code(db, code)
    assert verdict.genuine and verdict.version_number == 2

    # The next version needs the new worker's signature; the old worker no longer counts.
    content = documents.open_document(db, actor_for(new_worker), doc).content
    content["what_matters"] = {"text": "Moving to a new flat."}
    documents.save_version(db, actor_for(new_worker), doc, 2, content)
    signed = signoff.sign(db, actor_for(circle.client), doc, 3, "signed", "", PASSWORD)
    assert signed.state is State.AWAITING_SIGNATURE and signed.agreed.number == 2
    with pytest.raises(NotFound):
        signoff.sign(db, actor_for(circle.key_worker), doc, 3, "signed", "", PASSWORD)
    agreed = signoff.sign(db, actor_for(new_worker), doc, 3, "signed", "", PASSWORD)
    assert agreed.state is State.AGREED and agreed.agreed.number == 3


def _draft_after_the_agreement(db, circle, doc):
    """Version 3, saved by the current key worker after version 2 was agreed."""
    content = documents.open_document(db, actor_for(circle.key_worker), doc).content
    content["what_matters"] = {"text": "A change nobody has signed."}
    documents.save_version(db, actor_for(circle.key_worker), doc, 2, content, "draft")


def _takes_over_once_version_is_read(db, circle, doc, new_worker, number: int) -> None:
    """Version `number` is the one to read, not read yet: taking over is refused until it is."""
    view = handovers.pending_for_client(db, actor_for(new_worker), circle.client.id)
    assert [(d.agreed_version, d.opened) for d in view.to_read] == [(number, False)]
    with pytest.raises(Invalid):
        handovers.acknowledge(db, actor_for(new_worker), circle.client.id)
    documents.open_document(db, actor_for(new_worker), doc, number)
    handovers.acknowledge(db, actor_for(new_worker), circle.client.id)


def test_opening_a_draft_is_not_reading_the_agreed_version(db, setup):
    """The incoming worker must read what was agreed: a later draft opened instead does not
    count, the agreed version itself does."""
    circle, doc, new_worker = setup
    _draft_after_the_agreement(db, circle, doc)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, new_worker.id, "Over")
    documents.open_document(db, actor_for(new_worker), doc)  # the latest: the draft, version 3
    _takes_over_once_version_is_read(db, circle, doc, new_worker, 2)


def test_a_version_agreed_during_the_handover_must_be_read_again(db, setup):
    """Reading version 2 says nothing about version 3, agreed by the client and the outgoing
    worker while the handover waits."""
    circle, doc, new_worker = setup
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, new_worker.id, "Over")
    documents.open_document(db, actor_for(new_worker), doc, 2)
    _draft_after_the_agreement(db, circle, doc)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 3, "signed", "", PASSWORD)
    _takes_over_once_version_is_read(db, circle, doc, new_worker, 3)


def test_the_client_sees_everything_about_their_handover_that_their_advocate_sees(app, db, setup):
    circle, _, new_worker = setup
    note = "Prefers calls after 2pm. Collects the script on Mondays."
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, new_worker.id, note)

    def handover_lines(user) -> set[str]:
        browser = login(app.test_client(), user)
        html = browser.get(f"/clients/{circle.client.id}").get_data(as_text=True)
        block = html.split('class="warning"', 1)[1].split("</div>", 1)[0]
        pieces = re.findall(r"<(p|li)\b[^>]*>(.*?)</\1>", block, re.DOTALL)
        return {" ".join(re.sub(r"<[^>]+>", " ", text).split()) for _, text in pieces}

    seen_by_advocate = handover_lines(circle.advocate)
    assert note in seen_by_advocate
    assert seen_by_advocate <= handover_lines(circle.client)


def test_who_may_hand_over_and_to_whom(db, setup):
    circle, _, new_worker = setup
    other_team_worker = KeyWorkerFactory()
    for outsider in (circle.advocate, circle.client, circle.admin, Circle().supervisor, new_worker):
        with pytest.raises(NotFound):
            handovers.workers_to_choose(db, actor_for(outsider), circle.client.id)
    with pytest.raises(ContentInvalid):
        handovers.start(
            db, actor_for(circle.supervisor), circle.client.id, other_team_worker.id, "note"
        )
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new_worker.id, "note")
    with pytest.raises(Invalid):
        handovers.start(db, actor_for(circle.supervisor), circle.client.id, new_worker.id, "again")
    with pytest.raises(NotFound):
        handovers.acknowledge(db, actor_for(circle.key_worker), circle.client.id)
    handovers.cancel(db, actor_for(circle.key_worker), circle.client.id)
    with pytest.raises(NotFound):
        documents.client_records(db, actor_for(new_worker), circle.client.id)


def test_two_handovers_started_at_the_same_moment_make_one(db, setup):
    circle, _doc, new_worker = setup
    other_worker = KeyWorkerFactory(team_id=circle.team.id)
    people = [
        (actor_for(circle.key_worker), new_worker),
        (actor_for(circle.supervisor), other_worker),
    ]
    start, outcomes = threading.Barrier(2), []

    def press(actor, to):
        start.wait()
        try:
            handovers.start(db, actor, circle.client.id, to.id, "Moving on.")
            outcomes.append("started")
        except Invalid:
            outcomes.append("refused")

    threads = [threading.Thread(target=press, args=pair) for pair in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "started"]
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Handover)) == 1


def _messages(db) -> list[tuple[int, str, str]]:
    with db.read() as s:
        rows = s.execute(
            sa.select(Notification.user_id, Notification.text, Notification.link).order_by(
                Notification.id
            )
        ).all()
    return [tuple(r) for r in rows]


def _goes_by(db, circle, name: str) -> None:
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = name


def _told_of_the_start(circle, new_worker, by) -> list[tuple[int, str, str]]:
    """With the client called "Al", the name they go by (`_goes_by`), as pages call them."""
    client, old = circle.client, circle.key_worker
    return [
        (client.id, f"{new_worker.display_name} is going to be your new key worker. Before "
                    "they take over, they will read the plans you have agreed, so they know "
                    f"what matters to you. Until then, {old.display_name} is still your key "
                    "worker.", "/"),
        (new_worker.id, f"{by.display_name} is handing Al over to you. Please read Al's "
                        "agreed plans and say you have read them: then you take over.",
                        f"/clients/{client.id}#handover"),
    ]  # fmt: skip


def test_the_people_a_handover_concerns_are_told_when_it_starts_and_ends(db, setup):
    """Staff are told of the client by the name they go by (once their full name)."""
    circle, doc, new_worker = setup
    _goes_by(db, circle, "Al")
    client, old, supervisor = circle.client, circle.key_worker, circle.supervisor
    handovers.start(db, actor_for(supervisor), client.id, new_worker.id, "Kim is leaving.")
    assert _messages(db) == [
        *_told_of_the_start(circle, new_worker, supervisor),
        (old.id, f"{supervisor.display_name} started handing Al over to "
                 f"{new_worker.display_name}, who takes over once they have read the agreed "
                 "plans.", f"/clients/{client.id}#handover"),
    ]  # fmt: skip
    # Nothing in them that says what kind of service this is.
    assert not any(indiscretions(text) for _, text, _ in _messages(db))
    documents.open_document(db, actor_for(new_worker), doc, 2)
    handovers.acknowledge(db, actor_for(new_worker), client.id)
    assert _messages(db)[3:] == [
        (client.id, f"{new_worker.display_name} is now your key worker.", "/"),
        (old.id, f"{new_worker.display_name} has taken over as Al's key worker. Anything "
                 "still waiting in your messages about Al, such as a request for help, is "
                 "theirs to answer now.", ""),
    ]  # fmt: skip


def test_the_handing_over_workers_messages_about_the_client_stop_counting_as_new(db, setup):
    """They lead to records no longer theirs to open: kept, but nothing waits there for them.
    Their messages about other clients, and the new worker's, are left as they were."""
    circle, doc, new_worker = setup
    old = circle.key_worker
    elsewhere = Circle()
    other = make_plan(elsewhere.key_worker, elsewhere.client)
    about = {
        name: NotificationFactory(user_id=user, document_id=document, text=name).id
        for name, user, document in (
            ("theirs", old.id, doc), ("other client", old.id, other),
            ("not about a document", old.id, None), ("new worker's", new_worker.id, doc),
        )
    }  # fmt: skip
    about["linking to the records"] = NotificationFactory(
        user_id=old.id, text="linking", link=f"/documents/{doc}#comments"
    ).id
    # A request for help still waiting: the new key worker is in their team, so it is still
    # theirs to answer too (crisis_alerts.responders), and stays new.
    about["request for help"] = _reminder_notice(db, doc, old, "alert:1")
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new_worker.id, "Bye")
    documents.open_document(db, actor_for(new_worker), doc, 2)
    handovers.acknowledge(db, actor_for(new_worker), circle.client.id)
    with db.read() as s:
        read = {name: s.get(Notification, n).read_at is not None for name, n in about.items()}
    assert read == {
        "theirs": True, "other client": False, "not about a document": False,
        "new worker's": False, "request for help": False, "linking to the records": True,
    }  # fmt: skip
    # The request for help is still theirs to answer: its message keeps its link, not "you
    # can no longer open the records it was about" (the reply page opens for them).
    [alert] = [
        n
        for n in reminders.notifications_for(db, actor_for(old))
        if n.id == about["request for help"]
    ]
    assert not alert.closed and alert.link == f"/documents/{doc}"


def test_a_key_worker_who_starts_a_handover_is_not_told_what_they_did(db, setup):
    """Only the client and the incoming worker are told: not the worker who started it, nor
    the supervisor, the advocate or another client."""
    circle, _doc, new_worker = setup
    _goes_by(db, circle, "Al")
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, new_worker.id, "Bye.")
    assert _messages(db) == _told_of_the_start(circle, new_worker, circle.key_worker)


def _signed_then_handed_over(db, setup) -> tuple:
    """The old key worker signs a new draft (version 3), then the client is handed over and
    the new worker takes them on: (circle, doc, new worker)."""
    circle, doc, new_worker = setup
    _draft_after_the_agreement(db, circle, doc)
    signoff.sign(db, actor_for(circle.key_worker), doc, 3, "signed", "", PASSWORD)
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new_worker.id, "Bye.")
    documents.open_document(db, actor_for(new_worker), doc, 2)
    handovers.acknowledge(db, actor_for(new_worker), circle.client.id)
    return circle, doc, new_worker


def _page_words(app, person, doc: int) -> str:
    html = login(app.test_client(), person).get(f"/documents/{doc}").get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def test_a_signature_from_before_the_handover_is_explained_not_hidden(app, db, setup):
    circle, doc, new_worker = _signed_then_handed_over(db, setup)
    old, new = circle.key_worker.display_name, new_worker.display_name
    for person, needs in ((circle.client, f"{new}'s"), (new_worker, "yours")):
        assert (
            f"{old} signed version 3 as key worker before the handover. That signature stays "
            f"on the record, but the version now needs {needs}."
        ) in _page_words(app, person, doc), person.role


def test_a_signature_from_before_a_handover_says_so_after_the_client_leaves_too(app, db, setup):
    """Signed, handed over, then the client left: the signature stopped counting at the
    handover, not because they left. Signed and then the client left, without a handover: it
    says they left."""
    circle, doc, new_worker = _signed_then_handed_over(db, setup)
    leaving.record(db, actor_for(new_worker), circle.client.id, "Moved away.", service_today())
    old = circle.key_worker.display_name
    words = _page_words(app, circle.client, doc)
    assert (
        f"{old} signed version 3 as key worker before the handover. That signature stays on "
        "the record, but the version now needs a new key worker's."
    ) in words
    assert "left the service. That signature" not in words

    other = Circle()
    plan = make_plan(other.key_worker, other.client)
    signoff.sign(db, actor_for(other.key_worker), plan, 1, "signed", "", PASSWORD)
    leaving.record(db, actor_for(other.key_worker), other.client.id, "Moved.", service_today())
    words = _page_words(app, other.client, plan)
    assert (
        f"{other.key_worker.display_name} signed version 1 as key worker before you left the "
        "service."
    ) in words


def test_after_a_handover_the_previous_key_worker_is_called_a_former_one(app, db, setup):
    circle, doc, new_worker = setup
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, new_worker.id, "Bye.")
    documents.open_document(db, actor_for(new_worker), doc, 2)
    handovers.acknowledge(db, actor_for(new_worker), circle.client.id)
    old = circle.key_worker.display_name
    for url in (f"/documents/{doc}", f"/documents/{doc}/history"):
        html = login(app.test_client(), circle.client).get(url).get_data(as_text=True)
        words = " ".join(re.sub(r"<[^>]+>", " ", html).split())
        assert f"{old}, your former key worker" in words, url
        assert f"{old}, your key worker" not in words, url


def test_a_supervisor_of_several_teams_chooses_key_workers_named_with_their_team(db, setup):
    """The choices were names alone across three teams; a key worker's own team needs none."""
    circle, _doc, new_worker = setup
    assert [
        (w.name, w.team)
        for w in handovers.workers_to_choose(db, actor_for(circle.supervisor), circle.client.id)
    ] == [(new_worker.display_name, "")]
    new_team = TeamFactory()
    elsewhere = KeyWorkerFactory(team_id=new_team.id)
    SupervisorTeamFactory(supervisor_id=circle.supervisor.id, team_id=new_team.id)
    chosen = handovers.workers_to_choose(db, actor_for(circle.supervisor), circle.client.id)
    assert {(w.id, w.team) for w in chosen} == {
        (new_worker.id, circle.team.name),
        (elsewhere.id, new_team.name),
    }
    own_team = handovers.workers_to_choose(db, actor_for(circle.key_worker), circle.client.id)
    assert [(w.id, w.team) for w in own_team] == [(new_worker.id, "")]
    # The only choice in another team is named with it too.
    alone = Circle()
    other_team = TeamFactory()
    only = KeyWorkerFactory(team_id=other_team.id)
    SupervisorTeamFactory(supervisor_id=alone.supervisor.id, team_id=other_team.id)
    [choice] = handovers.workers_to_choose(db, actor_for(alone.supervisor), alone.client.id)
    assert (choice.id, choice.team) == (only.id, other_team.name)


def test_a_request_for_help_waiting_through_a_handover_names_who_is_asked_now(app, db, setup):
    """Once the client was handed over to a key worker of another team, a request for help
    nobody had answered still said "Kim, your former key worker, or someone else in <Kim's
    team> will respond by", though the new key worker and their team are the ones asked now."""
    circle, _doc, _ = setup
    new_team = TeamFactory()
    new_worker = KeyWorkerFactory(team_id=new_team.id)
    SupervisorTeamFactory(supervisor_id=circle.supervisor.id, team_id=new_team.id)
    agreement = make_agreement(circle.key_worker, circle.client)
    contingencies.request_self_referral(
        db, actor_for(circle.client), agreement, "2", "", "", service_today()
    )
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new_worker.id, "Cover.")
    incoming = actor_for(new_worker)
    for doc in handovers.pending_for_client(db, incoming, circle.client.id).to_read:
        documents.open_document(db, incoming, doc.id, doc.agreed_version)
    handovers.acknowledge(db, incoming, circle.client.id)
    old, new, team = circle.key_worker.display_name, new_worker.display_name, new_team.name

    def words(person, url) -> str:
        html = login(app.test_client(), person).get(url, follow_redirects=True).get_data(True)
        html = html[html.index("<main") :]  # not the signed-in name above it
        return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())

    for url in (f"/documents/{agreement}/crisis-plan", f"/documents/{agreement}/respond", "/"):
        page = words(circle.client, url)
        assert f"{new}, your key worker, or someone else in {team} will respond by" in page, url
        assert f"{old}, your former key worker, or someone else" not in page, url
    assert f"{new} or their team will respond by" in words(circle.client, "/")
    page = words(new_worker, f"/documents/{agreement}/respond")
    assert f"You or someone else in {team} will respond by" in page
    page = words(circle.supervisor, f"/documents/{agreement}/respond")
    assert f"{new}, " in page and f"key worker, or someone else in {team} will respond by" in page


def test_a_handover_called_off_is_told_to_everyone_told_it_was_starting(db, setup):
    """Cancelled, it told nobody: the client's newest message still said someone new was
    coming, and the worker handing over read that the handover was under way."""
    circle, _doc, new_worker = setup
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new_worker.id, "Moving.")
    handovers.cancel(db, actor_for(circle.supervisor), circle.client.id)
    worker, incoming = circle.key_worker.display_name, new_worker.display_name
    client = circle.client.preferred_name or circle.client.display_name
    by = circle.supervisor.display_name
    assert newest_message(db, circle.client) == (
        f"The change of key worker to {incoming} has been called off. {worker} is still your "
        "key worker.",
        "/",
    )
    records = f"/clients/{circle.client.id}"
    assert newest_message(db, new_worker) == (
        f"{by} called off handing {client} over to you.",
        records,
    )
    assert newest_message(db, circle.key_worker) == (
        f"{by} called off handing {client} over to {incoming}.",
        records,
    )

    # Cancelled by the worker handing over: they are not told what they did themselves.
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, new_worker.id, "Again.")
    before = newest_message(db, circle.key_worker)
    handovers.cancel(db, actor_for(circle.key_worker), circle.client.id)
    assert newest_message(db, circle.key_worker) == before
    assert newest_message(db, new_worker)[0] == f"{worker} called off handing {client} over to you."
    # What asked them to read and take over, or told them it started, waits for nothing now:
    # only the news that it was called off is new.
    assert _new(db, new_worker) == [
        f"{by} called off handing {client} over to you.",
        f"{worker} called off handing {client} over to you.",
    ]
    assert _new(db, circle.key_worker) == [f"{by} called off handing {client} over to {incoming}."]


def test_a_handover_taken_over_leaves_nothing_about_it_new_for_the_two_workers(db, setup):
    """The worker handing over kept "X started handing Al over" as new, and the one taking
    over "please read ... and say you have read them", after it was done."""
    circle, doc, new_worker = setup
    client = circle.client.preferred_name or circle.client.display_name
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new_worker.id, "Bye")
    documents.open_document(db, actor_for(new_worker), doc, 2)
    handovers.acknowledge(db, actor_for(new_worker), circle.client.id)
    assert _new(db, new_worker) == []
    assert _new(db, circle.key_worker) == [
        f"{new_worker.display_name} has taken over as {client}'s key worker. Anything still "
        f"waiting in your messages about {client}, such as a request for help, is theirs to "
        "answer now."
    ]


def test_the_handover_form_says_one_is_waiting_before_anything_is_typed(app, db, setup):
    """With a handover waiting, the form was offered whole and refused only once sent."""
    circle, _doc, new_worker = setup
    url = f"/clients/{circle.client.id}/handover"
    worker = login(app.test_client(), circle.key_worker)
    assert 'id="handover-form"' in worker.get(url).get_data(as_text=True)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, new_worker.id, "Moving.")
    page = worker.get(url).get_data(as_text=True)
    assert 'id="handover-form"' not in page
    said = f"A handover to {new_worker.display_name} is already waiting to be acknowledged."
    assert said in page and f'href="/clients/{circle.client.id}#handover"' in page


def test_a_request_for_help_stops_counting_as_new_for_a_worker_of_another_team(db, setup):
    """Handed to a key worker in another team, the client's requests for help go to that team:
    the former key worker can no longer open them, so their message no longer waits."""
    circle, doc, _ = setup
    other = KeyWorkerFactory(team_id=TeamFactory().id)
    SupervisorTeamFactory(supervisor_id=circle.supervisor.id, team_id=other.team_id)
    asked = _reminder_notice(db, doc, circle.key_worker, "alert:1")
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, other.id, "Moving")
    documents.open_document(db, actor_for(other), doc, 2)
    handovers.acknowledge(db, actor_for(other), circle.client.id)
    with db.read() as s:
        assert s.get(Notification, asked).read_at is not None


def test_the_supervisor_of_the_team_a_client_comes_to_sees_the_handover_waiting(app, db):
    """Handed from North to East by a supervisor of both: East's own supervisor saw nothing
    until it was done. They see it waiting, without a link into records not yet open to
    them; once taken over, as their team's."""
    north, east = Circle(), Circle()
    SupervisorTeamFactory(supervisor_id=north.supervisor.id, team_id=east.team.id)
    doc = make_plan(north.key_worker, north.client)
    for person in (north.client, north.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    handovers.start(db, actor_for(north.supervisor), north.client.id, east.key_worker.id, "Move")
    [waiting] = handovers.pending_for_supervisor(db, actor_for(east.supervisor))
    assert (waiting.client_id, waiting.coming_in) == (north.client.id, True)
    [theirs] = handovers.pending_for_supervisor(db, actor_for(north.supervisor))
    assert theirs.coming_in is False
    page = login(app.test_client(), east.supervisor).get("/supervision").get_data(as_text=True)
    assert "coming to your team from another" in page
    assert f'href="/clients/{north.client.id}"' not in page
    documents.open_document(db, actor_for(east.key_worker), doc, 1)
    handovers.acknowledge(db, actor_for(east.key_worker), north.client.id)
    assert handovers.pending_for_supervisor(db, actor_for(east.supervisor)) == []
