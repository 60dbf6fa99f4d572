"""A version holding a decision handed over until a day since passed cannot be signed
(tests/services/test_signing_passed_days.py). Nor is anyone told it waits for a signature, or
reminded of one; nor is it confirmed "reviewed, no changes": it needs a new version. Documents
keep the earliest such day of their latest version, for the lists that never read its words.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, Document, Reminder, ReviewConfirmation
from careplan.domain.attention import Kind
from careplan.domain.local_time import long_date, service_today
from careplan.services import attention, documents, reminders, reviews, signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid
from careplan.services.reminders import ReminderSettings
from tests.factories import PASSWORD, Circle, make_agreement

TODAY = service_today()
SAVED, SIGNED, UNTIL = (TODAY - timedelta(days=n) for n in (10, 5, 3))
SETTINGS = ReminderSettings(base_url="https://app.example.org")


def at(day, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def circle(app):
    return Circle()


def _agreement(circle: Circle) -> int:
    """Saved on SAVED with "My money" handed over until UNTIL (and "My post" until later)."""
    sections = {"contingencies": {"warning_signs": {"text": "I stop sleeping."}, "handed_over": [
        {"decision": "My post", "to_whom": "Kim", "until": (TODAY + timedelta(30)).isoformat()},
        {"decision": "My money", "to_whom": "My sister", "until": UNTIL.isoformat()},
    ]}}  # fmt: skip
    return make_agreement(circle.key_worker, circle.client, sections, today=SAVED)


def _until(db, doc: int):
    with db.read() as s:
        return s.scalar(sa.select(Document.handed_over_until).where(Document.id == doc))


def _sign(db, person, doc: int, day, number: int = 1):
    return signoff.sign(db, actor_for(person), doc, number, "signed", "", PASSWORD, True, today=day)


def test_documents_keep_the_earliest_day_of_their_latest_version(db, circle):
    doc = _agreement(circle)
    assert _until(db, doc) == UNTIL
    worker = actor_for(circle.key_worker)
    content = copy.deepcopy(documents.open_document(db, worker, doc).content)
    content["sections"]["contingencies"]["handed_over"].pop()  # "My money" taken out
    documents.save_version(db, worker, doc, 1, content, "My money is mine again", today=TODAY)
    assert _until(db, doc) == TODAY + timedelta(30)
    content["sections"]["contingencies"]["handed_over"] = []
    documents.save_version(db, worker, doc, 2, content, "Nothing handed over", today=TODAY)
    assert _until(db, doc) is None


def test_the_start_page_and_the_reminders_stop_asking_for_a_signature(db, circle):
    doc = _agreement(circle)
    _sign(db, circle.key_worker, doc, SIGNED)
    with db.write() as s:  # signed on SIGNED, as the sweep counts it
        s.execute(sa.update(Document).values(awaiting_signature_since=SIGNED))
    # On the day itself the client is asked to sign, and reminded to.
    [asked] = attention.home(db, actor_for(circle.client), at(UNTIL)).items
    assert "is waiting for your signature" in asked.text
    reminders.sweep(db, SETTINGS, at(UNTIL))
    with db.read() as s:
        owed = s.execute(sa.select(Reminder.kind, Reminder.status)).all()
    assert owed and {status for _, status in owed} == {"pending"}

    # The day after, neither of them is asked to sign it: both are told it needs a new version.
    for person in (circle.client, circle.key_worker):
        [item] = attention.home(db, actor_for(person), at(UNTIL + timedelta(1))).items
        assert item.kind is Kind.SIGNATURE
        assert "can no longer be signed: a decision in it was handed over until" in item.text
        assert "waiting for your signature" not in item.text
    [card] = documents.client_records(db, actor_for(circle.client), circle.client.id).documents
    assert card.state.startswith("Version 1 can no longer be signed")
    # No reminder is owed any more, and the one not yet sent is cancelled, not sent.
    report = reminders.sweep(db, SETTINGS, at(TODAY))
    assert report.inserted == 0
    claimed = reminders.claim(db, SETTINGS, at(TODAY, 10), "sender-1")
    assert claimed.items == [] and claimed.cancelled == len(owed)


def test_reviewed_no_changes_is_refused_once_a_decisions_day_has_passed(db, circle):
    doc = _agreement(circle)
    _sign(db, circle.key_worker, doc, SAVED)
    _sign(db, circle.client, doc, SAVED)
    # The client confirmed while the day was ahead; the key worker, after it had passed.
    assert not reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD, at(UNTIL))

    def stored():
        with db.read() as s:
            return (
                s.execute(sa.select(ReviewConfirmation.user_id)).scalars().all(),
                s.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all(),
                s.execute(
                    sa.select(Document.next_review_on, Document.last_reviewed_on).where(
                        Document.id == doc
                    )
                ).one(),
            )

    # The panel offers it on the day itself; the day after, it says why not instead.
    worker = actor_for(circle.key_worker)
    assert reviews.review_panel(db, worker, doc, UNTIL).can_confirm
    panel = reviews.review_panel(db, worker, doc, UNTIL + timedelta(1))
    assert not panel.can_confirm and panel.confirm_refusal.startswith(
        f"A decision in it was handed over until {long_date(UNTIL)}, and that day has passed. "
        "So this agreement cannot be confirmed"
    )
    before = stored()
    with pytest.raises(Invalid) as refused:
        reviews.confirm_no_changes(
            db, actor_for(circle.key_worker), doc, 1, PASSWORD, at(UNTIL + timedelta(1))
        )
    assert str(refused.value) == (
        "In “When I am not well”, the decision “My money” was handed over to My sister until "
        f"{long_date(UNTIL)}, and that day has passed. "
        "So this agreement cannot be confirmed as reviewed with no changes: it needs a new "
        "version, with a new day or without that decision, for both of you to sign. "
        "Nothing was confirmed."
    )
    assert stored() == before
