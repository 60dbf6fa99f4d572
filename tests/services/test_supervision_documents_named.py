"""An inspector reading the review-date audit can tell which document each row means: named as
the rest of the app names it, with its number and a link, the version in force and the days it
was agreed and last reviewed. "Last signed" is not taken for "agreed"."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from careplan.db.models import Document, PdfRender
from careplan.domain.local_time import service_today
from careplan.domain.supervision import Filters
from careplan.services import documents, signoff, supervision
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_agreement, make_plan

TODAY = service_today()
GP = "Partnership agreement (shared care with my GP practice)"


def _sign_both(db, circle, doc, number):
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, number, "signed", "", PASSWORD, confirm_blank=True)


def _alike(db):
    """Three agreements from one template for one client, as the tester found them: one
    agreed at version 1 with a newer draft, one waiting, one declined and never agreed."""
    circle = Circle()
    agreed = make_agreement(circle.key_worker, circle.client, template_id="ost_primary_care")
    _sign_both(db, circle, agreed, 1)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, agreed).content
    content["sections"]["contingencies"]["warning_signs"] = {"text": "I stop eating."}
    documents.save_version(db, worker, agreed, 1, content, "second")
    waiting = make_agreement(circle.key_worker, circle.client, template_id="ost_primary_care")
    declined = make_agreement(circle.key_worker, circle.client, template_id="ost_primary_care")
    signoff.sign(db, actor_for(circle.client), declined, 1, "declined", "Not this.", PASSWORD)
    # Agreed late in the evening two days ago: the day shown is the service's, not UTC's.
    with db.write() as s:
        s.execute(
            sa.update(PdfRender)
            .where(PdfRender.document_id == agreed)
            .values(agreed_at=datetime(2026, 6, 3, 23, 30, tzinfo=UTC))
        )
    return circle, agreed, waiting, declined


def test_each_row_names_its_document_and_what_was_agreed_when(db, app):
    circle, agreed, waiting, declined = _alike(db)
    rows = supervision.dashboard(db, actor_for(circle.supervisor), Filters(), TODAY).rows
    by_id = {r.document_id: r for r in rows}
    assert {by_id[d].title for d in (agreed, waiting, declined)} == {GP}
    # Agreed at version 1 on 4 June (London's day for 23:30 UTC on 3 June), still in force
    # while version 2 is written.
    assert (by_id[agreed].agreed_version, by_id[agreed].agreed_on) == (
        1,
        datetime(2026, 6, 4).date(),
    )
    assert by_id[agreed].last_reviewed_on == TODAY
    # Declined at version 1: signed, never agreed.
    assert by_id[declined].last_signed_at is not None
    assert (by_id[declined].agreed_version, by_id[declined].agreed_on) == (None, None)
    assert by_id[declined].last_reviewed_on is None
    assert (by_id[waiting].agreed_version, by_id[waiting].agreed_on) == (None, None)


def test_the_export_gives_each_document_its_name_reference_link_and_agreed_dates(db, app):
    circle, agreed, waiting, declined = _alike(db)
    text = "".join(
        supervision.export_csv(
            db,
            actor_for(circle.supervisor),
            Filters(sort="client"),
            TODAY,
            base_url="https://care.example.org/careplan/",
        )
    )
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header, table = rows[0], rows[1 : rows.index([])]
    named = [dict(zip(header, row, strict=True)) for row in table]
    by_ref = {int(r["Reference"]): r for r in named if r["Reference"]}
    assert set(by_ref) == {agreed, waiting, declined}
    # Agreements only: the client has no care plan, and a row says so.
    assert [r["State"] for r in named if not r["Reference"]] == ["no care plan yet"]
    for doc, row in by_ref.items():
        assert row["Document"] == GP
        assert row["Link"] == f"https://care.example.org/careplan/documents/{doc}"
    assert (by_ref[agreed]["Version in force"], by_ref[agreed]["Agreed on"]) == ("1", "2026-06-04")
    assert by_ref[agreed]["Last agreed or reviewed"] == TODAY.isoformat()
    # The decline is a signature, and says so under its own name; nothing was agreed.
    declined_row = by_ref[declined]
    assert declined_row["State"] == "declined"
    assert declined_row["Last signature"] == TODAY.isoformat()
    assert (declined_row["Version in force"], declined_row["Agreed on"]) == ("", "")
    notes = rows[rows.index([]) + 1 :]
    assert [label for label, *_ in notes if label in ("Agreed on", "Last signature")] == [
        "Agreed on",
        "Last signature",
    ]


def test_a_care_plan_keeps_its_name_and_one_never_agreed_has_no_agreed_date(db, app):
    circle = Circle()
    plan = make_plan(circle.key_worker, circle.client)
    old = make_plan(circle.key_worker, circle.client)
    _sign_both(db, circle, old, 1)
    with db.write() as s:  # reviewed since, with no changes
        s.execute(
            sa.update(Document)
            .where(Document.id == old)
            .values(last_reviewed_on=TODAY - timedelta(days=3))
        )
    rows = supervision.dashboard(db, actor_for(circle.supervisor), Filters(), TODAY).rows
    by_id = {r.document_id: r for r in rows}
    assert by_id[plan].title == by_id[old].title == "Care plan"
    assert by_id[plan].agreed_on is None
    assert by_id[old].agreed_on == TODAY and by_id[old].agreed_version == 1
    assert by_id[old].last_reviewed_on == TODAY - timedelta(days=3)
