"""A form that worked lands at the message saying what it did. Without a place of its own, a
redirect keeps the form's address's (#error-summary on most forms), which names nothing on
the page landed on: the address said "error" after a success."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, Circle, NotificationFactory, make_plan
from tests.web.test_plan_pages import _browser, _page, _post


@pytest.fixture
def circle(app) -> Circle:
    return Circle()


def test_a_form_that_worked_lands_at_its_message(app, circle):
    client = _browser(app, circle.client)
    page = _page(client.get("/me/account"))
    assert 'action="/me/account/profile#error-summary"' in page.html  # where a refusal lands
    form = page.form("/me/account/profile")
    done = _post(client, form, form.typed({"preferred_name": "Lou"}))
    assert done.status_code == 302
    assert done.headers["Location"] == "/me/account#confirmation"
    landed = _page(client.get("/me/account"))
    assert "confirmation" in landed.by_id
    assert "Saved. This is how people here will call you." in landed.html


def test_a_redirect_with_a_place_of_its_own_keeps_it(app, circle):
    doc = make_plan(circle.key_worker, circle.client)
    sign_url = f"/documents/{doc}/versions/1/sign"
    client = _browser(app, circle.client)
    form = _page(client.get(f"/documents/{doc}")).form(sign_url)
    done = _post(client, form, form.typed({"outcome": "signed", "password": PASSWORD}))
    assert done.status_code == 302
    assert done.headers["Location"] == f"/documents/{doc}#sign-off"


def test_a_form_that_says_nothing_on_the_page_it_leads_to_gets_no_place(app, circle):
    NotificationFactory(user_id=circle.client.id)
    client = _browser(app, circle.client)
    page = _page(client.get("/me/notifications"))
    mark_all = next(f for f in page.forms if f.action == "/me/notifications/read")
    done = _post(client, mark_all, mark_all.values())
    assert done.status_code == 302 and done.headers["Location"] == "/me/notifications"
