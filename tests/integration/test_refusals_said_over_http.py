"""Refusals and their reasons as a browser gets them from gunicorn."""

from __future__ import annotations

from urllib.error import HTTPError

import pytest
import sqlalchemy as sa

from careplan.db.models import PasswordLink
from tests.factories import Circle
from tests.gunicorn import Browser
from tests.notices import wait_for_account_notices


def _refused(call) -> tuple[int, str]:
    with pytest.raises(HTTPError) as refused:
        call()
    return refused.value.code, refused.value.read().decode()


def test_a_forgotten_password_with_no_address_is_refused_and_nothing_is_sent(gunicorn_url, db):
    circle = Circle()
    browser = Browser(gunicorn_url)
    form = browser.get("/forgot-password").read().decode()
    status, page = _refused(lambda: browser.post("/forgot-password", {"email": ""}, form))
    said = " ".join(page.split())
    assert status == 422
    assert "Your e-mail address — Please type the e-mail address you sign in with." in said
    assert "If there is an account for" not in said
    wait_for_account_notices()
    with db.read() as s:
        assert s.scalars(sa.select(PasswordLink)).all() == []
    assert circle.client.email
