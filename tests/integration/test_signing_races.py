"""Acceptance: the same signature sent twice at the same moment (a double tap, two tabs) is
recorded once, on SQLite and PostgreSQL alike; the other attempt is refused and adds nothing."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, SignatureRecord
from careplan.services import signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid
from tests.factories import PASSWORD, Circle, make_plan
from tests.integration.test_concurrency import Workers

pytestmark = pytest.mark.slow

ROUNDS = 10  # documents, each signed by the same person from two threads at once


def test_one_person_signing_twice_at_once_is_recorded_once(app, db):
    circle = Circle()
    client = actor_for(circle.client)
    docs = [make_plan(circle.key_worker, circle.client) for _ in range(ROUNDS)]
    workers = Workers(2)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def body(index: int) -> None:
        outcome, comment = (("signed", ""), ("declined", "Not yet"))[index]
        for doc in docs:
            workers.barrier.wait()
            try:
                signoff.sign(db, client, doc, 1, outcome, comment, PASSWORD)
                result = "recorded"
            except Invalid as err:
                assert "You have already" in str(err)
                result = "refused"
            with lock:
                results.append((doc, result))

    workers.run(body)

    for doc in docs:
        assert sorted(r for d, r in results if d == doc) == ["recorded", "refused"], doc
    with db.read() as s:
        per_document = s.execute(
            sa.select(SignatureRecord.document_id, sa.func.count())
            .group_by(SignatureRecord.document_id)
            .order_by(SignatureRecord.document_id)
        ).all()
        recorded = s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(["sign", "decline"]))
        )
    assert [tuple(row) for row in per_document] == [(doc, 1) for doc in docs]
    assert recorded == ROUNDS
