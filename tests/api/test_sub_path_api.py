"""The API reached under a sub-path (careplan.domain.addresses): its links, the address of
the next page and the OpenAPI document's server say where it is, at the host's root or not."""

from __future__ import annotations

import pytest

from careplan.db.models import Notification
from tests.api.conftest import bearer

PREFIX = "/careplan"


@pytest.mark.parametrize("prefix", ["", PREFIX])
def test_reminder_links_and_the_next_page_carry_the_sub_path(client, db, world, token_for, prefix):
    with db.write() as s:
        for n in range(3):
            s.add(Notification(user_id=world.own.client.id, text=f"Notice {n}", link="/"))
        s.add(
            Notification(
                user_id=world.own.client.id, text="New", link=f"/documents/{world.own_plan}"
            )
        )
    token = token_for(world.own.client)
    base = f"http://localhost{prefix}"

    first = client.get("/api/v1/reminders?per_page=1", headers=bearer(token), base_url=base)

    body = first.get_json()
    assert first.status_code == 200, body
    assert body["items"][0]["link"] == f"{prefix}/documents/{world.own_plan}"
    assert body["next"].startswith(f"{prefix}/api/v1/reminders?")
    following = client.get(body["next"].removeprefix(prefix), headers=bearer(token), base_url=base)
    assert following.status_code == 200
    assert following.get_json()["items"][0]["link"] == f"{prefix}/"
    with db.read() as s:  # kept app-relative
        assert {link for (link,) in s.query(Notification.link)} == {
            "/",
            f"/documents/{world.own_plan}",
        }


@pytest.mark.parametrize("prefix", ["", PREFIX])
def test_the_openapi_document_names_where_the_api_is(client, prefix):
    spec = client.get("/api/v1/openapi.json", base_url=f"http://localhost{prefix}").get_json()
    assert spec["servers"] == [{"url": prefix or "/"}]
    assert "/api/v1/reminders" in spec["paths"]
    docs = client.get("/api/v1/docs", base_url=f"http://localhost{prefix}").get_data(as_text=True)
    assert f"<code>GET {prefix}/api/v1/reminders</code>" in docs
