"""Making an access token on a phone: the page fits, the token is shown once and works at
once against the API, and revoking it stops it. The API's documentation page fits too."""

from __future__ import annotations

import json
import urllib.error
from urllib.request import Request, urlopen

import pytest

from tests import factories

from .checks import check_phone_page, expect, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser_only]


def _status(base: str, token: str) -> int:
    request = Request(f"{base}/api/v1/reminders", headers={"Authorization": f"Bearer {token}"})
    try:
        with urlopen(request, timeout=30) as response:
            json.loads(response.read())
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_a_token_is_made_used_and_revoked_on_a_phone(live_server, new_phone, db, screenshots):
    person = factories.ClientFactory(display_name="Alexandra Montgomery-Fitzwilliam")
    page = new_phone()
    sign_in(page, live_server, person)
    page.goto(f"{live_server}/me/account")
    page.get_by_role("link", name="make an access token").click()
    check_phone_page(page, "access tokens")

    page.get_by_label("What it is for").fill("My reminder app")
    page.get_by_label("read: read the records you can see").check()
    page.get_by_role("button", name="Make the token").click()

    check_phone_page(page, "new access token")
    page.screenshot(path=screenshots / "access-token.png", full_page=True)
    token = page.locator("code.new-token").inner_text()
    assert _status(live_server, token) == 200
    page.goto(f"{live_server}/me/tokens")
    expect(page.locator("code.new-token")).to_have_count(0)  # shown once only

    page.get_by_role("button", name="Revoke it now").click()
    expect(page.locator(".tag", has_text="Revoked")).to_be_visible()
    assert _status(live_server, token) == 401

    page.goto(f"{live_server}/api/v1/docs")
    check_phone_page(page, "API documentation")
