"""What administrators and monitoring are told about the scheduler's jobs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import OperationalError

from careplan.db.models import utcnow
from careplan.reminders.scheduler import JOBS, PDF_JOB
from careplan.services import scheduled_jobs
from tests.conftest import login
from tests.factories import AdminFactory


def _all_ran(db, at=None, but=None):
    for job in JOBS:
        if job.name != but:
            scheduled_jobs.record(db, job.name, at or utcnow(), "host-7:1234")


def test_administrators_are_told_when_the_scheduler_is_not_running(app, db):
    admin = login(app.test_client(), AdminFactory())
    start = " ".join(admin.get("/admin/users").get_data(as_text=True).split())
    assert f"The scheduler is not running as it should ({len(JOBS)} jobs late" in start
    page = " ".join(admin.get("/admin/scheduler").get_data(as_text=True).split())
    assert f"{len(JOBS)} of {len(JOBS)} jobs are late, failing or have never run" in page
    assert page.count("has never run") == len(JOBS)
    assert "Makes the sealed PDFs" in page and "every 5 seconds" in page

    _all_ran(db, but=PDF_JOB)
    scheduled_jobs.record(db, PDF_JOB, utcnow(), "host-7:1234", "OSError: <seal> unreadable")
    page = " ".join(admin.get("/admin/scheduler").get_data(as_text=True).split())
    assert "1 of 6 jobs is late, failing or has never run" in page
    assert "<strong>failing</strong>" in page
    assert "OSError: &lt;seal&gt; unreadable" in page  # shown, not interpreted
    assert "(host-7:1234)" in page

    _all_ran(db)
    start = admin.get("/admin/users").get_data(as_text=True)
    assert "The scheduler is not running as it should" not in start
    page = admin.get("/admin/scheduler").get_data(as_text=True)
    assert "Every job ran when it should." in page
    assert "has never run" not in page and "<strong>failing</strong>" not in page


def test_the_health_checks_need_no_sign_in_and_name_nobody(app, db, monkeypatch):
    anonymous = app.test_client()
    answer = anonymous.get("/health")
    assert (answer.status_code, answer.get_json()) == (200, {"database": "ok"})
    answer = anonymous.get("/health/scheduler")
    assert answer.status_code == 503
    assert answer.get_json()["scheduler"]["reminders.send"] == "never_ran"

    _all_ran(db, at=utcnow() - timedelta(hours=1))  # stopped an hour ago
    late = anonymous.get("/health/scheduler").get_json()["scheduler"]
    assert late["reminders.send"] == "late" and late[PDF_JOB] == "late"
    assert "audit.checkpoint" not in late  # hourly: not late after one hour
    _all_ran(db)
    answer = anonymous.get("/health/scheduler")
    assert (answer.status_code, answer.get_json()) == (200, {"scheduler": "ok"})
    assert answer.headers["Cache-Control"] == "no-store"

    def unreachable(_db):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(scheduled_jobs, "database_answers", unreachable)
    answer = anonymous.get("/health")
    assert (answer.status_code, answer.get_json()) == (503, {"database": "cannot be read"})


def test_administrators_are_told_when_no_mail_server_is_set(app, db, monkeypatch):
    admin = login(app.test_client(), AdminFactory())
    for path in ("/admin/users", "/admin/emails", "/admin/scheduler"):
        assert "No mail server is set" in admin.get(path).get_data(as_text=True), path
    assert "No mail server is set" not in admin.get("/admin/teams").get_data(as_text=True)
    monkeypatch.setitem(app.config, "SMTP_HOST", "smtp.example.org")
    for path in ("/admin/users", "/admin/emails", "/admin/scheduler"):
        assert "No mail server is set" not in admin.get(path).get_data(as_text=True), path
