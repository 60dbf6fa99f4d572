"""Account pages: forgotten passwords and new accounts over a real SMTP conversation, changing
a password, how a person wants to be called, and the administrators' account pages."""

from __future__ import annotations

import html
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from careplan.db.models import (
    AccountEmail,
    AuditEvent,
    CaseloadLink,
    PasswordLink,
    ReminderDigest,
    SignatureRecord,
    SupervisorTeam,
    Team,
    User,
    utcnow,
)
from careplan.domain.local_time import service_day, service_today
from careplan.reminders.messages import indiscretions
from careplan.services import account_emails, account_settings, admin_accounts, leaving
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    AdminFactory,
    AdvocateFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    SupervisorTeamFactory,
    TeamFactory,
    actor_for,
    make_plan,
)
from tests.notices import newest_message, wait_for_account_notices
from tests.smtp import start_server

NEW = "a brand new password"
LINK = re.compile(r"https://app\.example\.org(/set-password/[A-Za-z0-9_-]+)")
# What closing an account or turning off someone's second step is posted with once confirmed
# (test_big_changes_are_confirmed asks first); opening an account again ignores it.
CONFIRMED = {"confirm": "yes", "reason": "Left the service"}


def _mail(inbox, count: int = 1, timeout: float = 10.0):
    """The messages the SMTP server received, once `count` have arrived (they are sent from a
    background thread, after the page has answered)."""
    deadline = time.monotonic() + timeout
    while len(inbox.envelopes) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return inbox.messages()


def _post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def _signs_in(app, email, password) -> bool:
    client = app.test_client()
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )
    return response.status_code == 302


CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


def _as_anyone(response, email: str) -> str:
    """The page without the address typed, nor the form's CSRF token: the token carries the
    second it was made, so two pages a second apart differ there whoever asked."""
    return CSRF_VALUE.sub("csrf", response.get_data(as_text=True).replace(email, "X"))


def _ask_for_a_link_as_for_nobody(web, email: str) -> None:
    """Asks for a link for `email` and for an address with no account: the page says the
    same whether or not there is one."""
    asked = _post(web, "/forgot-password", email=email)
    unknown = _post(web, "/forgot-password", email="nobody@example.org")
    assert asked.status_code == unknown.status_code == 200
    assert _as_anyone(asked, email) == _as_anyone(unknown, "nobody@example.org")


def test_a_forgotten_password_is_replaced_through_an_emailed_link(smtp_app, smtp_server, db):
    _, inbox = smtp_server
    person = ClientFactory()
    web = smtp_app.test_client()
    _ask_for_a_link_as_for_nobody(web, person.email)

    [(to, message)] = _mail(inbox)
    assert to == [person.email]
    body = message.get_content()
    assert indiscretions(message["Subject"] + body) == []
    path = LINK.search(body).group(1)

    assert "Choose a new password" in web.get(path).get_data(as_text=True)
    mismatch = _post(web, path, password=NEW, password_again=NEW + "x")
    assert mismatch.status_code == 422
    assert "not the same" in mismatch.get_data(as_text=True)
    done = _post(web, path, password=NEW, password_again=NEW)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login#confirmation")
    assert _signs_in(smtp_app, person.email, NEW)
    assert not _signs_in(smtp_app, person.email, PASSWORD)
    used = web.get(path)
    assert used.status_code == 404 and "no longer works" in used.get_data(as_text=True)
    # Nobody stays signed in after a password chosen through a link, and the e-mail says so.
    [_, (_, changed)] = _mail(inbox, 2)
    assert changed["Subject"] == "Your password was changed"
    told = " ".join(changed.get_content().split())
    assert "Everywhere you were signed in, you have been signed out." in told
    assert "still signed in" not in told


def test_the_forgotten_password_page_answers_before_any_account_is_looked_up(
    smtp_app, smtp_server, db, monkeypatch
):
    """Finding the account, making its link and recording it took about 7 ms more than
    finding nothing: timed by a stranger, the answer told who has an account. The page now
    answers first; the lookup waits here until the page is seen, and the link still comes."""
    _, inbox = smtp_server
    person = ClientFactory()
    answered = threading.Event()
    looked_up = []
    real = account_settings.request_reset

    def after_the_answer(*args, **kwargs):
        assert answered.wait(10), "the page waited for the account to be looked up"
        looked_up.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(account_settings, "request_reset", after_the_answer)
    web = smtp_app.test_client()
    token = csrf_token(web)
    page = web.post("/forgot-password", data={"email": person.email, "csrf_token": token})
    answered.set()

    assert page.status_code == 200 and "If there is an account for" in page.get_data(as_text=True)
    [(to, message)] = _mail(inbox)
    assert looked_up == [person.email] and to == [person.email]
    assert LINK.search(message.get_content())


def test_the_forgotten_password_page_says_whom_to_ask_in_words_true_for_anyone(app, db):
    """Nobody is signed in, so the page cannot know whether a client or staff is asking (nor
    may it tell them apart by the address): it names whom each asks, to everyone."""
    web = app.test_client()
    pages = [
        _as_anyone(_post(web, "/forgot-password", email=user.email), user.email)
        for user in (ClientFactory(), KeyWorkerFactory(), AdminFactory())
    ]
    assert pages[0] == pages[1] == pages[2]
    said = " ".join(pages[0].split())
    assert (
        "check the address, or ask your key worker if you have one, or otherwise an "
        "administrator of the service." in said
    )
    assert "or ask your key worker." not in said


def test_a_forgotten_password_for_a_closed_account_is_answered_in_its_mailbox(
    smtp_app, smtp_server, db
):
    """The page says what it says for any address; only the account's own mailbox learns it
    was closed, and whom to ask."""
    _, inbox = smtp_server
    worker = KeyWorkerFactory()
    admin = login(smtp_app.test_client(), AdminFactory())
    assert (
        _post(admin, f"/admin/users/{worker.id}/active", active="no", **CONFIRMED).status_code
        == 302
    )
    _ask_for_a_link_as_for_nobody(smtp_app.test_client(), worker.email)

    [(to, message)] = _mail(inbox)
    assert to == [worker.email] and message["Subject"] == "Your account is closed"
    told = " ".join(message.get_content().split())
    assert "has been closed by the service, so no password can be chosen for it" in told
    assert "please ask an administrator of the service" in told  # staff: not "key worker"
    assert "/set-password/" not in told and indiscretions(message["Subject"] + told) == []


def test_changing_the_password_keeps_this_session_and_ends_the_others(smtp_app, smtp_server, db):
    _, inbox = smtp_server
    person = ClientFactory()
    here = login(smtp_app.test_client(), person)
    elsewhere = login(smtp_app.test_client(), person)

    wrong = _post(here, "/me/account/password", current_password="nope", password=NEW,
                  password_again=NEW)  # fmt: skip
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(True)
    # Said at the top, where a phone opens the page, linking to the field; the form sends
    # the browser there.
    html = wrong.get_data(True)
    summary = html[html.index('id="error-summary"') :]
    assert summary.index('href="#current_password"') < summary.index("<form")
    assert 'action="/me/account/password#error-summary"' in html
    # Said once, by the summary: the message beside the field said it again.
    assert html.count("Nothing was changed") == 1
    same = _post(here, "/me/account/password", current_password=PASSWORD, password=PASSWORD,
                 password_again=PASSWORD)  # fmt: skip
    html = same.get_data(True)
    assert same.status_code == 422 and "That is the password you have now." in html
    summary = html[html.index('id="error-summary"') :]
    assert summary.index('href="#password"') < summary.index("<form")
    assert elsewhere.get("/me/account").status_code == 200  # nothing changed: still signed in
    done = _post(here, "/me/account/password", current_password=PASSWORD, password=NEW,
                 password_again=NEW)  # fmt: skip
    assert done.status_code == 302

    assert here.get("/me/account").status_code == 200
    assert elsewhere.get("/me/account").status_code == 302  # sent to sign in
    [(to, message)] = _mail(inbox)
    assert to == [person.email] and message["Subject"] == "Your password was changed"
    assert indiscretions(message.get_content()) == []
    # As the account page promised: this session carries on, and the e-mail does not say
    # every session ended.
    told = " ".join(message.get_content().split())
    assert "Whoever changed it is still signed in where they did so; everywhere else" in told
    assert "Everywhere you were signed in" not in told


def test_people_are_greeted_and_introduced_as_they_asked(app, db):
    circle = Circle()
    client_web = login(app.test_client(), circle.client)
    _post(client_web, "/me/account/profile", preferred_name="Al", pronouns="they/them")
    assert "Signed in as Al" in client_web.get("/me/account").get_data(as_text=True)

    introduced = f"{circle.client.display_name}, known as Al, they/them"
    worker_web = login(app.test_client(), circle.key_worker)
    page = worker_web.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    assert introduced in page
    assert introduced in worker_web.get("/").get_data(as_text=True)  # the caseload's list
    make_plan(circle.key_worker, circle.client)
    supervisor_web = login(app.test_client(), circle.supervisor)
    assert introduced in supervisor_web.get("/supervision").get_data(as_text=True)
    export = supervisor_web.get("/supervision/export.csv").get_data(as_text=True)
    assert circle.client.display_name in export and "known as" not in export  # the record

    too_long = _post(client_web, "/me/account/profile", preferred_name="x" * 101, pronouns="")
    assert too_long.status_code == 422 and "to 100 characters or fewer" in too_long.get_data(True)


def test_an_administrator_makes_an_account_and_its_owner_chooses_the_password(
    smtp_app, smtp_server, db
):
    _, inbox = smtp_server
    admin = login(smtp_app.test_client(), AdminFactory())
    made = _post(admin, "/admin/users/new", name="Dee Novak", email="Dee@Example.org",
                 role="client", team_id="")  # fmt: skip
    assert made.status_code == 302
    with db.read() as s:
        dee = s.scalar(sa.select(User).where(User.email == "dee@example.org"))
    # At the message saying so, not the form's #error-summary the browser would keep.
    assert made.headers["Location"].endswith(f"/admin/users/{dee.id}#confirmation")

    duplicate = _post(admin, "/admin/users/new", name="Dee Again", email="dee@example.org",
                      role="client")  # fmt: skip
    assert duplicate.status_code == 422  # beside the address, as on every form
    assert "already an account" in duplicate.get_data(as_text=True)

    [(to, message)] = _mail(inbox)
    assert to == ["dee@example.org"] and "choose a password" in message["Subject"]
    # What the account is for, said without naming the service or what it does.
    assert "so that you can read and write your plans with them, and sign them" in (
        message.get_content()
    )
    # Someone not expecting it (it cannot name the service) is told what ignoring it means.
    assert (
        "If you were not expecting this e-mail, you can ignore it: nobody can sign in to the "
        "account until a password is chosen." in message.get_content()
    )
    path = LINK.search(message.get_content()).group(1)
    web = smtp_app.test_client()
    assert "Welcome" in web.get(path).get_data(as_text=True)

    def links_part() -> str:
        html = admin.get(f"/admin/users/{dee.id}").get_data(as_text=True)
        part = html.split('id="links"')[1].split('id="emails"')[0]
        return " ".join(re.sub(r"<[^>]+>", "", part).split())

    # The administrator sees the link went out and is not used yet (never its secret).
    waiting = links_part()
    assert "Link to choose a first password, sent" in waiting and "not used yet" in waiting
    assert path.rsplit("/", 1)[1] not in admin.get(f"/admin/users/{dee.id}").get_data(True)
    assert _post(web, path, password=NEW, password_again=NEW).status_code == 302
    assert _signs_in(smtp_app, "dee@example.org", NEW)
    assert "no longer works" in links_part() and "not used" not in links_part()


@pytest.mark.parametrize("welcome", ["waiting", "expired", "closed and reopened"])
def test_an_address_corrected_before_the_first_password_gets_the_welcome_again(
    smtp_app, smtp_server, db, welcome
):
    """The likeliest reason to change an address just after making the account: a typo. The
    owner, at the right address, gets a link to choose their first password (not "your
    password stays the same", as they have none); the mistyped address hears nothing more.
    The same when the welcome link ran out before the typo was found, or the account was
    closed and reopened meanwhile (closing ends its links): the owner still has no password."""
    _, inbox = smtp_server
    admin = login(smtp_app.test_client(), AdminFactory())
    _post(admin, "/admin/users/new", name="Dana Reyes", email="dana@exmaple.org", role="client")
    with db.read() as s:
        dana = s.scalar(sa.select(User).where(User.email == "dana@exmaple.org"))
    [(_, first)] = _mail(inbox)
    typo_link = LINK.search(first.get_content()).group(1)
    if welcome == "expired":
        with db.write() as s:
            s.execute(sa.update(PasswordLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    sent = 1
    if welcome == "closed and reopened":
        for active in ("no", "yes"):
            assert (
                _post(
                    admin, f"/admin/users/{dana.id}/active", active=active, **CONFIRMED
                ).status_code
                == 302
            )
        shown = " ".join(admin.get(f"/admin/users/{dana.id}").get_data(as_text=True).split())
        assert "<strong>not used</strong>; it stopped working" in shown  # ended, never used
        # Reopening sent the welcome again, to the address it still had: the typo.
        [(to, again)] = _mail(inbox, 2)[1:]
        assert to == ["dana@exmaple.org"]
        typo_links = [typo_link, LINK.search(again.get_content()).group(1)]
        sent = 2
    else:
        typo_links = [typo_link]

    saved = _post(admin, f"/admin/users/{dana.id}/details", name="Dana Reyes",
                  email="dana@example.org", team_id="")  # fmt: skip
    assert saved.status_code == 302
    page = admin.get(saved.headers["Location"]).get_data(as_text=True)
    assert "The link sent to the old address no longer works." in page
    assert "We have e-mailed dana@example.org a link to choose a password." in page

    # One e-mail more, and only to the corrected address.
    [(to, message)] = _mail(inbox, sent + 1)[sent:]
    assert to == ["dana@example.org"] and "choose a password" in message["Subject"]
    assert "stays the same" not in message.get_content()
    web = smtp_app.test_client()
    for link in typo_links:
        assert "Welcome" not in web.get(link).get_data(as_text=True)
    path = LINK.search(message.get_content()).group(1)
    assert "Welcome" in web.get(path).get_data(as_text=True)
    assert _post(web, path, password=NEW, password_again=NEW).status_code == 302
    assert _signs_in(smtp_app, "dana@example.org", NEW)
    with db.read() as s:
        kinds = s.scalars(sa.select(AccountEmail.kind).where(AccountEmail.recipient_id == dana.id))
        assert list(kinds) == []  # neither "your address changed" nor "sign in here now"

    # Once she has a password, a later change of address is told to both, as for everyone.
    _post(admin, f"/admin/users/{dana.id}/details", name="Dana Reyes",
          email="dana.reyes@example.org", team_id="")  # fmt: skip
    with db.read() as s:
        kinds = s.scalars(sa.select(AccountEmail.kind).where(AccountEmail.recipient_id == dana.id))
        assert sorted(kinds) == ["email_changed", "email_now_here"]


def test_an_account_reopened_before_its_first_password_is_e_mailed_the_welcome_again(
    smtp_app, smtp_server, db
):
    """Closing an account ends its links. Its owner, if they never chose a password, is
    e-mailed a new welcome link when it is reopened, and the administrator is told where it
    went and for how long it works. An owner with a password was told nothing when it closed,
    and is told nothing when it reopens: they sign in with their password again."""
    _, inbox = smtp_server
    admin = login(smtp_app.test_client(), AdminFactory())
    person = ClientFactory()
    for active in ("no", "yes"):
        assert (
            _post(admin, f"/admin/users/{person.id}/active", active=active, **CONFIRMED).status_code
            == 302
        )
    page = admin.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert "The account is open again." in page and "We have e-mailed" not in page
    assert _signs_in(smtp_app, person.email, PASSWORD)

    _post(admin, "/admin/users/new", name="Noor Haddad", email="noor@example.org", role="client")
    with db.read() as s:
        noor = s.scalar(sa.select(User.id).where(User.email == "noor@example.org"))
    [(_, first)] = _mail(inbox)
    first_link = LINK.search(first.get_content()).group(1)
    assert _post(admin, f"/admin/users/{noor}/active", active="no", **CONFIRMED).status_code == 302
    closed = " ".join(admin.get(f"/admin/users/{noor}").get_data(as_text=True).split())
    assert "Opening the account again e-mails them a new link to choose one." in closed

    reopened = _post(admin, f"/admin/users/{noor}/active", active="yes")
    assert reopened.status_code == 302
    page = " ".join(admin.get(reopened.headers["Location"]).get_data(as_text=True).split())
    assert "The account is open again." in page
    assert "closing it ended the link sent before." in page
    assert "We have e-mailed noor@example.org a link to choose a password." in page
    assert "It works for 7 days." in page
    assert "<strong>not used yet</strong>" in page  # the new link, on the page too

    [(to, message)] = _mail(inbox, 2)[1:]
    assert to == ["noor@example.org"] and "choose a password" in message["Subject"]
    web = smtp_app.test_client()
    assert "Welcome" not in web.get(first_link).get_data(as_text=True)
    path = LINK.search(message.get_content()).group(1)
    assert "Welcome" in web.get(path).get_data(as_text=True)
    assert _post(web, path, password=NEW, password_again=NEW).status_code == 302
    assert _signs_in(smtp_app, "noor@example.org", NEW)
    # Nothing went to the owner who has a password, before or since.
    assert [to for to, _ in _mail(inbox, 2)] == [["noor@example.org"]] * 2
    with db.read() as s:
        assert s.scalars(sa.select(AccountEmail.kind)).all() == []


def test_closing_an_account_signs_it_out_at_once(app, db):
    person = ClientFactory()
    web = login(app.test_client(), person)
    admin = login(app.test_client(), AdminFactory())
    assert (
        _post(admin, f"/admin/users/{person.id}/active", active="no", **CONFIRMED).status_code
        == 302
    )
    assert web.get("/me/account").status_code == 302
    assert not _signs_in(app, person.email, PASSWORD)
    assert _post(admin, f"/admin/users/{person.id}/active", active="yes").status_code == 302
    assert _signs_in(app, person.email, PASSWORD)


def test_an_address_no_mail_server_would_take_is_refused_and_quoted_briefly(app, db):
    admin = login(app.test_client(), AdminFactory())
    for email in ("a\x01b@example.org", "a b@example.org", "ab@example.org\x7f"):
        refused = _post(admin, "/admin/users/new", name="Dee", email=email, role="client")
        assert refused.status_code == 422, email
        assert "does not look like an e-mail address" in refused.get_data(as_text=True)
    pasted = "a" * 100_000 + "@example"
    page = _post(admin, "/admin/users/new", name="Dee", email=pasted, role="client")
    said = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 422  # the message quotes the start; the box keeps it all
    assert f"'{'a' * 79}…' does not look like an e-mail address." in said
    with db.read() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(User).where(User.display_name == "Dee"))
            == 0
        )


def test_a_switch_that_says_neither_yes_nor_no_changes_nothing(app, db):
    """Missing or misspelt (an old page, a forged form): never taken to mean "close" or
    "no longer supervises"."""
    circle = Circle()
    person = ClientFactory()
    admin = login(app.test_client(), AdminFactory())
    for value in ({}, {"active": "maybe"}):
        assert _post(admin, f"/admin/users/{person.id}/active", **value).status_code == 400
    assert _signs_in(app, person.email, PASSWORD)
    team = {"team_id": str(circle.team.id)}
    for value in ({}, {"supervises": "nope"}):
        sent = _post(admin, f"/admin/users/{circle.supervisor.id}/supervision", **team, **value)
        assert sent.status_code == 400
    with db.read() as s:
        kept = s.scalar(
            sa.select(sa.func.count())
            .select_from(SupervisorTeam)
            .where(SupervisorTeam.supervisor_id == circle.supervisor.id)
        )
    assert kept == 1


def test_an_administrator_cannot_close_their_own_account(app, db):
    me = AdminFactory()
    web = login(app.test_client(), me)
    refused = _post(web, f"/admin/users/{me.id}/active", active="no", **CONFIRMED)
    assert refused.status_code == 400 and "cannot close your own" in refused.get_data(True)


def test_a_key_worker_is_given_once_and_then_changed_only_by_a_handover(app, db):
    circle = Circle()
    newcomer = ClientFactory()
    other_worker = KeyWorkerFactory(team_id=circle.team.id)
    admin = login(app.test_client(), circle.admin)

    given = _post(admin, f"/admin/users/{newcomer.id}/key-worker",
                  key_worker_id=str(circle.key_worker.id))  # fmt: skip
    assert given.status_code == 302
    changed = _post(admin, f"/admin/users/{newcomer.id}/key-worker",
                    key_worker_id=str(other_worker.id))  # fmt: skip
    assert changed.status_code == 400 and "handover" in changed.get_data(as_text=True)
    with db.read() as s:
        workers = s.scalars(
            sa.select(CaseloadLink.key_worker_id).where(CaseloadLink.client_id == newcomer.id)
        ).all()
    assert workers == [circle.key_worker.id]


def test_no_client_is_left_with_a_closed_or_teamless_key_worker(app, db):
    circle = Circle()  # the key worker has the client on their caseload
    worker = circle.key_worker
    admin = login(app.test_client(), circle.admin)
    closing = _post(admin, f"/admin/users/{worker.id}/active", active="no", **CONFIRMED)
    assert closing.status_code == 400
    assert f"{worker.display_name} still has 1 client," in closing.get_data(as_text=True)
    details = {"name": worker.display_name, "email": worker.email, "team_id": ""}
    teamless = _post(admin, f"/admin/users/{worker.id}/details", **details)
    assert teamless.status_code == 400 and "without a team" in teamless.get_data(as_text=True)
    with db.read() as s:
        after = s.get(User, worker.id)
    assert (after.active, after.team_id) == (True, circle.team.id)

    loner, newcomer = KeyWorkerFactory(team_id=None), ClientFactory()
    given = _post(admin, f"/admin/users/{newcomer.id}/key-worker", key_worker_id=str(loner.id))
    assert given.status_code == 400 and "is in no team" in given.get_data(as_text=True)
    with db.read() as s:
        assert not s.scalars(
            sa.select(CaseloadLink.id).where(CaseloadLink.client_id == newcomer.id)
        ).all()
    # Without clients, a key worker's account closes as any other.
    assert (
        _post(admin, f"/admin/users/{loner.id}/active", active="no", **CONFIRMED).status_code == 302
    )


def test_a_client_is_closed_only_once_nobody_holds_them_on_a_caseload(app, db):
    """Closed while a key worker held them, a client left that worker's caseload list, yet
    their records stayed open to be written in and counted on the supervisors' dashboard."""
    circle = Circle()
    client, worker = circle.client, circle.key_worker
    admin = login(app.test_client(), circle.admin)
    page = admin.get(f"/admin/users/{client.id}").get_data(as_text=True)
    said = f"<bdi>{client.display_name}</bdi> still has a key worker, {worker.display_name}."
    assert said in page and "Close this account…" not in page
    closing = _post(admin, f"/admin/users/{client.id}/active", active="no", **CONFIRMED)
    assert closing.status_code == 400
    assert f"still has a key worker, {worker.display_name}." in closing.get_data(as_text=True)
    with db.read() as s:
        assert s.get(User, client.id).active is True

    leaving.record(db, actor_for(worker), client.id, "Moved away.", service_today())
    page = admin.get(f"/admin/users/{client.id}").get_data(as_text=True)
    assert "still has a key worker" not in page and "Close this account…" in page
    assert "Key worker: none since they left the service." in page  # not "none yet"
    closed = _post(admin, f"/admin/users/{client.id}/active", active="no", **CONFIRMED)
    assert closed.status_code == 302
    # Closed, they are given to nobody: that would put them back on a caseload list.
    page = admin.get(f"/admin/users/{client.id}").get_data(as_text=True)
    assert "Give this key worker" not in page and "open the account again and give" in page
    given = _post(admin, f"/admin/users/{client.id}/key-worker", key_worker_id=str(worker.id))
    assert given.status_code == 400
    assert "This client&#39;s account is closed. Open it again first" in given.get_data(
        as_text=True
    )
    with db.read() as s:
        assert not s.scalars(
            sa.select(CaseloadLink.id).where(
                CaseloadLink.client_id == client.id, CaseloadLink.ended_at.is_(None)
            )
        ).all()


def test_the_administrator_is_told_of_a_team_with_clients_and_no_supervisor(app, db):
    circle = Circle()
    admin = login(app.test_client(), circle.admin)
    warning = "has clients but no supervisor"
    assert warning not in admin.get("/admin/users").get_data(as_text=True)
    assert (
        _post(
            admin, f"/admin/users/{circle.supervisor.id}/active", active="no", **CONFIRMED
        ).status_code
        == 302
    )
    words = " ".join(admin.get("/admin/users").get_data(as_text=True).split())
    assert f"{circle.team.name} has clients but no supervisor" in words
    # A closed account is no longer listed as the team's supervisor.
    teams = admin.get("/admin/teams").get_data(as_text=True)
    assert circle.supervisor.display_name not in teams


def test_a_change_that_leaves_clients_unsupervised_is_made_and_said_with_a_link(app, db):
    circle = Circle()
    worker = circle.key_worker
    new = TeamFactory()
    admin = login(app.test_client(), circle.admin)
    # Told first that their client moves too (test_team_pages): here, confirmed.
    details = {"name": worker.display_name, "email": worker.email, "team_id": str(new.id),
               "clients_moving": "1"}  # fmt: skip
    moved = admin.post(
        f"/admin/users/{worker.id}/details",
        data={**details, "csrf_token": csrf_token(admin)},
        follow_redirects=True,
    )
    words = " ".join(html.unescape(moved.get_data(as_text=True)).split())
    assert moved.status_code == 200 and "Saved." in words
    assert f"No supervisor now sees {new.name}, which has 1 client" in words
    assert "a request for help there that nobody answers in time" in words
    assert 'href="/admin/users?role=supervisor"' in words
    with db.read() as s:
        assert s.get(User, worker.id).team_id == new.id
    # Stopping supervising a team with clients: the same.
    other = Circle()
    stopped = admin.post(
        f"/admin/users/{other.supervisor.id}/supervision",
        data={"team_id": str(other.team.id), "supervises": "no", "csrf_token": csrf_token(admin)},
        follow_redirects=True,
    )
    words = " ".join(html.unescape(stopped.get_data(as_text=True)).split())
    assert f"No supervisor now sees {other.team.name}, which has 1 client" in words
    # A change that leaves everyone seen says only that it was saved.
    back = {**details, "team_id": str(other.team.id)}
    again = admin.post(
        f"/admin/users/{other.supervisor.id}/supervision",
        data={"team_id": str(other.team.id), "supervises": "yes", "csrf_token": csrf_token(admin)},
        follow_redirects=True,
    )
    assert "No supervisor now sees" not in again.get_data(as_text=True)
    moved_back = _post(admin, f"/admin/users/{worker.id}/details", **back)
    assert moved_back.status_code == 302
    assert "No supervisor now sees" not in admin.get(moved_back.headers["Location"]).get_data(
        as_text=True
    )


@pytest.mark.parametrize("bad", ["", "abc", "²", "99999999999999999999"])
def test_a_bad_team_choice_is_refused_with_a_message(app, db, bad):
    person = ClientFactory()
    admin = login(app.test_client(), AdminFactory())
    response = _post(admin, f"/admin/users/{person.id}/supervision", team_id=bad, supervises="yes")
    assert response.status_code in (400, 404)


def test_the_account_list_finds_people_by_name_or_address(app, db):
    ClientFactory(display_name="Findable Person", email="find.me@example.org")
    ClientFactory(display_name="Someone Else", email="else@example.org")
    admin = login(app.test_client(), AdminFactory())
    page = admin.get("/admin/users", query_string={"q": "findable"}).get_data(as_text=True)
    assert "find.me@example.org" in page and "else@example.org" not in page
    page = admin.get("/admin/users", query_string={"q": "%"}).get_data(as_text=True)
    assert "find.me@example.org" not in page  # "%" is a character here, not a wildcard


SECRET = re.compile(r'name="secret" value="([A-Z2-7]{32})"')
BACKUP = re.compile(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>")
BACKUP_PAGE = "/me/second-factor/backup-codes"  # where new codes are shown, once


def test_a_second_step_when_signing_set_up_used_and_removed_through_the_pages(
    smtp_app, smtp_server, db
):
    _, inbox = smtp_server
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    web = login(smtp_app.test_client(), circle.client)
    assert "Set up the second step" in web.get("/me/account").get_data(as_text=True)
    page = web.get("/me/second-factor").get_data(as_text=True)
    secret = SECRET.search(page).group(1)
    assert "<svg" in page and " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in page
    assert "The app will list it as app.example.org" in page  # the address, as in e-mails
    totp = pyotp.TOTP(secret)

    wrong = _post(web, "/me/second-factor", secret=secret, code=totp.at(time.time() + 600),
                  password=PASSWORD)  # fmt: skip
    assert wrong.status_code == 422 and "does not match" in wrong.get_data(as_text=True)
    assert SECRET.search(wrong.get_data(as_text=True)).group(1) == secret  # the same key again
    done = _post(web, "/me/second-factor", secret=secret, code=totp.now(), password=PASSWORD)
    # Redirected, so a reload sends no form again; the page it leads to shows the backup
    # codes, once: they are not kept to show again.
    assert done.status_code == 302 and done.headers["Location"] == BACKUP_PAGE
    shown = web.get(BACKUP_PAGE).get_data(as_text=True)
    assert "The second step is on" in shown and len(BACKUP.findall(shown)) == 10
    account_page = web.get("/me/account").get_data(as_text=True)
    assert "It is on, since" in account_page and "You have 10 backup codes left" in account_page
    [(to, message)] = _mail(inbox)
    assert to == [circle.client.email]
    assert message["Subject"] == "A code is now needed when you sign"
    assert indiscretions(message["Subject"] + message.get_content()) == []

    # The sign form asks for the code; without it nothing is signed.
    assert 'autocomplete="one-time-code"' in web.get(f"/documents/{doc}").get_data(as_text=True)
    sign = f"/documents/{doc}/versions/1/sign"
    missing = _post(web, sign, outcome="signed", comment="", password=PASSWORD)
    assert missing.status_code == 422 and "six-digit code" in missing.get_data(as_text=True)
    signed = _post(web, sign, outcome="signed", comment="", password=PASSWORD,
                   code=totp.at(time.time() + 30))  # fmt: skip
    assert signed.status_code == 302
    with db.read() as s:
        assert s.scalar(sa.select(SignatureRecord.method)).endswith("authenticator app")

    # Lost phone: an administrator turns it off, and the person is told.
    admin = login(smtp_app.test_client(), AdminFactory())
    account_page = admin.get(f"/admin/users/{circle.client.id}").get_data(as_text=True)
    assert "Turn off their second step when signing" in account_page
    removed = _post(admin, f"/admin/users/{circle.client.id}/second-factor", **CONFIRMED)
    assert removed.status_code == 302
    assert "Set up the second step" in web.get("/me/account").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' not in web.get(f"/documents/{doc}").get_data(True)
    assert _mail(inbox, 2)[1][1]["Subject"] == "A code is no longer needed when you sign"
    again = _post(admin, f"/admin/users/{circle.client.id}/second-factor", **CONFIRMED)
    assert again.status_code == 400  # nothing to turn off: said plainly


def _backup_code_mail(messages):
    """The e-mails saying a backup code was used, in the order they came."""
    return [(to, m) for to, m in messages if m["Subject"] == "One of your backup codes was used"]


def test_a_backup_code_signs_once_in_place_of_the_app_and_new_ones_replace_them(
    smtp_app, smtp_server, db
):
    _, inbox = smtp_server
    circle = Circle()
    first, second = (make_plan(circle.key_worker, circle.client) for _ in range(2))
    web = login(smtp_app.test_client(), circle.client)
    secret = SECRET.search(web.get("/me/second-factor").get_data(as_text=True)).group(1)
    totp = pyotp.TOTP(secret)
    on = _post(web, "/me/second-factor", secret=secret, code=totp.now(), password=PASSWORD)
    assert on.status_code == 302 and on.headers["Location"] == BACKUP_PAGE
    codes = BACKUP.findall(web.get(BACKUP_PAGE).get_data(as_text=True))
    assert len(set(codes)) == 10

    # Typed as people copy them: capitals, a space instead of the dash.
    typed = codes[0].upper().replace("-", " ")
    sign = f"/documents/{first}/versions/1/sign"
    signed = _post(web, sign, outcome="signed", comment="", password=PASSWORD, code=typed)
    assert signed.status_code == 302
    with db.read() as s:
        assert s.scalar(sa.select(SignatureRecord.method)).endswith("backup codes")
    again = _post(web, f"/documents/{second}/versions/1/sign", outcome="signed", comment="",
                  password=PASSWORD, code=codes[0])  # fmt: skip
    assert again.status_code == 422 and "used already" in again.get_data(as_text=True)
    account_page = web.get("/me/account").get_data(as_text=True)
    assert "You have 9 backup codes left" in account_page
    notices = web.get("/me/notifications").get_data(as_text=True)
    assert "One of your backup codes was used" in notices and "You have 9 left" in notices
    # And by e-mail, so a code someone else used is noticed before the person next signs in.
    db.account_notices.wait(30)
    [(to, used)] = _backup_code_mail(_mail(inbox, 2))
    assert to == [circle.client.email]
    body = used.get_content()
    assert "You have 9 left." in body and "https://app.example.org/me/account" in body
    assert indiscretions(used["Subject"] + body) == []

    # New codes replace every old one; a wrong password changes nothing.
    refused = _post(web, "/me/second-factor/backup-codes", codes_password="wrong",
                    codes_code=codes[1])  # fmt: skip
    assert refused.status_code == 422 and "That password is not right" in refused.get_data(True)
    # The message stands by the field of the form that was sent, not the other form's.
    assert 'id="codes_password-error"' in refused.get_data(as_text=True)
    assert 'id="off_password-error"' not in refused.get_data(as_text=True)
    renewed = _post(web, "/me/second-factor/backup-codes", codes_password=PASSWORD,
                    codes_code=codes[1])  # fmt: skip
    assert renewed.status_code == 302 and renewed.headers["Location"] == BACKUP_PAGE
    fresh = BACKUP.findall(web.get(BACKUP_PAGE).get_data(as_text=True))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    old_code = _post(web, f"/documents/{second}/versions/1/sign", outcome="signed", comment="",
                     password=PASSWORD, code=codes[2])  # fmt: skip
    assert old_code.status_code == 422
    assert "You have 10 backup codes left" in web.get("/me/account").get_data(as_text=True)
    # The code that made the new ones was e-mailed about; the refused old one was not.
    db.account_notices.wait(30)
    later = _backup_code_mail(_mail(inbox, 3))
    assert len(inbox.envelopes) == 3 and len(later) == 2
    # Not "8 left": the new codes replaced every old one.
    assert "It made new backup codes, which replace all your old ones." in " ".join(
        later[1][1].get_content().split()
    )
    assert "8 left" not in later[1][1].get_content()
    with db.read() as s:
        actions = s.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("account.backup_code_used") == 2  # one to sign, one to renew
    assert "account.backup_codes_new" in actions


def test_a_supervisor_has_no_second_step_to_set_up(app, db):
    web = login(app.test_client(), Circle().supervisor)
    assert "second step" not in web.get("/me/account").get_data(as_text=True)
    assert web.get("/me/second-factor").status_code == 404


def test_an_administrator_sees_whether_each_email_about_an_account_was_sent(app, db):
    person, someone_else = ClientFactory(), ClientFactory()
    earlier = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with db.write() as s:
        for user, kind in (
            (person, "password_changed"),
            (person, "second_factor_on"),
            (person, "backup_code_used"),
            (person, "second_factor_off"),
            (someone_else, "signing_in_paused"),
        ):
            account_emails.queue(s, s.get(User, user.id), kind, {"left": 1}, earlier)
        s.flush()
        sent, failed, retrying, waiting, _ = s.scalars(
            sa.select(AccountEmail).order_by(AccountEmail.id)
        ).all()
        sent.status, sent.sent_at = "sent", earlier + timedelta(minutes=1)
        failed.status, failed.attempts = "failed", 8
        failed.last_error = "SMTPRecipientsRefused: {'x@example.org': (550, b'<no such box>')}"
        retrying.attempts, retrying.last_error = 2, "ConnectionRefusedError: refused"
        retrying.not_before = earlier + timedelta(minutes=2)
    admin = login(app.test_client(), AdminFactory())
    page = " ".join(admin.get(f"/admin/users/{person.id}").get_data(as_text=True).split())
    listed = page[page.index("E-mails about their account") :]
    assert listed.index("The second step when signing was turned off") < listed.index(
        "Their password was changed"
    )  # newest first
    assert f"to {person.email}: sent 2 November 2026, 09:01." in listed
    assert "<strong>could not be sent</strong> after 8 tries" in listed
    assert "(550, b&#39;&lt;no such box&gt;&#39;)" in listed  # shown, not interpreted
    assert "not sent yet: tried 2 times, trying again 2 November 2026, 09:02" in listed
    assert "The second step when signing was turned off</strong>, 2 November 2026, 09:00" in listed
    assert "waiting to be sent." in listed
    assert "Signing in was paused" not in listed  # someone else's
    assert 'tried again from <a href="/admin/emails">E-mails not sent</a>' in listed
    other = " ".join(admin.get(f"/admin/users/{someone_else.id}").get_data(as_text=True).split())
    assert "Signing in was paused after wrong passwords" in other
    assert "/admin/emails" not in other.split("E-mails about their account")[1]  # none failed
    fresh = ClientFactory()
    assert "None so far." in admin.get(f"/admin/users/{fresh.id}").get_data(as_text=True)


def test_an_administrator_sees_the_emails_given_up_on_and_tries_them_again(app, db):
    person, worker = ClientFactory(), KeyWorkerFactory()
    earlier = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with db.write() as s:
        for kind in ("password_changed", "second_factor_on"):
            account_emails.queue(s, s.get(User, person.id), kind, {}, earlier)
        s.add(ReminderDigest(recipient_id=worker.id, day=service_day(utcnow()), created_at=earlier))
        s.flush()
        for row in [*s.scalars(sa.select(AccountEmail)), *s.scalars(sa.select(ReminderDigest))]:
            row.status, row.attempts = "failed", 8
            row.last_error = "SMTPServerDisconnected: <relay> went away"
        # Named, not the first row found: PostgreSQL returns updated rows in no set order.
        sent = sa.select(AccountEmail).where(AccountEmail.kind == "password_changed")
        s.scalars(sent).one().status = "sent"  # not listed
    admin = login(app.test_client(), AdminFactory())
    start = " ".join(admin.get("/admin/users").get_data(as_text=True).split())
    assert "2 e-mails could not be sent." in start and 'href="/admin/emails"' in start

    page = " ".join(admin.get("/admin/emails").get_data(as_text=True).split())
    assert "2 e-mails could not be sent." in page
    assert "The second step when signing was turned on" in page
    assert "Their password was changed" not in page  # that one was sent
    assert "A daily summary of reminders" in page
    assert f"{worker.display_name}</a>, {worker.email}" in page
    assert f'href="/admin/users/{person.id}"' in page
    assert "SMTPServerDisconnected: &lt;relay&gt; went away" in page  # shown, not interpreted

    # Without the form's token nothing changes.
    assert admin.post("/admin/emails/try-again").status_code == 400
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(AccountEmail.status == "failed")) == 1
    token = csrf_token(admin)
    answer = admin.post("/admin/emails/try-again", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/emails#confirmation"
    page = " ".join(admin.get("/admin/emails").get_data(as_text=True).split())
    assert "2 e-mails will be tried again within a minute." in page
    assert "None. Every e-mail so far was sent or is still being tried." in page
    db.account_notices.wait(10)  # the app sends an account e-mail at once (here: to the log)
    with db.read() as s:
        emails = sorted((r.status, r.attempts) for r in s.scalars(sa.select(AccountEmail)))
        assert emails == [("sent", 1), ("sent", 8)]
        digest = s.scalars(sa.select(ReminderDigest)).one()
        assert (digest.status, digest.attempts) == ("pending", 0)  # for the scheduler's sender
    admin.post("/admin/emails/try-again", data={"csrf_token": token})
    assert "Nothing was waiting to be tried again." in admin.get("/admin/emails").get_data(
        as_text=True
    )
    assert "could not be sent" not in admin.get("/admin/users").get_data(as_text=True)


def test_inviting_an_advocate_asks_first_and_says_what_they_will_see(app, db):
    """One tap on a phone must not open every record to someone else; stopping is one tap."""
    circle = Circle()
    other = AdvocateFactory(display_name="Robin Advocate")
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    form = {"advocate_id": str(other.id), "action": "invite"}
    asked = _post(web, "/me/advocates", **form)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Invite Robin Advocate?" in page
    assert "read all your plans and agreements" in page and "cannot change or sign" in page
    assert 'name="confirm" value="yes"' in page and "No, go back" in page
    robin = login(app.test_client(), other)
    assert robin.get(f"/documents/{doc}").status_code == 404  # nothing shared yet

    assert _post(web, "/me/advocates", **form, confirm="yes").status_code == 302
    assert robin.get(f"/documents/{doc}").status_code == 200
    assert (
        _post(web, "/me/advocates", advocate_id=str(other.id), action="revoke").status_code == 302
    )
    assert robin.get(f"/documents/{doc}").status_code == 404


def test_an_administrator_is_told_how_long_the_link_works_as_long_as_it_does(app, db, monkeypatch):
    """The welcome link's lifetime was written out as "7 days" beside the setting it repeats."""
    monkeypatch.setattr(account_settings, "WELCOME_LINK_LIFETIME", timedelta(days=3))
    admin = login(app.test_client(), AdminFactory())
    made = _post(admin, "/admin/users/new", name="Dana Reyes", email="dana@example.org",
                 role="client")  # fmt: skip
    page = admin.get(made.headers["Location"]).get_data(as_text=True)
    assert "It works for 3 days." in page and "7 days" not in page
    with db.read() as s:
        dana = s.scalar(sa.select(User).where(User.email == "dana@example.org"))
    saved = _post(admin, f"/admin/users/{dana.id}/details", name="Dana Reyes",
                  email="dana.reyes@example.org", team_id="")  # fmt: skip
    assert "It works for 3 days." in admin.get(saved.headers["Location"]).get_data(as_text=True)
    # Sent again while nobody has chosen a password: the welcome, for as long.
    sent = _post(admin, f"/admin/users/{dana.id}/password-link")
    assert "It works for 3 days." in admin.get(sent.headers["Location"]).get_data(as_text=True)
    for active in ("no", "yes"):  # nobody has chosen a password yet: the welcome again
        reopened = _post(admin, f"/admin/users/{dana.id}/active", active=active, **CONFIRMED)
    assert "It works for 3 days." in admin.get(reopened.headers["Location"]).get_data(True)


def test_the_admin_pages_offer_only_choices_that_can_be_made(app, db):
    """A key worker in no team cannot take a client, and a team already supervised cannot be
    added again: neither is offered (the services refuse both)."""
    circle = Circle()
    teamless = KeyWorkerFactory(team_id=None, display_name="Kay Noteam")
    in_team = KeyWorkerFactory(team_id=circle.team.id, display_name="Lou Inteam")
    client = ClientFactory()
    admin = login(app.test_client(), circle.admin)
    page = admin.get(f"/admin/users/{client.id}").get_data(as_text=True)
    offered = re.search(r'<select id="key_worker_id".*?</select>', page, re.S).group(0)
    assert in_team.display_name in offered and teamless.display_name not in offered

    other = TeamFactory()
    supervisor = admin.get(f"/admin/users/{circle.supervisor.id}").get_data(as_text=True)
    teams = re.search(r'<select id="supervise-team".*?</select>', supervisor, re.S).group(0)
    assert f">{other.name}<" in teams and f">{circle.team.name}<" not in teams
    with db.read() as s:
        team_ids = s.scalars(sa.select(Team.id)).all()
    for team_id in set(team_ids) - {circle.team.id}:
        SupervisorTeamFactory(supervisor_id=circle.supervisor.id, team_id=team_id)
    everything = admin.get(f"/admin/users/{circle.supervisor.id}").get_data(as_text=True)
    assert 'id="supervise-team"' not in everything
    assert "They supervise every team." in everything

    # No key worker in a team at all: the page says why none is offered.
    with db.write() as s:
        s.execute(sa.update(User).where(User.role == "key_worker").values(team_id=None))
    page = admin.get(f"/admin/users/{client.id}").get_data(as_text=True)
    assert 'id="key_worker_id"' not in page
    assert "No key worker can take them yet: there is none in a team." in page


def test_a_link_the_mail_server_cannot_take_is_said_not_sent(smtp_app, db):
    """A mail server without SMTPUTF8 can never take an address with letters outside ASCII.
    The administrator was told "We have e-mailed" and the account's page "not used yet",
    while nobody had the link."""
    controller, inbox = start_server(smtputf8=False)
    smtp_app.config["SMTP_PORT"] = controller.port
    try:
        _links_said(smtp_app, db, inbox)
    finally:
        wait_for_account_notices()
        controller.stop()


def _links_said(smtp_app, db, inbox):
    admin = login(smtp_app.test_client(), AdminFactory())
    made = _post(admin, "/admin/users/new", name="José Ruiz", email="josé@example.org",
                 role="client", team_id="")  # fmt: skip
    assert made.status_code == 302
    page = " ".join(admin.get(made.headers["Location"]).get_data(as_text=True).split())
    assert (
        "The link to choose a password could not be e-mailed to josé@example.org. The mail"
        " server does not accept this address" in page
    )
    assert "Nobody has it. Correct the address, or send a new link." in page
    assert "We have e-mailed" not in page
    assert "<strong>not sent</strong>, so nobody has it. The mail server does not" in page
    assert "not used yet" not in page
    with db.read() as s:
        [link] = s.scalars(
            sa.select(PasswordLink)
            .join(User, User.id == PasswordLink.user_id)
            .where(User.email == "josé@example.org")
        )
    assert "SMTPUTF8" in link.not_sent
    assert inbox.envelopes == []
    # An address it can take: sent, and said so, as before.
    sent = _post(admin, "/admin/users/new", name="Ann Lee", email="ann@example.org",
                 role="client", team_id="")  # fmt: skip
    said = " ".join(admin.get(sent.headers["Location"]).get_data(as_text=True).split())
    assert "We have e-mailed ann@example.org a link to choose a password." in said
    assert "<strong>not sent</strong>" not in said and len(inbox.envelopes) == 1

    # The administrators' list of what could not be sent names José's link, and sends them to
    # José's page for a new one: it cannot be tried again, so no button offers to.
    start = " ".join(admin.get("/admin/users").get_data(as_text=True).split())
    assert "1 e-mail could not be sent." in start
    listed = " ".join(admin.get("/admin/emails").get_data(as_text=True).split())
    jose = made.headers["Location"].split("#")[0]
    assert '<td data-label="What">Link to choose a first password</td>' in listed
    assert f'<a href="{jose}#links">José Ruiz</a>, josé@example.org' in listed
    assert "SMTPUTF8" in listed and "Ann Lee" not in listed
    assert "Open the person's page and send a new link." in listed
    assert "Try them all again" not in listed


def test_a_link_the_mail_server_is_out_of_reach_for_says_so_without_a_system_error(app, db):
    """With the mail server down the administrator read "could not be e-mailed to …: [Errno
    111] Connection refused Nobody has it. Correct the address, …": the address was right."""
    from tests.smtp import free_port

    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_USE_TLS=False)
    circle = Circle()
    admin = login(app.test_client(), circle.admin)
    sent = _post(admin, f"/admin/users/{circle.client.id}/password-link")
    page = " ".join(admin.get(sent.headers["Location"]).get_data(as_text=True).split())
    assert (
        "The mail server could not be reached, so nobody has the link. Try again once it works."
        in page
    )
    assert "Errno" not in page and "Correct the address" not in page
    assert (
        "<strong>not sent</strong>, so nobody has it. The mail server could not be reached (the"
        " connection was refused). Try again once it works." in page
    )


def test_a_key_worker_made_without_a_team_is_said_to_need_one_before_any_client(app, db):
    """Nothing said so until a client's page offered no key worker to give them."""
    admin = login(app.test_client(), AdminFactory())
    made = _post(admin, "/admin/users/new", name="Kai Lund", email="kai@example.org",
                 role="key_worker", team_id="")  # fmt: skip
    assert made.status_code == 302
    landed = " ".join(admin.get(made.headers["Location"]).get_data(as_text=True).split())
    assert "They are in no team yet, so no client can be given to them until they are" in landed
    # In a team, or not a key worker: nothing to say.
    team = TeamFactory()
    for role, team_id in (("key_worker", str(team.id)), ("client", "")):
        made = _post(admin, "/admin/users/new", name=f"Other {role}", email=f"{role}@example.org",
                     role=role, team_id=team_id)  # fmt: skip
        assert made.status_code == 302
        assert "in no team yet" not in admin.get(made.headers["Location"]).get_data(as_text=True)


def test_the_password_link_is_offered_in_words_true_of_an_account_with_no_password_yet(app, db):
    """It said "Their current password keeps working until they do" of an account nobody has
    chosen a password for."""
    admin_user = AdminFactory()
    admin = login(app.test_client(), admin_user)
    dee, _ = admin_accounts.create(
        db, actor_for(admin_user), "dee@example.org", "Dee Novak", "client", None
    )
    page = admin.get(f"/admin/users/{dee}").get_data(as_text=True)
    assert "They have not chosen a password yet." in page
    assert "current password" not in page and "choose a password</button>" in page
    with_one = admin.get(f"/admin/users/{admin_user.id}").get_data(as_text=True)
    assert "Their current password keeps working until they do." in with_one
    assert "choose a new password</button>" in with_one


def test_a_client_given_a_key_worker_and_the_worker_are_both_told(app, db):
    """Given a key worker (a newcomer, or someone back after leaving), nobody was told: the
    client's newest message could still say their time with the service had ended."""
    circle = Circle()
    admin = login(app.test_client(), circle.admin)
    worker = circle.key_worker

    newcomer = ClientFactory()
    given = _post(admin, f"/admin/users/{newcomer.id}/key-worker", key_worker_id=str(worker.id))
    assert given.status_code == 302
    assert newest_message(db, newcomer) == (f"{worker.display_name} is now your key worker.", "/")
    assert newest_message(db, worker) == (
        f"{newcomer.display_name} is now on your caseload: you are their key worker.",
        f"/clients/{newcomer.id}",
    )

    leaving.record(db, actor_for(worker), circle.client.id, "Moved away.", service_today())
    back = _post(admin, f"/admin/users/{circle.client.id}/key-worker", key_worker_id=str(worker.id))
    assert back.status_code == 302
    assert newest_message(db, circle.client)[0] == f"{worker.display_name} is now your key worker."
    called = circle.client.preferred_name or circle.client.display_name
    assert newest_message(db, worker)[0] == (
        f"{called} is now on your caseload: you are their key worker. They had left the "
        "service and are back."
    )


def test_an_account_page_with_one_link_does_not_call_it_the_latest_1(app, db):
    admin = login(app.test_client(), AdminFactory())
    made = _post(admin, "/admin/users/new", name="Dana Reyes", email="dana@example.org",
                 role="client")  # fmt: skip
    page = admin.get(made.headers["Location"]).get_data(as_text=True)
    assert "One link so far." in page and "The latest 1," not in page
