"""Account details saved from pages loaded before someone else's save, through gunicorn over
plain HTTP (tests/gunicorn.py): two administrators on one account's page, and a client with
their account page in two tabs. Each save changes only what its page changed; a detail
changed meanwhile is refused beside its field, changing nothing, with what was typed kept."""

from __future__ import annotations

import lxml.html
import pytest
import sqlalchemy as sa

from careplan.db.models import AccountEmail, User
from tests.factories import AdminFactory, ClientFactory
from tests.gunicorn import Browser, landed, refused
from tests.web.test_account_forms_from_old_pages import form_fields

pytestmark = pytest.mark.slow


def _kept(db, user_id) -> tuple[str, str, str | None, str | None]:
    with db.read() as s:
        u = s.get(User, user_id)
        return u.display_name, u.email, u.preferred_name, u.pronouns


def _error(page: str, field: str) -> str:
    return lxml.html.fromstring(page).get_element_by_id(f"{field}-error").text_content()


def test_two_administrators_saving_from_old_pages_lose_nothing_over_http(app, db, gunicorn_url):
    bob = ClientFactory(display_name="Bob Smith", email="bob@example.org")
    one, other = Browser(gunicorn_url), Browser(gunicorn_url)
    one.sign_in(AdminFactory())
    other.sign_in(AdminFactory())
    path, action = f"/admin/users/{bob.id}", f"/admin/users/{bob.id}/details"
    first, second = one.get(path).read().decode(), other.get(path).read().decode()
    stale = other.get(path).read().decode()  # another tab, kept for later

    where, page = landed(one.post(action, {**form_fields(first, action),
                                           "name": "Bob Corrected"}, first))  # fmt: skip
    assert where == path and "Saved." in page
    where, page = landed(other.post(action, {**form_fields(second, action),
                                             "email": "bob.new@example.org"}, second))  # fmt: skip
    assert where == path and "Saved." in page and "Bob Corrected" in page
    assert _kept(db, bob.id)[:2] == ("Bob Corrected", "bob.new@example.org")
    with db.read() as s:
        told = s.scalars(sa.select(AccountEmail.kind).where(AccountEmail.recipient_id == bob.id))
        assert sorted(told) == ["email_changed", "email_now_here"]

    # The oldest page changes the name as well: refused beside it, nothing changed.
    typed = {**form_fields(stale, action), "name": "Robert Smith"}
    status, page = refused(lambda: other.post(action, typed, stale))
    assert status == 409
    assert "it is now “Bob Corrected”" in _error(page, "name")
    assert _kept(db, bob.id)[:2] == ("Bob Corrected", "bob.new@example.org")
    again = form_fields(page, action)
    assert (again["name"], again["email"]) == ("Robert Smith", "bob.new@example.org")
    # Saved again from the refused page, theirs is used; the new address stays.
    where, page = landed(other.post(action, again, page))
    assert where == path and "Saved." in page
    assert _kept(db, bob.id)[:2] == ("Robert Smith", "bob.new@example.org")


def test_my_account_saved_from_two_tabs_keeps_both_over_http(app, db, gunicorn_url):
    bea = ClientFactory()
    browser = Browser(gunicorn_url)
    browser.sign_in(bea)
    action = "/me/account/profile"
    tabs = [browser.get("/me/account").read().decode() for _ in range(3)]

    where, page = landed(browser.post(action, {**form_fields(tabs[0], action),
                                               "preferred_name": "Bee"}, tabs[0]))  # fmt: skip
    assert where == "/me/account" and "Saved." in page
    where, page = landed(browser.post(action, {**form_fields(tabs[1], action),
                                               "pronouns": "she/her"}, tabs[1]))  # fmt: skip
    assert where == "/me/account" and "Signed in as Bee" in page
    assert _kept(db, bea.id)[2:] == ("Bee", "she/her")

    typed = {**form_fields(tabs[2], action), "preferred_name": "Bea"}
    status, page = refused(lambda: browser.post(action, typed, tabs[2]))
    assert status == 409
    assert "it is now “Bee”" in _error(page, "preferred_name")
    assert _kept(db, bea.id)[2:] == ("Bee", "she/her")
    again = form_fields(page, action)
    assert (again["preferred_name"], again["pronouns"]) == ("Bea", "she/her")
