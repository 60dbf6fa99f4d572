"""Signed checkpoints of the audit chain's head, outside the database, through the command line
(`careplan audit-checkpoint`, `careplan audit-verify`) and the scheduler's job."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, utcnow
from careplan.pdf import ensure_dev_certificate
from careplan.reminders.scheduler import JOBS, context_for
from careplan.services import audit_checkpoints, documents
from careplan.services.accounts import actor_for
from tests.factories import Circle, make_plan
from tests.tamper import rechain_from, without_guard

pytestmark = pytest.mark.usefixtures("sealing")


class Trail:
    """A client's plan, and a supervisor whose every read adds an event to the trail."""

    def __init__(self, db):
        self.db = db
        self.circle = Circle()
        self.doc = make_plan(self.circle.key_worker, self.circle.client, versions=2)

    def read(self, times: int = 1) -> None:
        for _ in range(times):
            documents.open_document(self.db, actor_for(self.circle.supervisor), self.doc)

    def ids(self) -> list[int]:
        with self.db.read() as s:
            return s.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)).all()


@pytest.fixture
def trail(db):
    return Trail(db)


@pytest.fixture
def folder(app):
    return Path(app.instance_path) / "audit-checkpoints"


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def checkpoint(app):
    result = cli(app, "audit-checkpoint")
    assert result.exit_code == 0, result.output
    return result.output


def verify(app):
    return cli(app, "audit-verify")


def files(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def test_a_checkpoint_signs_the_head_once_and_verifies(app, trail, folder):
    result = verify(app)
    assert result.exit_code == 0 and "No checkpoints in" in result.output
    ids = trail.ids()
    assert f"Checkpoint 1 taken: event {ids[-1]} ({len(ids)} events)" in checkpoint(app)
    assert "has not moved since checkpoint 1" in checkpoint(app)
    trail.read(2)
    assert f"Checkpoint 2 taken: event {trail.ids()[-1]} ({len(ids) + 2} events)" in (
        checkpoint(app)
    )
    assert files(folder) == ["00000001.json", "00000002.json"]
    written = json.loads((folder / "00000002.json").read_text())
    assert written["event_id"] == trail.ids()[-1] and written["events"] == len(ids) + 2
    assert not os.stat(folder / "00000002.json").st_mode & stat.S_IWUSR  # never rewritten
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "2 checkpoint(s) signed and held by the audit trail; the newest" in result.output
    assert f"anchors event {trail.ids()[-1]} ({len(ids) + 2} events)" in result.output


def test_a_removed_tail_is_named(app, trail):
    trail.read(2)
    checkpoint(app)
    ids = trail.ids()
    without_guard(trail.db, "DELETE FROM audit_events WHERE id >= :id", id=ids[-2])
    result = verify(app)
    assert "Audit trail intact" in result.output  # the chain alone cannot tell
    assert result.exit_code == 1
    assert (
        f"Checkpoint 1 (taken {utcnow():%Y-%m-%d}" in result.output
        and f"event {ids[-1]}, {len(ids)} events): event {ids[-1]} is gone; the audit trail "
        f"now ends at event {ids[-3]}, so events were removed from its end"
        in result.output
    )
    # And no checkpoint anchors the shortened trail.
    refused = cli(app, "audit-checkpoint")
    assert refused.exit_code == 1
    assert f"event {ids[-1]}, anchored by checkpoint 1, is gone" in refused.output


def test_a_rewritten_and_rechained_trail_is_named(app, trail):
    checkpoint(app)
    ids = trail.ids()
    without_guard(trail.db, "UPDATE audit_events SET ip = '10.9.9.9' WHERE id = :id", id=ids[1])
    rechain_from(trail.db, ids[1])
    result = verify(app)
    assert "Audit trail intact" in result.output  # re-hashed: every link fits again
    assert result.exit_code == 1
    assert (
        f"event {ids[-1]} no longer has the hash that was checkpointed; the audit trail was "
        "rewritten at or before it" in result.output
    )


def test_only_a_trail_that_extends_the_newest_checkpoint_is_anchored(app, trail, folder):
    checkpoint(app)
    trail.read()
    ids = trail.ids()
    without_guard(trail.db, "UPDATE audit_events SET ip = '10.9.9.9' WHERE id = :id", id=ids[-1])
    refused = cli(app, "audit-checkpoint")
    assert refused.exit_code == 1
    assert f"the audit trail is broken at event {ids[-1]}" in refused.output
    assert files(folder) == ["00000001.json"]


def _rewrite(path, **changes):
    path.chmod(0o644)  # whoever can write the folder can do this too
    body = json.loads(path.read_text())
    body.update(changes)
    path.write_text(json.dumps(body))


def test_a_changed_checkpoint_file_is_named(app, trail, folder):
    checkpoint(app)
    ids = trail.ids()
    _rewrite(folder / "00000001.json", event_id=ids[-2], events=len(ids) - 1)
    result = verify(app)
    assert result.exit_code == 1
    assert "Checkpoint 1 (" in result.output
    assert "its signature does not fit; it was changed" in result.output


def test_a_missing_or_unreadable_checkpoint_is_named(app, trail, folder):
    for _ in range(3):
        trail.read()
        checkpoint(app)
    (folder / "00000002.json").unlink()
    result = verify(app)
    assert result.exit_code == 1 and "Checkpoint 2 is missing from" in result.output
    (folder / "00000002.json").write_text("{not json")
    result = verify(app)
    assert result.exit_code == 1 and "Checkpoint 2 (" in result.output
    assert "it cannot be read" in result.output


def test_checkpoints_signed_with_another_key_are_trusted_only_when_named(
    app, trail, tmp_path, sealing
):
    checkpoint(app)
    new_cert, new_key = ensure_dev_certificate(tmp_path / "replacement")
    app.config.update(PDF_SEAL_CERT_PATH=str(new_cert), PDF_SEAL_KEY_PATH=str(new_key))
    result = verify(app)
    assert result.exit_code == 1
    assert "signed with a certificate this installation does not trust" in result.output
    # The seal was replaced; the certificate that signed the earlier checkpoints is kept.
    app.config["AUDIT_CHECKPOINT_EARLIER_CERT_PATHS"] = str(sealing[0])
    trail.read()
    assert "Checkpoint 2 taken" in checkpoint(app)
    result = verify(app)
    assert result.exit_code == 0 and "2 checkpoint(s) signed" in result.output


def test_the_folder_is_configurable(app, trail, tmp_path):
    app.config["AUDIT_CHECKPOINT_PATH"] = str(tmp_path / "elsewhere")
    checkpoint(app)
    assert files(tmp_path / "elsewhere") == ["00000001.json"]
    (tmp_path / "a-file").write_text("not a folder")
    app.config["AUDIT_CHECKPOINT_PATH"] = str(tmp_path / "a-file")
    result = cli(app, "audit-checkpoint")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "a-file" in result.output


def test_checkpoints_taken_at_the_same_moment_never_share_a_number(app, db, trail, folder):
    settings = audit_checkpoints.CheckpointSettings.from_config(app.config, app.instance_path)
    results = []
    start = threading.Barrier(4)

    def take():
        start.wait()
        results.append(audit_checkpoints.take(db, settings, utcnow()))

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(bool(r.checkpoint) for r in results) == [False, False, False, True]
    assert files(folder) == ["00000001.json"]


def test_the_scheduler_takes_checkpoints_when_the_trail_moved(app, trail, folder, caplog):
    job = next(j for j in JOBS if j.name == "audit.checkpoint")
    assert (job.interval_setting, app.config[job.interval_setting]) == (
        "AUDIT_CHECKPOINT_SECONDS",
        3600,
    )
    ctx = context_for(app)
    with caplog.at_level(logging.INFO, "careplan.scheduler"), app.app_context():
        job.run(ctx)
        job.run(ctx)  # nothing new: nothing written
        trail.read()
        job.run(ctx)
    assert files(folder) == ["00000001.json", "00000002.json"]
    assert caplog.text.count("Audit checkpoint: Checkpoint") == 2
    assert verify(app).exit_code == 0
