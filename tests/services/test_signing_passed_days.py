"""A decision handed over "until" a day is checked when it is saved, but a version can wait
for signatures past that day. Nobody signs it then: each would agree to a handover already
over. Declining stays open, and a step's date passing holds nothing up (a step can be late)."""

from __future__ import annotations

import copy
from datetime import date

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, Document, PdfRender, SignatureRecord
from careplan.domain.signoff import State
from careplan.services import documents, signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid
from tests.factories import PASSWORD, Circle, make_agreement

SAVED = date(2026, 5, 1)
UNTIL = date(2026, 6, 1)
AFTER = date(2026, 6, 2)
REFUSED = (
    "In “When I am not well”, the decision “My money” was handed over to My sister until "
    "1 June 2026, and that day has passed. Please change that day, or take the decision out, "
    "then sign. Nothing was signed."
)


@pytest.fixture
def circle(app):
    return Circle()


def _agreement(circle: Circle) -> int:
    """Saved on SAVED, with a step due before the day it is signed and a decision handed over
    until UNTIL."""
    sections = {
        "shared_goals": {"goals": [{"title": "Keep my flat", "steps": [
            {"text": "Ring the landlord", "owner": {"kind": "client"}, "due": "2026-05-15"}]}]},
        "contingencies": {
            "warning_signs": {"text": "I stop sleeping."},
            "handed_over": [
                {"decision": "My money", "to_whom": "My sister", "until": UNTIL.isoformat()}
            ],
        },
    }  # fmt: skip
    return make_agreement(circle.key_worker, circle.client, sections, today=SAVED)


def sign(db, user, doc, today, outcome="signed", comment="", number=1):
    return signoff.sign(
        db, actor_for(user), doc, number, outcome, comment, PASSWORD, True, today=today
    )


def _stored(db, doc: int) -> tuple:
    with db.read() as s:
        signatures = s.execute(
            sa.select(SignatureRecord.user_id, SignatureRecord.outcome).order_by(SignatureRecord.id)
        ).all()
        state = s.scalar(sa.select(Document.signoff_state).where(Document.id == doc))
        events = s.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.in_(["sign", "decline"]))
            .order_by(AuditEvent.id)
        ).all()
        renders = s.scalar(sa.select(sa.func.count()).select_from(PdfRender))
    return [tuple(r) for r in signatures], state, events, renders


def test_nobody_signs_once_a_decisions_day_has_passed_and_nothing_changes(db, circle):
    doc = _agreement(circle)
    before = _stored(db, doc)
    for person in (circle.client, circle.key_worker):
        for outcome, comment in (("signed", ""), ("signed_with_comment", "Fine by me.")):
            with pytest.raises(Invalid) as refused:
                sign(db, person, doc, AFTER, outcome, comment)
            assert str(refused.value) == REFUSED
    assert _stored(db, doc) == before == ([], State.DRAFT.value, [], 0)
    # On the day itself the decision is still handed over: it can be signed.
    assert sign(db, circle.client, doc, UNTIL).state is State.AWAITING_SIGNATURE


def test_declining_agrees_to_nothing_so_it_stays_open(db, circle):
    doc = _agreement(circle)
    with pytest.raises(Invalid):
        sign(db, circle.client, doc, AFTER)
    result = sign(db, circle.client, doc, AFTER, "declined", "The date has gone by.")
    assert result.state is State.DECLINED
    assert _stored(db, doc)[0] == [(circle.client.id, "declined")]


def test_the_second_signer_cannot_complete_it_and_the_page_says_what_to_do(db, circle):
    doc = _agreement(circle)
    assert sign(db, circle.key_worker, doc, UNTIL).state is State.AWAITING_SIGNATURE
    with pytest.raises(Invalid) as refused:
        sign(db, circle.client, doc, AFTER)
    assert str(refused.value) == REFUSED
    signed, state, _, renders = _stored(db, doc)
    assert (signed, state, renders) == ([(circle.key_worker.id, "signed")], "awaiting_signature", 0)

    # Both of them are told which decision, and the one still to sign why they cannot.
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    for actor in (client, worker):
        view = documents.document_screen(db, actor, doc, today=AFTER).page.signoff
        [passed] = view.passed_until
        assert (passed.decision, passed.until, passed.part) == (
            "“My money”",
            UNTIL,
            "contingencies",
        )
    assert documents.document_screen(db, client, doc, today=AFTER).page.signoff.sign_refusal == (
        REFUSED
    )
    on_the_day = documents.document_screen(db, client, doc, today=UNTIL).page.signoff
    assert on_the_day.passed_until == () and on_the_day.sign_refusal is None

    # Changed to a later day, the new version is signed by both; the late step holds
    # nothing up.
    content = copy.deepcopy(documents.open_document(db, worker, doc).content)
    content["sections"]["contingencies"]["handed_over"][0]["until"] = "2026-07-01"
    documents.save_version(db, worker, doc, 1, content, "A new day for my money", today=AFTER)
    sign(db, circle.client, doc, AFTER, number=2)
    assert sign(db, circle.key_worker, doc, AFTER, number=2).state is State.AGREED


def test_the_same_words_are_not_offered_again_once_a_day_in_them_has_passed(db, circle):
    doc = _agreement(circle)
    sign(db, circle.client, doc, AFTER, "declined", "The date has gone by.")
    with pytest.raises(Invalid) as refused:
        documents.offer_again(db, actor_for(circle.key_worker), doc, 1, today=AFTER)
    assert str(refused.value).startswith(
        "In “When I am not well”, the decision “My money” was handed over to My sister until "
        "1 June 2026, and that day has passed. So the same words cannot be signed as they are."
    )
    assert str(refused.value).endswith("Nothing was changed.")
    assert documents.count_versions(db, doc) == 1
