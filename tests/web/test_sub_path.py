"""The app reached under a sub-path (https://trust.example.org/careplan/), as a service's
reverse proxy hosts it: every link, redirect and cookie stays under it, and what is sent away
from the app (e-mails, the calendar) carries CAREPLAN_PUBLIC_BASE_URL once, its sub-path not
doubled nor lost (careplan.domain.addresses)."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from careplan.app import create_app
from careplan.db.models import Notification
from careplan.domain.addresses import under, within
from careplan.extensions import DB_KEY
from careplan.reminders import messages
from careplan.reminders.account_mail import account_email
from careplan.services import account_emails, signoff
from careplan.services.accounts import actor_for
from tests import factories
from tests.conftest import FAST_ARGON2, csrf_token
from tests.factories import PASSWORD, ClientFactory, make_plan

PREFIX = "/careplan"
PUBLIC = "https://trust.example.org/careplan"
LINKED = re.compile(r'(?:href|src|action|data-[a-z-]+)="(/[^"#]*)')


@pytest.fixture
def web(app):
    """A browser reaching the app under /careplan, as gunicorn with SCRIPT_NAME passes it."""
    return _under_prefix(app)


class _UnderPrefix(FlaskClient):
    """Every request, and the session it reads, at http://localhost/careplan/...: SCRIPT_NAME
    /careplan (the test client would overwrite one put in environ_base)."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", f"http://localhost{PREFIX}")
        return super().open(*args, **kwargs)

    def session_transaction(self, *args, **kwargs):
        kwargs.setdefault("base_url", f"http://localhost{PREFIX}")
        return super().session_transaction(*args, **kwargs)


def _under_prefix(app):
    return _UnderPrefix(app, app.response_class, use_cookies=True)


def _sign_in(web, user, next_: str | None = None):
    query = {"next": next_} if next_ is not None else {}
    return web.post(
        "/login",
        query_string=query,
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(web)},
    )


def _notify(db, user, link: str, text: str = "Kim commented on your care plan.") -> None:
    with db.write() as s:
        s.add(Notification(user_id=user.id, text=text, link=link))


def _unprefixed(html: str) -> list[str]:
    return [link for link in LINKED.findall(html) if not link.startswith(PREFIX + "/")]


def test_a_notification_links_to_its_page_under_the_sub_path(app, web, db):
    circle = factories.Circle()
    doc = make_plan(circle.key_worker, circle.client)
    _notify(db, circle.client, f"/documents/{doc}")
    _sign_in(web, circle.client)

    html = web.get("/me/notifications").get_data(as_text=True)

    assert f'href="{PREFIX}/documents/{doc}"' in html
    assert _unprefixed(html) == []
    assert web.get(f"/documents/{doc}").status_code == 200
    # Kept as it was: app-relative, whatever address it is shown under.
    with db.read() as s:
        assert s.query(Notification.link).scalar() == f"/documents/{doc}"


def test_marking_messages_read_comes_back_under_the_sub_path(app, web, db):
    circle = factories.Circle()
    _notify(db, circle.client, "/")
    _sign_in(web, circle.client)

    done = web.post("/me/notifications/read", data={"csrf_token": csrf_token(web)})

    assert done.status_code == 302
    assert urlsplit(done.headers["Location"]).path == f"{PREFIX}/me/notifications"
    with db.read() as s:
        assert s.query(Notification.read_at).scalar() is not None


def test_signing_in_follows_next_only_to_a_page_under_the_sub_path(app, web):
    circle = factories.Circle()
    doc = make_plan(circle.key_worker, circle.client)
    asked = web.get(f"/documents/{doc}")  # not signed in: flask-login sends to sign in
    assert asked.status_code == 302
    to_login = urlsplit(asked.headers["Location"])
    assert to_login.path == f"{PREFIX}/login"
    [next_] = parse_qs(to_login.query)["next"]
    assert next_ == f"{PREFIX}/documents/{doc}"

    landed = _sign_in(web, circle.client, next_)

    assert landed.status_code == 302
    assert landed.headers["Location"] == f"{PREFIX}/documents/{doc}"


@pytest.mark.parametrize(
    "target",
    [
        "/documents/1",  # the host's root, not this app's: another application's page
        "/careplan-old/documents/1",
        "//evil.example/careplan/",
        "https://evil.example/careplan/",
        "/careplan\\..\\x",
    ],
)
def test_signing_in_never_follows_next_out_from_under_the_sub_path(app, web, target):
    landed = _sign_in(web, ClientFactory(), target)
    assert landed.status_code == 302
    assert urlsplit(landed.headers["Location"]).path.startswith(f"{PREFIX}/")
    assert landed.headers["Location"] != target


def test_the_idle_sign_out_sends_back_to_the_page_under_the_sub_path(app, web):
    app.config["IDLE_TIMEOUT_MINUTES"] = 5
    circle = factories.Circle()
    doc = make_plan(circle.key_worker, circle.client)
    _sign_in(web, circle.client)
    with web.session_transaction() as session:
        session["last_seen"] = time.time() - 6 * 60

    out = web.get(f"/documents/{doc}/history")

    assert out.status_code == 302
    to_login = urlsplit(out.headers["Location"])
    assert to_login.path == f"{PREFIX}/login"
    [next_] = parse_qs(to_login.query)["next"]
    assert next_ == f"{PREFIX}/documents/{doc}/history"
    assert _sign_in(web, circle.client, next_).headers["Location"] == next_


def test_the_pages_scripts_are_told_where_signing_in_is(app, web):
    _sign_in(web, ClientFactory())
    html = web.get("/me/account").get_data(as_text=True)
    assert f'data-sign-in-url="{PREFIX}/login"' in html
    script = (Path(app.static_folder) / "idle.js").read_text()
    assert '"/login' not in script  # the page's address, not the host's root


def test_the_session_cookie_is_kept_to_the_sub_path(app, web):
    response = web.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert f"Path={PREFIX}" in cookie.split("; ")
    at_root = app.test_client().get("/login").headers["Set-Cookie"]
    assert "Path=/" in at_root.split("; ")


def test_a_password_link_by_email_names_the_public_address_once(
    smtp_app, smtp_server, db, monkeypatch
):
    _, inbox = smtp_server
    smtp_app.config["PUBLIC_BASE_URL"] = PUBLIC + "/"  # a closing slash is not doubled either
    person = ClientFactory()
    web = _under_prefix(smtp_app)
    asked = web.post(
        "/forgot-password", data={"email": person.email, "csrf_token": csrf_token(web)}
    )
    assert asked.status_code == 200

    deadline = time.monotonic() + 10
    while not inbox.envelopes and time.monotonic() < deadline:
        time.sleep(0.02)
    [(_, message)] = inbox.messages()
    [link] = re.findall(r"https?://\S+", message.get_content())
    assert re.fullmatch(re.escape(PUBLIC) + r"/set-password/[A-Za-z0-9_-]+", link), link
    # What the e-mail names is what the proxy passes on: the page to choose a password.
    page = web.get(urlsplit(link).path.removeprefix(PREFIX))
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)


def test_the_calendar_address_and_feed_name_the_public_address_once(app, web, db):
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    circle = factories.Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    _sign_in(web, circle.client)

    page = web.post("/me/calendar", data={"action": "new", "csrf_token": csrf_token(web)})

    html = page.get_data(as_text=True)
    [address] = set(
        re.findall(r"https://trust\.example\.org[^\s\"<]*calendar\.ics\?key=[^\s\"<&]+", html)
    )
    assert address.startswith(f"{PUBLIC}/calendar.ics?key=")
    feed = web.get(urlsplit(address).path.removeprefix(PREFIX) + "?" + urlsplit(address).query)
    assert feed.status_code == 200
    body = feed.get_data(as_text=True)
    assert f"URL:{PUBLIC}/documents/{doc}" in body
    assert f"{PREFIX}{PREFIX}" not in body


def test_e_mails_join_the_public_address_and_a_path_once():
    base = PUBLIC + "/"
    today, now = date(2026, 12, 6), datetime(2026, 12, 6, 10, tzinfo=UTC)
    reminder = messages.reminder_email("soon:14", date(2026, 12, 20), 7, today, base)
    digest = messages.digest_email([], today, base)
    changed = account_email(account_emails.PASSWORD_CHANGED, {}, now, base)
    described = messages.calendar_texts(7, base)[1]
    found = re.findall(
        r"https?://\S+", " ".join([reminder.body, digest.body, changed.body, described])
    )
    assert f"{PUBLIC}/documents/7" in found
    assert all(re.match(re.escape(PUBLIC) + r"/[a-z]", link) for link in found), found


def test_the_one_helper_adds_a_prefix_once_and_keeps_to_the_app():
    assert under("/careplan", "/documents/7") == "/careplan/documents/7"
    assert under("", "/documents/7") == "/documents/7"
    assert under(PUBLIC + "/", "/verify") == f"{PUBLIC}/verify"
    for outside in ("documents/7", "//evil.example/x", "https://evil.example/x", "/\\evil"):
        with pytest.raises(ValueError):
            under(PUBLIC, outside)
    assert within("/careplan", "/careplan/documents/7?x=1") == "/documents/7?x=1"
    assert within("/careplan", "/careplan") == "/"
    assert within("/careplan", "/careplan-old/x") is None
    assert within("/careplan", "/documents/7") is None
    assert within("", "/documents/7") == "/documents/7"


@pytest.mark.parametrize("proxies", [0, 1])
def test_a_trusted_proxys_forwarded_prefix_places_the_links(database_url, tmp_path, proxies):
    """A proxy that takes /careplan off the address says so in X-Forwarded-Prefix: read only
    from the proxies the service trusts, never from whoever sends the header."""
    config = {"ENV": "testing", "DATABASE_URL": database_url, "TRUSTED_PROXIES": proxies}
    app = create_app({**config, **FAST_ARGON2}, instance_path=tmp_path / "instance")
    try:
        page = app.test_client().get("/login", headers={"X-Forwarded-Prefix": PREFIX})
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        stylesheet = f'href="{PREFIX if proxies else ""}/static/app.css"'
        assert stylesheet in html
    finally:
        app.extensions[DB_KEY].dispose()


def test_a_public_address_under_another_sub_path_is_logged_once(app, web, caplog):
    app.config["PUBLIC_BASE_URL"] = "https://trust.example.org/care-plans"
    with caplog.at_level("WARNING", logger=app.logger.name):
        for _ in range(3):
            assert web.get("/login").status_code == 200
    warned = [
        r.getMessage() for r in caplog.records if "CAREPLAN_PUBLIC_BASE_URL" in r.getMessage()
    ]
    assert warned == [
        "Requests arrive under /careplan but CAREPLAN_PUBLIC_BASE_URL "
        "(https://trust.example.org/care-plans) is under /care-plans: links in e-mails, the "
        "calendar feed and PDFs will not reach the app. Set it to the address people use, "
        "sub-path included."
    ]


@pytest.mark.parametrize("public", [PUBLIC, PUBLIC + "/"])
def test_a_public_address_under_the_same_sub_path_is_not_logged(app, web, caplog, public):
    app.config["PUBLIC_BASE_URL"] = public
    with caplog.at_level("WARNING", logger=app.logger.name):
        assert web.get("/login").status_code == 200
    assert not [r for r in caplog.records if "CAREPLAN_PUBLIC_BASE_URL" in r.getMessage()]


def test_a_public_address_at_the_root_for_requests_under_a_sub_path_is_logged(app, web, caplog):
    app.config["PUBLIC_BASE_URL"] = "https://root.example.org"
    with caplog.at_level("WARNING", logger=app.logger.name):
        web.get("/login")
    assert any(
        "is at the host's root" in r.getMessage() and "arrive under /careplan" in r.getMessage()
        for r in caplog.records
    )
