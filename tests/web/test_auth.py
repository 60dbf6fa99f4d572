"""Signing in and out, and what keeps a session safe: CSRF, no open redirects, idle sign-out,
strong session protection, the password epoch and the security headers."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from careplan.db.models import AdvocateInvitation, Document, User, Version
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, Circle, ClientFactory, make_plan

LOGIN_ERROR = "That e-mail address and password do not match an account. Please try again."
CSRF_MESSAGE = "This form had expired or was sent from somewhere else. Nothing was saved."
IDLE_MESSAGE = "You were signed out because the page was left for a while."
_TOKEN = re.compile(r'name="csrf_token" value="[^"]*"')


@pytest.fixture
def circle(app) -> Circle:
    return Circle()


def _text(response) -> str:
    return response.get_data(as_text=True)


def _sign_in(client, email: str, password: str, next_: str | None = None):
    query = {"next": next_} if next_ is not None else None
    return client.post(
        "/login",
        query_string=query,
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
    )


def _signed_in(client, circle: Circle) -> bool:
    """Whether this browser is signed in as the circle's client (their own page opens)."""
    response = client.get(f"/clients/{circle.client.id}")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    return False


def _login_error(response) -> str:
    match = re.search(
        r'<p class="error" role="alert" id="login-error" tabindex="-1" autofocus>([^<]*)</p>',
        _text(response),
    )
    assert match, _text(response)[:500]
    return match.group(1)


# --- signing in ------------------------------------------------------------------------------


def test_signing_in_opens_the_persons_own_start_page(client, circle):
    response = _sign_in(client, circle.client.email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 302
    assert urlsplit(home.headers["Location"]).path == f"/clients/{circle.client.id}"
    page = client.get(home.headers["Location"])
    assert page.status_code == 200
    assert "My plans" in _text(page)
    assert f"Signed in as {circle.client.display_name}" in _text(page)


def test_e_mail_addresses_are_matched_whatever_their_case(client, circle):
    response = _sign_in(client, "  " + circle.client.email.upper() + " ", PASSWORD)
    assert response.status_code == 302
    assert _signed_in(client, circle)


def _close(db, user_id: int) -> None:
    with db.write() as s:
        s.execute(sa.update(User).where(User.id == user_id).values(active=False))


@pytest.mark.parametrize("case", ["wrong_password", "unknown_email", "closed_wrong_password"])
def test_a_failed_sign_in_says_the_same_thing_whatever_was_wrong(client, db, circle, case):
    email, password = circle.client.email, PASSWORD
    if case == "unknown_email":
        email = "nobody-here@example.org"
    else:
        password = "not the password at all"
    if case == "closed_wrong_password":
        _close(db, circle.client.id)

    response = _sign_in(client, email, password)

    assert response.status_code == 401
    assert _login_error(response) == LOGIN_ERROR
    assert not _signed_in(client, circle)


@pytest.mark.parametrize(
    "who, ask",
    [
        ("client", "please ask the people you work with at the service (your key worker, for"),
        ("key_worker", "please ask an administrator of the service."),
        ("supervisor", "please ask an administrator of the service."),
        ("advocate", "please ask an administrator of the service."),
        ("admin", "please ask another administrator of the service."),
    ],
)
def test_the_right_password_for_a_closed_account_says_it_is_closed_and_whom_to_ask(
    client, db, circle, who, ask
):
    """Only after the right password: to anyone else a closed account is one more address
    that does not match (above)."""
    person = getattr(circle, who)
    _close(db, person.id)
    response = _sign_in(client, person.email, PASSWORD)
    assert response.status_code == 403
    said = _login_error(response)
    assert said.startswith("This account has been closed by the service, so you cannot sign in")
    assert ask in said
    assert client.get("/me/account").status_code == 302  # not signed in


def test_wrong_password_and_unknown_e_mail_give_identical_pages(client, circle):
    unknown = "nobody-here@example.org"
    wrong = _sign_in(client, circle.client.email, "not the password at all")
    missing = _sign_in(client, unknown, "not the password at all")
    assert wrong.status_code == missing.status_code == 401

    def normalised(response, email):
        return _TOKEN.sub("", _text(response)).replace(email, "EMAIL")

    assert normalised(wrong, circle.client.email) == normalised(missing, unknown)


def test_signing_in_starts_a_new_session(client, circle):
    """Nothing planted in the session before sign-in survives it (no session fixation)."""
    csrf_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        old_token = session["csrf_token"]
    login(client, circle.client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != old_token
        assert session["_user_id"] == f"{circle.client.id}:0"


def test_signing_in_starts_the_idle_clock(client, circle):
    """Even before the first page after sign-in, the session knows when it was last used."""
    before = time.time()
    login(client, circle.client)
    with client.session_transaction() as session:
        assert before - 1 <= float(session["last_seen"]) <= time.time() + 1


# --- where people go after signing in ----------------------------------------------------------


OFF_SITE = [
    "//evil.example",
    "///evil.example",
    "https://evil.example",
    "http://evil.example/clients/1",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    " //evil.example",
    "evil.example",
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
]


@pytest.mark.parametrize("target", OFF_SITE, ids=repr)
def test_next_never_leads_off_the_site(client, circle, target):
    response = _sign_in(client, circle.client.email, PASSWORD, next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert _signed_in(client, circle)


def test_next_on_this_site_is_followed(client, circle):
    target = f"/clients/{circle.client.id}?from=reminder"
    response = _sign_in(client, circle.client.email, PASSWORD, next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == target


def test_a_page_asked_for_before_signing_in_opens_after_it(client, circle):
    doc = make_plan(circle.key_worker, circle.client)
    asked = client.get(f"/documents/{doc}")
    assert asked.status_code == 302
    login_url = urlsplit(asked.headers["Location"])
    assert login_url.path == "/login"
    assert parse_qs(login_url.query)["next"] == [f"/documents/{doc}"]
    # The sign-in form posts back to the address it was shown at, `next` included.
    form_page = client.get(asked.headers["Location"])
    assert form_page.status_code == 200
    response = client.post(
        asked.headers["Location"],
        data={"email": circle.client.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/documents/{doc}"
    assert client.get(response.headers["Location"]).status_code == 200


def test_a_failed_sign_in_does_not_follow_next(client, circle):
    response = _sign_in(client, circle.client.email, "wrong password here", next_="/admin/users")
    assert response.status_code == 401
    assert "Location" not in response.headers


# --- signing out -----------------------------------------------------------------------------


def test_signing_out_needs_a_post(client, circle):
    login(client, circle.client)
    response = client.get("/logout")
    assert response.status_code == 405
    assert _signed_in(client, circle)


def test_signing_out_needs_the_csrf_token(client, circle):
    login(client, circle.client)
    response = client.post("/logout")
    assert response.status_code == 400
    assert CSRF_MESSAGE in _text(response)
    assert _signed_in(client, circle)


def test_signing_out_refuses_another_sessions_token(app, client, circle):
    other = app.test_client()
    foreign_token = csrf_token(other)
    login(client, circle.client)
    response = client.post("/logout", data={"csrf_token": foreign_token})
    assert response.status_code == 400
    assert _signed_in(client, circle)


def test_signing_out_ends_the_session(client, circle):
    login(client, circle.client)
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    # Every session of the account ends (a copied cookie would outlive this one): said so.
    assert "You are signed out, here and everywhere else you were signed in." in _text(
        client.get("/login")
    )
    assert not _signed_in(client, circle)
    with client.session_transaction() as session:
        assert "_user_id" not in session


# --- CSRF ------------------------------------------------------------------------------------


def _state(db) -> tuple:
    with db.read() as s:
        return (
            s.scalar(sa.select(sa.func.count()).select_from(Document)),
            s.scalar(sa.select(sa.func.count()).select_from(Version)),
            s.scalar(
                sa.select(sa.func.count())
                .select_from(AdvocateInvitation)
                .where(AdvocateInvitation.revoked_at.is_(None))
            ),
        )


@pytest.mark.parametrize("token", ["missing", "forged", "other_session"])
@pytest.mark.parametrize("action", ["start_plan", "save_version", "revoke_advocate"])
def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    app, client, db, circle, action, token
):
    doc = make_plan(circle.key_worker, circle.client)
    who = circle.key_worker if action == "start_plan" else circle.client
    url, data = {
        "start_plan": (f"/clients/{circle.client.id}/care-plans", {}),
        "save_version": (
            f"/documents/{doc}/edit",
            {"base_number": "1", "what_matters-text": "Changed without a token."},
        ),
        "revoke_advocate": (
            "/me/advocates",
            {"advocate_id": str(circle.advocate.id), "action": "revoke"},
        ),
    }[action]
    login(client, who)
    if token == "forged":
        data["csrf_token"] = "IjEyMzQ1Ig.forged.signature"
    elif token == "other_session":
        data["csrf_token"] = csrf_token(app.test_client())
    before = _state(db)

    response = client.post(url, data=data)

    assert response.status_code == 400
    assert CSRF_MESSAGE in _text(response)
    assert _state(db) == before
    # The same request with the session's own token goes through, so the token was the reason.
    data["csrf_token"] = csrf_token(client)
    assert client.post(url, data=data).status_code == 302
    assert _state(db) != before


def test_signing_in_without_a_csrf_token_is_refused(client, circle):
    client.get("/login")
    response = client.post("/login", data={"email": circle.client.email, "password": PASSWORD})
    assert response.status_code == 400
    assert not _signed_in(client, circle)


# --- idle sign-out ---------------------------------------------------------------------------


def _last_seen(client, minutes_ago: float) -> float:
    at = time.time() - minutes_ago * 60
    with client.session_transaction() as session:
        session["last_seen"] = at
    return at


def test_a_session_left_longer_than_the_idle_timeout_is_signed_out(app, client, circle):
    app.config["IDLE_TIMEOUT_MINUTES"] = 5
    login(client, circle.client)
    assert _signed_in(client, circle)
    _last_seen(client, 5.5)

    response = client.get(f"/clients/{circle.client.id}")

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert IDLE_MESSAGE in _text(client.get("/login"))
    with client.session_transaction() as session:
        assert "_user_id" not in session
    # Coming back does not bring the session back.
    assert not _signed_in(client, circle)


def test_activity_within_the_idle_timeout_keeps_the_session(app, client, circle):
    app.config["IDLE_TIMEOUT_MINUTES"] = 5
    login(client, circle.client)
    old = _last_seen(client, 4.5)

    assert _signed_in(client, circle)

    with client.session_transaction() as session:
        assert float(session["last_seen"]) > old + 4 * 60  # the clock was restarted


def test_pages_opened_in_quick_succession_do_not_send_a_new_session_cookie(client, circle):
    # Re-signing the cookie on every page cost about as much as serving a static file.
    login(client, circle.client)
    client.get(f"/clients/{circle.client.id}")  # the first page after signing in adds a token
    _last_seen(client, 0.1)
    response = client.get(f"/clients/{circle.client.id}")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    _last_seen(client, 0.5)
    assert "Set-Cookie" in client.get(f"/clients/{circle.client.id}").headers


def test_pages_say_how_long_is_left_before_the_idle_sign_out(app, client, circle):
    # The session's time was written 10 seconds ago and is not written again so soon, so the
    # page's warning must count from then, not from the page.
    app.config["IDLE_TIMEOUT_MINUTES"] = 15
    login(client, circle.client)
    _last_seen(client, 10 / 60)
    response = client.get(f"/clients/{circle.client.id}")
    left = int(response.headers["Idle-Seconds-Left"])
    assert 15 * 60 + 15 - 11 <= left <= 15 * 60 + 15 - 10
    assert f'data-idle-seconds-left="{left}"' in _text(response)
    _last_seen(client, 5)  # written again now: the full time, with the recording interval
    assert client.get(f"/clients/{circle.client.id}").headers["Idle-Seconds-Left"] == "915"


def test_the_idle_timeout_follows_the_setting(app, client, circle):
    app.config["IDLE_TIMEOUT_MINUTES"] = 60
    login(client, circle.client)
    _last_seen(client, 30)
    assert _signed_in(client, circle)
    app.config["IDLE_TIMEOUT_MINUTES"] = 20
    _last_seen(client, 30)
    assert not _signed_in(client, circle)


def test_an_idle_sign_out_also_refuses_a_pending_form(app, client, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    app.config["IDLE_TIMEOUT_MINUTES"] = 5
    login(client, circle.client)
    token = csrf_token(client)
    _last_seen(client, 6)
    before = _state(db)
    response = client.post(
        f"/documents/{doc}/edit",
        data={"csrf_token": token, "base_number": "1", "what_matters-text": "Too late."},
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert _state(db) == before


# --- strong session protection ----------------------------------------------------------------


def _copy_session(app, client, remote_addr: str | None = None):
    thief = app.test_client()
    if remote_addr:
        thief.environ_base["REMOTE_ADDR"] = remote_addr
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_session_cookie_used_from_another_browser_is_signed_out(app, client, circle):
    """Flask-Login's "strong" protection: a session used with a different User-Agent loses
    its user at once (not merely marked non-fresh), so the copy is anonymous."""
    login(client, circle.client)
    thief = _copy_session(app, client)
    response = thief.get(f"/clients/{circle.client.id}", headers={"User-Agent": "Other/1.0"})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    with thief.session_transaction() as session:
        assert "_user_id" not in session
    # The person's own browser is untouched.
    assert _signed_in(client, circle)


def test_the_same_browser_on_another_network_keeps_its_session_and_its_save(
    app, client, db, circle
):
    """A phone moving from Wi-Fi to mobile data comes from a new address: the session goes
    with the browser, and the save pressed just after the move is saved, not sent to the
    sign-in page without its words."""
    doc = make_plan(circle.key_worker, circle.client)
    login(client, circle.client)
    token = csrf_token(client)
    moved = _copy_session(app, client, remote_addr="203.0.113.9")

    assert moved.get(f"/clients/{circle.client.id}").status_code == 200
    response = moved.post(
        f"/documents/{doc}/edit",
        data={"csrf_token": token, "base_number": "1", "what_matters-text": "Said on the bus."},
    )

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/documents/{doc}"
    with db.read() as s:
        latest = s.scalars(
            sa.select(Version).where(Version.document_id == doc).order_by(Version.number.desc())
        ).first()
    assert latest.number == 2
    assert latest.content["what_matters"]["text"] == "Said on the bus."


def test_a_cookie_copied_before_signing_out_no_longer_works(app, client, circle):
    login(client, circle.client)
    copy = _copy_session(app, client)
    assert copy.get(f"/clients/{circle.client.id}").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    response = copy.get(f"/clients/{circle.client.id}")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_the_same_browser_keeps_its_session(app, client, circle):
    """The control for the tests above: an exact copy (same agent, same address) works."""
    login(client, circle.client)
    same = _copy_session(app, client)
    assert same.get(f"/clients/{circle.client.id}").status_code == 200


# --- password epoch --------------------------------------------------------------------------


def test_a_new_password_epoch_ends_existing_sessions(app, client, db, circle):
    other_person = ClientFactory()
    bystander = app.test_client()
    login(client, circle.client)
    login(bystander, other_person)
    with db.write() as s:
        s.execute(
            sa.update(User)
            .where(User.id == circle.client.id)
            .values(session_epoch=User.session_epoch + 1)
        )

    assert not _signed_in(client, circle)
    # Only that person's sessions end.
    assert bystander.get(f"/clients/{other_person.id}").status_code == 200
    # Signing in again gives a session of the new epoch.
    login(client, circle.client)
    assert _signed_in(client, circle)
    with client.session_transaction() as session:
        assert session["_user_id"] == f"{circle.client.id}:1"


def test_a_forged_or_malformed_user_id_in_the_session_is_anonymous(client, circle):
    login(client, circle.client)
    for forged in (str(circle.client.id), f"{circle.client.id}:x", f"{circle.client.id}:0:1"):
        with client.session_transaction() as session:
            session["_user_id"] = forged
        assert not _signed_in(client, circle), forged


# --- security headers ------------------------------------------------------------------------


def _assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_security_headers_on_the_sign_in_page(client):
    response = client.get("/login")
    assert response.status_code == 200
    _assert_security_headers(response)


def test_security_headers_and_no_store_when_signed_in(client, circle):
    doc = make_plan(circle.key_worker, circle.client)
    login(client, circle.client)
    for url, status in (
        (f"/clients/{circle.client.id}", 200),
        (f"/documents/{doc}", 200),
        (f"/documents/{doc}/edit", 200),
        ("/", 302),
        ("/documents/987654321", 404),
    ):
        response = client.get(url)
        assert response.status_code == status, url
        _assert_security_headers(response)
        assert "no-store" in response.headers.get("Cache-Control", ""), url


def test_pages_need_no_inline_script_or_style(client, circle):
    """The policy forbids inline scripts and styles, so pages must not rely on them."""
    doc = make_plan(circle.key_worker, circle.client)
    pages = [client.get("/login")]
    login(client, circle.client)
    for url in (f"/clients/{circle.client.id}", f"/documents/{doc}", f"/documents/{doc}/edit"):
        pages.append(client.get(url))
    for page in pages:
        html = _text(page)
        assert page.status_code == 200
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html)


def test_a_password_link_for_another_account_says_who_is_signed_in(client, db, circle):
    """Signed in as Alex, Bea's link showed "Choose a new password" with nothing to say it was
    not Alex's: saving it set Bea's password (and signed Alex out)."""
    from careplan.services import account_settings

    bea = ClientFactory(display_name="Bea Client")
    link = account_settings.request_reset(db, bea.email)
    login(client, circle.client)
    page = " ".join(client.get(f"/set-password/{link.token}").get_data(as_text=True).split())
    assert f"({circle.client.email}), but this link is for {bea.email}." in page
    assert "Saving a password here signs you out." in page
    own = account_settings.request_reset(db, circle.client.email)
    assert 'id="someone-else"' not in client.get(f"/set-password/{own.token}").get_data(True)
