"""Through gunicorn over plain HTTP (tests/gunicorn.py): a key worker presses "Start the
agreement" and "Start a new care plan" on a client's page and leaves without saving. Neither
is a document anyone has to account for: the supervisor's dashboard and export say the client
has no care plan yet (not "never agreed"), and the client's list is empty. The key worker
removes both with the button on their pages, one with what they had typed but not saved; the
audit trail says who started and who removed each. Every form is posted with its page's CSRF
token; every answer is checked where a browser lands, and in the database."""

from __future__ import annotations

import re
import urllib.error

import pytest
import sqlalchemy as sa

from bench.document_form import DocumentForm
from careplan.db.models import AuditEvent, Document, EditDraft
from careplan.domain.supervision import DashState
from tests.factories import Circle
from tests.gunicorn import Browser, landed

pytestmark = pytest.mark.slow


def _started(browser: Browser, records: str, action: str, form: dict) -> int:
    page = browser.get(records).read().decode()
    path, edit = landed(browser.post(f"{records}/{action}", form, page))
    assert "Remove this empty" in edit
    return int(re.fullmatch(r"/documents/(\d+)/edit", path).group(1))


def test_documents_started_and_never_saved_are_removed_by_who_started_them_over_http(
    app, db, gunicorn_url
):
    circle = Circle()
    worker, client, supervisor = (Browser(gunicorn_url) for _ in range(3))
    worker.sign_in(circle.key_worker)
    client.sign_in(circle.client)
    supervisor.sign_in(circle.supervisor)
    records = f"/clients/{circle.client.id}"

    agreement = _started(worker, records, "agreements", {"template_id": "general"})
    plan = _started(worker, records, "care-plans", {})
    # What the edit page's script sends as the key worker types, then they leave.
    page = worker.get(f"/documents/{plan}/edit").read().decode()
    form = dict(DocumentForm(page).fields)
    form["what_matters-text"] = "Started typing, then the phone rang."
    with worker.post(f"/documents/{plan}/draft", form, page) as kept:
        assert kept.status == 200

    # Nobody has to account for them: no plan yet, as far as the supervisor is concerned.
    dashboard = supervisor.get("/supervision").read().decode()
    assert re.findall(r'<tr class="state-(\w+)">', dashboard) == ["no_plan"]
    assert '<td data-label="State">no care plan yet</td>' in dashboard
    assert f"/documents/{agreement}" not in dashboard and f"/documents/{plan}" not in dashboard
    exported = supervisor.get("/supervision/export.csv").read().decode("utf-8-sig")
    # (The notes after the table explain "never agreed"; no row's state says it.)
    assert ",no care plan yet," in exported and f",{DashState.NEVER_AGREED.label}," not in exported
    # The client finds both too, saying who started them.
    mine = client.get(records).read().decode()
    assert mine.count("started it; nothing is saved in it yet.") == 2
    # The key worker finds both, as only started.
    theirs = worker.get(records).read().decode()
    assert theirs.count("You started it; nothing is saved in it yet.") == 2

    # The client may not remove what the key worker started.
    shown = client.get(f"/documents/{agreement}").read().decode()
    assert "Remove this empty" not in shown
    with pytest.raises(urllib.error.HTTPError) as refused:
        client.post(f"/documents/{agreement}/remove", {}, shown)
    assert refused.value.code == 400

    # The key worker removes the agreement from its page ...
    shown = worker.get(f"/documents/{agreement}").read().decode()
    path, page = landed(worker.post(f"/documents/{agreement}/remove", {}, shown))
    assert path == records
    assert "“Partnership agreement” was removed. Nothing had been saved in it." in page
    # ... and the care plan from its edit page, where it says their unsaved changes go too.
    edit = worker.get(f"/documents/{plan}/edit").read().decode()
    assert "the changes you have not saved go with it" in edit
    # As a browser sends the form: with the changes it said go too (its hidden fields).
    hidden = dict(re.findall(r'name="(draft_revision|draft_page)" value="([^"]*)"', edit))
    assert hidden.get("draft_revision")
    path, page = landed(worker.post(f"/documents/{plan}/remove", hidden, edit))
    assert path == records and "“Care plan” was removed." in page
    assert "nothing is saved in it yet." not in page and "There are no plans yet." in page

    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(Document.id.in_([agreement, plan]))) == 0
        assert s.scalar(sa.select(sa.func.count()).where(EditDraft.document_id == plan)) == 0
        events = s.execute(
            sa.select(AuditEvent.object_id, AuditEvent.action, AuditEvent.actor_id)
            .where(
                AuditEvent.object_type == "document",
                AuditEvent.action.in_(["document.create", "document.remove"]),
            )
            .order_by(AuditEvent.id)
        ).all()
    me = circle.key_worker.id
    assert [tuple(e) for e in events] == [
        (agreement, "document.create", me),
        (plan, "document.create", me),
        (agreement, "document.remove", me),
        (plan, "document.remove", me),
    ]
    # Gone for everyone.
    with pytest.raises(urllib.error.HTTPError) as gone:
        worker.get(f"/documents/{plan}")
    assert gone.value.code == 404
    # Started again, the care plan is a new document: no id is given twice.
    assert _started(worker, records, "care-plans", {}) not in (agreement, plan)
