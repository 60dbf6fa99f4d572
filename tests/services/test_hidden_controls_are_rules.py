"""A hidden button is not a rule: every control a page hides is refused by the service too.

Each test below calls a service directly to do something the pages would not offer that
person, or not in that state (the form they would not be shown, posted anyway), and checks
that it is refused and that nothing in the database changed: no row added, changed or
removed, not even an audit event. Only the attempt counters of wrong passwords may move.

What is already covered elsewhere is not repeated here: tests/web/test_access_matrix.py
posts every form as every role, for a record of their own circle and of another team's
(refusal and nothing changed); tests/services/test_signoff.py covers signing twice, declining
or signing an agreed head version, signing an older version and nobody signing for the
client; tests/services/test_signing_empty_parts.py covers empty key parts; the conflict
tests of tests/services/test_versions.py cover saving on an old version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from careplan.db.models import Base, PdfRender, RateLimitCounter, User
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_today
from careplan.extensions import LIBRARY_KEY
from careplan.services import (
    accounts,
    admin_accounts,
    api_tokens,
    comments,
    contingencies,
    crisis_alerts,
    documents,
    drafts,
    handovers,
    passwords,
    pdfs,
    reminders,
    reviews,
    signoff,
)
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid, NotFound, ReadOnly
from tests.built_once import built_once
from tests.factories import (
    PASSWORD,
    AdvocateFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    make_agreement,
    make_plan,
    plan_content,
)

TODAY = service_today()
IN_FIVE_DAYS = (TODAY + timedelta(days=5)).isoformat()
CLIENTS_OWN = "the client's own password"


# --- the check every test makes -----------------------------------------------------------------


def _everything(db) -> dict[str, list[tuple]]:
    """Every row of every table (audit events included), but the wrong-password counters."""
    with db.read() as s:
        return {
            table.name: [
                tuple(row)
                for row in s.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
            if table.name != RateLimitCounter.__tablename__
        }


def refused(db, error: type[Exception], action: Callable[[], object], match: str | None = None):
    """`action` is refused with `error` (its message matching `match`) and changes nothing."""
    before = _everything(db)
    with pytest.raises(error, match=match) as caught:
        action()
    after = _everything(db)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"a refused action changed {changed}"
    return caught.value


# --- a client's world -------------------------------------------------------------------------


@dataclass
class World:
    circle: Circle
    plan: int  # a care plan whose version 1 both have signed: agreed
    agreement: int  # a partnership agreement at version 1, signed by nobody yet
    newcomer: object  # another key worker of the same team
    unassigned: object  # a client with no key worker yet


def sign(db, user, doc, number, outcome="signed", comment="", password=PASSWORD):
    # Agreements made here leave key parts empty; signing them says so on purpose.
    return signoff.sign(db, actor_for(user), doc, number, outcome, comment, password, True)


def edit(db, user, doc):
    page = documents.open_document(db, actor_for(user), doc)
    content = page.content
    content["what_matters"] = {"text": f"A change after version {page.head_number}."}
    documents.save_version(db, actor_for(user), doc, page.head_number, content, "a change")


@pytest.fixture
def world(app, db) -> World:
    def build() -> World:
        circle = Circle()
        plan = make_plan(circle.key_worker, circle.client)
        sign(db, circle.client, plan, 1)
        sign(db, circle.key_worker, plan, 1)
        agreement = make_agreement(circle.key_worker, circle.client)
        newcomer, unassigned = KeyWorkerFactory(team_id=circle.team.id), ClientFactory()
        return World(circle, plan, agreement, newcomer, unassigned)

    return built_once("hidden controls", db, build)


def _hand_over(db, world: World) -> None:
    handovers.start(
        db, actor_for(world.circle.key_worker), world.circle.client.id, world.newcomer.id, "Over"
    )


@pytest.fixture
def incoming(db, world) -> World:
    """A handover to the newcomer waits: they may read, not act, until they acknowledge."""
    _hand_over(db, world)
    return world


@pytest.fixture
def handed_over(db, world) -> World:
    """The newcomer read the agreed plan and took over; the old key worker is no longer on
    the caseload."""
    _hand_over(db, world)
    documents.open_document(db, actor_for(world.newcomer), world.plan, 1)
    handovers.acknowledge(db, actor_for(world.newcomer), world.circle.client.id)
    return world


# --- sign-off -------------------------------------------------------------------------------------


def test_a_key_worker_cannot_sign_for_the_client_with_the_clients_password(db, world):
    # A signature is checked against the signer's own password: knowing the client's does
    # not let anyone sign as the client, nor as themselves.
    with db.write() as s:
        s.get(User, world.circle.client.id).password_hash = passwords.hash_password(CLIENTS_OWN)
    # The agreement's key parts are empty: confirmed here, so the password is all that is wrong.
    err = refused(
        db,
        ContentInvalid,
        lambda: signoff.sign(
            db, actor_for(world.circle.key_worker), world.agreement, 1, "signed", "", CLIENTS_OWN,
            confirm_blank=True,
        ),
    )  # fmt: skip
    assert "Nothing was signed" in err.errors["password"]


@pytest.mark.parametrize("outcome", ["declined", "signed"])
def test_an_agreed_version_stays_agreed_once_a_new_draft_follows_it(db, world, outcome):
    # The page offers signing on the latest version only; the agreed one stays in force.
    edit(db, world.circle.client, world.plan)
    refused(
        db,
        Invalid,
        lambda: sign(db, world.circle.client, world.plan, 1, outcome, "I no longer agree"),
        match="not the latest one",
    )
    page = documents.open_document(db, actor_for(world.circle.client), world.plan)
    assert page.signoff.agreed.number == 1


def test_the_client_cannot_ask_their_advocate_about_an_agreed_version(db, world):
    # The page offers "Ask my advocate to look at it first" only beside the signing form.
    refused(
        db,
        Invalid,
        lambda: signoff.ask_advocate_to_look(db, actor_for(world.circle.client), world.plan, 1),
        match="already agreed",
    )


def test_the_client_cannot_ask_their_advocate_about_a_version_they_signed(db, world):
    sign(db, world.circle.client, world.agreement, 1)
    refused(
        db,
        Invalid,
        lambda: signoff.ask_advocate_to_look(
            db, actor_for(world.circle.client), world.agreement, 1
        ),
        match="You have already signed version 1",
    )


def test_the_client_cannot_ask_their_advocate_about_an_older_version(db, world):
    edit(db, world.circle.client, world.plan)
    refused(
        db,
        Invalid,
        lambda: signoff.ask_advocate_to_look(db, actor_for(world.circle.client), world.plan, 1),
        match="not the latest one",
    )


@pytest.mark.parametrize("role", ["key_worker", "supervisor", "advocate", "admin"])
def test_only_the_client_asks_their_advocate_to_look(db, world, role):
    person = getattr(world.circle, role)
    refused(
        db,
        NotFound,
        lambda: signoff.ask_advocate_to_look(db, actor_for(person), world.agreement, 1),
    )


# --- someone whose relationship to the client changed ----------------------------------------------


def _save(db, actor, w: World):
    return documents.save_version(db, actor, w.plan, 1, plan_content(), "mine")


# What a key worker could do for a client on their caseload, each as one call.
KEY_WORKER_ACTIONS: dict[str, Callable[[object, object, World], object]] = {
    "save a version": _save,
    "keep an unsaved draft": lambda db, a, w: drafts.keep(
        db, a, w.plan, 1, "", [("what_matters-text", "typing")]
    ),
    "sign": lambda db, a, w: signoff.sign(db, a, w.agreement, 1, "signed", "", PASSWORD, True),
    "decline": lambda db, a, w: signoff.sign(db, a, w.agreement, 1, "declined", "No", PASSWORD),
    "comment": lambda db, a, w: comments.add_comment(db, a, w.plan, "what_matters", 1, "Hi"),
    "start a care plan": lambda db, a, w: documents.create_document(db, a, w.circle.client.id),
    "put the crisis plan into effect": lambda db, a, w: contingencies.start_contingency(
        db, a, w.agreement, "Not sleeping", "", IN_FIVE_DAYS, TODAY
    ),
    "ask for a self-referral": lambda db, a, w: contingencies.request_self_referral(
        db, a, w.agreement, "2", "", "", TODAY
    ),
    "ask for an earlier review": lambda db, a, w: reviews.request_earlier_review(
        db, a, w.plan, IN_FIVE_DAYS, "Things changed", TODAY
    ),
    "confirm reviewed, no changes": lambda db, a, w: reviews.confirm_no_changes(
        db, a, w.plan, 1, PASSWORD
    ),
    "hand the client over": lambda db, a, w: handovers.start(
        db, a, w.circle.client.id, w.newcomer.id, "Over to you"
    ),
}


@pytest.mark.parametrize("action", list(KEY_WORKER_ACTIONS))
def test_a_key_worker_no_longer_on_the_caseload_cannot_act(db, handed_over, action):
    former = actor_for(handed_over.circle.key_worker)
    refused(db, NotFound, lambda: KEY_WORKER_ACTIONS[action](db, former, handed_over))


# Taking a client over: the incoming worker reads everything first, and acts on nothing.
INCOMING_REFUSALS = {
    "save a version": ReadOnly,
    "keep an unsaved draft": ReadOnly,
    "sign": ReadOnly,
    "decline": ReadOnly,
    "comment": ReadOnly,
    "start a care plan": ReadOnly,
    "put the crisis plan into effect": ReadOnly,
    "ask for a self-referral": ReadOnly,
    "ask for an earlier review": ReadOnly,
    "confirm reviewed, no changes": ReadOnly,
    "hand the client over": NotFound,
}


@pytest.mark.parametrize("action", list(INCOMING_REFUSALS))
def test_the_incoming_key_worker_cannot_act_before_acknowledging(db, incoming, action):
    newcomer = actor_for(incoming.newcomer)
    refused(
        db, INCOMING_REFUSALS[action], lambda: KEY_WORKER_ACTIONS[action](db, newcomer, incoming)
    )


def test_the_incoming_key_worker_cannot_cancel_the_handover(db, incoming):
    # The page shows "Cancel the handover" to the supervisor and the current key worker only.
    refused(
        db,
        NotFound,
        lambda: handovers.cancel(db, actor_for(incoming.newcomer), incoming.circle.client.id),
    )


# --- handovers --------------------------------------------------------------------------------------


def test_the_incoming_key_worker_cannot_acknowledge_before_opening_the_agreed_documents(
    db, incoming
):
    # The page disables the button until each agreed document has been opened.
    refused(
        db,
        Invalid,
        lambda: handovers.acknowledge(db, actor_for(incoming.newcomer), incoming.circle.client.id),
        match="Please open and read these first",
    )


def test_a_second_handover_cannot_start_while_one_waits(db, incoming):
    # While one waits, the page offers no "Hand over" link.
    another = KeyWorkerFactory(team_id=incoming.circle.team.id)
    refused(
        db,
        Invalid,
        lambda: handovers.start(
            db,
            actor_for(incoming.circle.supervisor),
            incoming.circle.client.id,
            another.id,
            "To someone else",
        ),
        match="already waiting",
    )


def test_a_colleague_of_the_key_worker_cannot_hand_the_client_over(db, world):
    # The link shows to the client's own key worker and the team's supervisor only.
    refused(
        db,
        NotFound,
        lambda: handovers.start(
            db, actor_for(world.newcomer), world.circle.client.id, world.newcomer.id, "Mine now"
        ),
    )


# --- the crisis plan ----------------------------------------------------------------------------


def test_ending_a_crisis_plan_that_is_not_in_effect_is_refused(db, world):
    # "End the plan now" shows only while the plan is in effect.
    refused(
        db,
        Invalid,
        lambda: contingencies.end_contingency(
            db, actor_for(world.circle.client), world.agreement, "", TODAY
        ),
        match="not in effect",
    )


def test_a_crisis_plan_cannot_start_again_while_it_is_in_effect(db, world):
    client = actor_for(world.circle.client)
    contingencies.start_contingency(
        db, client, world.agreement, "Not sleeping", "", IN_FIVE_DAYS, TODAY
    )
    err = refused(
        db,
        ContentInvalid,
        lambda: contingencies.start_contingency(
            db,
            actor_for(world.circle.key_worker),
            world.agreement,
            "Again",
            "",
            IN_FIVE_DAYS,
            TODAY,
        ),
    )
    assert "already in effect" in err.errors["observed"]


@pytest.mark.parametrize("action", ["put the crisis plan into effect", "ask for a self-referral"])
def test_nothing_is_put_into_effect_from_an_agreement_with_nothing_written(app, db, world, action):
    # The page offers the crisis plan only once a version exists.
    template = app.extensions[LIBRARY_KEY].current().templates["smi_self_referral"]
    client = actor_for(world.circle.client)
    world.agreement = documents.create_document(
        db, client, world.circle.client.id, "agreement", template=template
    )
    refused(
        db,
        Invalid,
        lambda: KEY_WORKER_ACTIONS[action](db, client, world),
        match="nothing written yet",
    )


def test_a_care_plan_has_no_crisis_plan_to_put_into_effect(db, world):
    world.agreement = world.plan
    refused(
        db,
        NotFound,
        lambda: KEY_WORKER_ACTIONS["put the crisis plan into effect"](
            db, actor_for(world.circle.client), world
        ),
    )


def test_nobody_responds_again_once_someone_has_responded(db, world):
    # The response form shows only while an alert waits.
    contingencies.start_contingency(
        db, actor_for(world.circle.client), world.agreement, "Not sleeping", "", IN_FIVE_DAYS, TODAY
    )
    now = datetime.now(UTC)
    crisis_alerts.respond(db, actor_for(world.circle.key_worker), world.agreement, "On it.", now)
    refused(
        db,
        Invalid,
        lambda: crisis_alerts.respond(
            db, actor_for(world.circle.supervisor), world.agreement, "Me too.", now
        ),
        match="already responded",
    )


# --- reviews ----------------------------------------------------------------------------------------


def test_an_earlier_review_cannot_be_asked_for_before_anything_is_agreed(db, world):
    # "Ask for an earlier review" shows only once there is a review date.
    refused(
        db,
        Invalid,
        lambda: reviews.request_earlier_review(
            db, actor_for(world.circle.client), world.agreement, IN_FIVE_DAYS, "Soon", TODAY
        ),
        match="not been agreed yet",
    )


def test_reviewed_no_changes_is_confirmed_once_by_each(db, world):
    reviews.confirm_no_changes(db, actor_for(world.circle.client), world.plan, 1, PASSWORD)
    refused(
        db,
        Invalid,
        lambda: reviews.confirm_no_changes(
            db, actor_for(world.circle.client), world.plan, 1, PASSWORD
        ),
        match="already confirmed",
    )


def test_reviewed_no_changes_cannot_be_confirmed_once_a_draft_follows(db, world):
    # With a draft after the agreed version, the page offers signing the draft instead.
    edit(db, world.circle.key_worker, world.plan)
    refused(
        db,
        Invalid,
        lambda: reviews.confirm_no_changes(
            db, actor_for(world.circle.client), world.plan, 1, PASSWORD
        ),
        match="Only the agreed version",
    )


# --- PDFs ---------------------------------------------------------------------------------------------


def test_retrying_a_pdf_that_has_not_failed_changes_nothing(db, world):
    # "Try again" shows only for a failed render; one still waiting is left as it is.
    before = _everything(db)
    with db.read() as s:
        assert s.scalar(sa.select(PdfRender.status)) == "pending"
    pdfs.retry_failed(db, actor_for(world.circle.client), world.plan, 1)
    assert _everything(db) == before


# --- administrators: accounts, teams, and no clinical content -----------------------------------


# Each administrator's action, as a call by `actor` about the people of a world.
ADMIN_ACTIONS: dict[str, Callable[[object, object, World], object]] = {
    "make an account": lambda db, a, w: admin_accounts.create(
        db, a, "new@example.org", "New Person", "client", None
    ),
    "change someone's details": lambda db, a, w: admin_accounts.update_details(
        db, a, w.circle.client.id, "Renamed", w.circle.client.email, None
    ),
    "close an account": lambda db, a, w: admin_accounts.set_active(
        db, a, w.circle.client.id, False, "Left"
    ),
    "send a password link": lambda db, a, w: admin_accounts.send_password_link(
        db, a, w.circle.client.id
    ),
    "give a key worker": lambda db, a, w: admin_accounts.give_key_worker(
        db, a, w.unassigned.id, w.newcomer.id
    ),
    "stop supervising a team": lambda db, a, w: admin_accounts.set_supervision(
        db, a, w.circle.supervisor.id, w.circle.team.id, False
    ),
    "make a team": lambda db, a, w: accounts.create_team(db, "A team of my own", a),
    "rename a team": lambda db, a, w: accounts.rename_team(db, a, w.circle.team.id, "Mine"),
}


@pytest.mark.parametrize("action", list(ADMIN_ACTIONS))
@pytest.mark.parametrize("role", ["client", "key_worker", "supervisor", "advocate"])
def test_only_an_administrator_manages_accounts_and_teams(db, world, action, role):
    person = actor_for(getattr(world.circle, role))
    refused(db, NotFound, lambda: ADMIN_ACTIONS[action](db, person, world))


def test_an_administrator_cannot_close_their_own_account(db, world):
    admin = world.circle.admin
    refused(
        db,
        Invalid,
        lambda: admin_accounts.set_active(db, actor_for(admin), admin.id, False, "Left"),
        match="cannot close your own account",
    )


def test_no_password_link_for_a_closed_account(db, world):
    # The page offers the link only for an open account.
    closed = ClientFactory(active=False)
    refused(
        db,
        Invalid,
        lambda: admin_accounts.send_password_link(db, actor_for(world.circle.admin), closed.id),
        match="closed",
    )


def test_only_a_supervisor_supervises_a_team(db, world):
    # The page offers "Supervise this team" on a supervisor's account only.
    circle = world.circle
    refused(
        db,
        Invalid,
        lambda: admin_accounts.set_supervision(
            db, actor_for(circle.admin), circle.key_worker.id, circle.team.id, True
        ),
    )


@pytest.mark.parametrize("whom", ["a closed key worker", "someone who is not a key worker"])
def test_a_client_is_given_only_an_open_key_workers_account(db, world, whom):
    # The page lists open key workers' accounts only.
    worker = (
        KeyWorkerFactory(active=False) if whom == "a closed key worker" else world.circle.advocate
    )
    refused(
        db,
        Invalid,
        lambda: admin_accounts.give_key_worker(
            db, actor_for(world.circle.admin), world.unassigned.id, worker.id
        ),
    )


# Everything a person with access reads about a client, as one call by `actor`.
CLINICAL_READS: dict[str, Callable[[object, object, World], object]] = {
    "the client's list of plans": lambda db, a, w: documents.client_records(
        db, a, w.circle.client.id
    ),
    "a document": lambda db, a, w: documents.document_screen(db, a, w.plan, today=TODAY),
    "a version": lambda db, a, w: documents.open_document(db, a, w.plan, 1),
    "the history": lambda db, a, w: documents.history(db, a, w.plan),
    "a comparison": lambda db, a, w: documents.compare_versions(db, a, w.plan, 1, 1),
    "the comments": lambda db, a, w: comments.comments_on(db, a, w.plan),
    "the review dates": lambda db, a, w: reviews.review_panel(db, a, w.plan, TODAY),
    "the crisis page": lambda db, a, w: contingencies.crisis_record(db, a, w.agreement, TODAY),
    "a request for help": lambda db, a, w: crisis_alerts.alert_page(
        db, a, w.agreement, datetime.now(UTC)
    ),
    "a waiting handover": lambda db, a, w: handovers.pending_for_client(db, a, w.circle.client.id),
}


@pytest.mark.parametrize("what", list(CLINICAL_READS))
def test_an_administrator_reads_no_clinical_content(db, world, what):
    # Nothing is shown and nothing is recorded as read: the record looks as if it did not exist.
    refused(db, NotFound, lambda: CLINICAL_READS[what](db, actor_for(world.circle.admin), world))


# --- a person's own settings ---------------------------------------------------------------------


@pytest.mark.parametrize("change", ["invite", "revoke"])
@pytest.mark.parametrize("role", ["key_worker", "supervisor", "advocate", "admin"])
def test_only_a_client_invites_or_revokes_their_advocate(db, world, change, role):
    # "My advocate" is a client's page; nobody chooses an advocate for them.
    person = actor_for(getattr(world.circle, role))
    advocate = world.circle.advocate if change == "revoke" else AdvocateFactory()
    call = accounts.invite_advocate if change == "invite" else accounts.revoke_advocate
    refused(db, NotFound, lambda: call(db, person, advocate.id))


def test_only_a_client_chooses_how_they_are_reminded(db, world):
    refused(
        db,
        NotFound,
        lambda: reminders.choose_channel(db, actor_for(world.circle.key_worker), "none"),
    )


def test_nobody_revokes_another_persons_access_token(db, world):
    # The page lists only your own tokens, each with its own "Revoke".
    made = api_tokens.create(
        db,
        actor_for(world.circle.client),
        "mine",
        ["read"],
        (TODAY + timedelta(days=30)).isoformat(),
    )
    for person in (world.circle.key_worker, world.circle.admin):
        refused(db, NotFound, lambda p=person: api_tokens.revoke(db, actor_for(p), made.token.id))
