"""Account pages open in two tabs (or two administrators' browsers): a save from the page
loaded first does not undo the other's save. A detail changed meanwhile is refused beside its
field with what it is now, nothing is changed, and what was typed stays in the form."""

from __future__ import annotations

import html

import lxml.html
import sqlalchemy as sa

from careplan.db.models import User
from tests.conftest import login
from tests.factories import AdminFactory, ClientFactory


def form_fields(page: str, action: str) -> dict[str, str]:
    """What a browser sends from the page's form posting to `action`, as the page shows it."""
    [form] = [
        f for f in lxml.html.fromstring(page).forms if (f.action or "").split("#")[0] == action
    ]
    return dict(form.form_values())


def _page(web, path: str) -> str:
    return web.get(path).get_data(as_text=True)


def _kept(db, user_id) -> tuple[str, str, str | None, str | None]:
    with db.read() as s:
        u = s.get(User, user_id)
        return u.display_name, u.email, u.preferred_name, u.pronouns


def _plain(page: str) -> str:
    return " ".join(html.unescape(page).split())


def test_an_administrators_old_page_saves_only_what_it_changed(app, db):
    bob = ClientFactory(display_name="Bob Smith", email="bob@example.org")
    admin = login(app.test_client(), AdminFactory())
    path, action = f"/admin/users/{bob.id}", f"/admin/users/{bob.id}/details"
    first, second = _page(admin, path), _page(admin, path)  # two tabs

    saved = admin.post(action, data={**form_fields(first, action), "name": "Bob Corrected"})
    assert saved.status_code == 302
    fields = {**form_fields(second, action), "email": "bob.new@example.org"}
    assert admin.post(action, data=fields).status_code == 302
    assert _kept(db, bob.id)[:2] == ("Bob Corrected", "bob.new@example.org")


def test_a_detail_changed_meanwhile_is_said_beside_it_and_what_was_typed_is_kept(app, db):
    bob = ClientFactory(display_name="Bob Smith", email="bob@example.org")
    one = login(app.test_client(), AdminFactory())
    other = login(app.test_client(), AdminFactory())
    path, action = f"/admin/users/{bob.id}", f"/admin/users/{bob.id}/details"
    old = _page(other, path)
    changed = {**form_fields(_page(one, path), action), "name": "Bob Corrected"}
    changed["email"] = "bob.corrected@example.org"
    assert one.post(action, data=changed).status_code == 302

    refused = other.post(action, data={**form_fields(old, action), "name": "Robert Smith"})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    said = _plain(page)
    assert "Nothing was changed. Please look again at:" in said
    assert 'href="#name"' in page  # the summary links to the field
    error = lxml.html.fromstring(page).get_element_by_id("name-error").text_content()
    assert "it is now “Bob Corrected”" in error and "another administrator" in error
    assert _kept(db, bob.id)[:2] == ("Bob Corrected", "bob.corrected@example.org")
    # What they typed stays; the address they did not touch shows what it is now (the old one,
    # saved again, would undo the other's change).
    again = form_fields(page, action)
    assert again["name"] == "Robert Smith"
    assert again["email"] == "bob.corrected@example.org"
    assert again["was_name"] == "Bob Corrected"
    # Saved again from there, theirs is used, and the other's address stays.
    assert other.post(action, data=again).status_code == 302
    assert _kept(db, bob.id)[:2] == ("Robert Smith", "bob.corrected@example.org")


def test_a_refused_address_keeps_what_was_typed_and_not_what_the_page_had_loaded(app, db):
    bob = ClientFactory(display_name="Bob Smith", email="bob@example.org")
    taken = ClientFactory(email="taken@example.org")
    admin = login(app.test_client(), AdminFactory())
    path, action = f"/admin/users/{bob.id}", f"/admin/users/{bob.id}/details"
    old = _page(admin, path)
    assert admin.post(action, data={**form_fields(_page(admin, path), action),
                                    "name": "Bob Corrected"}).status_code == 302  # fmt: skip
    refused = admin.post(action, data={**form_fields(old, action), "email": taken.email})
    assert refused.status_code == 400
    again = form_fields(refused.get_data(as_text=True), action)
    assert (again["name"], again["email"]) == ("Bob Corrected", taken.email)


def test_my_account_in_two_tabs_keeps_both_changes(app, db):
    bea = ClientFactory()
    web = login(app.test_client(), bea)
    action = "/me/account/profile"
    first, second = _page(web, "/me/account"), _page(web, "/me/account")
    saved = web.post(action, data={**form_fields(first, action), "preferred_name": "Bee"})
    assert saved.status_code == 302
    saved = web.post(action, data={**form_fields(second, action), "pronouns": "she/her"})
    assert saved.status_code == 302
    assert _kept(db, bea.id)[2:] == ("Bee", "she/her")
    assert "Signed in as Bee" in _page(web, "/me/account")  # the greeting follows what is kept


def test_my_setting_changed_in_another_tab_is_said_beside_it_and_kept(app, db):
    bea = ClientFactory()
    web = login(app.test_client(), bea)
    action = "/me/account/profile"
    old = _page(web, "/me/account")
    assert web.post(action, data={**form_fields(_page(web, "/me/account"), action),
                                  "preferred_name": "Bee"}).status_code == 302  # fmt: skip
    typed = {**form_fields(old, action), "preferred_name": "Bea", "pronouns": "she/her"}
    refused = web.post(action, data=typed)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "Nothing was changed. Please look again at:" in _plain(page)
    error = lxml.html.fromstring(page).get_element_by_id("preferred_name-error").text_content()
    assert "it is now “Bee”" in error and "another tab" in error
    assert _kept(db, bea.id)[2:] == ("Bee", None)
    again = form_fields(page, action)
    assert (again["preferred_name"], again["pronouns"]) == ("Bea", "she/her")
    assert web.post(action, data=again).status_code == 302
    assert _kept(db, bea.id)[2:] == ("Bea", "she/her")


def test_a_refused_setting_keeps_what_another_tab_saved_in_the_other_field(app, db):
    bea = ClientFactory()
    web = login(app.test_client(), bea)
    action = "/me/account/profile"
    old = _page(web, "/me/account")
    assert web.post(action, data={**form_fields(_page(web, "/me/account"), action),
                                  "pronouns": "she/her"}).status_code == 302  # fmt: skip
    refused = web.post(action, data={**form_fields(old, action), "preferred_name": "x" * 101})
    assert refused.status_code == 422
    again = form_fields(refused.get_data(as_text=True), action)
    assert (again["preferred_name"], again["pronouns"]) == ("x" * 101, "she/her")
    with db.read() as s:
        assert s.scalar(sa.select(User.pronouns).where(User.id == bea.id)) == "she/her"
