"""Refusals and their reasons as a browser gets them from gunicorn."""

from __future__ import annotations

import sqlalchemy as sa

from careplan.db.models import PasswordLink, Version
from tests.factories import PASSWORD, Circle, make_plan
from tests.gunicorn import Browser, given_back, landed, refused
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
    doc = make_plan(circle.key_worker, circle.client)
    editing = here.get(f"/documents/{doc}/edit").read().decode()
    page = elsewhere.get("/me/account").read().decode()
    new = "a brand new password here"
    form = {"current_password": PASSWORD, "password": new, "password_again": new}
    path, page = landed(elsewhere.post("/me/account/password", form, page))
    assert path == "/me/account" and "Your password is changed." in page
    # Words sent after it are not saved, but given back to copy.
    words = {"base_number": "1", "what_matters-text": "My sister's wedding", "change_note": ""}
    status, page = refused(lambda: here.post(f"/documents/{doc}/edit", words, editing))
    said = " ".join(page.split())
    assert status == 401 and "You were signed out because your password was changed." in said
    assert given_back(page) == {"What matters to me": "My sister's wedding"}
    assert f'href="/login?next=%2Fdocuments%2F{doc}%2Fedit" target="_blank"' in said
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Version)) == 1
    path, page = landed(here.get("/me/account"))
    assert path == "/login"
    assert "You were signed out because your password was changed." in page
    assert "Please sign in to see that page." not in page


def test_words_from_a_page_older_than_the_sign_in_are_given_back(gunicorn_url, db):
    circle = Circle()
    browser = Browser(gunicorn_url)
    browser.sign_in(circle.client)
    doc = make_plan(circle.key_worker, circle.client)
    editing = browser.get(f"/documents/{doc}/edit").read().decode()
    landed(browser.post("/logout", {}, editing))  # in another tab
    browser.sign_in(circle.client)
    words = {"base_number": "1", "what_matters-text": "Back to college", "change_note": ""}
    from_here = {"Sec-Fetch-Site": "same-origin"}
    status, page = refused(
        lambda: browser.post(f"/documents/{doc}/edit", words, editing, from_here)
    )
    said = " ".join(page.split())
    assert status == 400 and "This page was from before you signed in again" in said
    assert given_back(page) == {"What matters to me": "Back to college"}
    status, page = refused(lambda: browser.post(f"/documents/{doc}/edit", words, editing))
    assert status == 400 and "Back to college" not in page
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Version)) == 1
