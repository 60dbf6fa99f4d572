"""The page that sets up the second step when signing, as a phone shows it: what went wrong is
said at its top, where the page opens, and the key can go to an app on the same phone."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, Circle
from tests.web.test_plan_pages import _page

SECRET = re.compile(r'name="secret" value="([A-Z2-7]{32})"')


@pytest.fixture
def circle(app) -> Circle:
    return Circle()


def _summary(html: str) -> list[tuple[str, str]]:
    block = re.search(r'<div class="error" role="alert" id="error-summary".*?</div>', html, re.S)
    assert block, "no summary of what went wrong"
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', block.group(0))


def test_a_refused_setup_is_summed_up_at_the_top_where_the_page_opens(app, circle):
    """A wrong code was said only beside its box, a phone's screens below the square code."""
    web = login(app.test_client(), circle.client)
    page = web.get("/me/second-factor").get_data(as_text=True)
    assert 'id="error-summary"' not in page
    # The form sends the browser to the summary, as every refused form's does.
    assert 'action="/me/second-factor#error-summary"' in page
    secret = SECRET.search(page).group(1)
    wrong = pyotp.TOTP(secret).at(time.time() + 600)  # a real code, but not of now
    form = {"secret": secret, "code": wrong, "password": PASSWORD, "csrf_token": csrf_token(web)}

    refused = _page(web.post("/me/second-factor", data=form), 422)
    [(anchor, message)] = _summary(refused.html)
    assert anchor == "code" and anchor in refused.by_id and "does not match" in message
    assert refused.html.index('id="error-summary"') < refused.html.index('<ol class="steps">')

    both = _page(web.post("/me/second-factor", data={**form, "password": "not it"}), 422)
    assert [a for a, _ in _summary(both.html)] == ["code", "password"]  # in the form's order
    assert SECRET.search(both.html).group(1) == secret  # the same key, maybe in the app already


def test_the_key_can_be_handed_to_an_app_on_the_same_phone(app, circle):
    """A phone cannot scan a square code on its own screen, and the key is 32 letters to type:
    a link gives the app the same key as the square, which stays, with the key, for a
    computer's screen."""
    page = _page(login(app.test_client(), circle.client).get("/me/second-factor"))
    secret = SECRET.search(page.html).group(1)
    tag, link = page.by_id["add-to-app"]
    assert tag == "a" and "Add it to the authenticator app on this phone" in page.html
    uri = urlsplit(link["href"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [secret]
    assert pyotp.parse_uri(link["href"]).secret == secret
    assert "<svg" in page.html and " ".join(re.findall(".{4}", secret)) in page.html
