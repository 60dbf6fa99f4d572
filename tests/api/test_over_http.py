"""The API over real HTTP from gunicorn (tests/gunicorn.py): a key worker saves a version, both
parties sign it with their passwords, and it is agreed; no cookie is ever set. A token is made,
used and revoked on its web page over the same server."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from careplan.domain.local_time import service_today
from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.api.test_tokens import NEW_TOKEN
from tests.factories import (
    PASSWORD,
    Circle,
    ClientFactory,
    make_plan,
    plan_content,
    plan_with_a_step_taken_out,
)
from tests.gunicorn import CSRF, Browser, api_call
from tests.web.test_plan_pages import Page

pytestmark = pytest.mark.slow


def test_a_version_is_saved_and_signed_through_the_api_over_http(db, gunicorn_url, token_for):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    worker, client = token_for(circle.key_worker), token_for(circle.client)
    content = plan_content(what_matters={"text": "Saved over HTTP."})

    status, headers, saved = api_call(
        gunicorn_url,
        "POST",
        f"/api/v1/documents/{doc}/versions",
        worker,
        {"base_version": 1, "content": content, "change_note": "over HTTP"},
    )
    assert status == 201, saved
    assert saved["number"] == 2 and headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store" and "Set-Cookie" not in headers

    status, _, stale = api_call(
        gunicorn_url,
        "POST",
        f"/api/v1/documents/{doc}/versions",
        client,
        {"base_version": 1, "content": content},
    )
    assert status == 409 and stale["error"]["conflict"]["head_version"] == 2

    status, _, refused = api_call(
        gunicorn_url, "POST", f"/api/v1/documents/{doc}/versions/2/sign", client,
        {"password": "not my password"},
    )  # fmt: skip
    assert status == 422 and "password" in refused["error"]["fields"]

    for token in (client, worker):
        status, _, signed = api_call(
            gunicorn_url,
            "POST",
            f"/api/v1/documents/{doc}/versions/2/sign",
            token,
            {"password": PASSWORD},
        )
        assert status == 200, signed
    assert signed["state"] == "agreed" and signed["agreed_version"] == 2

    status, _, signoff = api_call(
        gunicorn_url, "GET", f"/api/v1/documents/{doc}/signatures", client
    )
    assert status == 200 and signoff["state"] == "agreed"
    assert {s["role"] for s in signoff["signatures"]} == {"client", "key worker"}
    assert documents.count_versions(db, doc) == 2


def test_a_document_only_started_is_removed_through_the_api_over_http(db, gunicorn_url, token_for):
    circle = Circle()
    started = documents.create_document(db, actor_for(circle.key_worker), circle.client.id)
    address, worker = f"/api/v1/documents/{started}", token_for(circle.key_worker)

    status, headers, body = api_call(gunicorn_url, "DELETE", address, worker)
    assert status == 204 and body is None and "Set-Cookie" not in headers
    status, _, again = api_call(gunicorn_url, "DELETE", address, worker)
    assert status == 404
    assert again["error"]["message"] == "You removed this document: nothing had been saved in it."


def test_an_api_save_leaves_the_words_typed_in_the_browser_over_http(db, gunicorn_url, token_for):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    browser, url = Browser(gunicorn_url), f"/documents/{doc}/edit"
    browser.sign_in(circle.key_worker)
    page = browser.get(url + "?part=what_matters").read().decode()
    form = {**Page(page).form(url).values(), "what_matters-text": "Typed, not saved."}
    assert browser.post(f"/documents/{doc}/draft", form, page).status == 200

    status, _, saved = api_call(
        gunicorn_url, "POST", f"/api/v1/documents/{doc}/versions", token_for(circle.key_worker),
        {"base_version": 1, "part": "what_matters",
         "content": {"what_matters": {"text": "Saved by a program."}}},
    )  # fmt: skip
    assert status == 201, saved
    back = browser.get(url).read().decode()
    assert "(made to version 1; the latest is now 2)" in back
    restored = browser.get(url + "?draft=restore").read().decode()
    assert "Typed, not saved.</textarea>" in restored


def test_a_step_sent_twice_at_once_is_put_back_once_over_http(db, gunicorn_url, token_for):
    """A program retrying (or two taps) sends the same put-back twice, together: one saves the
    step back, the other is told it is back; neither is refused."""
    circle = Circle()
    doc, record_id = plan_with_a_step_taken_out(circle)
    client = token_for(circle.client)
    body = {"base_version": 2, "record_id": record_id}

    def send(_):
        return api_call(gunicorn_url, "POST", f"/api/v1/documents/{doc}/put-back", client, body)

    with ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(send, range(2)), key=lambda answer: answer[0])
    (ok, _, already), (created, headers, saved) = answers
    assert (ok, created) == (200, 201), answers
    assert saved["number"] == already["number"] == 3 and "Set-Cookie" not in headers
    assert (saved["already_put_back"], already["already_put_back"]) == (False, True)
    assert documents.count_versions(db, doc) == 3


def test_a_token_is_made_used_and_revoked_on_its_page_over_http(db, gunicorn_url):
    person = ClientFactory()
    browser = Browser(gunicorn_url)
    browser.sign_in(person)
    page = browser.get("/me/tokens").read().decode()
    form = {
        "name": "My phone",
        "scopes": ["read"],
        "expires_on": (service_today() + timedelta(days=30)).isoformat(),
        "csrf_token": CSRF.search(page).group(1),
    }
    made = browser.opener.open(
        gunicorn_url + "/me/tokens", urlencode(form, doseq=True).encode(), timeout=60
    )
    # Followed from the POST's redirect: the page that shows the secret is kept by no cache.
    assert made.status == 200 and made.headers["Cache-Control"] == "no-store"
    shown = made.read().decode()
    secret = NEW_TOKEN.search(shown).group(1)

    status, _, answer = api_call(gunicorn_url, "GET", "/api/v1/clients", secret)
    assert status == 200 and [c["id"] for c in answer["items"]] == [person.id]

    listed = browser.get("/me/tokens").read().decode()
    assert secret not in listed
    revoke = re.search(r'action="(/me/tokens/\d+/revoke)"', listed).group(1)
    done = browser.opener.open(
        gunicorn_url + revoke, urlencode({"csrf_token": CSRF.search(listed).group(1)}).encode()
    )
    assert done.url.endswith("/me/tokens#confirmation") and "Revoked" in done.read().decode()
    status, _, refused = api_call(gunicorn_url, "GET", "/api/v1/clients", secret)
    assert status == 401 and refused["error"]["status"] == 401


def test_an_address_the_api_does_not_have_is_told_apart_from_a_record_over_http(
    db, gunicorn_url, token_for
):
    """Both answered "There is nothing here, or nothing you may see": a program could not
    tell a mistyped address from a record it may not read. A record stays the same answer
    whether it exists or not."""
    circle, other = Circle(), Circle()
    token = token_for(circle.key_worker)
    for wrong in ("/api/v1/documents", "/api/v1/clients/", "/api/v1/nowhere"):
        status, _, body = api_call(gunicorn_url, "GET", wrong, token)
        assert status == 404, wrong
        assert body["error"]["message"].startswith("No part of this API has this address.")
    theirs = make_plan(other.key_worker, other.client)
    for record in (f"/api/v1/documents/{theirs}", "/api/v1/documents/999999"):
        status, _, body = api_call(gunicorn_url, "GET", record, token)
        assert (status, body["error"]["message"]) == (
            404,
            "There is nothing here, or nothing you may see.",
        )
