"""carried_secrets on its own: what stays in the session, and for how long. The pages that use
it are tested in tests/web/test_backup_codes_page.py and tests/api/test_tokens.py."""

from __future__ import annotations

import secrets
import time

from flask import flash, get_flashed_messages, session

from careplan.domain.second_factor import new_backup_codes
from careplan.domain.tokens import new_token
from careplan.web import carried_secrets
from careplan.web.carried_secrets import SESSION_KEY, Purpose, carry, collect

TOKENS = Purpose("tokens", b"test: tokens")
CODES = Purpose("codes", b"test: codes")


def _at(monkeypatch, seconds: float) -> None:
    """The clock for carrying and for opening the seals alike (Fernet reads time.time)."""
    monkeypatch.setattr(time, "time", lambda: seconds)


def test_other_pages_and_flash_messages_leave_a_carried_secret_alone(app):
    with app.test_request_context():
        carry(TOKENS, "the secret", id=7)
        flash("Saved.")

        assert get_flashed_messages() == ["Saved."]  # a page loaded in another tab
        assert collect(CODES) == []  # another purpose's page
        [collected] = collect(TOKENS)

        assert (collected.secret, collected.plain) == ("the secret", {"id": 7})
        assert collect(TOKENS) == [] and SESSION_KEY not in session


def test_secrets_carried_too_long_ago_are_dropped_when_another_is_carried(app, monkeypatch):
    with app.test_request_context():
        _at(monkeypatch, 1_000_000)
        carry(TOKENS, "old token")
        carry(CODES, "old codes")
        _at(monkeypatch, 1_000_000 + carried_secrets.CARRIED_SECONDS + 1)

        carry(TOKENS, "new token")

        assert list(session[SESSION_KEY]) == ["tokens"]  # the codes' purpose gone whole
        assert [one.secret for one in collect(TOKENS)] == ["new token"]


def test_only_the_last_few_of_a_purpose_wait(app):
    with app.test_request_context():
        for number in range(carried_secrets.CARRIED_AT_MOST + 2):
            carry(TOKENS, f"token {number}")

        shown = [one.secret for one in collect(TOKENS)]

    assert shown == [f"token {n}" for n in range(2, carried_secrets.CARRIED_AT_MOST + 2)]


def test_a_secret_that_does_not_open_is_dropped_not_kept(app, monkeypatch):
    with app.test_request_context():
        carry(Purpose("tokens", b"test: another key"), "sealed under another key")
        assert collect(TOKENS) == [] and SESSION_KEY not in session

        carry(TOKENS, "never collected in time")
        monkeypatch.setattr(carried_secrets, "CARRIED_SECONDS", -1)
        assert collect(TOKENS) == [] and SESSION_KEY not in session


def test_a_full_session_cookie_stays_well_under_what_browsers_keep(app):
    """Browsers drop a cookie over 4096 bytes (and with it the person's session): the most
    that can wait, every purpose full, must fit beside the rest of the session."""
    with app.test_request_context():
        session["_user_id"], session["csrf_token"] = "12345", secrets.token_hex(20)
        session["last_seen"] = time.time()
        for _ in range(carried_secrets.CARRIED_AT_MOST + 1):
            carry(TOKENS, new_token(), id=123456)
            carry(CODES, " ".join(new_backup_codes()), just_turned_on=True)
        cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))

    assert len(cookie) < 3500, len(cookie)
