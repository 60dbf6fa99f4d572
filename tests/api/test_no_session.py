"""The API has no sessions: no cookie is read or set, no CSRF token is needed, and the web's
idle sign-out neither applies to it nor is disturbed by it."""

from __future__ import annotations

import time

from tests.api.conftest import assert_error, bearer
from tests.conftest import login


def test_the_idle_sign_out_does_not_apply_to_the_api(app, client, world, token_for):
    person = world.own.key_worker
    token = token_for(person)
    login(client, person)
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 3600  # an hour idle: the web would sign out

    response = client.get("/api/v1/clients", headers=bearer(token))

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    with client.session_transaction() as session:
        assert session["last_seen"] < time.time() - 3000, "the API touched the session"
    # The web still signs the idle browser out.
    assert client.get("/").headers["Location"].startswith("/login")


def test_posts_need_no_csrf_token(client, world, token_for):
    response = client.post(
        f"/api/v1/documents/{world.own_plan}/comments",
        json={"section_key": "what_matters", "version_number": 1, "body": "No CSRF here."},
        headers=bearer(token_for(world.own.client)),
    )
    assert response.status_code == 204


def test_routing_errors_under_api_answer_in_json(client):
    assert_error(client.post("/api/v1/no-such-thing", json={}), 404)
    assert_error(client.get("/api/v1/clients/12x"), 404)
    assert_error(client.get(f"/api/v1/clients/{2**31}"), 404)
    wrong_method = client.put("/api/v1/clients")
    assert_error(wrong_method, 405)
    assert "GET" in wrong_method.headers["Allow"]
    # Outside /api the pages are unchanged.
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
