"""A decline, and a review one side confirmed with no changes, reach the other side at once:
a line on their start page and a message; the client's advocate gets a message in words for
an advocate (no line: they do not sign), and nobody else who may read the document hears of
it. The decline's line goes once a new version is saved, the review's once both have
confirmed, and then whoever confirmed first is told the review is done."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from careplan.db.models import Document, Notification, utcnow
from careplan.domain.attention import Kind, Place
from careplan.domain.local_time import long_date
from careplan.services import accounts, admin_accounts, attention, documents, reviews, signoff
from careplan.services.accounts import actor_for
from tests.factories import (
    PASSWORD,
    AdvocateFactory,
    AdvocateInvitationFactory,
    Circle,
    make_agreement,
    make_plan,
)

WHY = "Not yet, I want to talk about it."
LATER = {"contingencies": {"warning_signs": {"text": "I stop sleeping and stop eating."}}}


def needs(db, user):
    actor = actor_for(user)
    if actor.role.value == "client":
        records = documents.client_records(db, actor, user.id)
        return attention.for_own_records(db, actor, records, utcnow()).items
    return attention.home(db, actor, utcnow()).items


def messages(db, user) -> list[tuple[str, str]]:
    with db.read() as s:
        return s.execute(
            sa.select(Notification.text, Notification.link)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        ).all()


def sign(db, who, doc, number, outcome="signed", comment=""):
    signoff.sign(db, actor_for(who), doc, number, outcome, comment, PASSWORD, confirm_blank=True)


@pytest.fixture
def circle(app, db):
    return Circle()


def test_a_clients_decline_reaches_their_key_worker_until_a_new_version_is_saved(db, circle):
    doc = make_agreement(circle.key_worker, circle.client)
    sign(db, circle.key_worker, doc, 1)
    sign(db, circle.client, doc, 1, "declined", WHY)

    [item] = needs(db, circle.key_worker)
    assert (item.kind, item.place, item.document_id) == (Kind.DECLINED, Place.SIGN, doc)
    name = circle.client.preferred_name or circle.client.display_name
    assert item.text.startswith(f"{name} declined to sign version 1 of their partnership agreement")
    assert f"saying: “{WHY}” Talk it over" in item.text
    [(text, link)] = messages(db, circle.key_worker)
    assert text.startswith(f"{name} declined to sign version 1 of their partnership agreement")
    assert WHY in text and link == f"/documents/{doc}#sign-off"
    # The client's advocate is told, in words for them; nobody else is: the client said it.
    [(told, link)] = messages(db, circle.advocate)
    assert told.startswith(f"{name} declined to sign version 1 of their partnership agreement")
    assert told.endswith(f", saying: “{WHY}” You can read it and comment.")
    assert link == f"/documents/{doc}#sign-off"
    for who in (circle.client, circle.supervisor, circle.admin):
        assert messages(db, who) == [], who.role
    assert needs(db, circle.client) == []
    assert needs(db, circle.advocate) == []
    # Another key worker's start page knows nothing of it.
    assert needs(db, Circle().key_worker) == []

    # Talked over, a new version is saved: now it waits for a signature, not a decline.
    worker = actor_for(circle.key_worker)
    documents.save_version(db, worker, doc, 1, {"sections": LATER}, "Talked it over")
    assert [i.kind for i in needs(db, circle.key_worker)] == []
    assert [i.kind for i in needs(db, circle.client)] == [Kind.SIGNATURE]


def test_a_key_workers_decline_reaches_the_client(db, circle):
    doc = make_plan(circle.client, circle.client)
    sign(db, circle.client, doc, 1)
    sign(db, circle.key_worker, doc, 1, "declined", "I cannot promise daily calls.")

    [item] = needs(db, circle.client)
    assert item.kind is Kind.DECLINED
    worker = circle.key_worker.display_name
    assert item.text.startswith(f"{worker} declined to sign version 1 of your care plan")
    [(text, _)] = messages(db, circle.client)
    assert text.startswith(f"{worker}, your key worker, declined to sign version 1 of your")
    assert "I cannot promise daily calls." in text
    assert messages(db, circle.key_worker) == [] and messages(db, circle.supervisor) == []
    client = circle.client.preferred_name or circle.client.display_name
    [(text, link)] = messages(db, circle.advocate)
    assert text == (
        f"{worker}, {client}'s key worker, declined to sign version 1 of {client}'s care plan, "
        "saying: “I cannot promise daily calls.” You can read it and comment."
    )
    assert link == f"/documents/{doc}#sign-off"
    assert needs(db, circle.key_worker) == []


@pytest.mark.parametrize("first", ["client", "key_worker"])
def test_a_review_one_side_confirmed_waits_for_the_other_on_their_start_page(db, circle, first):
    doc = make_plan(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        sign(db, who, doc, 1)
    one, other = (
        (circle.client, circle.key_worker)
        if first == "client"
        else (circle.key_worker, circle.client)
    )
    told_before = len(messages(db, other))
    assert needs(db, other) == []  # the review is weeks away

    assert not reviews.confirm_no_changes(db, actor_for(one), doc, 1, PASSWORD)
    [item] = needs(db, other)
    assert (item.kind, item.place, item.document_id) == (Kind.REVIEW, Place.REVIEW, doc)
    whose = "your" if other is circle.client else "their"
    name = (
        circle.key_worker.display_name
        if one is circle.key_worker
        else circle.client.preferred_name or circle.client.display_name
    )
    assert item.text.startswith(
        f"{name} confirmed the review of {whose} care plan with no changes. If you agree, confirm it too"
    )
    new = messages(db, other)[told_before:]
    assert [link for _, link in new] == [f"/documents/{doc}#review-confirmed"]
    assert "confirmed the review of" in new[0][0] and name in new[0][0]
    assert needs(db, one) == []  # they did their part
    other_name = (
        circle.key_worker.display_name
        if other is circle.key_worker
        else circle.client.preferred_name or circle.client.display_name
    )
    assert reviews.still_to_confirm(db, actor_for(one), doc) == other_name
    assert messages(db, circle.supervisor) == [] and needs(db, circle.supervisor) == []
    # The advocate gets a message, not a line on their start page: they do not confirm.
    assert needs(db, circle.advocate) == []
    [(told, link)] = messages(db, circle.advocate)
    if one is circle.client:
        said = (
            f"{name} confirmed the review of their care plan with no changes. The review is "
            f"done once {other_name}, their key worker, confirms too."
        )
    else:
        said = (
            f"{name}, {other_name}'s key worker, confirmed the review of {other_name}'s care "
            f"plan with no changes. The review is done once {other_name} confirms too."
        )
    assert told == said
    assert link == f"/documents/{doc}#review-confirmed"

    # The other confirms too: the review is done, and nothing is left on either page.
    told_first = len(messages(db, one))
    assert reviews.confirm_no_changes(db, actor_for(other), doc, 1, PASSWORD)
    assert needs(db, other) == [] and needs(db, one) == []
    # Whoever confirmed first is told it is done, and when the next review is; nobody else.
    with db.read() as s:
        next_on = s.get(Document, doc).next_review_on
    mine = "your" if one is circle.client else "their"
    by = f"{other_name}, your key worker," if one is circle.client else other_name
    assert messages(db, one)[told_first:] == [
        (
            f"{by} confirmed too: the review of {mine} care plan is done, with no changes. "
            f"The next review is on {long_date(next_on)}.",
            f"/documents/{doc}#review",
        )
    ]
    assert len(messages(db, other)) == told_before + 1  # only the first confirmation's
    assert len(messages(db, circle.advocate)) == 1
    assert messages(db, circle.supervisor) == []


def test_only_the_clients_current_advocates_are_told(db, circle):
    """Every advocate the client invited and has not stopped, whose account is open; not one
    they stopped, nor a closed account, nor another client's advocate."""
    client = actor_for(circle.client)
    second, stopped, closed = AdvocateFactory(), AdvocateFactory(), AdvocateFactory()
    for advocate in (second, stopped, closed):
        AdvocateInvitationFactory(client_id=circle.client.id, advocate_id=advocate.id)
    accounts.revoke_advocate(db, client, stopped.id)
    admin_accounts.set_active(db, actor_for(circle.admin), closed.id, False, "Left the charity")
    elsewhere = Circle()

    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.key_worker, doc, 1)
    sign(db, circle.client, doc, 1, "declined", WHY)
    told = [circle.advocate, second]
    for advocate in told:
        [(text, _)] = messages(db, advocate)
        assert text.endswith(f"saying: “{WHY}” You can read it and comment.")
    for advocate in (stopped, closed, elsewhere.advocate):
        assert messages(db, advocate) == []

    # The same for a review one side confirmed.
    doc = make_plan(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        sign(db, who, doc, 1)
    reviews.confirm_no_changes(db, client, doc, 1, PASSWORD)
    for advocate in told:
        assert "confirmed the review of their care plan" in messages(db, advocate)[-1][0]
    for advocate in (stopped, closed, elsewhere.advocate):
        assert messages(db, advocate) == []


def test_asked_to_confirm_a_review_too_stops_counting_as_new_once_a_version_is_saved(db, circle):
    """The key worker confirmed "reviewed, no changes", then the client saved a change: the
    client's message asking them to confirm it too stayed New, and the advocate's, though
    nobody could confirm any more (the review is done by both signing the new version)."""
    doc = make_plan(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        sign(db, who, doc, 1)
    reviews.confirm_no_changes(db, actor_for(circle.key_worker), doc, 1, PASSWORD)

    def new(person) -> list[str]:
        with db.read() as s:
            return s.scalars(
                sa.select(Notification.link).where(
                    Notification.user_id == person.id, Notification.read_at.is_(None)
                )
            ).all()

    confirmed = f"/documents/{doc}#review-confirmed"
    assert confirmed in new(circle.client) and confirmed in new(circle.advocate)
    client = actor_for(circle.client)
    content = documents.open_document(db, client, doc).content
    content["what_matters"] = {"text": "My son, and the allotment."}
    documents.save_version(db, client, doc, 1, content, "a change")
    assert confirmed not in new(circle.client) and confirmed not in new(circle.advocate)
    assert messages(db, circle.client)[-1][1] == confirmed  # still listed, no longer new
