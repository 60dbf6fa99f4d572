"""Every refused form says so at the top of the page, each message naming the answer it is
about; the forgotten-password page refuses an empty or malformed address beside its box,
sends nothing, and says nothing about whether an account exists."""

from __future__ import annotations

import re

import sqlalchemy as sa

from careplan.db.models import PasswordLink
from tests.conftest import csrf_token, login
from tests.factories import Circle
from tests.notices import wait_for_account_notices


def _summary(page: str) -> list[str]:
    found = re.search(r'<div class="error" role="alert" id="error-summary".*?</div>', page, re.S)
    assert found, page[:3000]
    return [" ".join(m.split()) for m in re.findall(r"<li><a [^>]*>(.*?)</a></li>", found[0])]


def _post(browser, url: str, **form):
    return browser.post(url, data={"csrf_token": csrf_token(browser), **form})


def test_the_account_page_names_the_answer_that_is_too_long(app, db):
    client = login(app.test_client(), Circle().client)
    refused = _post(client, "/me/account/profile", preferred_name="A" * 101, pronouns="x" * 41)
    assert refused.status_code == 422
    said = _summary(refused.get_data(as_text=True))
    assert said == [
        "The name you like to be called — Please keep this to 100 characters or fewer: it has 101.",
        "Your pronouns — Please keep this to 40 characters or fewer: it has 41.",
    ]


def test_the_tokens_page_says_at_the_top_what_to_look_at_again(app, db):
    worker = login(app.test_client(), Circle().key_worker)
    refused = _post(worker, "/me/tokens", name="", expires_on="")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "No token was made. Please look again at:" in html
    said = _summary(html)
    assert said and any(s.startswith("What it is for — ") for s in said), said
    assert all(" — " in s for s in said), said
    assert 'action="/me/tokens#error-summary"' in html


def test_an_empty_or_malformed_address_is_refused_beside_its_box_and_nothing_is_sent(app, db):
    circle = Circle()
    browser = app.test_client()
    for typed, message in (
        ("", "Please type the e-mail address you sign in with."),
        ("   ", "Please type the e-mail address you sign in with."),
        ("alex.example.org", "'alex.example.org' does not look like an e-mail address."),
    ):
        refused = _post(browser, "/forgot-password", email=typed)
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        assert "If there is an account for" not in html
        said = " ".join(html.replace("&#39;", "'").split())
        assert f'<p class="field-error" id="email-error">{message}' in said
        assert f"Your e-mail address — {message}" in said
        assert 'aria-invalid="true"' in html
    wait_for_account_notices()
    with db.read() as s:
        assert s.scalars(sa.select(PasswordLink)).all() == []
    assert circle.client.email  # an account exists: the answer above is the same without one
