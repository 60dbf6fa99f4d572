"""What needs you now, through the services: each kind of item for the people it waits for,
and nothing for anyone else. Time passes by handing the service a later `now`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from careplan.db.models import User, utcnow
from careplan.domain.attention import Kind, Place
from careplan.domain.local_time import service_day
from careplan.services import attention, contingencies, documents, drafts, handovers, signoff
from careplan.services.accounts import actor_for
from careplan.services.crisis_alerts import AlertSettings
from tests.factories import PASSWORD, Circle, KeyWorkerFactory, make_agreement, make_plan

NOW = utcnow()


def needs(db, user, now=NOW, unread=0):
    actor = actor_for(user)
    if actor.role.value == "client":
        records = documents.client_records(db, actor, user.id)
        return attention.for_own_records(db, actor, records, now, unread).items
    return attention.home(db, actor, now, unread).items


def kinds(items) -> list[Kind]:
    return [i.kind for i in items]


def agree(db, circle, doc, number=1):
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), doc, number, "signed", "", PASSWORD, confirm_blank=True)


@pytest.fixture
def circle(app, db):
    return Circle()


def test_a_draft_nobody_signed_waits_for_the_side_that_did_not_write_it(db, circle):
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    [item] = needs(db, circle.client)
    assert (item.kind, item.place, item.document_id) == (Kind.SIGNATURE, Place.SIGN, doc)
    assert "Version 2 of your care plan is waiting for your signature" in item.text
    for who in (circle.key_worker, circle.supervisor, circle.advocate):
        assert needs(db, who) == [], who.role  # their own draft; never sign
    theirs = make_plan(circle.client, circle.client)
    [item] = needs(db, circle.key_worker)
    assert item.document_id == theirs and circle.client.display_name in item.text


def test_a_signature_waits_for_the_side_that_has_not_signed(db, circle):
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    signoff.sign(db, actor_for(circle.key_worker), doc, 2, "signed", "", PASSWORD)
    [item] = needs(db, circle.client)
    assert (item.kind, item.place, item.document_id) == (Kind.SIGNATURE, Place.SIGN, doc)
    assert "Version 2 of your care plan is waiting for your signature" in item.text
    assert needs(db, circle.key_worker) == []  # they have signed
    assert needs(db, circle.supervisor) == []  # supervisors never sign


def test_the_key_worker_sees_the_clients_signature_waiting_for_theirs(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    [item] = needs(db, circle.key_worker)
    assert item.kind is Kind.SIGNATURE and circle.client.display_name in item.text
    assert needs(db, circle.client) == []
    # Another worker in the team, not holding the caseload, is not asked.
    assert needs(db, KeyWorkerFactory(team_id=circle.team.id)) == []


def test_reviews_due_soon_then_overdue(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    agree(db, circle, doc)
    assert needs(db, circle.client) == []  # twelve weeks away
    soon = NOW + timedelta(weeks=12) - timedelta(days=5)
    for who in (circle.client, circle.key_worker):
        [item] = needs(db, who, soon)
        assert (item.kind, item.place, item.urgent) == (Kind.REVIEW, Place.REVIEW, False)
        assert "in 5 days" in item.text
    assert needs(db, circle.supervisor, soon) == []  # only overdue ones reach the supervisor
    late = NOW + timedelta(weeks=12, days=3)
    [item] = needs(db, circle.client, late)
    assert item.urgent and "overdue" in item.text and "3 days ago" in item.text
    [item] = needs(db, circle.supervisor, late)
    assert (item.place, item.text) == (Place.OVERDUE_REVIEWS, "1 review is overdue in your teams.")


def test_a_crisis_plan_in_effect_and_the_alert_nobody_answered(db, circle):
    doc = make_agreement(circle.key_worker, circle.client)
    agree(db, circle, doc)
    ends = service_day(NOW) + timedelta(days=5)
    contingencies.start_contingency(
        db,
        actor_for(circle.client),
        doc,
        "Not sleeping",
        "Called my sister",
        ends.isoformat(),
        service_day(NOW),
        AlertSettings(respond_within=timedelta(minutes=30)),
    )
    mine = needs(db, circle.client, NOW + timedelta(minutes=1))
    # The crisis plan also asked for a review soon after it.
    assert kinds(mine) == [Kind.ALERT, Kind.CRISIS_PLAN, Kind.REVIEW]
    mine = mine[:2]
    assert [i.place for i in mine] == [Place.CRISIS_PLAN, Place.CRISIS_PLAN]
    assert "will respond by" in mine[0].text and "you are not well" in mine[1].text
    theirs = needs(db, circle.key_worker, NOW + timedelta(minutes=1))
    assert kinds(theirs) == [Kind.ALERT, Kind.CRISIS_PLAN, Kind.REVIEW]
    assert theirs[0].place is Place.RESPOND and theirs[0].text.startswith("Respond to ")
    # The supervisor hears of it once nobody has answered in time.
    assert needs(db, circle.supervisor, NOW + timedelta(minutes=1)) == []
    [late] = needs(db, circle.supervisor, NOW + timedelta(hours=1))
    assert late.kind is Kind.ALERT and ". Nobody has responded in time." in late.text
    # After the plan's last day, the crisis line goes.
    after = needs(db, circle.client, NOW + timedelta(days=6))
    assert Kind.CRISIS_PLAN not in kinds(after)


def test_a_handover_waits_for_the_client_both_workers_and_the_supervisor(db, circle):
    make_plan(circle.key_worker, circle.client)
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, incoming.id, "Moving.")
    [item] = needs(db, incoming)
    assert (item.kind, item.place, item.client_id) == (
        Kind.HANDOVER,
        Place.HANDOVER,
        circle.client.id,
    )
    assert item.text == (
        f"{circle.client.display_name} is being handed over to you from "
        f"{circle.key_worker.display_name}. Read the handover note and any agreed plans, then "
        "take over."
    )
    # The client also has the key worker's draft to read.
    [item] = [i for i in needs(db, circle.client) if i.kind is Kind.HANDOVER]
    assert incoming.display_name in item.text
    [item] = needs(db, circle.supervisor)
    assert item.kind is Kind.HANDOVER and "waiting since" in item.text
    # The outgoing worker started it, and still holds the client until it is taken over.
    [item] = needs(db, circle.key_worker)
    assert (item.kind, item.client_id) == (Kind.HANDOVER, circle.client.id)
    assert f"for {incoming.display_name} to take over" in item.text


def test_unread_messages(db, circle):
    [item] = needs(db, circle.client, unread=2)
    assert (item.kind, item.place, item.text) == (
        Kind.MESSAGES,
        Place.MESSAGES,
        "You have 2 new messages.",
    )
    assert needs(db, circle.key_worker, unread=1)[0].text == "You have 1 new message."


def test_plan_cards_say_whose_signature_is_waiting_then_when_it_was_agreed(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    make_plan(circle.key_worker, circle.client)  # a second, untouched draft

    def card(user):
        records = documents.client_records(db, actor_for(user), circle.client.id)
        return next(d for d in records.documents if d.id == doc)

    name = circle.key_worker.display_name
    assert card(circle.client).state == f"Version 1 is waiting for signatures: yours and {name}'s."
    signoff.sign(db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD)
    assert card(circle.client).state == "Version 1 is waiting for a signature: yours."
    name = circle.client.display_name
    assert name in card(circle.key_worker).state and "yours" not in card(circle.key_worker).state
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    agreed = card(circle.client)
    assert agreed.state.startswith("Agreed on ") and agreed.next_review_on is not None


def test_staff_read_of_the_client_by_the_name_they_go_by(db, circle):
    """As the pages the lines link to call them (the lines and cards gave their full name)."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    agree(db, circle, make_plan(circle.key_worker, circle.client))
    make_plan(circle.client, circle.client)  # the client's draft waits for the key worker
    mine = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.key_worker), mine, 1, "signed", "", PASSWORD)
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, incoming.id, "Moving.")
    soon = NOW + timedelta(weeks=12) - timedelta(days=5)
    texts = [i.text for i in needs(db, circle.key_worker, soon)]
    assert (
        "Version 1 of Al's care plan is waiting for your signature: read it and sign, or say "
        "why not."
    ) in texts
    assert any(t.startswith("Al's care plan: the review is due on ") for t in texts)
    [line] = [i.text for i in needs(db, incoming) if i.kind is Kind.HANDOVER]
    assert line.startswith("Al is being handed over to you from ")
    [line] = [i.text for i in needs(db, circle.supervisor) if i.kind is Kind.HANDOVER]
    assert line.startswith("Al: handover from ")
    records = documents.client_records(db, actor_for(circle.key_worker), circle.client.id)
    [card] = [d for d in records.documents if d.id == mine]
    assert card.state == "Version 1 is waiting for a signature: Al's."
    said = " ".join([*texts, *(d.state for d in records.documents)])
    assert circle.client.display_name not in said


def test_ones_own_unsaved_changes_wait_for_one_alone_until_saved(db, circle):
    """On a document waiting for nobody (agreed, its review far off): a line for whoever left
    the draft, linking to carry on; never for anyone else."""
    worker_doc = make_plan(circle.key_worker, circle.client)
    client_doc = make_plan(circle.key_worker, circle.client)
    for doc in (worker_doc, client_doc):
        agree(db, circle, doc)
    assert all(needs(db, who) == [] for who in (circle.client, circle.key_worker))
    worker = actor_for(circle.key_worker)
    drafts.keep(db, worker, worker_doc, 1, "", [("what_matters-text", "x")])
    drafts.keep(db, actor_for(circle.client), client_doc, 1, "", [("what_matters-text", "y")])
    [item] = needs(db, circle.key_worker)
    assert (item.kind, item.place, item.document_id) == (Kind.UNSAVED, Place.CARRY_ON, worker_doc)
    assert item.text.startswith(
        f"Your changes to {circle.client.display_name}'s care plan are not saved yet (you last "
        "typed on "
    )
    [item] = needs(db, circle.client)
    assert (item.kind, item.place, item.document_id) == (Kind.UNSAVED, Place.CARRY_ON, client_doc)
    assert item.text.startswith("Your changes to your care plan are not saved yet (")
    for who in (circle.supervisor, circle.advocate):
        assert needs(db, who) == [], who.role
    # Saved as a version, it is no longer unsaved (the version now waits for the client).
    content = documents.open_document(db, worker, worker_doc).content
    content["what_matters"] = {"text": "saved now"}
    # On the edit page that kept the draft (a program's save would leave its other words).
    documents.save_version(db, worker, worker_doc, 1, content, forget_draft=True)
    assert Kind.UNSAVED not in kinds(needs(db, circle.key_worker))
