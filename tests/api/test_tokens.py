"""Personal access tokens: made and revoked by their owner on /me/tokens, shown once, kept
only as a hash, scoped and expiring; refused tokens answer 401 and count towards a pause."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from careplan import create_app
from careplan.db.models import ApiToken, AuditEvent, Notification
from careplan.domain import local_time
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_today, start_of_day, time_zone
from careplan.domain.tokens import token_hash
from careplan.services import api_tokens
from careplan.services.accounts import actor_for
from careplan.web import carried_secrets
from tests import factories
from tests.api.conftest import assert_error, bearer
from tests.conftest import FAST_ARGON2, csrf_token, login
from tests.factories import (
    AdminFactory,
    AdvocateFactory,
    ClientFactory,
    KeyWorkerFactory,
    SupervisorFactory,
)

NEW_TOKEN = re.compile(r'<code class="words new-token">([^<]+)</code>')


def _make_on_page(client, **form):
    data = {"name": "My phone", "scopes": ["read"], "expires_on": _in(30), **form}
    return client.post("/me/tokens", data={**data, "csrf_token": csrf_token(client)})


def _in(days: int) -> str:
    return (service_today() + timedelta(days=days)).isoformat()


def _events(db, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_a_token_is_made_on_its_page_shown_once_and_kept_as_a_hash(client, db):
    person = KeyWorkerFactory()
    login(client, person)
    assert "/me/tokens" in client.get("/me/account").get_data(as_text=True)

    made = _make_on_page(client, scopes=["read", "sign"])

    # Redirected, so a reload makes no second token; the page it leads to shows the secret.
    # At the token: the form's own #error-summary is not on the page it lands on.
    assert made.status_code == 302 and made.headers["Location"] == "/me/tokens#new-token"
    secret = NEW_TOKEN.search(client.get("/me/tokens").get_data(as_text=True)).group(1)
    with client.session_transaction() as session:
        assert secret not in str(dict(session))
    with db.read() as s:
        row = s.scalar(sa.select(ApiToken))
    assert row.token_hash == token_hash(secret) and secret not in repr(vars(row))
    assert row.scopes == "read sign"
    assert row.expires_at == start_of_day(service_today() + timedelta(days=31))
    listed = client.get("/me/tokens").get_data(as_text=True)  # reloaded: shown no more
    assert "My phone" in listed and secret not in listed and "Not used yet" in listed
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1
    assert f"Works until the end of {service_today() + timedelta(days=30):%-d %B %Y}." in listed
    [event] = _events(db, "api_token.create")
    assert event.actor_id == person.id and secret not in str(event.detail)

    answer = client.get("/api/v1/reminders", headers=bearer(secret))
    assert answer.status_code == 200
    assert "Last used" in client.get("/me/tokens").get_data(as_text=True)


def test_a_new_token_s_secret_crosses_the_session_encrypted(client, db):
    login(client, ClientFactory())
    assert _make_on_page(client).status_code == 302
    with client.session_transaction() as session:
        carried = str(dict(session))  # what the signed, readable cookie holds

    secret = NEW_TOKEN.search(client.get("/me/tokens").get_data(as_text=True)).group(1)

    with db.read() as s:
        assert s.scalar(sa.select(ApiToken.token_hash)) == token_hash(secret)
    assert secret not in carried


def test_a_new_token_s_secret_is_kept_for_its_page_when_other_pages_load_first(client, db):
    """Another tab loads pages between the form and the page it leads to: they neither show
    the secret nor take it (nor the messages waiting for them), and the tokens page still
    shows it, once."""
    login(client, ClientFactory())
    assert _make_on_page(client).status_code == 302

    for elsewhere in ("/", "/me/account"):  # another tab got there first
        page = client.get(elsewhere, follow_redirects=True)
        assert page.status_code == 200 and not NEW_TOKEN.search(page.get_data(as_text=True))

    page = client.get("/me/tokens").get_data(as_text=True)
    [secret] = NEW_TOKEN.findall(page)
    with db.read() as s:
        assert s.scalar(sa.select(ApiToken.token_hash)) == token_hash(secret)
    assert not NEW_TOKEN.search(client.get("/me/tokens").get_data(as_text=True))  # reloaded


def test_a_new_token_s_secret_left_uncollected_is_not_shown_later(client, db, monkeypatch):
    login(client, ClientFactory())
    monkeypatch.setattr(carried_secrets, "CARRIED_SECONDS", -1)  # already too long ago
    assert _make_on_page(client).status_code == 302

    page = client.get("/me/tokens").get_data(as_text=True)

    assert not NEW_TOKEN.search(page) and "Not used yet" in page  # made, not shown


def test_two_tokens_made_before_either_page_loads_are_both_shown_once(client, db):
    """Two tabs each send the form; the first page to load shows both secrets, the other
    page neither (a secret is shown once), and each secret is its own token's."""
    login(client, ClientFactory())
    form = {"scopes": ["read"], "expires_on": _in(30), "csrf_token": csrf_token(client)}
    # Both forms sent before any page loads (any page would collect the first secret).
    for name in ("Phone", "Laptop"):
        assert client.post("/me/tokens", data={**form, "name": name}).status_code == 302

    page = client.get("/me/tokens").get_data(as_text=True)

    secrets = NEW_TOKEN.findall(page)
    assert len(secrets) == 2 and "Your 2 new tokens" in page
    assert "They are shown only this once" in page
    with db.read() as s:
        kept = dict(s.execute(sa.select(ApiToken.name, ApiToken.token_hash)).all())
    assert [token_hash(secret) for secret in secrets] == [kept["Phone"], kept["Laptop"]]
    assert page.index("Phone") < page.index(secrets[0]) < page.index("Laptop")
    assert not NEW_TOKEN.search(client.get("/me/tokens").get_data(as_text=True))


def test_an_administrator_sees_no_secret_of_anyone(client, db):
    owner = ClientFactory()
    secret = api_tokens.create(db, actor_for(owner), "mine", ["read"], _in(10)).secret
    login(client, AdminFactory())
    page = client.get(f"/admin/users/{owner.id}").get_data(as_text=True)
    assert secret not in page
    # Nor can they revoke it: only its owner can.
    with db.read() as s:
        token_id = s.scalar(sa.select(ApiToken.id))
    refused = client.post(f"/me/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client)})
    assert refused.status_code == 404


@pytest.mark.parametrize(
    "form, field",
    [
        ({"name": ""}, "name"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["read", "everything"]}, "scopes"),
        ({"expires_on": ""}, "expires_on"),
        ({"expires_on": "not a day"}, "expires_on"),
        ({"expires_on": service_today().isoformat()}, "expires_on"),
        ({"expires_on": _in(366)}, "expires_on"),
    ],
)
def test_a_token_needs_a_name_scopes_and_an_expiry_within_a_year(client, db, form, field):
    login(client, ClientFactory())
    response = _make_on_page(client, **form)
    assert response.status_code == 422
    assert 'id="' + field + '-error"' in response.get_data(as_text=True)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_a_token_is_offered_only_what_its_owner_s_role_may_do(client, db):
    """A supervisor was offered "write" and "sign", which the API then refused; an
    administrator, "read the records you can see", who sees none."""
    for person, offered in (
        (ClientFactory(), ["read", "write", "sign"]),
        (KeyWorkerFactory(), ["read", "write", "sign"]),
        (SupervisorFactory(), ["read"]),
        (AdvocateFactory(), ["read", "write"]),
        (AdminFactory(), []),
    ):
        login(client, person)
        page = client.get("/me/tokens").get_data(as_text=True)
        assert re.findall(r'id="scope-(\w+)"', page) == offered, person.role
        for scope in {"read", "write", "sign"} - set(offered):
            refused = _make_on_page(client, scopes=[scope])
            assert refused.status_code == 422
            if offered:  # (an administrator's page has no form: it says why)
                assert 'id="scopes-error"' in refused.get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_token(client)})
    advocate_page = _words_of(client, AdvocateFactory())
    assert "write: comment on the documents you can see" in advocate_page
    admin_page = _words_of(client, AdminFactory())
    assert "Administrators do not need access tokens" in admin_page
    # Nothing said of a form that is not there, nor of tokens they cannot have.
    assert "what you choose below" not in admin_page and "You have no tokens" not in admin_page
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def _words_of(client, person) -> str:
    login(client, person)
    page = client.get("/me/tokens").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def test_the_date_box_offers_no_day_that_is_refused_and_the_refusal_names_the_first(client, db):
    login(client, ClientFactory())
    tomorrow = service_today() + timedelta(days=1)
    in_a_year = service_today() + timedelta(days=365)
    page = client.get("/me/tokens").get_data(as_text=True)
    box = f' min="{tomorrow.isoformat()}" max="{in_a_year.isoformat()}"'
    assert re.search(r'<input id="expires_on"[^>]*' + box, page)

    refused = _make_on_page(client, expires_on=service_today().isoformat())

    assert refused.status_code == 422
    said = f'id="expires_on-error">Please choose {tomorrow:%-d %B %Y} or later.</p>'
    assert said in refused.get_data(as_text=True)
    assert f'min="{tomorrow.isoformat()}"' in refused.get_data(as_text=True)
    assert _make_on_page(client, expires_on=tomorrow.isoformat()).status_code != 422


def test_a_day_too_early_is_refused_naming_the_first_day_in_words():
    for too_early in (date(2027, 1, 1), date(2026, 12, 25)):
        with pytest.raises(ContentInvalid) as refused:
            api_tokens.check_request("x", ["read"], too_early, date(2027, 1, 1))
        assert refused.value.errors == {"expires_on": "Please choose 2 January 2027 or later."}
    assert api_tokens.check_request("x", ["read"], date(2027, 1, 2), date(2027, 1, 1))


def test_a_token_works_until_its_last_day_ends_where_the_service_is(db, monkeypatch):
    # Tokyo, 9 hours ahead of UTC: its 30 June ends at 15:00 UTC.
    monkeypatch.setattr(local_time, "_days_zone", time_zone("Asia/Tokyo"))
    owner = actor_for(KeyWorkerFactory())
    now = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)  # 2 June in Tokyo
    made = api_tokens.create(db, owner, "phone", ["read"], date(2026, 6, 30), now)
    with db.read() as s:
        expires_at = s.scalar(sa.select(ApiToken.expires_at).where(ApiToken.id == made.token.id))
    assert expires_at == datetime(2026, 6, 30, 15, 0, tzinfo=UTC)
    (listed,) = api_tokens.tokens_of(db, owner)
    assert listed.last_day == date(2026, 6, 30)
    assert listed.works_at(expires_at - timedelta(seconds=1)) and not listed.works_at(expires_at)
    with pytest.raises(ContentInvalid):  # 1 June is already over in Tokyo
        api_tokens.create(db, owner, "phone", ["read"], date(2026, 6, 1), now)


def test_a_year_is_the_longest_a_token_lasts_and_the_refusal_names_the_last_day():
    with pytest.raises(ContentInvalid) as refused:
        api_tokens.check_request("x", ["read"], date(2028, 1, 2), date(2027, 1, 1))
    assert refused.value.errors == {
        "expires_on": "A token can work for a year at most. Please choose 1 January 2028 or "
        "earlier."
    }
    assert api_tokens.check_request("x", ["read"], date(2028, 1, 1), date(2027, 1, 1))


def test_revoking_stops_the_token_at_once_and_is_audited(client, db):
    owner = ClientFactory()
    secret = api_tokens.create(db, actor_for(owner), "mine", ["read"], _in(10)).secret
    assert client.get("/api/v1/clients", headers=bearer(secret)).status_code == 200
    login(client, owner)
    with db.read() as s:
        token_id = s.scalar(sa.select(ApiToken.id))

    response = client.post(f"/me/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client)})

    assert response.status_code == 302
    assert "Revoked" in client.get("/me/tokens").get_data(as_text=True)
    assert_error(client.get("/api/v1/clients", headers=bearer(secret)), 401)
    [event] = _events(db, "api_token.revoke")
    assert event.object_id == token_id and event.client_id == owner.id


def test_a_revoked_or_expired_token_s_line_is_said_in_whole_sentences(client, db):
    person = ClientFactory()
    owner = actor_for(person)
    revoked = api_tokens.create(db, owner, "old", ["read"], _in(10))
    api_tokens.revoke(db, owner, revoked.token.id)
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    yesterday = service_today() - timedelta(days=1)
    api_tokens.create(db, owner, "gone", ["read"], yesterday, now=three_days_ago)
    login(client, person)

    page = client.get("/me/tokens").get_data(as_text=True)

    lines = [
        " ".join(re.sub("<[^>]+>", "", p).split())
        for p in re.findall("<p>(May .*?)</p>", page, re.S)
    ]
    expired, revoked = lines  # newest first
    assert re.fullmatch(r"May read\. Made [^.]+\. Expired\. Not used yet\.", expired), expired
    assert re.fullmatch(r"May read\. Made [^.]+\. Revoked [^.]+\. Not used yet\.", revoked), revoked


def test_expired_unknown_and_malformed_tokens_answer_401(client, db):
    owner = ClientFactory()
    expired = api_tokens.create(
        db,
        actor_for(owner),
        "old",
        ["read"],
        service_today() - timedelta(days=1),  # it worked until the end of yesterday
        now=datetime.now(UTC) - timedelta(days=3),
    ).secret
    for header in (
        f"Bearer {expired}",
        "Bearer not-a-token-we-made",
        "Bearer " + "x" * 500,
        "Bearer é",
        f"Basic {expired}",
        "Bearer",
    ):
        response = client.get("/api/v1/clients", headers={"Authorization": header})
        assert_error(response, 401)


def test_a_deactivated_account_s_tokens_stop_working(client, db):
    owner = ClientFactory()
    secret = api_tokens.create(db, actor_for(owner), "mine", ["read"], _in(10)).secret
    with db.write() as s:
        s.execute(sa.text("UPDATE users SET active = false WHERE id = :id"), {"id": owner.id})
    assert_error(client.get("/api/v1/clients", headers=bearer(secret)), 401)


def test_the_api_sets_no_cookie_and_ignores_a_session(client, db):
    person = ClientFactory()
    login(client, person)  # a browser session exists, but the API does not use it
    response = client.get(f"/api/v1/clients/{person.id}")
    assert_error(response, 401)
    assert "Set-Cookie" not in response.headers


def test_wrong_tokens_are_paused_like_wrong_passwords(database_url, tmp_path):
    app = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": database_url,
            "RATELIMIT_PASSWORD_PER_ADDRESS": "3 per hour",
            **FAST_ARGON2,
        },
        instance_path=tmp_path / "instance",
    )
    client = app.test_client()
    try:
        # Asking without a token is no guess at one: it never pauses anybody.
        for headers in [{}] * 5 + [{"Authorization": "Bearer "}] * 5:
            assert_error(client.get("/api/v1/clients", headers=headers), 401)
        for _ in range(3):
            assert_error(client.get("/api/v1/clients", headers=bearer("guess")), 401)
        paused = client.get("/api/v1/clients", headers=bearer("guess"))
        assert_error(paused, 429)
        assert int(paused.headers["Retry-After"]) > 0
    finally:
        app.extensions["careplan.db"].dispose()


def test_wrong_signing_passwords_through_the_api_are_paused_too(database_url, tmp_path):
    app = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": database_url,
            "RATELIMIT_PASSWORD_PER_ACCOUNT": "2 per hour",
            **FAST_ARGON2,
        },
        instance_path=tmp_path / "instance",
    )
    factories.bind(app.extensions["careplan.db"])
    try:
        circle = factories.Circle()
        doc = factories.make_plan(circle.key_worker, circle.client)
        db = app.extensions["careplan.db"]
        secret = api_tokens.create(db, actor_for(circle.client), "t", ["sign"], _in(5)).secret
        client = app.test_client()
        url = f"/api/v1/documents/{doc}/versions/1/sign"
        for _ in range(2):
            wrong = client.post(url, json={"password": "guess"}, headers=bearer(secret))
            assert "password" in assert_error(wrong, 422)["fields"]
        # Paused: even the right password is not tried now.
        paused = client.post(url, json={"password": factories.PASSWORD}, headers=bearer(secret))
        assert_error(paused, 429)
        # Its owner is told, as after wrong passwords on the sign-in page.
        db.account_notices.wait(30)
        with db.read() as s:
            notices = s.scalars(
                sa.select(Notification.text).where(Notification.user_id == circle.client.id)
            ).all()
        assert len(notices) == 1 and "paused until" in notices[0]
    finally:
        factories.unbind()
        app.extensions["careplan.db"].dispose()


def test_a_revoked_or_expired_token_is_told_which_and_since_when(client, db):
    """A revoked or expired token was answered as if it were unknown, so its program's owner
    could not tell a typing mistake from a token that had ended. An unknown token, or the
    token of a closed account, is still told nothing about any token."""
    owner = ClientFactory()
    actor = actor_for(owner)
    revoked = api_tokens.create(db, actor, "old", ["read"], _in(10))
    when = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    api_tokens.revoke(db, actor, revoked.token.id, now=when)
    last_day = service_today() - timedelta(days=1)
    expired = api_tokens.create(
        db, actor, "gone", ["read"], last_day, now=datetime.now(UTC) - timedelta(days=3)
    ).secret
    unknown = "Bearer not-a-token-we-made"
    said = {}
    for name, header in (
        ("revoked", f"Bearer {revoked.secret}"),
        ("expired", f"Bearer {expired}"),
        ("unknown", unknown),
        ("none", ""),
    ):
        response = client.get("/api/v1/clients", headers={"Authorization": header})
        said[name] = assert_error(response, 401)["message"]
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="careplan"'
    assert said["revoked"] == (
        f"This token was revoked on {local_time.long_date(local_time.service_day(when))}. "
        "Make a new one on your account page."
    )
    assert said["expired"] == (
        f"This token expired: its last day was {local_time.long_date(last_day)}. "
        "Make a new one on your account page."
    )
    assert said["unknown"] == said["none"]
    assert "revoked" not in said["unknown"] and "expired" not in said["unknown"]

    closed = ClientFactory()
    secret = api_tokens.create(db, actor_for(closed), "mine", ["read"], _in(10)).secret
    with db.write() as s:
        s.execute(sa.text("UPDATE users SET active = false WHERE id = :id"), {"id": closed.id})
    response = client.get("/api/v1/clients", headers=bearer(secret))
    assert assert_error(response, 401)["message"] == said["unknown"]


def test_the_api_description_says_an_ended_token_is_told_which(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    said = spec["paths"]["/api/v1/clients"]["get"]["responses"]["401"]["description"]
    assert said.startswith("A valid access token is needed")
    assert "revoked or has expired, the message says which" in said
