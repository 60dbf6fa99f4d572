"""The sealed PDF is started when the second signature commits, not at the PDF job's next
periodic run: the scheduler is woken (PostgreSQL NOTIFY, or SQLite's change counter)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from careplan.db.models import PdfRender
from careplan.reminders import scheduler
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_plan
from tests.scheduling import scheduler_running

pytestmark = pytest.mark.slow

WAIT_SECONDS = 60


def test_an_agreed_version_is_sealed_without_waiting_for_the_next_run(app, db):
    # The periodic run comes once at start and then not for an hour: only a wake-up can
    # explain a PDF made after that first run.
    app.config["PDF_JOB_SECONDS"] = 3600
    first_run = threading.Event()

    def pdf_job(ctx):
        scheduler.render_pending_pdfs(ctx)
        first_run.set()

    jobs = [scheduler.Job(scheduler.PDF_JOB, "PDF_JOB_SECONDS", 3600, pdf_job)]
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    with scheduler_running(app, jobs, WAIT_SECONDS):
        assert first_run.wait(WAIT_SECONDS), "the scheduler did not start"
        signoff.sign(db, actor_for(circle.client), doc, 2, "signed", "", PASSWORD)
        signoff.sign(db, actor_for(circle.key_worker), doc, 2, "signed", "", PASSWORD)
        deadline = time.monotonic() + WAIT_SECONDS
        status = None
        while time.monotonic() < deadline:
            with db.read() as s:
                status = s.scalar(sa.select(PdfRender.status).where(PdfRender.document_id == doc))
            if status == "ready":
                break
            time.sleep(0.05)
        assert status == "ready"
