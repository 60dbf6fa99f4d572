"""More state changes through gunicorn over plain HTTP (tests/gunicorn.py): the administrators'
pages (a team, an account whose owner chooses a password from the e-mailed link, corrections,
closing and reopening), an advocate invited and then stopped, the crisis plan put into effect,
answered and ended, self-referral requests checked against the agreed terms, an earlier review
and "reviewed, no changes", a review and a token counted in the service's own days, an unsaved
draft kept, carried on with and thrown away, and the second step when signing set up, used
once per code and turned off, and the e-mail about a changed password kept while the mail
server is down and sent once it is back. Every form is posted with its page's CSRF token;
every answer is checked where a browser lands, and in the database."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import urlopen
from zoneinfo import ZoneInfo

import pyotp
import pytest
import sqlalchemy as sa

from bench.document_form import DocumentForm
from careplan.db.models import (
    AccountEmail,
    AdvocateInvitation,
    AdvocateReviewRequest,
    ApiToken,
    CaseloadLink,
    Comment,
    ContingencyActivation,
    CrisisAlert,
    CrisisResponse,
    Document,
    EditDraft,
    Notification,
    PasswordLink,
    ReviewConfirmation,
    ReviewRequest,
    SelfReferralRequest,
    SignatureRecord,
    SupervisorTeam,
    Team,
    User,
    Version,
    utcnow,
)
from careplan.domain.local_time import long_date, service_today
from careplan.reminders import scheduler
from careplan.reminders.mail import SmtpMailer
from careplan.reminders.sender import send_pending
from careplan.services import leaving, scheduled_jobs, signoff
from careplan.services.accounts import actor_for
from careplan.services.reminders import ReminderSettings
from tests.factories import (
    PASSWORD,
    AdvocateFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    make_agreement,
    make_plan,
)
from tests.gunicorn import Browser, landed, refused
from tests.smtp import SECRET, USER, free_port, start_server

pytestmark = pytest.mark.slow

CHOSEN = "lantern willow copper field"
# Closing an account, as the form asking to confirm it sends it (its first tap only asks).
CLOSING = {"active": "no", "confirm": "yes", "reason": "Moved away"}


def _both_signed_in(url: str, circle: Circle) -> tuple[Browser, Browser]:
    """The client and their key worker, each signed in in a browser of their own."""
    client, worker = Browser(url), Browser(url)
    client.sign_in(circle.client)
    worker.sign_in(circle.key_worker)
    return client, worker


def _agreed(db, circle: Circle, doc: int) -> None:
    """Both parties sign version 1 (through the services: signing over HTTP is tested in
    test_plan_journey_over_http), leaving any empty key parts blank on purpose."""
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    with db.read() as s:
        assert s.scalar(sa.select(Document.signoff_state).where(Document.id == doc)) == "agreed"


@pytest.fixture
def mailing_gunicorn_url(smtp_server, monkeypatch, request):
    """gunicorn sending its e-mail to the test's SMTP server, as production does."""
    controller, inbox = smtp_server
    return _gunicorn_mailing_to(controller.port, monkeypatch, request), inbox


def _gunicorn_mailing_to(port: int, monkeypatch, request) -> str:
    for name, value in {
        "CAREPLAN_SMTP_HOST": "127.0.0.1",
        "CAREPLAN_SMTP_PORT": str(port),
        "CAREPLAN_SMTP_USE_TLS": "0",
        "CAREPLAN_SMTP_USERNAME": USER,
        "CAREPLAN_SMTP_PASSWORD": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    return request.getfixturevalue("gunicorn_url")


def _mail_to(inbox, address: str, subject: str | None = None, timeout: float = 10.0):
    """The last message to `address`, with that subject if one is given (sent from a background
    thread, after the page answered)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = [
            m for to, m in inbox.messages() if to == [address] and subject in (None, m["Subject"])
        ]
        if mails:
            return mails[-1]
        time.sleep(0.02)
    raise AssertionError(f"no e-mail to {address}")


def _set_password_link(body: str) -> str:
    return re.search(r"https?://[^/\s]+(/set-password/[A-Za-z0-9_-]+)", body).group(1)


def _password_chosen_from_email(url, inbox, address: str, subject: str | None = None):
    """The owner of `address` follows the link e-mailed to it and chooses CHOSEN, in a browser
    of their own; returns it, the page it lands on (signing in) and the link."""
    link = _set_password_link(_mail_to(inbox, address, subject).get_content())
    browser = Browser(url)
    page = browser.get(link).read().decode()
    chosen = {"password": CHOSEN, "password_again": CHOSEN}
    path, page = landed(browser.post(link, chosen, page))
    assert path == "/login" and "Your password is set." in page
    return browser, page, link


def test_an_administrator_makes_a_team_and_an_account_then_corrects_closes_and_reopens_accounts(
    db, mailing_gunicorn_url
):
    url, inbox = mailing_gunicorn_url
    circle = Circle()
    admin, someone = Browser(url), Browser(url)
    admin.sign_in(circle.admin)
    someone.sign_in(circle.client)

    # A new team, listed at once.
    page = admin.get("/admin/teams").read().decode()
    path, page = landed(admin.post("/admin/teams", {"name": "Riverside team"}, page))
    assert path == "/admin/teams" and "Team made." in page and "Riverside team" in page
    with db.read() as s:
        team = s.scalar(sa.select(Team.id).where(Team.name == "Riverside team"))
    assert team is not None

    # A key worker's account in it: the owner is e-mailed a link to choose a password.
    page = admin.get("/admin/users/new").read().decode()
    account = {"name": "Dee Novak", "email": "Dee@Example.org", "role": "key_worker"}
    path, page = landed(admin.post("/admin/users/new", {**account, "team_id": str(team)}, page))
    with db.read() as s:
        dee = s.scalar(sa.select(User).where(User.email == "dee@example.org"))
        links = s.execute(
            sa.select(PasswordLink.purpose, PasswordLink.used_at).where(
                PasswordLink.user_id == dee.id
            )
        ).all()
    assert path == f"/admin/users/{dee.id}" and "Dee Novak" in page
    assert "Account made. We have e-mailed dee@example.org a link" in page
    assert (dee.role, dee.team_id, dee.active) == ("key_worker", team, True)
    assert links == [("welcome", None)]

    # Dee chooses a password from the e-mail, and signs in with it.
    dee_browser, page, link = _password_chosen_from_email(url, inbox, "dee@example.org")
    signing_in = {"email": "dee@example.org", "password": CHOSEN}
    path, page = landed(dee_browser.post("/login", signing_in, page))
    assert path == "/" and "Signed in as Dee Novak, key worker" in page
    with db.read() as s:
        used = s.scalar(sa.select(PasswordLink.used_at).where(PasswordLink.user_id == dee.id))
    assert used is not None
    assert refused(lambda: Browser(url).get(link))[0] == 404  # the link works once

    # A link to choose a new password goes to the old address, then the administrator
    # corrects Dee's name and address: the link, in a mailbox that is not Dee's any more, is dead.
    page = admin.get(f"/admin/users/{dee.id}").read().decode()
    path, page = landed(admin.post(f"/admin/users/{dee.id}/password-link", {}, page))
    assert "We have e-mailed dee@example.org a link to choose a new password." in page
    body = _mail_to(inbox, "dee@example.org", "Choosing a new password").get_content()
    # Sent by the service, not asked for on the sign-in page: not "ignore it if not you".
    assert "The service has sent you a link to choose a new password" in body
    assert "we hope you" not in body and "you can ignore this e-mail" not in body
    old_link = _set_password_link(body)
    details = {"name": "Dee Novak-Reid", "email": "dee.reid@example.org", "team_id": str(team)}
    path, page = landed(admin.post(f"/admin/users/{dee.id}/details", details, page))
    assert path == f"/admin/users/{dee.id}" and "Saved." in page and "Dee Novak-Reid" in page
    assert refused(lambda: Browser(url).get(old_link))[0] == 404
    with db.read() as s:
        row = s.get(User, dee.id)
        assert (row.display_name, row.email) == ("Dee Novak-Reid", "dee.reid@example.org")
    # The old address is told, in case the change was not asked for.
    moved = _mail_to(inbox, "dee@example.org", "The e-mail address for your account was changed")
    assert "no longer signs in" in moved.get_content()
    # ... and the new one where to sign in from now on.
    here = _mail_to(inbox, "dee.reid@example.org", "Your account now uses this e-mail address")
    assert "sign in with this address" in here.get_content() and "/login" in here.get_content()

    # ... gives Dee to a client who has no key worker, and a supervisor to the new team.
    newcomer = ClientFactory()
    page = admin.get(f"/admin/users/{newcomer.id}").read().decode()
    given = {"key_worker_id": str(dee.id)}
    path, page = landed(admin.post(f"/admin/users/{newcomer.id}/key-worker", given, page))
    assert path == f"/admin/users/{newcomer.id}" and "Key worker given." in page
    assert "Key worker: Dee Novak-Reid." in page
    # Dee's account cannot be closed now: the newcomer's reminders would go nowhere. Her page
    # says so instead of offering to close it; a form sent anyway is refused.
    page = admin.get(f"/admin/users/{dee.id}").read().decode()
    assert "<bdi>Dee Novak-Reid</bdi> still has 1 client," in page
    assert "Close this account…" not in page
    status, page = refused(lambda: admin.post(f"/admin/users/{dee.id}/active", CLOSING, page))
    assert status == 400 and "Dee Novak-Reid still has 1 client," in page
    with db.read() as s:
        assert s.scalar(sa.select(User.active).where(User.id == dee.id)) is True
    page = admin.get(f"/admin/users/{circle.supervisor.id}").read().decode()
    supervise = {"team_id": str(team), "supervises": "yes"}
    path, page = landed(
        admin.post(f"/admin/users/{circle.supervisor.id}/supervision", supervise, page)
    )
    assert (
        path == f"/admin/users/{circle.supervisor.id}" and "Stop supervising Riverside team" in page
    )
    with db.read() as s:
        assert s.scalars(
            sa.select(CaseloadLink.key_worker_id).where(CaseloadLink.client_id == newcomer.id)
        ).all() == [dee.id]
        assert s.get(SupervisorTeam, (circle.supervisor.id, team)) is not None

    # A client a key worker still holds is not closed: they would leave the caseload list and
    # stay open to be written in. Once they have left the service, they are.
    page = admin.get(f"/admin/users/{circle.client.id}").read().decode()
    closing = f"/admin/users/{circle.client.id}/active"
    status, page = refused(lambda: admin.post(closing, CLOSING, page))
    worker = circle.key_worker.display_name
    assert status == 400 and f"still has a key worker, {html.escape(worker)}." in page
    with db.read() as s:
        assert s.scalar(sa.select(User.active).where(User.id == circle.client.id)) is True
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved.", service_today())

    # Closing an account signs its owner out at once, and nobody signs in with it.
    page = admin.get(f"/admin/users/{circle.client.id}").read().decode()
    path, page = landed(admin.post(f"/admin/users/{circle.client.id}/active", CLOSING, page))
    assert path == f"/admin/users/{circle.client.id}"
    assert "The account is closed and signed out." in page and "The account is closed:" in page
    with db.read() as s:
        assert s.scalar(sa.select(User.active).where(User.id == circle.client.id)) is False
    assert urlsplit(someone.get("/").url).path == "/login"
    fresh = Browser(url)
    login = fresh.get("/login").read().decode()
    signing_in = {"email": circle.client.email, "password": PASSWORD}
    status, told = refused(lambda: fresh.post("/login", signing_in, login))
    # The right password, so its owner is told why, and whom to ask.
    assert status == 403 and "This account has been closed by the service" in told
    assert "please ask the people you work with at the service" in told
    # A forgotten password: no link, but its mailbox is told the same.
    form = fresh.get("/forgot-password").read().decode()
    path, told = landed(fresh.post("/forgot-password", {"email": circle.client.email}, form))
    assert path == "/forgot-password" and "If there is an account for" in told
    closed = _mail_to(inbox, circle.client.email, "Your account is closed").get_content()
    assert "no password can be chosen for it" in closed and "/set-password/" not in closed

    # Reopened, it signs in again; and a link to choose a new password goes to its owner.
    path, page = landed(
        admin.post(f"/admin/users/{circle.client.id}/active", {"active": "yes"}, page)
    )
    assert path == f"/admin/users/{circle.client.id}" and "The account is open again." in page
    path, page = landed(admin.post(f"/admin/users/{circle.client.id}/password-link", {}, page))
    assert f"We have e-mailed {circle.client.email} a link to choose a new password." in page
    with db.read() as s:
        assert s.scalar(sa.select(User.active).where(User.id == circle.client.id)) is True
        assert s.scalars(
            sa.select(PasswordLink.purpose).where(PasswordLink.user_id == circle.client.id)
        ).all() == ["reset"]
    link = _mail_to(inbox, circle.client.email, "Choosing a new password").get_content()
    assert "/set-password/" in link
    path, _ = landed(fresh.post("/login", signing_in, login))
    assert path == f"/clients/{circle.client.id}"

    # An address mistyped, found only after the welcome link ran out: its owner, who never
    # chose a password, gets the welcome link again at the corrected address; the mistyped
    # one hears nothing more.
    page = admin.get("/admin/users/new").read().decode()
    account = {"name": "Fay Holt", "email": "fay@exmaple.org", "role": "client"}
    path, page = landed(admin.post("/admin/users/new", account, page))
    with db.write() as s:
        fay = s.scalar(sa.select(User.id).where(User.email == "fay@exmaple.org"))
        s.execute(
            sa.update(PasswordLink)
            .where(PasswordLink.user_id == fay)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    _mail_to(inbox, "fay@exmaple.org", "Your new account: choose a password")
    details = {"name": "Fay Holt", "email": "fay@example.org", "team_id": ""}
    path, page = landed(admin.post(f"/admin/users/{fay}/details", details, page))
    assert path == f"/admin/users/{fay}"
    assert "We have e-mailed fay@example.org a link to choose a password." in page
    welcome = "Your new account: choose a password"
    _password_chosen_from_email(url, inbox, "fay@example.org", welcome)
    with db.read() as s:
        told = s.scalars(sa.select(AccountEmail.kind).where(AccountEmail.recipient_id == fay))
        assert list(told) == []  # neither "your address changed" nor "sign in here now"
    assert [to for to, _ in inbox.messages()].count(["fay@exmaple.org"]) == 1


def test_an_account_reopened_before_its_first_password_is_e_mailed_the_welcome_link_again(
    db, mailing_gunicorn_url
):
    """Closing an account ends its links. Reopened before its owner chose a password, it gets
    a new welcome link by e-mail, which lets the owner choose one and sign in."""
    url, inbox = mailing_gunicorn_url
    admin = Browser(url)
    admin.sign_in(Circle().admin)
    page = admin.get("/admin/users/new").read().decode()
    account = {"name": "Noor Haddad", "email": "noor@example.org", "role": "client"}
    path, page = landed(admin.post("/admin/users/new", account, page))
    with db.read() as s:
        noor = s.scalar(sa.select(User.id).where(User.email == "noor@example.org"))
    first = _set_password_link(_mail_to(inbox, "noor@example.org").get_content())

    path, page = landed(admin.post(f"/admin/users/{noor}/active", CLOSING, page))
    assert path == f"/admin/users/{noor}" and "The account is closed and signed out." in page
    assert refused(lambda: Browser(url).get(first))[0] == 404
    path, page = landed(admin.post(f"/admin/users/{noor}/active", {"active": "yes"}, page))
    said = " ".join(page.split())
    assert path == f"/admin/users/{noor}" and "The account is open again." in said
    assert "We have e-mailed noor@example.org a link to choose a password." in said
    assert "It works for 7 days." in said

    deadline = time.monotonic() + 10
    while [to for to, _ in inbox.messages()].count(["noor@example.org"]) < 2:
        assert time.monotonic() < deadline, "no second e-mail to noor@example.org"
        time.sleep(0.02)
    welcome = "Your new account: choose a password"
    browser, page, link = _password_chosen_from_email(url, inbox, "noor@example.org", welcome)
    assert link != first
    signing_in = {"email": "noor@example.org", "password": CHOSEN}
    path, page = landed(browser.post("/login", signing_in, page))
    assert path == f"/clients/{noor}" and "Signed in as Noor Haddad" in page
    with db.read() as s:
        links = s.scalars(sa.select(PasswordLink.purpose).where(PasswordLink.user_id == noor))
        assert list(links) == ["welcome", "welcome"]
        assert s.scalars(sa.select(AccountEmail.kind)).all() == []  # a first password: no e-mail


def test_a_welcome_link_the_mail_server_cannot_take_is_said_not_sent(db, monkeypatch, request):
    """A mail server without SMTPUTF8 can never take an address with letters outside ASCII:
    gunicorn's answer and the account's page say the link was not sent, and why."""
    controller, inbox = start_server(smtputf8=False)
    try:
        url = _gunicorn_mailing_to(controller.port, monkeypatch, request)
        admin = Browser(url)
        admin.sign_in(Circle().admin)
        page = admin.get("/admin/users/new").read().decode()
        account = {"name": "José Ruiz", "email": "josé@example.org", "role": "client"}
        path, page = landed(admin.post("/admin/users/new", account, page))
        said = " ".join(page.split())
        assert "could not be e-mailed to josé@example.org. The mail server does not" in said
        assert "<strong>not sent</strong>, so nobody has it. The mail server does not" in said
        again = " ".join(admin.get(path).read().decode().split())
        assert "<strong>not sent</strong>" in again and "not used yet" not in again
        with db.read() as s:
            assert s.scalars(sa.select(PasswordLink.not_sent)).one().startswith("The mail")
        assert inbox.envelopes == []
    finally:
        controller.stop()


def test_without_a_mail_server_a_new_account_is_usable_from_the_link_in_the_log(
    db, gunicorn_url, tmp_path
):
    """A local run has no mail server: the link to choose a password is printed in the app's
    log (gunicorn's output), where whoever runs it can pass it on, and the page says so."""
    admin = Browser(gunicorn_url)
    admin.sign_in(Circle().admin)
    page = admin.get("/admin/users/new").read().decode()
    account = {"name": "Eve Lake", "email": "eve@example.org", "role": "client"}
    path, page = landed(admin.post("/admin/users/new", account, page))
    assert "No mail server is set, so the link to choose a password for eve@example.org was " in (
        " ".join(page.split())
    )
    log = tmp_path / "gunicorn.log"
    deadline = time.monotonic() + 10
    while not (found := re.search(r"(/set-password/[A-Za-z0-9_-]+)", log.read_text())):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)
    assert "To: eve@example.org" in log.read_text()
    eve = Browser(gunicorn_url)
    link = found.group(1)
    page = eve.get(link).read().decode()
    chosen = {"password": CHOSEN, "password_again": CHOSEN}
    path, page = landed(eve.post(link, chosen, page))
    assert path == "/login" and "Your password is set." in page
    path, page = landed(eve.post("/login", {"email": "eve@example.org", "password": CHOSEN}, page))
    assert "Signed in as Eve Lake" in page


def test_a_client_invites_an_advocate_who_reads_and_comments_until_the_client_stops_it(
    db, gunicorn_url
):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    ash = AdvocateFactory(display_name="Ash Advocate")
    client, advocate = Browser(gunicorn_url), Browser(gunicorn_url)
    client.sign_in(circle.client)
    advocate.sign_in(ash)
    assert refused(lambda: advocate.get(f"/documents/{doc}"))[0] == 404  # not invited yet

    # The client invites Ash, and asks their advocates (Ash and the one the circle has) to
    # look at version 1 before signing.
    page = client.get("/me/advocates").read().decode()
    invite = {"advocate_id": str(ash.id), "action": "invite"}
    path, page = landed(client.post("/me/advocates", invite, page))  # asked first
    assert f"Invite {ash.display_name}?" in page and "Your advocate can now" not in page
    assert refused(lambda: advocate.get(f"/documents/{doc}"))[0] == 404  # not yet
    path, page = landed(client.post("/me/advocates", {**invite, "confirm": "yes"}, page))
    assert path == "/me/advocates" and "Your advocate can now read your plans" in page
    page = client.get(f"/documents/{doc}").read().decode()
    path, page = landed(client.post(f"/documents/{doc}/versions/1/ask-advocate", {}, page))
    assert path == f"/documents/{doc}"
    assert "Your 2 advocates have been asked to look at this version before you sign." in page

    # Ash's start page says what the client asked, leading to the plan's signatures, and that
    # there is a message, which leads to the plan too.
    home = advocate.get("/").read().decode()
    assert "You have 1 new message." in home and f'href="/documents/{doc}#sign-off"' in home
    assert "asked you to look at version 1 of their care plan before they sign it." in home
    page = advocate.get("/me/notifications").read().decode()
    assert "asked you to look at version 1 of their care plan before they sign it" in page
    assert f'href="/documents/{doc}"' in page
    # Ash reads the plan, sees they were asked, and comments.
    page = advocate.get(f"/documents/{doc}").read().decode()
    assert "Being listened to (revision 1)." in page
    assert "asked you to look at version 1 before they sign" in page
    assert f"/documents/{doc}/versions/1/sign" not in page  # never signs
    assert f"/documents/{doc}/edit" not in page  # nor changes it
    section = re.search(r'name="section_key" value="([^"]+)"', page).group(1)
    comment = {"section_key": section, "version_number": "1", "body": "Ask about the flat too."}
    path, page = landed(advocate.post(f"/documents/{doc}/comments", comment, page))
    assert path == f"/documents/{doc}" and "Ask about the flat too." in page
    with db.read() as s:
        assert s.scalar(sa.select(Comment.author_id).where(Comment.document_id == doc)) == ash.id
        assert sorted(
            s.scalars(
                sa.select(AdvocateReviewRequest.advocate_id).where(
                    AdvocateReviewRequest.document_id == doc
                )
            )
        ) == sorted([circle.advocate.id, ash.id])
    # The client is told there is a comment, on their start page and in Messages.
    assert "You have 1 new message." in client.get("/").read().decode()
    page = client.get("/me/notifications").read().decode()
    assert "Ash Advocate, your advocate, commented on" in page
    assert f'href="/documents/{doc}#comments-{section}"' in page

    # Ash commented on it: the request is answered, nothing waits for Ash.
    assert "asked you to look" not in advocate.get("/").read().decode()

    # The client stops Ash's access: the plan is no longer there for Ash.
    page = client.get("/me/advocates").read().decode()
    revoke = {"advocate_id": str(ash.id), "action": "revoke"}
    path, page = landed(client.post("/me/advocates", revoke, page))
    assert path == "/me/advocates" and "Your advocate can no longer see your records." in page
    with db.read() as s:
        revoked = s.scalar(
            sa.select(AdvocateInvitation.revoked_at).where(
                AdvocateInvitation.client_id == circle.client.id,
                AdvocateInvitation.advocate_id == ash.id,
            )
        )
    assert revoked is not None
    assert refused(lambda: advocate.get(f"/documents/{doc}"))[0] == 404
    assert refused(lambda: advocate.get(f"/clients/{circle.client.id}"))[0] == 404
    assert "Ask about the flat too." in client.get(f"/documents/{doc}").read().decode()


def test_the_crisis_plan_is_put_into_effect_answered_and_ended_over_http(db, gunicorn_url):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    _agreed(db, circle, doc)
    client, worker = _both_signed_in(gunicorn_url, circle)
    crisis = f"/documents/{doc}/crisis-plan"
    today = service_today()

    # Longer than the agreement allows is refused, and nothing is started.
    page = client.get(crisis).read().decode()
    assert "Put the plan into effect" in page
    start = {
        "observed": "I have not slept for three nights.",
        "actions_taken": "I rang my sister.",
        "ends_on": (today + timedelta(days=30)).isoformat(),
    }
    code, refusal = refused(lambda: client.post(f"{crisis}/start", start, page))
    assert (
        code == 422 and "The agreement says this lasts at most 14 days: please choose " in refusal
    )

    # Within it, the plan is in effect and the key worker is asked to respond.
    ends_on = today + timedelta(days=5)
    start["ends_on"] = ends_on.isoformat()
    path, page = landed(client.post(f"{crisis}/start", start, page))
    assert path == crisis and "The plan for when you are not well is now in effect." in page
    assert "The plan is in effect now" in page and "I have not slept for three nights." in page
    assert "your key worker, or someone else in" in page
    with db.read() as s:
        activation = s.scalar(
            sa.select(ContingencyActivation).where(ContingencyActivation.document_id == doc)
        )
        assert (activation.started_by_id, activation.ends_on) == (circle.client.id, ends_on)
        assert activation.ended_at is None
        assert s.scalars(
            sa.select(CrisisAlert.kind).where(CrisisAlert.document_id == doc)
        ).all() == ["contingency"]
        assert s.scalars(
            sa.select(ReviewRequest.kind).where(ReviewRequest.document_id == doc)
        ).all() == ["post_crisis"]

    # The key worker responds; the client reads who did and what they said.
    page = worker.get(f"/documents/{doc}/respond").read().decode()
    answer = {"note": "I will phone you at 3pm."}
    path, answered = landed(worker.post(f"/documents/{doc}/responses", answer, page))
    assert path == f"/documents/{doc}/respond" and "Your response is recorded." in answered
    # The same page sent again (another tab): refused, the words given back.
    again = {"note": "On my way."}
    code, said = refused(lambda: worker.post(f"/documents/{doc}/responses", again, page))
    assert code == 409 and "Someone has already responded." in said
    assert "What you wrote was not sent: <span" in said and "On my way." in said
    assert "“I will phone you at 3pm.”" in client.get(crisis).read().decode()
    with db.read() as s:
        assert s.execute(sa.select(CrisisResponse.user_id, CrisisResponse.note)).all() == [
            (circle.key_worker.id, "I will phone you at 3pm.")
        ]
    # The client is told in a message too: they may not be looking at the page.
    worker_called = f"{circle.key_worker.display_name}, your key worker,"
    told = html.unescape(client.get("/me/notifications").read().decode())
    assert f"{worker_called} responded to your request for help. Read what they said." in told

    # A note too long is said, kept on the page, and ends nothing.
    page = worker.get(crisis).read().decode()
    code, refusal = refused(
        lambda: worker.post(f"{crisis}/end", {"end_note": "Long. " * 900}, page)
    )
    assert code == 422 and "Please keep this to 5,000 characters or fewer: it has " in refusal
    assert "Long. Long." in refusal
    with db.read() as s:
        assert s.get(ContingencyActivation, activation.id).ended_at is None

    # The key worker ends it; the page keeps the record, with its note.
    path, page = landed(worker.post(f"{crisis}/end", {"end_note": "Sleeping again."}, page))
    assert path == crisis and "The plan is no longer in effect." in page
    # With the day the look-back is due, not "now" (it is days away).
    assert re.search(r"The look-back meeting is due by \d{1,2} \w+ \d{4}\.", page)
    assert "The plan is in effect now" not in page and "“Sleeping again.”" in page
    assert "Put the plan into effect" in page
    with db.read() as s:
        ended = s.get(ContingencyActivation, activation.id)
        assert ended.ended_at is not None
        assert (ended.ended_by_id, ended.end_note) == (circle.key_worker.id, "Sleeping again.")
    told = html.unescape(client.get("/me/notifications").read().decode())
    assert f"{worker_called} ended the plan for when you are not well. Read what" in told
    # Where the client reads what they asked for, it is over, not running to its end date.
    for url in ("/", crisis):
        page = client.get(url).read().decode()
        assert "<dt>It ends on</dt>" not in page, url
        assert f"<dt>It is no longer in effect</dt><dd>{worker_called} ended it on" in page, url


def test_a_client_leaves_the_service_keeps_their_records_and_is_told_over_http(db, gunicorn_url):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    _agreed(db, circle, doc)
    client, worker = _both_signed_in(gunicorn_url, circle)
    records, leaving = f"/clients/{circle.client.id}", f"/clients/{circle.client.id}/leaving"
    assert f'href="{leaving}"' in worker.get(records).read().decode()

    # No note: said beside the field, nothing ended.
    page = worker.get(leaving).read().decode()
    code, refusal = refused(lambda: worker.post(leaving, {"note": " "}, page))
    assert code == 422 and "Please say why" in refusal

    # While a handover waits: said plainly, the note kept, nothing ended.
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    page = worker.get(f"{records}/handover").read().decode()
    worker.post(f"{records}/handover", {"to_worker_id": incoming.id, "note": "Mondays."}, page)
    page = worker.get(leaving).read().decode()
    note = {"note": "Finished the programme & moved to Leeds."}
    code, refusal = refused(lambda: worker.post(leaving, note, page))
    assert code == 400 and f"being handed over to {incoming.display_name}" in refusal
    assert "Finished the programme &amp; moved to Leeds." in refusal
    page = worker.get(records).read().decode()
    landed(worker.post(f"{records}/handover/cancel", {}, page))
    # The incoming worker, told it was starting, is told it was called off.
    with db.read() as s:
        told = s.scalar(
            sa.select(Notification.text)
            .where(Notification.user_id == incoming.id)
            .order_by(Notification.id.desc())
            .limit(1)
        )
    client_called = circle.client.preferred_name or circle.client.display_name
    assert (
        told == f"{circle.key_worker.display_name} called off handing {client_called} over to you."
    )

    # Recorded: the worker lands on their start page, and no longer opens the records.
    page = worker.get(leaving).read().decode()
    path, page = landed(worker.post(leaving, note, page))
    assert path == "/" and "has left the service and is no longer on a caseload" in page
    code, refusal = refused(lambda: worker.get(records))
    assert code == 404 and "leaves the service, their records close" in refusal
    assert refused(lambda: worker.get(f"/documents/{doc}"))[0] == 404
    with db.read() as s:
        link = s.scalar(sa.select(CaseloadLink).where(CaseloadLink.client_id == circle.client.id))
        assert link.ended_at is not None
        assert (link.ended_by_id, link.end_note) == (circle.key_worker.id, note["note"])
        assert s.get(Document, doc).next_review_on is None  # no review without a key worker

    # The client reads why, keeps their agreement and its PDF, and is told plainly that asking
    # for help here would reach nobody.
    page = client.get(records).read().decode()
    assert "Your time with the service ended on" in page
    assert "Finished the programme &amp; moved to Leeds." in page
    page = client.get(f"/documents/{doc}").read().decode()
    # (The name in its own <bdi>, where the date follows: a right-to-left name cannot turn it.)
    assert f"<bdi>{circle.key_worker.display_name}</bdi>, your former key worker," in page
    crisis = client.get(f"/documents/{doc}/crisis-plan").read().decode()
    assert "There is nobody at the service to tell right now" in crisis
    assert "Put the plan into effect" not in crisis
    assert "recorded that your time with the service has ended" in (
        client.get("/me/notifications").read().decode()
    )

    # They come back: the administrator sees when they left (not why: that is care content)
    # and gives them a key worker; the agreement's review date is back.
    admin = Browser(gunicorn_url)
    admin.sign_in(circle.admin)
    page = admin.get(f"/admin/users/{circle.client.id}").read().decode()
    assert "Left the service on" in page and "Leeds" not in page
    returning = KeyWorkerFactory(team_id=circle.team.id)
    form = {"key_worker_id": returning.id}
    landed(admin.post(f"/admin/users/{circle.client.id}/key-worker", form, page))
    page = client.get(records).read().decode()
    assert f"Your key worker: {returning.display_name}" in page
    assert "Your time with the service ended" not in page
    # Both are told in a message: the client's newest no longer says their time has ended.
    told = html.unescape(client.get("/me/notifications").read().decode())
    assert f"{returning.display_name} is now your key worker." in told
    with db.read() as s:
        assert s.get(Document, doc).next_review_on is not None


def test_starting_the_plan_already_in_effect_is_refused_at_the_top_over_http(db, gunicorn_url):
    """The key worker had the crisis page open from before the client put the plan into
    effect: their form is refused where they see it, with what they typed given back, and the
    plan, its alert and its review exist once."""
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    _agreed(db, circle, doc)
    client, worker = _both_signed_in(gunicorn_url, circle)
    crisis = f"/documents/{doc}/crisis-plan"
    ends_on = (service_today() + timedelta(days=5)).isoformat()
    open_before = worker.get(crisis).read().decode()
    assert "Put the plan into effect" in open_before

    page = client.get(crisis).read().decode()
    start = {"observed": "I have not slept.", "actions_taken": "", "ends_on": ends_on}
    path, page = landed(client.post(f"{crisis}/start", start, page))
    assert "The plan is in effect now" in page

    typed = {
        "observed": "Alex rang at 9, very low.",
        "actions_taken": "Rang Jo.",
        "ends_on": ends_on,
    }
    code, refusal = refused(lambda: worker.post(f"{crisis}/start", typed, open_before))
    assert code == 422
    summary = refusal[
        refusal.index('id="error-summary"') : refusal.index("The plan is in effect now")
    ]
    assert "The plan is already in effect, so it was not started a second time." in summary
    assert "Alex rang at 9, very low.</textarea>" in refusal and "Rang Jo.</textarea>" in refusal
    with db.read() as s:
        for model in (ContingencyActivation, CrisisAlert, ReviewRequest):
            count = sa.select(sa.func.count()).select_from(model).where(model.document_id == doc)
            assert s.scalar(count) == 1, model.__name__


def test_self_referral_requests_are_checked_against_the_agreed_terms_over_http(db, gunicorn_url):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)  # up to 5 nights, 14 days apart
    _agreed(db, circle, doc)
    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    crisis = f"/documents/{doc}/crisis-plan"
    today = service_today()

    page = client.get(crisis).read().decode()
    assert "up to 5 nights, not within 14 days of the last time I left" in page
    within = {
        "nights": "3",
        "last_discharge_on": (today - timedelta(days=30)).isoformat(),
        "note": "Things are slipping.",
    }
    path, page = landed(client.post(f"/documents/{doc}/self-referral", within, page))
    assert path == crisis and "This request is within the agreed terms." in page
    assert "3 nights is within the agreed 5 nights." in page

    outside = {"nights": "7", "last_discharge_on": (today - timedelta(days=5)).isoformat()}
    path, page = landed(client.post(f"/documents/{doc}/self-referral", outside, page))
    # Which terms, and that help is still coming (it said only "It has been recorded.").
    said = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert path == crisis and (
        "This request is outside the agreed terms. 7 nights is more than the agreed 5 nights. "
        "The last stay ended only 5 days ago; the agreement asks for at least 14 days between "
        "stays. It has still gone "
        "to the team." in said
    )

    for nights in ("a", "-2"):
        code, refusal = refused(
            lambda n=nights: client.post(f"/documents/{doc}/self-referral", {"nights": n}, page)
        )
        assert code == 422 and "Please give the number of nights from 1 to 365." in refusal

    with db.read() as s:
        requests = s.execute(
            sa.select(SelfReferralRequest.nights, SelfReferralRequest.within_terms)
            .where(SelfReferralRequest.document_id == doc)
            .order_by(SelfReferralRequest.id)
        ).all()
        alerts = s.scalars(sa.select(CrisisAlert.kind).where(CrisisAlert.document_id == doc)).all()
    assert requests == [(3, True), (7, False)]
    assert alerts == ["self_referral", "self_referral"]


def test_the_key_worker_reads_what_the_client_asked_where_they_respond_over_http(db, gunicorn_url):
    """The reply page said only "<client> asked for a short admission on …": every field the
    client filled in, their note in their words, is beside the response box."""
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    _agreed(db, circle, doc)
    client, worker = _both_signed_in(gunicorn_url, circle)
    last = service_today() - timedelta(days=30)
    asked = {"nights": "3", "last_discharge_on": last.isoformat(), "note": "Can't sleep & scared."}
    page = client.get(f"/documents/{doc}/crisis-plan").read().decode()
    path, page = landed(client.post(f"/documents/{doc}/self-referral", asked, page))
    assert path == f"/documents/{doc}/crisis-plan" and 'id="confirmation"' in page

    # From the start page's "Respond to <client>", as the key worker follows it.
    start = worker.get("/").read().decode()
    assert f'href="/documents/{doc}/respond"' in start and "For 3 nights." in start
    page = worker.get(f"/documents/{doc}/respond").read().decode()
    beside = page[page.index('id="what-asked"') : page.index("Send my response")]
    assert "<dt>How many nights?</dt><dd>3 nights</dd>" in beside
    assert f"<dd>{long_date(last)}</dd>" in beside
    assert "“Can&#39;t sleep &amp; scared.”" in beside
    path, page = landed(
        worker.post(f"/documents/{doc}/responses", {"note": "Ringing you now."}, page)
    )
    assert "Your response is recorded." in page and "Nothing is waiting" in page


def test_an_earlier_review_is_asked_for_and_then_reviewed_with_no_changes_over_http(
    db, gunicorn_url
):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    _agreed(db, circle, doc)
    client, worker = _both_signed_in(gunicorn_url, circle)
    today = service_today()

    # The client asks for a review in ten days, saying why.
    wanted = today + timedelta(days=10)
    page = client.get(f"/documents/{doc}").read().decode()
    asked = {"wanted_by": wanted.isoformat(), "reason": "My housing has changed."}
    path, page = landed(client.post(f"/documents/{doc}/review-request", asked, page))
    assert path == f"/documents/{doc}"
    assert f"An earlier review was asked for. The next review is now on {wanted:%-d %B %Y}." in page
    assert "“My housing has changed.”" in page
    with db.read() as s:
        row = s.get(Document, doc)
        assert (row.next_review_on, row.next_review_reason) == (wanted, "earlier")
        assert s.execute(
            sa.select(ReviewRequest.reason, ReviewRequest.requested_by_id).where(
                ReviewRequest.document_id == doc
            )
        ).all() == [("My housing has changed.", circle.client.id)]

    # Both confirm "reviewed, no changes" with their passwords: the review is done.
    page = client.get(f"/documents/{doc}").read().decode()
    cycle = re.search(r'name="cycle" value="(\d+)"', page).group(1)
    confirm = {"password": PASSWORD, "cycle": cycle}
    path, page = landed(client.post(f"/documents/{doc}/versions/1/reviewed", confirm, page))
    worker_name = html.escape(circle.key_worker.display_name)
    assert path == f"/documents/{doc}" and f"It is done once {worker_name} confirms too." in page
    page = worker.get(f"/documents/{doc}").read().decode()
    stale = page  # the same form, still open in another tab
    path, page = landed(worker.post(f"/documents/{doc}/versions/1/reviewed", confirm, page))
    assert path == f"/documents/{doc}" and "You have both confirmed the review" in page
    # Sent again from that tab, it does not count towards the next review.
    path, page = landed(worker.post(f"/documents/{doc}/versions/1/reviewed", confirm, stale))
    assert path == f"/documents/{doc}"
    assert "This review was done meanwhile, so nothing was confirmed." in page
    with db.read() as s:
        row = s.get(Document, doc)
        assert row.last_reviewed_on == today and row.next_review_on > wanted
        request = s.scalar(sa.select(ReviewRequest).where(ReviewRequest.document_id == doc))
        assert request.resolved_at is not None  # the review asked for is done
        assert sorted(
            s.scalars(
                sa.select(ReviewConfirmation.user_id).where(ReviewConfirmation.document_id == doc)
            )
        ) == sorted([circle.client.id, circle.key_worker.id])
    # Off the review panel once done, what was asked for stays in the history, with why.
    history = worker.get(f"/documents/{doc}/history").read().decode()
    assert "asked for an earlier review, by" in history
    assert "“My housing has changed.”" in history


def _a_zone_on_another_day() -> str:
    """A zone whose day is not UTC's at this hour (12 hours behind before 11:00 UTC, 14 ahead
    after), at least an hour from its midnight."""
    return "Etc/GMT+12" if datetime.now(UTC).hour < 11 else "Etc/GMT-14"


def test_a_review_and_a_token_count_the_service_s_days_over_http(db, monkeypatch, request):
    zone = ZoneInfo(_a_zone_on_another_day())
    monkeypatch.setenv("CAREPLAN_TIME_ZONE", zone.key)
    url = request.getfixturevalue("gunicorn_url")
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    _agreed(db, circle, doc)
    client, worker = _both_signed_in(url, circle)
    for person in (client, worker):
        page = person.get(f"/documents/{doc}").read().decode()
        person.post(f"/documents/{doc}/versions/1/reviewed", {"password": PASSWORD}, page)
    there, utc = datetime.now(zone).date(), datetime.now(UTC).date()
    assert there != utc
    with db.read() as s:
        row = s.get(Document, doc)
        assert (row.last_reviewed_on, row.next_review_on) == (there, there + timedelta(weeks=12))
    page = " ".join(client.get(f"/documents/{doc}").read().decode().split())
    assert f"Next review: <strong>{there + timedelta(weeks=12):%-d %B %Y}</strong>" in page

    # A token chosen to last until a day works until that day ends there.
    page = worker.get("/me/tokens").read().decode()
    last = there + timedelta(days=30)
    made = {"name": "My phone", "scopes": "read", "expires_on": last.isoformat()}
    worker.post("/me/tokens", made, page)
    with db.read() as s:
        ends = s.scalar(
            sa.select(ApiToken.expires_at).where(ApiToken.user_id == circle.key_worker.id)
        )
    assert ends == datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)


def test_a_draft_is_kept_carried_on_with_and_thrown_away_over_http(db, gunicorn_url):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    edit = f"/documents/{doc}/edit"

    def keep(words: str) -> None:
        """What the edit page's script sends as the person types."""
        page = client.get(edit).read().decode()
        form = dict(DocumentForm(page).fields)
        form["what_matters-text"] = words
        form["change_note"] = "my words"
        with client.post(f"/documents/{doc}/draft", form, page) as kept:
            assert kept.status == 200 and b'"kept_at"' in kept.read()

    # Kept as the client types: only a draft, no new version.
    keep("Being asked before anyone rings my mum.")
    with db.read() as s:
        draft = s.scalar(sa.select(EditDraft).where(EditDraft.document_id == doc))
        assert (draft.user_id, draft.base_number) == (circle.client.id, 1)
        assert draft.change_note == "my words"
        assert ["what_matters-text", "Being asked before anyone rings my mum."] in draft.fields
        assert s.scalar(sa.select(Document.head_number).where(Document.id == doc)) == 1

    # Coming back to the document, the client is told their words are kept, and where.
    page = client.get(f"/documents/{doc}").read().decode()
    assert "You have changes that are not saved yet." in page
    assert f'href="{edit}?draft=restore"' in page
    # And on their start page ("My plans"), on the document's card.
    path, page = landed(client.get("/"))
    assert path == f"/clients/{circle.client.id}" and "Your changes are not saved yet" in page
    assert f'href="{edit}?draft=restore">Carry on with your changes' in page
    # And under "What needs you now" at the top of it.
    assert f'<a href="{edit}?draft=restore">Your changes to your care plan are not saved' in page
    # Opening Edit, the client is offered it, carries on with it and saves it as version 2.
    page = client.get(edit).read().decode()
    assert "You have changes that were not saved yet" in page
    page = client.get(f"{edit}?draft=restore").read().decode()
    assert "These are your changes from" in page
    assert "Being asked before anyone rings my mum.</textarea>" in page
    path, page = landed(client.post(edit, dict(DocumentForm(page).fields), page))
    assert path == f"/documents/{doc}" and "Saved as version 2." in page
    assert "Being asked before anyone rings my mum." in page and "not saved yet" not in page
    with db.read() as s:
        saved = s.scalar(sa.select(Version).where(Version.document_id == doc, Version.number == 2))
        assert saved.change_note == "my words" and saved.author_id == circle.client.id
        assert saved.content["what_matters"]["text"] == "Being asked before anyone rings my mum."
        assert s.scalar(sa.select(sa.func.count()).select_from(EditDraft)) == 0

    # Another draft, thrown away: the edit page shows the saved version again.
    keep("Not sure about this.")
    page = client.get(f"{edit}?draft=discard").read().decode()  # asked once more first
    assert "Throw away the changes you made on" in page
    path, page = landed(client.post(f"/documents/{doc}/draft/discard", {}, page))
    assert path == edit and "The unsaved changes were thrown away." in page
    assert "not saved yet" not in page and "Not sure about this." not in page
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(EditDraft)) == 0
        assert s.scalar(sa.select(Document.head_number).where(Document.id == doc)) == 2


def test_a_key_worker_finds_their_unsaved_changes_on_their_caseload_over_http(db, gunicorn_url):
    """Interrupted while typing into a client's plan: the words the edit page's script sent
    are named on the worker's start page, in the client's row and under "What needs you now",
    with a link to carry on; the client, signed in beside, is not shown them."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    worker, client = Browser(gunicorn_url), Browser(gunicorn_url)
    worker.sign_in(circle.key_worker)
    client.sign_in(circle.client)
    edit = f"/documents/{doc}/edit"
    page = worker.get(edit).read().decode()
    form = dict(DocumentForm(page).fields)
    form["what_matters-text"] = "Half a sentence"
    with worker.post(f"/documents/{doc}/draft", form, page) as kept:
        assert kept.status == 200 and b'"kept_at"' in kept.read()

    path, page = landed(worker.get("/"))
    assert path == "/"
    name = f"{circle.client.display_name}&#39;s care plan"
    needs = re.search(r'<section aria-labelledby="h-needs-you".*?</section>', page, re.S)[0]
    assert f'<a href="{edit}?draft=restore">Your changes to {name} are not saved yet' in needs
    row = re.search(
        rf'<td data-label="Name"><a href="/clients/{circle.client.id}">.*?</tr>', page, re.S
    )[0]
    assert f"Your changes to {name} are not saved yet (you last typed on " in row
    assert f'<a href="{edit}?draft=restore">Carry on with your changes' in row
    path, page = landed(client.get("/"))
    assert path == f"/clients/{circle.client.id}" and "not saved yet" not in page
    assert "draft=restore" not in page
    # Following the link, the worker has their words back; saved, the marks are gone.
    page = worker.get(f"{edit}?draft=restore").read().decode()
    assert "Half a sentence</textarea>" in page
    path, page = landed(worker.post(edit, dict(DocumentForm(page).fields), page))
    assert path == f"/documents/{doc}" and "Saved as version 2." in page
    path, page = landed(worker.get("/"))
    assert "not saved yet" not in page and "draft=restore" not in page


def test_a_refused_save_keeps_the_words_and_a_form_too_large_is_answered_over_http(
    db, gunicorn_url
):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    edit = f"/documents/{doc}/edit"
    page = client.get(edit).read().decode()
    form = dict(DocumentForm(page).fields)
    form.update({"what_matters-text": "Words worth keeping.", "base_number": "9"})
    code, refusal = refused(lambda: client.post(edit, form, page))
    assert code == 400 and "There is no version 9: the latest is version 1." in refusal
    assert "Words worth keeping.</textarea>" in refusal
    # More than the service takes at once (2 MB): its own page, whatever gunicorn reads of it.
    form.update({"what_matters-text": "x" * (2 * 1024 * 1024 + 1), "base_number": "1"})
    code, refusal = refused(lambda: client.post(edit, form, page))
    assert code == 413 and "more than this service takes at once (2 MB)" in refusal
    with db.read() as s:
        assert s.scalar(sa.select(Document.head_number).where(Document.id == doc)) == 1


def test_a_second_step_when_signing_is_set_up_signs_once_per_code_and_is_turned_off(
    db, mailing_gunicorn_url
):
    url, inbox = mailing_gunicorn_url
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = Browser(url)
    client.sign_in(circle.client)

    page = client.get("/me/second-factor").read().decode()
    secret = re.search(r'name="secret" value="([A-Z2-7]{32})"', page).group(1)
    assert "<svg" in page
    totp = pyotp.TOTP(secret)
    setup = {"secret": secret, "password": PASSWORD}
    status, page = refused(lambda: client.post("/me/second-factor", {**setup, "code": "000"}, page))
    assert status == 422 and "The code is six digits" in page
    # The code of the step before this one is still taken (phones' clocks drift), so this
    # journey uses three codes in a row without waiting for the next one.
    earlier = totp.at(time.time() - 30)
    path, page = landed(client.post("/me/second-factor", {**setup, "code": earlier}, page))
    # The page the answer redirects to shows the backup codes, this once.
    assert path == "/me/second-factor/backup-codes" and "The second step is on." in page
    backup = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page)
    assert len(backup) == 10
    assert _mail_to(inbox, circle.client.email)["Subject"] == "A code is now needed when you sign"

    # Signing asks for the code; one code signs once.
    page = client.get(f"/documents/{doc}").read().decode()
    assert 'autocomplete="one-time-code"' in page
    sign = {"outcome": "signed", "comment": "", "password": PASSWORD}
    status, _ = refused(
        lambda: client.post(f"/documents/{doc}/versions/1/sign", {**sign, "code": ""}, page)
    )
    assert status == 422
    code = totp.now()
    path, page = landed(
        client.post(f"/documents/{doc}/versions/1/sign", {**sign, "code": code}, page)
    )
    assert path == f"/documents/{doc}" and "You signed version 1." in page
    other = make_plan(circle.key_worker, circle.client)
    page = client.get(f"/documents/{other}").read().decode()
    status, page = refused(
        lambda: client.post(f"/documents/{other}/versions/1/sign", {**sign, "code": code}, page)
    )
    assert status == 422 and "used already" in page
    # No phone to hand: a backup code signs instead, once.
    path, page = landed(
        client.post(f"/documents/{other}/versions/1/sign", {**sign, "code": backup[0]}, page)
    )
    assert path == f"/documents/{other}" and "You signed version 1." in page
    used = _mail_to(inbox, circle.client.email, "One of your backup codes was used")
    assert "You have 9 left." in used.get_content()
    with db.read() as s:
        methods = s.scalars(
            sa.select(SignatureRecord.method)
            .where(SignatureRecord.user_id == circle.client.id)
            .order_by(SignatureRecord.id)
        ).all()
    assert methods == [
        "password re-entered and a code from their authenticator app",
        "password re-entered and one of their backup codes",
    ]

    # New backup codes, then turned off with the password and a fresh code.
    page = client.get("/me/account").read().decode()
    assert "You have 9 backup codes left" in page
    renew = {"codes_password": PASSWORD, "codes_code": backup[1]}
    path, page = landed(client.post("/me/second-factor/backup-codes", renew, page))
    fresh = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page)
    assert path == "/me/second-factor/backup-codes"
    assert len(fresh) == 10 and not set(fresh) & set(backup)
    page = client.get("/me/account").read().decode()
    assert "You have 10 backup codes left" in page
    off = {"off_password": PASSWORD, "off_code": totp.at(time.time() + 30)}
    path, page = landed(client.post("/me/second-factor/off", off, page))
    assert path == "/me/account" and "The second step is off." in page
    with db.read() as s:
        assert s.get(User, circle.client.id).second_factor_secret is None


def test_a_changed_password_is_emailed_once_the_mail_server_is_back(
    db, smtp_server, monkeypatch, request
):
    """The mail server is down when the password is changed: the change is made and its e-mail
    kept; the reminder sender (the scheduler's send job) sends it once the server is back,
    after the pause between tries, and only once."""
    controller, inbox = smtp_server
    url = _gunicorn_mailing_to(free_port(), monkeypatch, request)  # nothing listens there
    person = ClientFactory()
    browser = Browser(url)
    browser.sign_in(person)
    page = browser.get("/me/account").read().decode()
    change = {"current_password": PASSWORD, "password": CHOSEN, "password_again": CHOSEN}
    path, page = landed(browser.post("/me/account/password", change, page))
    assert path == "/me/account" and "Your password is changed." in page

    deadline = time.monotonic() + 10
    while True:  # the app tries at once, from a thread of its own, and fails
        with db.read() as s:
            kept = s.scalars(sa.select(AccountEmail)).all()
        if kept and kept[0].attempts == 1 and kept[0].status == "pending":
            break
        assert time.monotonic() < deadline, kept
        time.sleep(0.05)
    [kept] = kept
    assert kept.to_address == person.email and "refused" in kept.last_error.lower()
    assert inbox.messages() == []

    settings = ReminderSettings(base_url=url)
    back = SmtpMailer("127.0.0.1", controller.port, False, False, USER, SECRET, 10)
    for _ in range(2):
        send_pending(db, settings, back, "Reminders <r@example.org>", lambda: kept.not_before)
    [(to, message)] = inbox.messages()
    assert to == [person.email] and message["Subject"] == "Your password was changed"
    assert f"{url}/forgot-password" in message.get_content()


def test_an_email_given_up_on_is_sent_once_an_administrator_tries_it_again(
    db, monkeypatch, request
):
    """The mail server is down for longer than the tries (one, here): the e-mail is given up
    on. Once the server is back, an administrator sees it listed and tries it again over
    HTTP; the app sends it at once, exactly once."""
    monkeypatch.setenv("CAREPLAN_REMINDER_MAX_ATTEMPTS", "1")
    port = free_port()
    url = _gunicorn_mailing_to(port, monkeypatch, request)  # nothing listens there yet
    circle = Circle()
    browser = Browser(url)
    browser.sign_in(circle.client)
    page = browser.get("/me/account").read().decode()
    change = {"current_password": PASSWORD, "password": CHOSEN, "password_again": CHOSEN}
    path, page = landed(browser.post("/me/account/password", change, page))
    assert path == "/me/account" and "Your password is changed." in page

    deadline = time.monotonic() + 10
    while True:  # the app's own try fails, and it was the only one allowed
        with db.read() as s:
            kept = s.scalars(sa.select(AccountEmail)).all()
        if kept and kept[0].status == "failed":
            break
        assert time.monotonic() < deadline, kept
        time.sleep(0.05)

    controller, inbox = start_server(port)  # the mail server is back
    try:
        admin = Browser(url)
        admin.sign_in(circle.admin)
        start = " ".join(admin.get("/admin/users").read().decode().split())
        assert "1 e-mail could not be sent." in start
        page = " ".join(admin.get("/admin/emails").read().decode().split())
        assert "Their password was changed" in page and circle.client.email in page
        path, page = landed(admin.post("/admin/emails/try-again", {}, page))
        assert path == "/admin/emails"
        assert "1 e-mail will be tried again within a minute." in " ".join(page.split())
        message = _mail_to(inbox, circle.client.email, "Your password was changed")
        assert "/forgot-password" in message.get_content()
        # Pressed again (a second tab, say): nothing more is sent.
        path, page = landed(admin.post("/admin/emails/try-again", {}, page))
        assert "Nothing was waiting to be tried again." in page
        time.sleep(0.5)
        assert len(inbox.messages()) == 1
        with db.read() as s:
            assert [e.status for e in s.scalars(sa.select(AccountEmail))] == ["sent"]
    finally:
        controller.stop()


def test_the_health_checks_and_the_scheduler_page_over_http(db, gunicorn_url):
    def ask(path: str) -> tuple[int, dict, str]:
        try:
            with urlopen(gunicorn_url + path, timeout=10) as answer:
                return answer.status, json.load(answer), answer.headers["Content-Type"]
        except HTTPError as refused:
            return refused.code, json.load(refused), refused.headers["Content-Type"]

    assert ask("/health") == (200, {"database": "ok"}, "application/json")
    status, body, _ = ask("/health/scheduler")
    assert status == 503 and set(body["scheduler"].values()) == {"never_ran"}
    for job in scheduler.JOBS:  # as the scheduler's jobs do when they run
        scheduled_jobs.record(db, job.name, utcnow(), "host-1:99")
    assert ask("/health/scheduler")[:2] == (200, {"scheduler": "ok"})
    admin = Browser(gunicorn_url)
    admin.sign_in(Circle().admin)
    page = " ".join(admin.get("/admin/scheduler").read().decode().split())
    assert "Every job ran when it should." in page and "(host-1:99)" in page


def test_a_signature_and_a_comment_sent_twice_at_once_count_once_and_say_so_over_http(
    db, gunicorn_url
):
    """A second tap on a slow phone: each form reaches the server twice at once. One
    signature and one comment are kept, and both answers land on the document saying what
    was done, not that something went wrong."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = Browser(gunicorn_url)
    client.sign_in(circle.client)
    page = client.get(f"/documents/{doc}").read().decode()

    def twice(path: str, form: dict) -> list[tuple[str, str]]:
        answers: list = []
        start = threading.Barrier(2)

        def send():
            start.wait()
            answers.append(landed(client.post(path, form, page)))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return answers

    signed = twice(f"/documents/{doc}/versions/1/sign", {"outcome": "signed", "password": PASSWORD})
    assert [path for path, _ in signed] == [f"/documents/{doc}"] * 2
    said = sorted(
        "You signed version 1." in p or "You have already signed version 1: it counts once." in p
        for _, p in signed
    )
    assert said == [True, True]
    commented = twice(
        f"/documents/{doc}/comments",
        {"section_key": "what_matters", "version_number": "1", "body": "Mondays suit me."},
    )
    assert [path for path, _ in commented] == [f"/documents/{doc}"] * 2
    assert any("and once only: it was sent twice" in p for _, p in commented)
    with db.read() as s:
        signatures = s.scalars(
            sa.select(SignatureRecord.user_id).where(SignatureRecord.document_id == doc)
        ).all()
        kept = s.scalars(sa.select(Comment.body).where(Comment.document_id == doc)).all()
    assert (signatures, kept) == ([circle.client.id], ["Mondays suit me."])
