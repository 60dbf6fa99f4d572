import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent
from careplan.services import audit, documents
from careplan.services.accounts import actor_for
from tests.conftest import BACKEND
from tests.factories import Circle, make_plan


@pytest.fixture
def events(db, app):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=3)
    for reader in (circle.supervisor, circle.advocate, circle.key_worker):
        documents.open_document(db, actor_for(reader), doc)
    with db.read() as s:
        ids = s.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)).all()
    assert len(ids) == 6  # created, three edits, two recorded reads
    return circle, ids


def _without_guard(db, statement, **params):
    """Tamper as someone with direct database access would: the append-only trigger goes first."""
    with db.write() as s:
        if db.is_sqlite:
            s.execute(sa.text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            s.execute(sa.text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        else:
            s.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        s.execute(sa.text(statement), params)


def test_an_untouched_chain_verifies(db, events):
    report = audit.verify_chain(db)
    assert report.ok and report.events == len(events[1])


def test_an_edited_event_is_named(db, events):
    _, ids = events
    _without_guard(db, "UPDATE audit_events SET action = 'nothing' WHERE id = :id", id=ids[4])
    report = audit.verify_chain(db)
    assert not report.ok and report.broken_at == ids[4] and "changed" in report.reason


def test_a_deleted_event_breaks_the_next_link(db, events):
    _, ids = events
    _without_guard(db, "DELETE FROM audit_events WHERE id = :id", id=ids[2])
    report = audit.verify_chain(db)
    assert not report.ok and report.broken_at == ids[3] and "removed" in report.reason


def test_edits_and_deletes_each_time_name_the_first_broken_link(db, events):
    _, ids = events
    _without_guard(db, "DELETE FROM audit_events WHERE id = :id", id=ids[-1])
    assert audit.verify_chain(db).ok  # removing the newest event leaves an intact, shorter chain...
    _without_guard(db, "UPDATE audit_events SET ip = '10.0.0.1' WHERE id = :id", id=ids[1])
    _without_guard(db, "DELETE FROM audit_events WHERE id = :id", id=ids[5])
    assert audit.verify_chain(db).broken_at == ids[1]  # ...but the first break is always named


def test_the_cli_reports_the_first_broken_link(app, db, events):
    _, ids = events
    runner = app.test_cli_runner()
    assert "intact" in runner.invoke(args=["audit-verify"]).output
    _without_guard(db, "UPDATE audit_events SET detail = '{}' WHERE id = :id", id=ids[3])
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code != 0 and f"broken at event {ids[3]}" in result.output


def test_the_client_sees_who_read_their_records(db, events):
    circle, _ = events
    entries = audit.access_log(db, actor_for(circle.client))
    assert {(e.who, e.role) for e in entries} == {
        (circle.supervisor.display_name, "supervisor"),
        (circle.advocate.display_name, "advocate"),
    }
    assert all(e.what.startswith("read your care plan") for e in entries)
    assert audit.access_log(db, actor_for(circle.key_worker)) == []


# Stored values the column types cannot read back: on SQLite anything can be written; on
# PostgreSQL the json column accepts a number too large for a float, which JSON cannot hash.
UNREADABLE = (
    {
        "detail": ("detail = '{\"what\": '", "not valid JSON"),
        "detail NaN": ("detail = '{\"n\": NaN}'", "cannot be hashed"),
        "time": ("at = 'yesterday'", "time cannot be read"),
    }
    if BACKEND == "sqlite"
    else {"detail": ("detail = '{\"n\": 1e400}'", "cannot be hashed")}
)


@pytest.mark.parametrize("change", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_an_event_that_cannot_be_read_is_named_by_the_cli(app, db, events, change):
    _, ids = events
    assignment, reason = change
    _without_guard(db, f"UPDATE audit_events SET {assignment} WHERE id = :id", id=ids[2])
    result = app.test_cli_runner().invoke(args=["audit-verify"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert f"broken at event {ids[2]}" in result.output and reason in result.output
    assert "Traceback" not in result.output
