"""The dashboard's API rows name each document and say what was agreed when, as the page and
the export do."""

from __future__ import annotations

from careplan.domain.local_time import service_today
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.api.conftest import bearer
from tests.factories import PASSWORD, Circle, make_agreement

GP = "Partnership agreement (shared care with my GP practice)"


def test_a_dashboard_row_names_its_document_and_its_agreed_version(client, db, token_for):
    circle = Circle()
    agreed = make_agreement(circle.key_worker, circle.client, template_id="ost_primary_care")
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), agreed, 1, "signed", "", PASSWORD, confirm_blank=True)
    declined = make_agreement(circle.key_worker, circle.client, template_id="ost_primary_care")
    signoff.sign(db, actor_for(circle.client), declined, 1, "declined", "No.", PASSWORD)
    token = token_for(circle.supervisor)
    items = client.get("/api/v1/supervision/dashboard", headers=bearer(token)).get_json()["items"]
    rows = {r["document_id"]: r for r in items}
    today = service_today().isoformat()
    assert [rows[agreed][k] for k in ("title", "agreed_version", "agreed_on")] == [GP, 1, today]
    assert rows[agreed]["last_reviewed_on"] == today
    assert [rows[declined][k] for k in ("title", "agreed_version", "agreed_on")] == [GP, None, None]
    assert rows[declined]["last_signed_at"] is not None
    # Why the next review falls when it does, as the page and the export say.
    assert rows[agreed]["review_reason"] == "interval"
    assert rows[agreed]["regular_review_on"] == rows[agreed]["next_review_on"] is not None
    assert rows[None]["state"] == "no_plan"  # agreements only: no care plan
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    described = spec["DashboardRow"]["properties"]
    assert described["agreed_on"]["format"] == "date"
    assert "not when anything was agreed" in described["last_signed_at"]["description"]
    assert described["review_reason"]["enum"] == ["interval", "earlier", "post_crisis", None]
