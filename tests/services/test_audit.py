import json

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, SignatureRecord, Version
from careplan.domain.canonical import content_hash
from careplan.services import accounts, audit, documents, handovers, signoff
from careplan.services.accounts import actor_for
from careplan.services.fhir import ExportSettings, bundle_for
from tests.conftest import BACKEND, login
from tests.factories import PASSWORD, Circle, KeyWorkerFactory, make_plan
from tests.tamper import without_guard

# audit-verify also checks the checkpoints, signed with the sealing key.
pytestmark = pytest.mark.usefixtures("sealing")


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


def test_an_untouched_chain_verifies(db, events):
    report = audit.verify_chain(db)
    assert report.ok and report.events == len(events[1])


def test_an_edited_event_is_named(db, events):
    _, ids = events
    without_guard(db, "UPDATE audit_events SET action = 'nothing' WHERE id = :id", id=ids[4])
    report = audit.verify_chain(db)
    assert not report.ok and report.broken_at == ids[4] and "changed" in report.reason


def test_a_deleted_event_breaks_the_next_link(db, events):
    _, ids = events
    without_guard(db, "DELETE FROM audit_events WHERE id = :id", id=ids[2])
    report = audit.verify_chain(db)
    assert not report.ok and report.broken_at == ids[3] and "removed" in report.reason


def test_edits_and_deletes_each_time_name_the_first_broken_link(db, events):
    _, ids = events
    without_guard(db, "DELETE FROM audit_events WHERE id = :id", id=ids[-1])
    assert audit.verify_chain(db).ok  # removing the newest event leaves an intact, shorter chain...
    without_guard(db, "UPDATE audit_events SET ip = '10.0.0.1' WHERE id = :id", id=ids[1])
    without_guard(db, "DELETE FROM audit_events WHERE id = :id", id=ids[5])
    assert audit.verify_chain(db).broken_at == ids[1]  # ...but the first break is always named


def test_the_cli_reports_the_first_broken_link(app, db, events):
    _, ids = events
    runner = app.test_cli_runner()
    assert "intact" in runner.invoke(args=["audit-verify"]).output
    without_guard(db, "UPDATE audit_events SET detail = '{}' WHERE id = :id", id=ids[3])
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code != 0 and f"broken at event {ids[3]}" in result.output


def test_the_client_sees_who_read_their_records(db, events):
    circle, _ = events
    entries = audit.access_log(db, actor_for(circle.client))
    assert {(e.who, e.role) for e in entries} == {
        (circle.supervisor.display_name, "supervisor"),
        (circle.advocate.display_name, "advocate"),
    }
    assert all(
        e.what.startswith("read ") and e.what.endswith(" of your care plan") for e in entries
    )
    assert audit.access_log(db, actor_for(circle.key_worker)) == []


def test_the_access_log_says_what_each_key_worker_was_to_the_client_at_the_time(app, db, events):
    """The new key worker read before taking over: then not theirs, now theirs; the one
    before downloaded while they held the client, and no longer does. The same thing read
    several times in a row is one line, with how many times."""
    circle, _ = events
    doc = make_plan(circle.key_worker, circle.client)
    bundle_for(db, actor_for(circle.key_worker), doc, 1, ExportSettings.from_config(
        app.config, app.instance_path))  # fmt: skip
    new = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new.id, "Cover")
    for _ in range(3):
        documents.open_document(db, actor_for(new), doc)
    # While the handover waits, they are named as the one taking over ("a key worker" said
    # nothing of why they read).
    [waiting] = [
        e for e in audit.access_log(db, actor_for(circle.client)) if e.who == new.display_name
    ]
    assert waiting.called == f"{new.display_name}, who is taking over as your key worker"
    handovers.acknowledge(db, actor_for(new), circle.client.id)

    entries = audit.access_log(db, actor_for(circle.client))
    called = {(e.called, e.what, e.times) for e in entries if e.who != circle.supervisor.display_name
              and e.who != circle.advocate.display_name}  # fmt: skip
    old = circle.key_worker.display_name
    assert called == {
        (f"{new.display_name}, now your key worker", "read version 1 of your care plan", 3),
        (
            f"{old}, your former key worker",
            "downloaded your care plan (version 1) in FHIR format",
            1,
        ),
    }
    page = login(app.test_client(), circle.client).get("/me/access-log").get_data(as_text=True)
    assert (
        f"<bdi>{new.display_name}</bdi>, now your key worker,</strong> read version 1 of your care"
        " plan, 3 times" in page
    )


def test_the_access_log_says_truly_what_of_the_key_workers_it_lists(app, db, events):
    """The key worker's reading is not recorded, but a download of theirs is, and listed: the
    page says so, rather than that nothing of theirs is listed."""
    circle, _ = events  # the key worker has read the care plan: not recorded
    doc = make_plan(circle.key_worker, circle.client)
    bundle_for(db, actor_for(circle.key_worker), doc, 1, ExportSettings.from_config(
        app.config, app.instance_path))  # fmt: skip
    page = login(app.test_client(), circle.client).get("/me/access-log").get_data(as_text=True)
    worker = f"<bdi>{circle.key_worker.display_name}</bdi>, your key worker,</strong>"
    assert f"{worker} downloaded your care plan (version 1) in FHIR format" in page
    assert f"{worker} read" not in page
    assert (
        "Your key worker reads your records as part of their everyday work, so that reading is "
        "not listed here. Anything they download, such as a PDF of your plan, is listed."
    ) in page


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
    without_guard(db, f"UPDATE audit_events SET {assignment} WHERE id = :id", id=ids[2])
    result = app.test_cli_runner().invoke(args=["audit-verify"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert f"broken at event {ids[2]}" in result.output and reason in result.output
    assert "Traceback" not in result.output


# --- versions and signatures against the hashes the chain recorded ---------------------------


@pytest.fixture
def signed(db, app):
    """A plan with three versions; the client signs the third, the key worker declines it."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=3)
    signoff.sign(db, actor_for(circle.client), doc, 3, "signed", "", PASSWORD)
    signoff.sign(db, actor_for(circle.key_worker), doc, 3, "declined", "Not yet", PASSWORD)
    with db.read() as s:
        versions = dict(
            s.execute(sa.select(Version.number, Version.id).where(Version.document_id == doc)).all()
        )
        signatures = s.scalars(sa.select(SignatureRecord.id).order_by(SignatureRecord.id)).all()
    return doc, versions, signatures


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit-verify"])


def test_untouched_versions_and_signatures_match_the_chain(app, signed):
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "3 versions and 2 signatures match the hashes the audit trail recorded" in result.output


def test_a_version_whose_content_was_changed_is_named(app, db, signed):
    doc, versions, _ = signed
    content = '{"what_matters": {"text": "Something else"}}'
    without_guard(
        db, f"UPDATE versions SET content = '{content}' WHERE id = :id", "versions", id=versions[2]
    )
    result = _verify(app)
    assert result.exit_code == 1
    assert "Audit trail intact" in result.output  # the chain itself cannot see this
    assert (
        f"Version 2 of document {doc} (row {versions[2]}): its content no longer matches its "
        "content hash" in result.output
    )


def test_a_version_rewritten_with_a_fitting_hash_is_named(app, db, signed):
    """Content and hash changed together: the version is self-consistent, but it is not what
    the chain recorded when it was saved."""
    doc, versions, _ = signed
    content = {"what_matters": {"text": "Something else"}}
    without_guard(
        db,
        "UPDATE versions SET content = :content, content_hash = :hash WHERE id = :id",
        "versions",
        content=json.dumps(content),
        hash=content_hash(content),
        id=versions[1],
    )
    result = _verify(app)
    assert result.exit_code == 1
    assert f"Version 1 of document {doc} (row {versions[1]}): its content hash" in result.output
    assert "recorded when it was saved; it was replaced" in result.output


def test_a_signature_with_another_outcome_is_named(app, db, signed):
    doc, _, signatures = signed
    without_guard(
        db,
        "UPDATE signatures SET outcome = 'signed', comment = '' WHERE id = :id",
        "signatures",
        id=signatures[1],
    )
    result = _verify(app)
    assert result.exit_code == 1
    assert f"Signature {signatures[1]} (signed by user" in result.output
    assert f"on version 3 of document {doc}): no event in the audit trail" in result.output


def test_a_signature_moved_to_another_version_is_named(app, db, signed):
    _, versions, signatures = signed
    without_guard(
        db,
        "UPDATE signatures SET version_id = :version, version_number = 2 WHERE id = :id",
        "signatures",
        version=versions[2],
        id=signatures[0],
    )
    result = _verify(app)
    assert result.exit_code == 1
    assert f"Signature {signatures[0]} " in result.output
    assert "but that version's hash is" in result.output


def test_a_removed_version_and_a_removed_signature_are_named_by_their_events(app, db, signed):
    doc, _, signatures = signed
    without_guard(db, "DELETE FROM signatures WHERE id = :id", "signatures", id=signatures[1])
    result = _verify(app)
    assert result.exit_code == 1
    assert f"signing version 3 of document {doc}, but that signature is no longer there" in (
        result.output
    )
    without_guard(db, "DELETE FROM signatures", "signatures")
    without_guard(db, "DELETE FROM versions WHERE number = 3", "versions")
    result = _verify(app)
    assert f"version 3 of document {doc} being saved, but that version is no longer there" in (
        result.output
    )


def test_an_advocate_stopped_is_named_as_a_former_one_in_the_access_log(db, events):
    """Every line of theirs still said "your advocate" after the client stopped them."""
    circle, _ = events
    doc = make_plan(circle.key_worker, circle.client)
    documents.open_document(db, actor_for(circle.advocate), doc)
    ash = circle.advocate.display_name

    def called() -> set[str]:
        entries = audit.access_log(db, actor_for(circle.client))
        return {e.called for e in entries if e.who == ash}

    assert called() == {f"{ash}, your advocate"}
    accounts.revoke_advocate(db, actor_for(circle.client), circle.advocate.id)
    assert called() == {f"{ash}, your former advocate"}
