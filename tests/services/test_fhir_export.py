"""FHIR R4 export through the service layer: the demo documents, and who may have them."""

import base64
import hashlib

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, Document, PdfRender
from careplan.services import audit, documents
from careplan.services.accounts import actor_for
from careplan.services.errors import NotFound
from careplan.services.fhir import ExportSettings, bundle_for
from tests.factories import Circle, ClientFactory, make_plan
from tests.portability import assert_valid_r4, demo_installation, resources


@pytest.fixture
def settings(app):
    return ExportSettings.from_config(app.config, app.instance_path)


def test_every_demo_version_validates_and_holds_every_goal_and_step(app, db, settings):
    demo = demo_installation(app)
    kim = demo["kim"]
    with db.read() as s:
        docs = s.scalars(sa.select(Document).where(Document.head_number > 0)).all()
        renders = {r.document_id: r for r in s.scalars(sa.select(PdfRender))}
    exported = 0
    for doc in docs:
        for number in range(1, doc.head_number + 1):
            bundle = bundle_for(db, kim, doc.id, number, settings)
            assert_valid_r4(bundle)
            exported += 1
            content = documents.open_document(db, kim, doc.id, number).content
            goals = list(_goals_in(content))
            steps = [s for g in goals for s in g["steps"]]
            assert sorted(g["description"]["text"] for g in resources(bundle, "Goal")) == sorted(
                g["title"] for g in goals
            )
            plan = resources(bundle, "CarePlan")[0]
            assert [a["detail"]["description"] for a in plan.get("activity", [])] == [
                s["text"] for s in steps
            ]
            targets = [t["measure"]["text"] for g in resources(bundle, "Goal") for t in g["target"]]
            assert sorted(targets) == sorted(s["text"] for s in steps)
            render = renders.get(doc.id)
            agreed_here = render is not None and render.version_number == number
            assert plan["status"] == ("active" if agreed_here else "draft")
            if doc.kind == "agreement":
                (consent,) = resources(bundle, "Consent")
                source = consent["sourceAttachment"]
                data = (settings.pdf_storage / render.file_name).read_bytes()
                assert source["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
                assert source["size"] == len(data)
                assert source["url"].endswith(f"/documents/{doc.id}/versions/1/signed.pdf")
    assert exported == 4  # Alex's plan (3 versions) and agreement (1)
    with db.read() as s:
        downloads = s.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "download", AuditEvent.actor_id == kim.id
            )
        ).all()
    assert len(downloads) == 4 and {d.detail["format"] for d in downloads} == {"fhir"}


def _goals_in(value):
    """Every goal anywhere in the content, whichever kind of document holds it."""
    if isinstance(value, dict):
        if "title" in value and "steps" in value:
            yield value
        for v in value.values():
            yield from _goals_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from _goals_in(v)


def test_the_export_follows_the_reading_rules_and_shows_in_the_access_log(db, settings):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker, circle.supervisor, circle.advocate):
        assert_valid_r4(bundle_for(db, actor_for(person), doc, 1, settings))
    for outsider in (circle.admin, ClientFactory(), Circle().key_worker):
        with pytest.raises(NotFound):
            bundle_for(db, actor_for(outsider), doc, 1, settings)
    for number in (0, 2):
        with pytest.raises(NotFound):
            bundle_for(db, actor_for(circle.client), doc, number, settings)
    with pytest.raises(NotFound):
        bundle_for(db, actor_for(circle.client), doc + 1000, 1, settings)

    log = audit.access_log(db, actor_for(circle.client))
    assert {(e.who, e.what) for e in log} >= {
        (circle.supervisor.display_name, "downloaded your care plan (version 1) in FHIR format"),
        (circle.advocate.display_name, "downloaded your care plan (version 1) in FHIR format"),
    }
    history = documents.history(db, actor_for(circle.client), doc)
    assert "downloaded it in FHIR format (version 1)" in [e.what for e in history.events]
