"""Shared by the export tests: a demo installation with something in most tables, and the
FHIR R4 checks every exported bundle must pass."""

from __future__ import annotations

import copy

import sqlalchemy as sa
from fhir.resources.R4B.bundle import Bundle as R4BBundle
from fhirclient.models.bundle import Bundle as R4Bundle

from careplan.db.models import Document, User
from careplan.demo import DEMO_PASSWORD, seed_demo
from careplan.extensions import DB_KEY
from careplan.reminders import scheduler as jobs
from careplan.services import comments, documents, pdfs, signoff
from careplan.services.accounts import actor_for
from tests.scheduling import reminders_clock


def assert_valid_r4(bundle: dict) -> None:
    """FHIR R4 (4.0.1) structure, strictly: no unknown elements, nothing required missing,
    every value of its element's type (fhirclient's R4 models). Primitive formats and choice
    elements are checked again by fhir.resources' R4B models, which R4 CarePlan, Goal,
    Consent, CareTeam, Provenance, Patient, Practitioner and Bundle share unchanged. Every
    reference must name an entry of the bundle."""
    R4Bundle(copy.deepcopy(bundle), strict=True)
    R4BBundle.model_validate(bundle)
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert len(full_urls) == len(bundle["entry"])
    for ref in _references(bundle):
        assert ref in full_urls, f"{ref} is not in the bundle"


def _references(value):
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for v in value.values():
            yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def demo_installation(app) -> dict:
    """The demo data, with the agreement signed by both, a comment, reminders swept and sent,
    and the sealed PDFs made: rows in most tables, and files the rows refer to."""
    db = app.extensions[DB_KEY]
    seed_demo(db)
    with db.read() as s:
        people = {u.email.split("@")[0]: u for u in s.scalars(sa.select(User))}
        docs = {
            d.kind: d.id
            for d in s.scalars(
                sa.select(Document)
                .where(Document.client_id == people["alex"].id)
                .order_by(Document.id.desc())
            )
        }
    alex, kim = actor_for(people["alex"]), actor_for(people["kim"])
    agreement = docs["agreement"]
    signoff.sign(
        db,
        alex,
        agreement,
        1,
        "signed_with_comment",
        "Texts only, please.",
        DEMO_PASSWORD,
        confirm_blank=True,  # the demo agreement leaves its shared goals blank on purpose
    )
    comments.add_comment(db, actor_for(people["ash"]), docs["care_plan"], "goals", 3, "Well done.")
    documents.open_document(db, actor_for(people["supervisor"]), docs["care_plan"])  # logged
    ctx = jobs.context_for(app, clock=reminders_clock(app))  # sent now, even at night
    jobs.sweep_reminders(ctx)
    jobs.send_reminders(ctx)
    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    assert pdfs.run_pending(db, settings, limit=10) == 2
    return {"people": people, "docs": docs, "alex": alex, "kim": kim}
