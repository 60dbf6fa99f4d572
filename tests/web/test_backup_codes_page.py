"""Backup codes for the second step are shown once, on the page the form that made them
redirects to: a reload sends no form again and shows a plain message, not an error; the codes
cross the session cookie encrypted and are never kept or logged in clear."""

from __future__ import annotations

import logging
import re
import time

import pyotp
import sqlalchemy as sa

from careplan.db.models import AuditEvent, BackupCode
from careplan.domain.second_factor import backup_hash
from careplan.services import second_factor
from careplan.services.accounts import actor_for
from careplan.web import carried_secrets
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, AdminFactory, ClientFactory, KeyWorkerFactory

BACKUP = re.compile(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>")
PAGE = "/me/second-factor/backup-codes"
SHOWN_ONCE = "Backup codes are shown only once, just after they are made."


def _turn_on(client, token: str | None = None) -> pyotp.TOTP:
    """Sends the setup form with a right code; returns the app's codes, for later forms."""
    page = client.get("/me/second-factor").get_data(as_text=True)
    secret = re.search(r'name="secret" value="([A-Z2-7]{32})"', page).group(1)
    form = {"secret": secret, "code": pyotp.TOTP(secret).now(), "password": PASSWORD}
    form["csrf_token"] = token or csrf_token(client)
    answer = client.post("/me/second-factor", data=form)
    assert answer.status_code == 302 and answer.headers["Location"] == PAGE
    return pyotp.TOTP(secret)


def _session(app, client) -> dict:
    """What the session cookie says to anyone who holds it: signed, not encrypted."""
    cookie = client.get_cookie("session")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def _kept(db, user_id: int) -> list[str]:
    with db.read() as s:
        return list(s.scalars(sa.select(BackupCode.code_hash).where(BackupCode.user_id == user_id)))


def test_codes_are_shown_once_after_the_redirect_and_a_reload_shows_a_plain_message(
    app, client, db, caplog
):
    caplog.set_level(logging.DEBUG)
    person = ClientFactory()
    login(client, person)
    _turn_on(client)
    carried = _session(app, client)

    shown = client.get(PAGE)
    page = shown.get_data(as_text=True)
    codes = BACKUP.findall(page)
    assert shown.status_code == 200 and len(set(codes)) == 10
    assert "The second step is on." in page and "This is the only time they are shown." in page
    assert "Your old codes no longer work" not in page  # there were none
    # Across the session encrypted; in the database as hashes; in no log.
    assert carried[carried_secrets.SESSION_KEY]["backup_codes"]
    assert not any(code in str(carried) for code in codes)
    assert sorted(_kept(db, person.id)) == sorted(backup_hash(code) for code in codes)
    with db.read() as s:
        details = str(s.execute(sa.select(AuditEvent.__table__)).all())
    assert not any(code in details or code in caplog.text for code in codes)

    reloaded = client.get(PAGE)
    again = reloaded.get_data(as_text=True)
    assert reloaded.status_code == 200 and not BACKUP.search(again)
    assert SHOWN_ONCE in again and "make new ones on" in again and 'href="/me/account' in again
    assert "The second step is on." not in again and 'class="error"' not in again
    assert carried_secrets.SESSION_KEY not in _session(app, client)
    assert len(_kept(db, person.id)) == 10  # nothing changed


def test_new_codes_are_shown_once_saying_the_old_ones_no_longer_work(app, client, db):
    person = KeyWorkerFactory()
    login(client, person)
    _turn_on(client)
    old = BACKUP.findall(client.get(PAGE).get_data(as_text=True))

    form = {"codes_password": PASSWORD, "codes_code": old[0], "csrf_token": csrf_token(client)}
    renewed = client.post(PAGE, data=form)

    assert renewed.status_code == 302 and renewed.headers["Location"] == PAGE
    assert not any(code in str(_session(app, client)) for code in old)
    page = client.get(PAGE).get_data(as_text=True)
    fresh = BACKUP.findall(page)
    assert len(fresh) == 10 and not set(fresh) & set(old)
    assert "Your old codes no longer work." in page and "The second step is on." not in page
    assert SHOWN_ONCE in client.get(PAGE).get_data(as_text=True)
    assert sorted(_kept(db, person.id)) == sorted(backup_hash(code) for code in fresh)


def test_of_two_sets_made_before_the_page_loads_only_the_later_one_is_shown(app, client, db):
    """Turned on, then new codes made at once (another tab), before any page loads: the
    first set no longer works, so only the second is shown."""
    person = ClientFactory()
    login(client, person)
    token = csrf_token(client)  # read now: reading a page later would collect the codes
    totp = _turn_on(client, token)
    form = {"codes_password": PASSWORD, "codes_code": totp.at(time.time() + 30)}
    assert client.post(PAGE, data={**form, "csrf_token": token}).status_code == 302

    page = client.get(PAGE).get_data(as_text=True)

    shown = BACKUP.findall(page)
    assert len(shown) == 10 and "Your old codes no longer work." in page
    assert sorted(_kept(db, person.id)) == sorted(backup_hash(code) for code in shown)
    assert not BACKUP.search(client.get(PAGE).get_data(as_text=True))


def test_codes_replaced_or_removed_before_the_page_loads_are_not_shown(app, client, db):
    person = ClientFactory()
    login(client, person)
    _turn_on(client)
    # An administrator turns the step off (a lost phone) before the page loads.
    second_factor.remove_for(db, actor_for(AdminFactory()), person.id, "Lost phone")

    page = client.get(PAGE).get_data(as_text=True)

    assert not BACKUP.search(page) and SHOWN_ONCE in page
    assert "The second step is off, so you have no backup codes." in page
    assert 'href="/me/second-factor"' in page


def test_codes_left_uncollected_too_long_are_not_shown(app, client, db, monkeypatch):
    login(client, ClientFactory())
    monkeypatch.setattr(carried_secrets, "CARRIED_SECONDS", -1)  # already too long ago
    _turn_on(client)

    page = client.get(PAGE).get_data(as_text=True)

    assert not BACKUP.search(page) and SHOWN_ONCE in page


def test_codes_are_kept_for_their_page_when_other_pages_load_first(app, client, db):
    """Another tab loads pages between the form and the page it leads to: they neither show
    the codes nor take them, and the codes' page still shows them, once."""
    person = ClientFactory()
    login(client, person)
    totp = _turn_on(client)
    old = BACKUP.findall(client.get(PAGE).get_data(as_text=True))
    form = {"codes_password": PASSWORD, "codes_code": totp.at(time.time() + 30)}
    assert client.post(PAGE, data={**form, "csrf_token": csrf_token(client)}).status_code == 302

    for elsewhere in ("/", "/me/account"):  # another tab got there first
        page = client.get(elsewhere, follow_redirects=True)
        assert page.status_code == 200 and not BACKUP.search(page.get_data(as_text=True))

    page = client.get(PAGE).get_data(as_text=True)
    shown = BACKUP.findall(page)
    assert len(set(shown)) == 10 and not set(shown) & set(old)
    assert "Your old codes no longer work." in page
    assert sorted(_kept(db, person.id)) == sorted(backup_hash(code) for code in shown)
    again = client.get(PAGE).get_data(as_text=True)  # reloaded: shown no more
    assert not BACKUP.search(again) and SHOWN_ONCE in again
