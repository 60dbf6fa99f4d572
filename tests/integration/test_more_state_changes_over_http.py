"""The state changes no other over-HTTP test made, through gunicorn over plain HTTP
(tests/gunicorn.py): a partnership agreement started from a template on the client's page, a
sealed PDF whose making failed tried again, messages marked read, the idle warning's "stay
signed in", an administrator turning off someone's second step, a link to choose a new
password asked for, a save sent after the browser moved to another network address, a key
worker's change to a client's words (kept beside it) and a comment refused as too long (given
back), a key worker saving from the conflict page over the client's change to the worker's
words (the client's words kept, and listed on their sign form), a key worker taking out a
step the client wrote (kept, and listed on the client's sign form) and the client putting it
back with its button, a key worker taking out a care team member the client listed before
members said who listed them (kept for the client, who the versions show listed them) and the
client putting them back, the API starting documents, commenting and declining, an access token made
(its secret shown once after a redirect, a reload making no other), the second step turned
on (its backup codes shown once after a redirect), and both at once with other pages loaded
before either secret's page (each waits for its own page). Every form is
posted with its page's CSRF token; every answer is checked where a browser lands (or in the
JSON), and in the database.

A decline through the sign form is not here: test_plan_journey_over_http declines a version
over HTTP already."""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import timedelta
from http.cookiejar import CookieJar
from urllib.parse import urlencode, urlsplit
from urllib.request import (
    HTTPCookieProcessor,
    HTTPRedirectHandler,
    Request,
    build_opener,
    urlopen,
)

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from bench.document_form import DocumentForm
from careplan.db.models import (
    AccountEmail,
    ApiToken,
    AuditEvent,
    BackupCode,
    Comment,
    Document,
    Notification,
    PasswordLink,
    PdfRender,
    SignatureRecord,
    Team,
    User,
    Version,
)
from careplan.domain.api_tokens import SCOPES
from careplan.domain.local_time import service_today
from careplan.domain.tokens import token_hash
from careplan.services import api_tokens, leaving, pdfs, second_factor, signoff
from careplan.services.accounts import actor_for
from tests.factories import (
    PASSWORD,
    Circle,
    ClientFactory,
    NotificationFactory,
    make_plan,
    saved_before_care_team_credit,
)
from tests.gunicorn import CSRF, Browser, api_call, landed, refused

pytestmark = pytest.mark.slow


def _edits(browser: Browser, doc: int, changes: dict[str, str]) -> None:
    """`browser` opens the document's edit form, changes the boxes `changes` names, saves,
    and lands back on the document."""
    page = browser.get(f"/documents/{doc}/edit").read().decode()
    form = {**dict(DocumentForm(page).fields), **changes}
    path, _ = landed(browser.post(f"/documents/{doc}/edit", form, page))
    assert path == f"/documents/{doc}"


def _count(db, *where) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).where(*where))


# --- an agreement started from a template, and a failed PDF tried again ------------------------


def test_an_agreement_is_started_from_a_template_and_a_failed_pdf_is_tried_again_over_http(
    app, db, gunicorn_url
):
    circle = Circle()
    client, worker = Browser(gunicorn_url), Browser(gunicorn_url)
    client.sign_in(circle.client)
    worker.sign_in(circle.key_worker)
    records = f"/clients/{circle.client.id}"

    # The key worker chooses a template on the client's page and starts the agreement: they
    # land on its edit page, and it is the client's, from that template, with nothing written.
    page = worker.get(records).read().decode()
    assert re.search(r'<option value="general">Partnership agreement</option>', page)
    start = {"template_id": "general"}
    path, edit = landed(worker.post(f"{records}/agreements", start, page))
    doc = int(re.fullmatch(r"/documents/(\d+)/edit", path).group(1))
    assert "Partnership agreement" in edit
    with db.read() as s:
        row = s.get(Document, doc)
        assert (row.client_id, row.kind, row.head_number) == (circle.client.id, "agreement", 0)
        assert row.created_by_id == circle.key_worker.id
        assert (row.template["id"], row.title) == ("general", "Partnership agreement")
        recorded = s.scalar(
            sa.select(AuditEvent.detail).where(
                AuditEvent.action == "document.create", AuditEvent.object_id == doc
            )
        )
        assert recorded["template"]["id"] == "general"
    # A second tap gives the same empty agreement, not a look-alike; no template, nothing.
    path, _ = landed(worker.post(f"{records}/agreements", start, page))
    assert path == f"/documents/{doc}/edit"
    code, refusal = refused(
        lambda: worker.post(f"{records}/agreements", {"template_id": "x"}, page)
    )
    assert code == 400 and "Please choose one of the agreement templates." in refusal
    assert _count(db, Document.client_id == circle.client.id) == 1

    # A plan both signed, whose sealed PDF failed every try.
    plan = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), plan, 1, "signed", "", PASSWORD, confirm_blank=True)
    with db.write() as s:
        s.execute(
            sa.update(PdfRender)
            .where(PdfRender.document_id == plan)
            .values(status="failed", attempts=3, error="the renderer ran out of time")
        )
    signed = f"/documents/{plan}/versions/1/signed.pdf"
    failed = client.get(signed)
    assert failed.status == 202
    page = failed.read().decode()
    assert "We could not make the PDF" in page and "after 3 tries" in page
    assert f'action="{signed}/retry"' in page

    # The client tries again: they land on the waiting page, and the PDF is due again.
    path, page = landed(client.post(f"{signed}/retry", {}, page))
    assert path == signed
    assert "We will try to make the PDF again." in page and "Your PDF is being prepared" in page
    with db.read() as s:
        render = s.scalar(sa.select(PdfRender).where(PdfRender.document_id == plan))
        assert (render.status, render.attempts) == ("pending", 0)
    # ... and once the PDF job has run, it downloads.
    assert pdfs.run_pending(db, pdfs.PdfSettings.from_config(app.config, app.instance_path)) == 1
    with client.get(signed) as ready:
        assert ready.status == 200 and ready.read().startswith(b"%PDF")


# --- the API: a document started, a comment, a decline -----------------------------------------


def test_documents_are_started_commented_on_and_declined_through_the_api_over_http(
    db, gunicorn_url
):
    circle = Circle()
    plan = make_plan(circle.key_worker, circle.client)
    expires = service_today() + timedelta(days=30)
    worker, client = (
        api_tokens.create(db, actor_for(person), "tests", tuple(SCOPES), expires).secret
        for person in (circle.key_worker, circle.client)
    )

    # The key worker starts an agreement from a template: 201, and it is there, empty.
    started = f"/api/v1/clients/{circle.client.id}/documents"
    wanted = {"kind": "agreement", "template_id": "ost_primary_care"}
    status, headers, made = api_call(gunicorn_url, "POST", started, worker, wanted)
    assert status == 201, made
    assert headers["Cache-Control"] == "no-store" and "Set-Cookie" not in headers
    assert set(made) == {"id", "client_id", "kind"}
    assert (made["client_id"], made["kind"]) == (circle.client.id, "agreement")
    with db.read() as s:
        row = s.get(Document, made["id"])
        assert (row.client_id, row.kind, row.head_number) == (circle.client.id, "agreement", 0)
        assert (row.template["id"], row.created_by_id) == ("ost_primary_care", circle.key_worker.id)
    # Asked again, the same empty one; an unknown template starts nothing.
    assert api_call(gunicorn_url, "POST", started, worker, wanted)[2]["id"] == made["id"]
    status, _, refused = api_call(
        gunicorn_url, "POST", started, worker, {"kind": "agreement", "template_id": "nope"}
    )
    assert status == 422 and "template_id" in refused["error"]["fields"]
    assert _count(db, Document.client_id == circle.client.id, Document.kind == "agreement") == 1
    status, _, opened = api_call(gunicorn_url, "GET", f"/api/v1/documents/{made['id']}", client)
    assert status == 200 and opened["head_number"] == 0 and opened["kind"] == "agreement"

    # The client comments on a part of the plan: 204 with no body, and it is listed.
    comment = {"section_key": "what_matters", "version_number": 1, "body": "Yes, that is me."}
    request = Request(
        f"{gunicorn_url}/api/v1/documents/{plan}/comments",
        data=json.dumps(comment).encode(),
        headers={"Authorization": f"Bearer {client}", "Content-Type": "application/json"},
        method="POST",
    )
    with urlopen(request, timeout=60) as answer:
        assert answer.status == 204 and answer.read() == b""
        assert "Content-Type" not in answer.headers and "Set-Cookie" not in answer.headers
    with db.read() as s:
        assert s.execute(
            sa.select(Comment.author_id, Comment.section_key, Comment.version_number, Comment.body)
            .where(Comment.document_id == plan)
        ).all() == [(circle.client.id, "what_matters", 1, "Yes, that is me.")]  # fmt: skip
    status, _, listed = api_call(gunicorn_url, "GET", f"/api/v1/documents/{plan}/comments", worker)
    assert status == 200 and [c["body"] for c in listed["items"]] == ["Yes, that is me."]

    # The client declines version 1 with a reason. A wrong password records nothing.
    decline = f"/api/v1/documents/{plan}/versions/1/decline"
    because = "Not the part about my mum."
    status, _, refused = api_call(
        gunicorn_url, "POST", decline, client, {"password": "not mine", "reason": because}
    )
    assert status == 422 and "password" in refused["error"]["fields"]
    assert _count(db, SignatureRecord.document_id == plan) == 0
    status, _, result = api_call(
        gunicorn_url, "POST", decline, client, {"password": PASSWORD, "reason": because}
    )
    assert status == 200, result
    assert sorted(result.pop("waiting_for")) == [
        "client",
        "key_worker",
    ]  # a decline agrees to nothing
    assert result == {
        "document_id": plan,
        "version_number": 1,
        "outcome": "declined",
        "state": "declined",
        "agreed_version": None,
    }
    with db.read() as s:
        assert s.execute(
            sa.select(
                SignatureRecord.user_id, SignatureRecord.outcome, SignatureRecord.comment,
                SignatureRecord.method,
            ).where(SignatureRecord.document_id == plan)
        ).all() == [(circle.client.id, "declined", because, "password re-entered")]  # fmt: skip
        assert s.scalar(sa.select(Document.signoff_state).where(Document.id == plan)) == "declined"
    # Declined once is declined: a second try is a conflict, and still one record.
    status, _, again = api_call(
        gunicorn_url, "POST", decline, client, {"password": PASSWORD, "reason": because}
    )
    assert status == 409, again
    assert _count(db, SignatureRecord.document_id == plan) == 1


# --- an access token made: its secret shown once, and a reload makes no other -----------------


class _NoRedirect(HTTPRedirectHandler):
    """A browser's view of the answer itself, before it follows the redirect."""

    def redirect_request(self, *args, **kwargs):
        return None


def _signed_in_with_a_readable_cookie(monkeypatch, request):
    """A client signed in over HTTP to a gunicorn whose session cookie the test can read."""
    monkeypatch.setenv("SECRET_KEY", KEY)  # before gunicorn starts: it signs the cookie
    url = request.getfixturevalue("gunicorn_url")
    person = ClientFactory()
    browser = Browser(url)
    browser.sign_in(person)
    return url, person, browser


def test_a_token_is_made_once_and_its_secret_shown_once_after_a_redirect_over_http(
    db, monkeypatch, request
):
    url, person, browser = _signed_in_with_a_readable_cookie(monkeypatch, request)
    page = browser.get("/me/tokens").read().decode()
    last_day = (service_today() + timedelta(days=30)).isoformat()
    form = {"name": "My phone", "scopes": "read", "expires_on": last_day}
    form["csrf_token"] = CSRF.search(page).group(1)

    # The POST answers with a redirect (no page a reload would send again)...
    posting = build_opener(HTTPCookieProcessor(_jar(browser)), _NoRedirect)
    status, _ = refused(lambda: posting.open(url + "/me/tokens", urlencode(form).encode()))
    assert status in (302, 303)
    assert _count(db, ApiToken.user_id == person.id) == 1

    # ...to the page that shows the secret, this once.
    shown = browser.get("/me/tokens").read().decode()
    secret = re.search(r'<code class="words new-token">([^<]+)</code>', shown).group(1)
    assert "My phone" in shown
    with db.read() as s:
        assert s.scalar(sa.select(ApiToken.token_hash)) == token_hash(secret)
        assert secret not in repr(s.execute(sa.select(ApiToken.__table__)).all())
    assert secret not in str(_serializer().loads(_session_cookie(browser).value))

    # Reloading it makes no token and shows no secret; the token works.
    again = browser.get("/me/tokens").read().decode()
    assert secret not in again and "new-token" not in again and "My phone" in again
    assert _count(db, ApiToken.user_id == person.id) == 1
    assert api_call(url, "GET", "/api/v1/reminders", secret)[0] == 200


# --- backup codes: shown once after a redirect, and a reload sends no form again ---------------


def test_the_second_step_turned_on_shows_its_backup_codes_once_after_a_redirect_over_http(
    db, monkeypatch, request
):
    url, person, browser = _signed_in_with_a_readable_cookie(monkeypatch, request)
    page = browser.get("/me/second-factor").read().decode()
    secret = re.search(r'name="secret" value="([A-Z2-7]{32})"', page).group(1)
    form = {"secret": secret, "code": pyotp.TOTP(secret).now(), "password": PASSWORD}
    form["csrf_token"] = CSRF.search(page).group(1)

    # The POST answers with a redirect (no page a reload would send again, its code used up)...
    posting = build_opener(HTTPCookieProcessor(_jar(browser)), _NoRedirect)
    status, _ = refused(lambda: posting.open(url + "/me/second-factor", urlencode(form).encode()))
    assert status in (302, 303)
    carried = str(_serializer().loads(_session_cookie(browser).value))

    # ...to the page that shows the codes, this once.
    path, shown = landed(browser.get("/me/second-factor/backup-codes"))
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", shown)
    assert len(set(codes)) == 10 and "The second step is on." in shown
    assert not any(code in carried for code in codes)  # across the cookie encrypted
    with db.read() as s:
        kept = s.execute(sa.select(BackupCode.__table__)).all()
    assert len(kept) == 10 and not any(code in repr(kept) for code in codes)

    # Reloading it sends no form and shows no codes: a plain message, and the codes work.
    again = browser.get("/me/second-factor/backup-codes")
    text = again.read().decode()
    assert again.status == 200 and not any(code in text for code in codes)
    assert "Backup codes are shown only once" in text
    assert _count(db, BackupCode.user_id == person.id) == 10
    assert second_factor.status(db, actor_for(person)).on


def test_new_codes_and_a_new_token_wait_for_their_pages_while_other_pages_load_over_http(
    db, monkeypatch, request
):
    """Two tabs: one turns the second step on, the other makes a token, and other pages load
    in both before either secret's page does. Each secret waits for its own page, shown there
    once; the pages between show neither."""
    url, person, browser = _signed_in_with_a_readable_cookie(monkeypatch, request)
    posting = build_opener(HTTPCookieProcessor(_jar(browser)), _NoRedirect)
    page = browser.get("/me/second-factor").read().decode()
    secret = re.search(r'name="secret" value="([A-Z2-7]{32})"', page).group(1)
    form = {"secret": secret, "code": pyotp.TOTP(secret).now(), "password": PASSWORD}
    form["csrf_token"] = CSRF.search(page).group(1)
    status, _ = refused(lambda: posting.open(url + "/me/second-factor", urlencode(form).encode()))
    assert status in (302, 303)

    # The other tab: the home page, then the token form, then the home page again.
    home, elsewhere = landed(browser.get("/"))
    assert "The second step is on" not in elsewhere and "<code>" not in elsewhere
    page = browser.get("/me/tokens").read().decode()
    last_day = (service_today() + timedelta(days=30)).isoformat()
    form = {"name": "My phone", "scopes": "read", "expires_on": last_day}
    form["csrf_token"] = CSRF.search(page).group(1)
    status, _ = refused(lambda: posting.open(url + "/me/tokens", urlencode(form).encode()))
    assert status in (302, 303)
    path, elsewhere = landed(browser.get("/"))
    assert path == home and "new-token" not in elsewhere and "<code>" not in elsewhere

    shown = browser.get("/me/tokens").read().decode()
    [token] = re.findall(r'<code class="words new-token">([^<]+)</code>', shown)
    assert api_call(url, "GET", "/api/v1/reminders", token)[0] == 200
    assert "new-token" not in browser.get("/me/tokens").read().decode()  # reloaded

    path, shown = landed(browser.get("/me/second-factor/backup-codes"))
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", shown)
    assert len(set(codes)) == 10 and "The second step is on." in shown
    with db.read() as s:
        kept = s.execute(sa.select(BackupCode.__table__)).all()
    assert len(kept) == 10 and not any(code in repr(kept) for code in codes)
    again = browser.get("/me/second-factor/backup-codes").read().decode()  # reloaded
    assert "Backup codes are shown only once" in again and "<code>" not in again
    assert "carried_secrets" not in _serializer().loads(_session_cookie(browser).value)


# --- messages, the idle warning, the second step and a forgotten password ----------------------


KEY = secrets.token_urlsafe(48)


def _serializer():
    """Flask's own signing of the session cookie, with the key gunicorn was given."""
    signer = Flask(__name__)
    signer.secret_key = KEY
    return SecureCookieSessionInterface().get_signing_serializer(signer)


def _jar(browser: Browser) -> CookieJar:
    return next(h.cookiejar for h in browser.opener.handlers if isinstance(h, HTTPCookieProcessor))


def _session_cookie(browser: Browser):
    [cookie] = [c for c in _jar(browser) if c.name == "session"]
    return cookie


def _keep_alive(browser: Browser, page_url: str, page: str):
    """What idle.js sends when "Stay signed in" is pressed: fetch() POSTing a FormData of the
    page's first csrf_token, with the cookies, as a browser sends it (and with the same
    User-Agent as the rest of the session: the session is bound to it)."""
    boundary = "----WebKitFormBoundary" + secrets.token_hex(8)
    token = CSRF.search(page).group(1)
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{token}\r\n--{boundary}--\r\n"
    ).encode()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(browser.base))
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Accept": "*/*",
        "Origin": origin,
        "Referer": page_url,
        "Sec-Fetch-Site": "same-origin",
        "Sec-Fetch-Mode": "cors",
        "Sec-Fetch-Dest": "empty",
    }
    url = browser.base + re.search(r'data-keep-alive-url="([^"]+)"', page).group(1)
    return browser.opener.open(Request(url, data=body, headers=headers, method="POST"), timeout=60)


def test_messages_are_read_the_session_is_kept_a_second_step_removed_and_a_link_asked_for(
    app, db, monkeypatch, request, tmp_path
):
    monkeypatch.setenv("SECRET_KEY", KEY)  # to read and age the session cookie gunicorn signs
    url = request.getfixturevalue("gunicorn_url")

    # --- Messages: one marked read from its own button, then the rest at once.
    person, someone_else = ClientFactory(), ClientFactory()
    first, second = (
        NotificationFactory(user_id=person.id, text=text)
        for text in ("Your review is due soon.", "Kim signed version 2.")
    )
    theirs = NotificationFactory(user_id=someone_else.id, text="Not yours.")
    browser = Browser(url)
    browser.sign_in(person)
    assert "You have 2 new messages." in browser.get("/").read().decode()
    page = browser.get("/me/notifications").read().decode()
    ids = re.findall(r'name="notification_id" value="(\d+)"', page)
    assert sorted(ids) == sorted([str(first.id), str(second.id)])
    path, page = landed(browser.post("/me/notifications/read", {"notification_id": first.id}, page))
    assert path == "/me/notifications"
    assert re.findall(r'name="notification_id" value="(\d+)"', page) == [str(second.id)]
    assert page.count('<strong class="tag">New</strong>') == 1 and "Mark all as read" in page
    with db.read() as s:
        read = dict(s.execute(sa.select(Notification.id, Notification.read_at)).all())
    assert read[first.id] is not None and read[second.id] is None and read[theirs.id] is None
    path, page = landed(browser.post("/me/notifications/read", {}, page))
    assert path == "/me/notifications"
    assert "Mark all as read" not in page and '<strong class="tag">New</strong>' not in page
    assert "Your review is due soon." in page and "Kim signed version 2." in page
    with db.read() as s:
        read = dict(s.execute(sa.select(Notification.id, Notification.read_at)).all())
    assert None not in (read[first.id], read[second.id]) and read[theirs.id] is None
    assert "new message" not in browser.get("/").read().decode()

    # --- "Stay signed in": the idle clock starts again, with no redirect (the script takes a
    # redirect for a sign-out). Sent once the clock had 14 of its 15 minutes gone.
    serializer = _serializer()
    account = f"{url}/me/account"
    page = browser.get("/me/account").read().decode()
    assert 'data-idle-seconds="900"' in page
    cookie = _session_cookie(browser)
    state = serializer.loads(cookie.value)
    state["last_seen"] = time.time() - 14 * 60
    cookie.value = serializer.dumps(state)
    with _keep_alive(browser, account, page) as kept:
        assert (kept.status, kept.url, kept.read()) == (204, f"{url}/session/keep-alive", b"")
        # The script counts down again from what the server says is left: the full 15
        # minutes and the 15 seconds the session may go unrecorded.
        assert kept.headers["Idle-Seconds-Left"] == "915"
    restarted = serializer.loads(_session_cookie(browser).value)
    assert restarted["last_seen"] > time.time() - 60
    with browser.get("/me/account") as again:  # still signed in, the time not written again
        assert urlsplit(again.url).path == "/me/account"
        assert again.headers["Set-Cookie"] is None
        left = int(again.headers["Idle-Seconds-Left"])
        assert 900 <= left <= 915 and f'data-idle-seconds-left="{left}"' in again.read().decode()
    # Past the idle time, the same request finds the session over: signed out, and redirected
    # to sign in, which the script follows.
    page = browser.get("/me/account").read().decode()
    cookie = _session_cookie(browser)
    state = serializer.loads(cookie.value)
    state["last_seen"] = time.time() - 16 * 60
    cookie.value = serializer.dumps(state)
    with _keep_alive(browser, account, page) as out:
        assert urlsplit(out.url).path == "/login"
        assert "You were signed out because the page was left for a while." in out.read().decode()
    assert urlsplit(browser.get("/me/account").url).path == "/login"

    # --- An administrator turns off the second step of someone who lost their phone.
    circle = Circle()
    plan = make_plan(circle.key_worker, circle.client)
    setup = second_factor.begin(db, actor_for(circle.client), "careplan")
    code = pyotp.TOTP(setup.secret).now()
    second_factor.turn_on(db, actor_for(circle.client), setup.secret, code, PASSWORD)
    assert _count(db, BackupCode.user_id == circle.client.id) == 10
    client = Browser(url)
    client.sign_in(circle.client)
    assert 'autocomplete="one-time-code"' in client.get(f"/documents/{plan}").read().decode()
    admin = Browser(url)
    admin.sign_in(circle.admin)
    account = f"/admin/users/{circle.client.id}"
    page = admin.get(account).read().decode()
    assert "Turn off their second step when signing" in page
    # The first tap only asks to confirm it, and why.
    path, page = landed(admin.post(f"{account}/second-factor", {}, page))
    assert path == f"{account}/second-factor" and "Yes, turn off their second step" in page
    assert _count(db, BackupCode.user_id == circle.client.id) == 10
    confirmed = {"confirm": "yes", "reason": "Lost their phone"}
    path, page = landed(admin.post(f"{account}/second-factor", confirmed, page))
    assert path == account
    assert "The second step is off. They sign with their password until they set it up" in page
    assert "Turn off their second step when signing" not in page
    with db.read() as s:
        user = s.get(User, circle.client.id)
        assert (user.second_factor_secret, user.second_factor_since) == (None, None)
        removed_by = sa.select(AuditEvent.actor_id, AuditEvent.object_id).where(
            AuditEvent.action == "user.second_factor_removed"
        )
        assert s.execute(removed_by).all() == [(circle.admin.id, circle.client.id)]
        assert s.scalar(
            sa.select(AuditEvent.detail).where(AuditEvent.action == "user.second_factor_removed")
        ) == {"reason": "Lost their phone"}
        assert ("second_factor_off", circle.client.email) in s.execute(
            sa.select(AccountEmail.kind, AccountEmail.to_address).where(
                AccountEmail.recipient_id == circle.client.id
            )
        ).all()
    assert _count(db, BackupCode.user_id == circle.client.id) == 0
    # The client signs with their password alone now.
    page = client.get(f"/documents/{plan}").read().decode()
    assert 'autocomplete="one-time-code"' not in page
    sign = {"outcome": "signed", "password": PASSWORD, "confirm_blank": "yes"}
    path, page = landed(client.post(f"/documents/{plan}/versions/1/sign", sign, page))
    assert path == f"/documents/{plan}" and "You signed version 1." in page
    with db.read() as s:
        methods = s.scalars(
            sa.select(SignatureRecord.method).where(SignatureRecord.user_id == circle.client.id)
        ).all()
    assert methods == ["password re-entered"]

    # --- A forgotten password: the same answer for an address with an account and one
    # without; only the account gets a link (printed in the log: no mail server is set).
    anyone = Browser(url)
    form = anyone.get("/forgot-password").read().decode()
    answers = {}
    for address in (person.email.upper(), "nobody@example.org"):
        with anyone.post("/forgot-password", {"email": address}, form) as answer:
            assert (answer.status, urlsplit(answer.url).path) == (200, "/forgot-password")
            shown = answer.read().decode()
        assert f"If there is an account for <strong>{address}</strong>" in shown
        answers[address] = CSRF.sub("csrf", shown.replace(address, "X"))
    assert answers[person.email.upper()] == answers["nobody@example.org"]
    # The account is looked up and its link made after the answer (so the answer takes as
    # long either way), and its e-mail written to the log after that, from a thread of its own.
    log = tmp_path / "gunicorn.log"
    mail = re.compile(rf"To: {re.escape(person.email)}\n.*?(/set-password/[\w-]+)", re.S)
    deadline = time.monotonic() + 10
    while not (sent := mail.search(log.read_text())):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)
    with db.read() as s:
        assert s.execute(
            sa.select(PasswordLink.user_id, PasswordLink.purpose, PasswordLink.used_at)
        ).all() == [(person.id, "reset", None)]
    assert "To: nobody@example.org" not in log.read_text()
    assert "Choose a new password" in Browser(url).get(sent.group(1)).read().decode()


# --- a key worker saving over the client's change to their words ------------------------------


def test_a_workers_save_over_the_clients_change_is_listed_for_the_client_to_sign_over_http(
    app, db, gunicorn_url
):
    """Kim wrote the part; Alex changed it while Kim had the edit page open; Kim saves, is
    shown the conflict page, and saves from it with Kim's own wording over Alex's. Alex's words
    are kept beside Kim's, and Alex's sign form lists the part."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)  # Kim's words: "I live with my sister…"
    worker = Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    kims_page = worker.get(f"/documents/{doc}/edit").read().decode()

    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    _edits(client, doc, {"domains-housing-own_words": "My sister's sofa, for now."})

    form = dict(DocumentForm(kims_page).fields)
    form["domains-housing-own_words"] = "Staying with family."
    status, conflict = refused(lambda: worker.post(f"/documents/{doc}/edit", form, kims_page))
    assert status == 409 and "A newer version was saved while you were editing" in conflict
    again = dict(DocumentForm(conflict).fields)
    assert again["domains-housing-own_words"] == "Staying with family."  # Kim's wording kept
    path, _ = landed(worker.post(f"/documents/{doc}/edit", again, conflict))
    assert path == f"/documents/{doc}"

    with db.read() as s:
        latest = s.scalars(
            sa.select(Version).where(Version.document_id == doc).order_by(Version.number.desc())
        ).first()
    housing = latest.content["domains"]["housing"]
    assert latest.number == 3 and housing["own_words"] == "Staying with family."
    assert housing["changers_words"] == [
        {
            "by": {"id": circle.client.id, "name": circle.client.display_name, "role": "client"},
            "words": {"own_words": "My sister's sofa, for now."},
        }
    ]

    page = client.get(f"/documents/{doc}").read().decode()
    listed = re.search(r'<div class="notice" id="changed-words">(.*?)</div>', page, re.DOTALL)
    assert listed, "the sign form does not list the part"
    assert re.search(
        rf"My life, in my own words — Housing: last changed by {circle.key_worker.display_name}",
        listed.group(1),
    ), listed.group(1)
    earlier = re.search(r'<details class="earlier">(.*?)</details>', page, re.DOTALL)
    assert earlier and "What you wrote before" in earlier.group(1)
    assert "My sister&#39;s sofa, for now." in earlier.group(1)


# --- a key worker taking out a step the client wrote -------------------------------------------


def test_a_step_the_worker_takes_out_is_kept_and_listed_for_the_client_to_sign_over_http(
    app, db, gunicorn_url
):
    """Alex wrote a step; Kim empties it on the edit page, which takes it out. The version
    keeps the step's words, who wrote it and who took it out; Alex's sign form lists it, and
    the page shows it under its goal."""
    circle = Circle()
    doc = make_plan(circle.client)  # Alex's step: "Call the council"
    worker = Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    _edits(worker, doc, {"goals-0-steps-0-text": "", "goals-0-steps-0-due": ""})

    with db.read() as s:
        latest = s.scalars(
            sa.select(Version).where(Version.document_id == doc).order_by(Version.number.desc())
        ).first()
    goal = latest.content["goals"][0]
    assert latest.number == 2 and goal["steps"] == []
    alex = {"id": circle.client.id, "name": circle.client.display_name, "role": "client"}
    kim = circle.key_worker
    [record] = goal["removed_items"]
    assert (record["item"], record["section"], record["words"]["text"]) == (
        "step",
        "goals",
        "Call the council",
    )
    assert record["written_by"] == alex and record["tell"] == [alex]
    assert record["removed_by"] == {"id": kim.id, "name": kim.display_name, "role": "key_worker"}

    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    page = client.get(f"/documents/{doc}").read().decode()
    listed = re.search(r'<div class="notice" id="taken-out">(.*?)</div>', page, re.DOTALL)
    assert listed, "the sign form does not list what was taken out"
    assert f"Goals and steps: {kim.display_name} took out a step you wrote" in listed.group(1)
    shown = re.search(r'<details class="earlier taken-out">(.*?)</details>', page, re.DOTALL)
    assert shown and "Call the council" in shown.group(1) and "you wrote it" in shown.group(1)


def test_the_client_puts_back_the_step_the_worker_took_out_over_http(app, db, gunicorn_url):
    """Kim takes out Alex's step; Alex presses "Put it back" beside it. A new version has the
    step back with its own id, credited to Alex; the note and the sign form's line are gone;
    the button pressed again on the old page changes nothing and says it is back."""
    circle = Circle()
    doc = make_plan(circle.client)  # Alex's step: "Call the council"
    worker = Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    _edits(worker, doc, {"goals-0-steps-0-text": "", "goals-0-steps-0-due": ""})
    with db.read() as s:
        taken = s.scalar(
            sa.select(Version.content).where(Version.document_id == doc, Version.number == 2)
        )
    [record] = taken["goals"][0]["removed_items"]

    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    page = client.get(f"/documents/{doc}").read().decode()
    button = f'action="/documents/{doc}/put-back/{record["id"]}"'
    assert button in page and 'name="base_version" value="2"' in page
    path, shown = landed(
        client.post(f"/documents/{doc}/put-back/{record['id']}", {"base_version": "2"}, page)
    )
    assert path == f"/documents/{doc}"
    assert "Put back: step “Call the council”. Saved as version 3." in shown
    assert 'id="taken-out"' not in shown and "taken-out" not in shown and button not in shown

    with db.read() as s:
        latest = s.scalars(
            sa.select(Version).where(Version.document_id == doc).order_by(Version.number.desc())
        ).first()
    [step] = latest.content["goals"][0]["steps"]
    alex = {"id": circle.client.id, "name": circle.client.display_name, "role": "client"}
    assert latest.number == 3 and latest.author_id == circle.client.id
    assert latest.change_note == "Put back the step: Call the council"
    assert (step["id"], step["text"], step["written_by"], step["changed_by"]) == (
        record["id"], "Call the council", alex, alex,
    )  # fmt: skip
    assert "removed_items" not in latest.content["goals"][0]

    # Pressed again from the page as it was: it is back, as asked, and nothing more is saved.
    path, shown = landed(
        client.post(f"/documents/{doc}/put-back/{record['id']}", {"base_version": "2"}, page)
    )
    assert path == f"/documents/{doc}" and "nothing was put back" not in shown
    assert "Put back: step “Call the council”. It is in version 3." in shown
    assert _count(db, Version.document_id == doc) == 3


# --- a care team member listed before members said who listed them ---------------------------


def test_a_member_listed_before_is_kept_for_who_listed_them_and_put_back_over_http(
    app, db, gunicorn_url
):
    """Alex listed Dr Patel in a version saved before members said who listed them. Kim
    empties Dr Patel's boxes on the edit page, which takes them out: the versions show Alex
    listed them, so they are kept for Alex (not taken as Kim's own), and Alex puts them back
    with the button, credited to Alex. The version Alex listed them in is as it was."""
    circle = Circle()
    with saved_before_care_team_credit():
        doc = make_plan(circle.client)  # Alex's care team: "Dr Patel", GP
    with db.read() as s:
        first = s.scalar(
            sa.select(Version.content).where(Version.document_id == doc, Version.number == 1)
        )
    assert "written_by" not in first["care_team"][0]
    worker = Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    _edits(worker, doc, {"care_team-0-name": "", "care_team-0-role": ""})

    with db.read() as s:
        versions = s.scalars(
            sa.select(Version).where(Version.document_id == doc).order_by(Version.number)
        ).all()
    alex = {"id": circle.client.id, "name": circle.client.display_name, "role": "client"}
    kim = circle.key_worker
    assert [v.number for v in versions] == [1, 2] and versions[0].content == first
    assert versions[1].content["care_team"] == []
    [record] = versions[1].content["removed_items"]
    assert (record["item"], record["section"], record["words"]["name"]) == (
        "person", "care_team", "Dr Patel",
    )  # fmt: skip
    assert record["written_by"] == alex and record["tell"] == [alex]
    assert record["removed_by"] == {"id": kim.id, "name": kim.display_name, "role": "key_worker"}

    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    page = client.get(f"/documents/{doc}").read().decode()
    listed = re.search(r'<div class="notice" id="taken-out">(.*?)</div>', page, re.DOTALL)
    assert listed and f"My care team: {kim.display_name} took out someone you listed" in (
        listed.group(1)
    )
    path, shown = landed(
        client.post(f"/documents/{doc}/put-back/{record['id']}", {"base_version": "2"}, page)
    )
    assert path == f"/documents/{doc}"
    assert "Put back: person “Dr Patel”. Saved as version 3." in shown
    with db.read() as s:
        latest = s.scalars(
            sa.select(Version).where(Version.document_id == doc, Version.number == 3)
        ).one()
    [member] = latest.content["care_team"]
    assert (member["id"], member["name"], member["role"]) == (record["id"], "Dr Patel", "GP")
    assert (member["written_by"], member["changed_by"]) == (alex, alex)
    assert "removed_items" not in latest.content


# --- a save after moving to another network ----------------------------------------------------


def test_a_save_sent_from_another_network_address_is_saved_over_http(app, db, gunicorn_url):
    """A phone that leaves Wi-Fi for mobile data between opening the edit page and pressing
    save: the same browser and cookie from a new address (127.0.0.2 instead of 127.0.0.1)."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    page = client.get(f"/documents/{doc}/edit").read().decode()
    form = dict(DocumentForm(page).fields)
    form["what_matters-text"] = "Written at home, saved on the bus."

    client.move_to("127.0.0.2")
    path, page = landed(client.post(f"/documents/{doc}/edit", form, page))

    assert path == f"/documents/{doc}"
    assert "Written at home, saved on the bus." in page
    with db.read() as s:
        latest = s.scalars(
            sa.select(Version).where(Version.document_id == doc).order_by(Version.number.desc())
        ).first()
        saved_from = s.scalar(
            sa.select(AuditEvent.ip)
            .where(AuditEvent.action == "document.edit", AuditEvent.object_id == doc)
            .order_by(AuditEvent.id.desc())
        )
    assert latest.content["what_matters"]["text"] == "Written at home, saved on the bus."
    assert saved_from == "127.0.0.2"  # the app saw the new address


def test_a_workers_change_keeps_the_clients_words_and_a_long_comment_is_kept_over_http(
    app, db, gunicorn_url
):
    """The key worker rewrites the client's words through the edit form: the client's page
    shows what they wrote beside the change. The client's comment, too long, is refused with
    its words given back in the form, and nothing is stored."""
    circle = Circle()
    doc = make_plan(circle.client)  # the client's own words: "I live with my sister for now."
    worker = Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    _edits(worker, doc, {"domains-housing-own_words": "Staying with family."})

    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    page = client.get(f"/documents/{doc}").read().decode()
    earlier = re.search(r'<details class="earlier">(.*?)</details>', page, re.DOTALL)
    assert earlier and "What you wrote before" in earlier.group(1)
    assert "I live with my sister for now." in earlier.group(1)

    body = "Please ask me before you change my words. " * 80
    status, answer = refused(
        lambda: client.post(
            f"/documents/{doc}/comments",
            {"section_key": "domains", "version_number": "2", "body": body},
            page,
        )
    )
    assert status == 422 and "Nothing was lost" in answer
    given_back = re.search(r'<textarea id="body-domains"[^>]*>(.*?)</textarea>', answer, re.DOTALL)
    assert given_back and given_back.group(1) == body
    assert _count(db, Comment.document_id == doc) == 0


# --- an administrator renames a team, and closes an account once it is confirmed ----------------


def test_a_team_is_renamed_and_an_account_closed_once_confirmed_over_http(app, db, gunicorn_url):
    circle = Circle()
    south = Circle().team
    admin = Browser(gunicorn_url)
    admin.sign_in(circle.admin)

    # A name another team has, in other capitals, is refused as the same name is.
    page = admin.get("/admin/teams").read().decode()
    status, said = refused(lambda: admin.post("/admin/teams", {"name": south.name.upper()}, page))
    assert status == 400 and f"There is already a team called “{south.name}”." in said

    # The team is renamed from its own page; its people and supervisor stay with it.
    team = f"/admin/teams/{circle.team.id}"
    page = admin.get(team).read().decode()
    status, said = refused(lambda: admin.post(team, {"name": f" {south.name.lower()} "}, page))
    assert status == 400 and f"There is already a team called “{south.name}”." in said
    path, page = landed(admin.post(team, {"name": "Riverside team"}, page))
    assert path == "/admin/teams" and "Team renamed." in page and "Riverside team" in page
    with db.read() as s:
        assert s.get(Team, circle.team.id).name == "Riverside team"
        assert s.get(User, circle.key_worker.id).team_id == circle.team.id
        assert s.scalar(
            sa.select(AuditEvent.detail).where(
                AuditEvent.action == "team.rename", AuditEvent.object_id == circle.team.id
            )
        ) == {"from": circle.team.name, "to": "Riverside team"}

    # Closing an account: the first tap only asks, and why. (A client who has left the
    # service: one a key worker still holds is refused.)
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved.", service_today())
    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    account = f"/admin/users/{circle.client.id}"
    page = admin.get(account).read().decode()
    path, page = landed(admin.post(f"{account}/active", {"active": "no"}, page))
    assert path == f"{account}/active" and "Yes, close this account" in page
    assert urlsplit(client.get("/").url).path != "/login"  # still signed in
    # Confirmed without a reason, it is asked again.
    confirmed = {"active": "no", "confirm": "yes"}
    status, said = refused(lambda: admin.post(f"{account}/active", confirmed, page))
    assert status == 422 and "why you are closing this account" in said
    with db.read() as s:
        assert s.get(User, circle.client.id).active is True
    confirmed["reason"] = "Moved to another service"
    path, page = landed(admin.post(f"{account}/active", confirmed, page))
    assert path == account and "The account is closed and signed out." in page
    assert urlsplit(client.get("/").url).path == "/login"
    with db.read() as s:
        assert s.get(User, circle.client.id).active is False
        assert s.scalar(
            sa.select(AuditEvent.detail).where(
                AuditEvent.action == "user.close", AuditEvent.object_id == circle.client.id
            )
        ) == {"reason": "Moved to another service"}
