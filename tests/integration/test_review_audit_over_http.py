"""Under gunicorn, as the tester used it: the review-date audit names each document, and the
download's links point where people reach the app (CAREPLAN_PUBLIC_BASE_URL), at the
documents the supervisor may open."""

from __future__ import annotations

import csv
import io
import re

import pytest

from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_agreement
from tests.gunicorn import Browser

PUBLIC = "https://care.example.org"
GP = "Partnership agreement (shared care with my GP practice)"


@pytest.fixture
def gunicorn_env():
    return {"CAREPLAN_PUBLIC_BASE_URL": PUBLIC}


def test_an_inspector_can_tell_alike_agreements_apart_and_open_each(db, gunicorn_url):
    circle = Circle()
    alike = [
        make_agreement(circle.key_worker, circle.client, template_id="ost_primary_care")
        for _ in range(2)
    ]
    signoff.sign(db, actor_for(circle.client), alike[1], 1, "declined", "Not yet.", PASSWORD)
    supervisor = Browser(gunicorn_url)
    supervisor.sign_in(circle.supervisor)

    page = supervisor.get("/supervision").read().decode()
    for doc in alike:
        assert re.search(
            rf'<a href="/documents/{doc}"><bdi>{re.escape(GP)}</bdi></a> '
            rf'<span class="meta">\(reference {doc}\)</span>',
            page,
        )
    assert 'data-label="Last signed"' not in page

    body = supervisor.get("/supervision/export.csv").read().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    named = [dict(zip(rows[0], row, strict=True)) for row in rows[1 : rows.index([])]]
    # Agreements only: the client's "no care plan yet" row besides, with no reference.
    assert [r["State"] for r in named if not r["Reference"]] == ["no care plan yet"]
    table = [r for r in named if r["Reference"]]
    assert sorted(int(r["Reference"]) for r in table) == sorted(alike)
    for row in table:
        assert row["Document"] == GP and row["Agreed on"] == ""
        assert row["Link"] == f"{PUBLIC}/documents/{row['Reference']}"
        opened = supervisor.get(row["Link"].removeprefix(PUBLIC)).read().decode()
        assert GP in opened
