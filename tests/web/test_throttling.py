"""Wrong passwords, checks at /verify and links asked for are paused after the real limits
(config.RATE_LIMITS), per account and per address, with a calm message; the account's owner is
told once.

The app here runs with the production limits, not the lifted ones of the other tests. Counting
across separate app processes is tested in tests/integration/test_throttling_processes.py.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa
from limits import parse

from careplan import create_app
from careplan.config import RATE_LIMITS
from careplan.db.models import AuditEvent, Notification, RateLimitCounter, SignatureRecord
from careplan.extensions import DB_KEY
from careplan.reminders.messages import indiscretions
from careplan.services import account_settings, second_factor, signoff
from careplan.services.accounts import actor_for
from careplan.services.throttle import OutageLog
from tests import factories
from tests.conftest import FAST_ARGON2, csrf_token, login
from tests.factories import (
    PASSWORD,
    Circle,
    ClientFactory,
    forget_messages,
    make_agreement,
    make_plan,
)

PER_ACCOUNT = parse(RATE_LIMITS["RATELIMIT_PASSWORD_PER_ACCOUNT"]).amount
PER_ADDRESS = parse(RATE_LIMITS["RATELIMIT_PASSWORD_PER_ADDRESS"]).amount
VERIFY_PER_ADDRESS = parse(RATE_LIMITS["RATELIMIT_VERIFY_PER_ADDRESS"]).amount
RESET_PER_ADDRESS = parse(RATE_LIMITS["RATELIMIT_RESET_PER_ADDRESS"]).amount
WRONG = "not the password at all"
PAUSED = "too many attempts with a wrong password"


def _config(**extra) -> dict:
    return {"ENV": "testing", **FAST_ARGON2, **RATE_LIMITS, **extra}


@pytest.fixture
def app(database_url, tmp_path):
    """The app with the limits production has (the shared fixture lifts them)."""
    app = create_app(_config(DATABASE_URL=database_url), instance_path=tmp_path / "instance")
    factories.bind(app.extensions[DB_KEY])
    yield app
    factories.unbind()
    app.extensions[DB_KEY].dispose()


def _sign_in(client, email: str, password: str, address: str = "192.0.2.1", **headers):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def _notices(db, user_id: int) -> list[str]:
    with db.read() as s:
        return s.scalars(sa.select(Notification.text).where(Notification.user_id == user_id)).all()


def _wait_for_notices(db):
    db.account_notices.wait(30)


def test_wrong_passwords_pause_the_account_and_its_owner_is_told_once(app, client, db):
    person, other = ClientFactory(), ClientFactory()
    for _ in range(PER_ACCOUNT):
        assert _sign_in(client, person.email, WRONG).status_code == 401

    # Now even the right password is not tried, from any address.
    paused = _sign_in(client, person.email, PASSWORD, address="198.51.100.7")
    assert paused.status_code == 429
    text = paused.get_data(as_text=True)
    assert PAUSED in text and "Please try again in 15 minutes" in text
    assert 0 < int(paused.headers["Retry-After"]) <= 15 * 60
    assert 'name="email"' in text  # the sign-in form, with the message above it
    assert _sign_in(client, person.email, WRONG).status_code == 429

    # The owner learns of it once, in discreet words; nobody else is paused.
    _wait_for_notices(db)
    (notice,) = _notices(db, person.id)
    assert "wrong password was typed for your account" in notice and "paused until" in notice
    assert indiscretions(notice) == []
    with db.read() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "account.lockout", AuditEvent.object_id == person.id)
            )
            == 1
        )
    assert _sign_in(client, other.email, PASSWORD).status_code == 302


def test_an_e_mail_nobody_has_is_paused_the_same_way_and_never_stored(app, client, db):
    known = ClientFactory()
    unknown = "nobody-here@example.org"
    for email in (known.email, unknown):
        for _ in range(PER_ACCOUNT):
            assert _sign_in(client, email, WRONG).status_code == 401
    known_page = _sign_in(client, known.email, WRONG)
    unknown_page = _sign_in(client, unknown, WRONG)
    assert known_page.status_code == unknown_page.status_code == 429

    def message(page):
        html = page.get_data(as_text=True)
        return re.search(r'id="login-error"[^>]*>([^<]*)<', html).group(1)

    # The same words (the time to wait may differ by a minute at most).
    assert re.sub(r"\d", "#", message(known_page)) == re.sub(r"\d", "#", message(unknown_page))
    _wait_for_notices(db)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
        keys = " ".join(s.scalars(sa.select(RateLimitCounter.key)))
    # Counters are kept under keyed hashes: no address typed, no IP address.
    assert unknown not in keys and "nobody" not in keys and "192.0.2.1" not in keys


def test_a_password_chosen_through_an_e_mailed_link_ends_the_accounts_pause(app, client, db):
    """The page after choosing a new password says "sign in with it": it must work, even if
    the account was paused after wrong passwords (the link proved the mailbox is theirs)."""
    person = ClientFactory()
    for _ in range(PER_ACCOUNT):
        assert _sign_in(client, person.email, WRONG).status_code == 401
    assert _sign_in(client, person.email, PASSWORD, address="198.51.100.7").status_code == 429

    link = account_settings.request_reset(db, person.email)
    new = "a fresh long password of mine"
    account_settings.use_link(db, link.token, new, new)
    assert _sign_in(client, person.email, new, address="198.51.100.7").status_code == 302
    # The connection the wrong passwords came from is still counted as it was.
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(RateLimitCounter)) >= 1


def test_signing_in_again_starts_the_count_afresh(app, client):
    person = ClientFactory()
    for _round in range(2):
        for _ in range(PER_ACCOUNT - 1):
            assert _sign_in(client, person.email, WRONG).status_code == 401
        assert _sign_in(client, person.email, PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_one_address_is_paused_after_wrong_passwords_for_many_accounts(app, client):
    for n in range(PER_ADDRESS):
        assert _sign_in(client, f"guess{n}@example.org", WRONG).status_code == 401
    person = ClientFactory()
    paused = _sign_in(client, person.email, PASSWORD)
    assert paused.status_code == 429 and PAUSED in paused.get_data(as_text=True)
    # The same person from another connection signs in as usual.
    assert _sign_in(client, person.email, PASSWORD, address="203.0.113.9").status_code == 302


def test_an_ipv6_connection_counts_as_its_whole_network(app, client):
    for n in range(PER_ADDRESS):
        address = f"2001:db8:1:2::{n + 1:x}"
        assert _sign_in(client, f"guess{n}@example.org", WRONG, address).status_code == 401
    person = ClientFactory()
    assert _sign_in(client, person.email, PASSWORD, "2001:db8:1:2:ffff::1").status_code == 429
    assert _sign_in(client, person.email, PASSWORD, "2001:db8:1:3::1").status_code == 302


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_address_is_the_one_trusted_proxies_give(database_url, tmp_path, proxies):
    """Behind a trusted proxy, X-Forwarded-For names the address; otherwise it is ignored,
    so a client cannot choose a fresh address for each guess."""
    app = create_app(
        _config(DATABASE_URL=database_url, TRUSTED_PROXIES=proxies),
        instance_path=tmp_path / "instance",
    )
    factories.bind(app.extensions[DB_KEY])
    try:
        client = app.test_client()
        for n in range(PER_ADDRESS):
            forwarded = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
            response = _sign_in(client, f"guess{n}@example.org", WRONG, **forwarded)
            assert response.status_code == 401
        person = ClientFactory()
        fresh = _sign_in(client, person.email, PASSWORD, **{"X-Forwarded-For": "203.0.113.50"})
        assert fresh.status_code == (302 if proxies else 429)
    finally:
        factories.unbind()
        app.extensions[DB_KEY].dispose()


def test_wrong_codes_from_the_app_count_with_wrong_passwords(app, client, db):
    """Six digits are quickly guessed: with the second step on, a wrong code counts as a wrong
    password, and once paused even the right password and code are not tried."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    setup = second_factor.begin(db, actor_for(circle.client), "app.example.org")
    totp = pyotp.TOTP(setup.secret)
    second_factor.turn_on(db, actor_for(circle.client), setup.secret, totp.now(), PASSWORD)
    login(client, circle.client)
    token = csrf_token(client)
    form = {"outcome": "signed", "comment": "", "password": PASSWORD, "csrf_token": token}
    wrong = totp.at(time.time() + 600)  # a real code, but not of now
    for n in range(PER_ACCOUNT):
        refused = client.post(f"/documents/{doc}/versions/1/sign", data={**form, "code": wrong})
        assert refused.status_code == 422, n
    right = totp.at(time.time() + 30)
    paused = client.post(f"/documents/{doc}/versions/1/sign", data={**form, "code": right})
    assert paused.status_code == 429 and PAUSED in paused.get_data(as_text=True)
    with app.extensions[DB_KEY].read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 0


def test_signing_and_confirming_passwords_count_with_signing_in(app, client, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    agreed = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), agreed, 1, "signed", "", PASSWORD)
    forget_messages()  # the client told it is agreed: this test counts the pause's notice
    login(client, circle.client)
    token = csrf_token(client)
    sign_url = f"/documents/{doc}/versions/1/sign"
    confirm_url = f"/documents/{agreed}/versions/1/reviewed"
    for n in range(PER_ACCOUNT):
        url, form = (sign_url, {"outcome": "signed", "comment": ""}) if n % 2 else (confirm_url, {})
        refused = client.post(url, data={**form, "password": WRONG, "csrf_token": token})
        assert refused.status_code == 422, n

    paused = client.post(
        sign_url,
        data={"outcome": "signed", "comment": "", "password": PASSWORD, "csrf_token": token},
    )
    assert paused.status_code == 429 and PAUSED in paused.get_data(as_text=True)
    assert int(paused.headers["Retry-After"]) > 0
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert "You signed" not in page  # nothing was signed
    # The same account cannot be signed in to elsewhere either, and its owner is told.
    elsewhere = app.test_client()
    assert _sign_in(elsewhere, circle.client.email, PASSWORD).status_code == 429
    _wait_for_notices(db)
    assert len(_notices(db, circle.client.id)) == 1


def test_a_wrong_password_counts_when_the_signing_form_is_refused_for_more(app, client, db):
    """A form refused for something else too (key parts left empty without saying so) still
    names, and counts, a wrong password: the answer names every problem, and a faulty form is
    no way round the pause. A right password there starts no count afresh: nothing is done."""
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)  # its key parts are empty
    login(client, circle.client)
    sign_url = f"/documents/{doc}/versions/1/sign"
    form = {"outcome": "signed", "comment": "", "csrf_token": csrf_token(client)}
    # Every wrong password the limit allows, and a right one among them.
    for n, typed in enumerate([WRONG, PASSWORD] + [WRONG] * (PER_ACCOUNT - 1)):
        refused = client.post(sign_url, data={**form, "password": typed})
        assert refused.status_code == 422, n
        page = refused.get_data(as_text=True)
        assert '<a href="#confirm_blank">' in page, n
        assert ('<a href="#password">' in page) == (typed == WRONG), n
    right = {**form, "password": PASSWORD, "confirm_blank": "yes"}
    paused = client.post(sign_url, data=right)
    assert paused.status_code == 429 and PAUSED in paused.get_data(as_text=True)
    with app.extensions[DB_KEY].read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 0


def test_an_empty_password_box_is_asked_for_and_not_counted(app, client, db):
    """Signing, declining or confirming with the password box left empty says to type it,
    and is no wrong password: sent more often than the limit allows, the person can still
    sign, and sign in elsewhere. A form refused for something else says it too."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    agreed = make_plan(circle.key_worker, circle.client)
    blank = make_agreement(circle.key_worker, circle.client)  # its key parts are empty
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), agreed, 1, "signed", "", PASSWORD)
    login(client, circle.client)
    token = csrf_token(client)
    forms = [
        (f"/documents/{doc}/versions/1/sign", {"outcome": "declined", "comment": "Not yet."}),
        (f"/documents/{agreed}/versions/1/reviewed", {}),
        (f"/documents/{blank}/versions/1/sign", {"outcome": "signed", "comment": ""}),
    ]
    said = {
        0: "Please type your password. Nothing was signed.",
        1: "Please type your password. Nothing was confirmed.",
        2: "Please type your password. Nothing was signed.",
    }
    for n in range(PER_ACCOUNT * 2):
        url, form = forms[n % 3]
        refused = client.post(url, data={**form, "password": "", "csrf_token": token})
        assert refused.status_code == 422, n
        page = refused.get_data(as_text=True)
        assert said[n % 3] in page and "not right" not in page, n

    signed = client.post(
        forms[0][0],
        data={"outcome": "signed", "comment": "", "password": PASSWORD, "csrf_token": token},
    )
    assert signed.status_code == 302
    assert _sign_in(app.test_client(), circle.client.email, PASSWORD).status_code == 302
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 3


def test_checks_at_verify_are_paused_per_address(app, client):
    token = csrf_token(client)

    def check(address):
        return client.post(
            "/verify",
            data={"csrf_token": token, "code": "AAAA-BBBB-CCCC"},
            environ_base={"REMOTE_ADDR": address},
        )

    for _ in range(VERIFY_PER_ADDRESS):
        assert check("192.0.2.20").status_code == 200
    paused = check("192.0.2.20")
    assert paused.status_code == 429
    assert "checking is paused" in paused.get_data(as_text=True)
    assert "Please try again in" in paused.get_data(as_text=True)
    assert check("192.0.2.21").status_code == 200


def test_links_asked_for_are_paused_per_address_whatever_address_is_typed(app, client, db):
    """One connection asking links for address after address (each account gets at most
    three an hour anyway) is paused; the pause says the same for every address typed."""
    person = ClientFactory()
    token = csrf_token(client)

    def ask(email, address="192.0.2.30"):
        return client.post(
            "/forgot-password",
            data={"csrf_token": token, "email": email},
            environ_base={"REMOTE_ADDR": address},
        )

    for n in range(RESET_PER_ADDRESS):
        assert ask(f"someone{n}@example.org").status_code == 200
    for email in (person.email, "nobody@example.org"):
        paused = ask(email)
        assert paused.status_code == 429 and int(paused.headers["Retry-After"]) > 0
        said = paused.get_data(as_text=True)
        assert "so asking is paused" in said and "Please try again in" in said
        assert email not in said
    db.account_notices.wait(30)
    with db.read() as s:
        asked = sa.select(sa.func.count()).where(AuditEvent.action == "account.reset_requested")
        assert s.scalar(asked) == 0  # the paused request for the account made no link
    assert ask(person.email, "192.0.2.31").status_code == 200  # another connection
    db.account_notices.wait(30)
    with db.read() as s:
        assert s.scalar(asked) == 1


def test_counters_out_of_reach_pause_nobody_and_say_so(database_url, tmp_path, caplog):
    """Redis down (here: nothing listens on the port) must not stop people signing in."""
    app = create_app(
        _config(DATABASE_URL=database_url, RATELIMIT_STORAGE_URL="redis://127.0.0.1:9/0"),
        instance_path=tmp_path / "instance",
    )
    factories.bind(app.extensions[DB_KEY])
    try:
        client = app.test_client()
        person = ClientFactory()
        assert _sign_in(client, person.email, WRONG).status_code == 401
        assert _sign_in(client, person.email, PASSWORD).status_code == 302
        # Each sign-in checked the counters several times: one line says so, in brief, and
        # names the cause; the next comes after a minute, with how many failed meanwhile.
        [said] = [r for r in caplog.records if "rate-limit counters" in r.getMessage()]
        assert said.levelname == "ERROR" and said.exc_info is None
        assert "cannot be reached; not pausing anyone: ConnectionError" in said.getMessage()
        assert "Traceback" not in caplog.text
    finally:
        factories.unbind()
        app.extensions[DB_KEY].dispose()


def test_counters_out_of_reach_are_reported_once_a_minute(caplog):
    now = [1000.0]
    outage = OutageLog(clock=lambda: now[0])
    for seconds in (0, 1, 30, 59.9, 60, 61, 130):
        now[0] = 1000.0 + seconds
        outage.failed(ConnectionRefusedError("[Errno 111] Connection refused"))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "The rate-limit counters cannot be reached; not pausing anyone: "
        "ConnectionRefusedError: [Errno 111] Connection refused",
        "The rate-limit counters cannot be reached; not pausing anyone (3 more checks failed "
        "since the last message): ConnectionRefusedError: [Errno 111] Connection refused",
        "The rate-limit counters cannot be reached; not pausing anyone (1 more check failed "
        "since the last message): ConnectionRefusedError: [Errno 111] Connection refused",
    ]


def test_draft_pdfs_are_paused_per_account(database_url, tmp_path):
    """Each draft PDF is rendered when asked; one reader cannot keep the renderers busy."""
    app = create_app(
        _config(DATABASE_URL=database_url, RATELIMIT_DRAFT_PDF_PER_ACCOUNT="2 per 10 minutes"),
        instance_path=tmp_path / "instance",
    )
    factories.bind(app.extensions[DB_KEY])
    try:
        circle = Circle()
        doc = make_plan(circle.key_worker, circle.client)
        url = f"/documents/{doc}/versions/1/draft.pdf"
        client = login(app.test_client(), circle.client)
        assert [client.get(url).status_code for _ in range(2)] == [200, 200]
        paused = client.get(url)
        assert paused.status_code == 429
        assert "making more is paused" in paused.get_data(as_text=True)
        worker = login(app.test_client(), circle.key_worker)  # counted per account
        assert worker.get(url).status_code == 200
        with app.extensions[DB_KEY].read() as s:
            downloads = s.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "download")
            )
        assert downloads == 3  # the refused one rendered nothing and recorded nothing
    finally:
        factories.unbind()
        app.extensions[DB_KEY].dispose()
