"""Refusals and their reasons as a browser gets them from gunicorn."""

from __future__ import annotations

import sqlalchemy as sa

from careplan.db.models import PasswordLink
from tests.factories import PASSWORD, Circle
from tests.gunicorn import Browser, landed, refused
from tests.notices import wait_for_account_notices


def test_a_forgotten_password_with_no_address_is_refused_and_nothing_is_sent(gunicorn_url, db):
    circle = Circle()
    browser = Browser(gunicorn_url)
    form = browser.get("/forgot-password").read().decode()
    status, page = refused(lambda: browser.post("/forgot-password", {"email": ""}, form))
    said = " ".join(page.split())
    assert status == 422
    assert "Your e-mail address — Please type the e-mail address you sign in with." in said
    assert "If there is an account for" not in said
    wait_for_account_notices()
    with db.read() as s:
        assert s.scalars(sa.select(PasswordLink)).all() == []
    assert circle.client.email


def test_a_session_ended_by_a_password_change_elsewhere_says_why(gunicorn_url, db):
    circle = Circle()
    here, elsewhere = Browser(gunicorn_url), Browser(gunicorn_url)
    here.sign_in(circle.client)
    elsewhere.sign_in(circle.client)
    page = elsewhere.get("/me/account").read().decode()
    new = "a brand new password here"
    form = {"current_password": PASSWORD, "password": new, "password_again": new}
    path, page = landed(elsewhere.post("/me/account/password", form, page))
    assert path == "/me/account" and "Your password is changed." in page
    path, page = landed(here.get("/me/account"))
    assert path == "/login"
    assert "You were signed out because your password was changed." in page
    assert "Please sign in to see that page." not in page
