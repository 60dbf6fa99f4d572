"""Every API endpoint, for every role: records of one's own circle answer by role, records of
anyone else's answer 404 exactly like records that do not exist, and a token without the
needed scope answers 403. (tests/web/test_access_matrix.py leaves /api rules to this file.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent
from careplan.domain.api_tokens import READ, SIGN, WRITE
from tests.api.conftest import ALL_SCOPES, ROLES, assert_error, bearer
from tests.factories import PASSWORD, plan_content
from tests.web.test_access_matrix import _state

MISSING = 987_654_321


def _roles(client: int, key_worker: int, supervisor: int, advocate: int, admin: int) -> dict:
    return dict(zip(ROLES, (client, key_worker, supervisor, advocate, admin), strict=True))


READS = _roles(200, 200, 200, 200, 404)
CHANGES = _roles(201, 201, 403, 403, 404)
SIGNS = _roles(200, 200, 403, 403, 404)
EVERYONE = _roles(200, 200, 200, 200, 200)


@dataclass(frozen=True)
class Rule:
    method: str
    path: Callable[[int, int], str]  # (client id, document id) -> address
    expect: dict[str, int]
    scope: str | None = READ
    body: Callable[[], dict] | None = None
    names_a_record: bool = True


def _doc(suffix: str = "") -> Callable[[int, int], str]:
    return lambda client_id, doc_id: f"/api/v1/documents/{doc_id}{suffix}"


def _new_version() -> dict:
    return {
        "base_version": 2,
        "content": plan_content(what_matters={"text": "Written through the API matrix."}),
        "change_note": "matrix",
    }


RULES: dict[str, Rule] = {
    "api.clients": Rule("GET", lambda c, d: "/api/v1/clients", EVERYONE, names_a_record=False),
    "api.client": Rule("GET", lambda c, d: f"/api/v1/clients/{c}", READS),
    "api.create_document": Rule(
        "POST",
        lambda c, d: f"/api/v1/clients/{c}/documents",
        CHANGES,
        WRITE,
        lambda: {"kind": "care_plan"},
    ),
    "api.document": Rule("GET", _doc(), READS),
    # The world's plan has versions saved: nobody may remove it (a start only: its starter).
    "api.remove_document": Rule("DELETE", _doc(), _roles(409, 409, 403, 403, 404), WRITE),
    "api.versions": Rule("GET", _doc("/versions"), READS),
    "api.version": Rule("GET", _doc("/versions/1"), READS),
    "api.save_version": Rule("POST", _doc("/versions"), CHANGES, WRITE, _new_version),
    # The world's plan keeps nothing taken out: the client and key worker are told so.
    "api.put_back": Rule(
        "POST",
        _doc("/put-back"),
        _roles(404, 404, 403, 403, 404),
        WRITE,
        lambda: {"base_version": 2, "record_id": "nothing-taken-out"},
    ),
    "api.compare": Rule("GET", _doc("/compare?older=1&newer=2"), READS),
    "api.signatures": Rule("GET", _doc("/signatures"), READS),
    "api.sign": Rule("POST", _doc("/versions/2/sign"), SIGNS, SIGN, lambda: {"password": PASSWORD}),
    "api.decline": Rule(
        "POST",
        _doc("/versions/2/decline"),
        SIGNS,
        SIGN,
        lambda: {"password": PASSWORD, "reason": "Not yet."},
    ),
    "api.comments": Rule("GET", _doc("/comments"), READS),
    "api.add_comment": Rule(
        "POST",
        _doc("/comments"),
        _roles(204, 204, 403, 204, 404),
        WRITE,
        lambda: {"section_key": "what_matters", "version_number": 2, "body": "From the matrix."},
    ),
    "api.review": Rule("GET", _doc("/review"), READS),
    "api.fhir_bundle": Rule("GET", _doc("/versions/2/fhir"), READS),
    "api.review_dates": Rule(
        "GET", lambda c, d: "/api/v1/review-dates", EVERYONE, names_a_record=False
    ),
    "api.reminder_list": Rule(
        "GET", lambda c, d: "/api/v1/reminders", EVERYONE, names_a_record=False
    ),
    "api.dashboard": Rule(
        "GET",
        lambda c, d: "/api/v1/supervision/dashboard",
        _roles(404, 404, 200, 404, 404),
        names_a_record=False,
    ),
    "api.charts": Rule(
        "GET",
        lambda c, d: "/api/v1/supervision/charts",
        _roles(404, 404, 200, 404, 404),
        names_a_record=False,
    ),
    "api.openapi_json": Rule(
        "GET", lambda c, d: "/api/v1/openapi.json", EVERYONE, None, names_a_record=False
    ),
    "api.docs": Rule("GET", lambda c, d: "/api/v1/docs", EVERYONE, None, names_a_record=False),
}


def _send(client, rule: Rule, token: str | None, client_id: int, doc_id: int):
    headers = bearer(token) if token else {}
    kwargs = {"json": rule.body()} if rule.body else {}
    return client.open(rule.path(client_id, doc_id), method=rule.method, headers=headers, **kwargs)


def _records(db) -> tuple:
    """Every row the web matrix compares, but the tokens' own (each use notes its time)."""
    return tuple(entry for entry in _state(db) if entry[0] != "api_tokens")


def _reads_of(db, client_id: int) -> int:
    with db.read() as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.client_id == client_id, AuditEvent.action.in_(["read", "download"]))
        )


def test_every_api_rule_is_in_the_table(app):
    seen = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            assert rule.endpoint in RULES, f"{rule.rule} ({rule.endpoint}) is not in RULES"
            seen[rule.endpoint] = set(rule.methods) - {"HEAD", "OPTIONS"}
    assert set(seen) == set(RULES), "RULES describes endpoints the API no longer has"
    for endpoint, methods in seen.items():
        assert methods == {RULES[endpoint].method}, endpoint


CASES = [
    pytest.param(endpoint, role, id=f"{endpoint}-{role}") for endpoint in RULES for role in ROLES
]


@pytest.mark.parametrize("endpoint, role", CASES)
def test_own_circle_answers_by_role(client, db, world, token_for, endpoint, role):
    rule = RULES[endpoint]
    person = getattr(world.own, role)
    token = token_for(person) if rule.scope else None
    before = _records(db)
    response = _send(client, rule, token, world.own.client.id, world.own_plan)
    expected = rule.expect[role]
    if expected >= 400:
        assert_error(response, expected)
    else:
        assert response.status_code == expected, response.get_data(as_text=True)[:500]
    assert "Set-Cookie" not in response.headers
    if rule.method == "POST" and expected < 400:
        assert _records(db) != before, "an allowed change was not made"
    else:
        assert _records(db) == before, "a read or a refusal changed something"


RECORD_CASES = [
    pytest.param(endpoint, role, id=f"{endpoint}-{role}")
    for endpoint, rule in RULES.items()
    if rule.names_a_record
    for role in ROLES
]


@pytest.mark.parametrize("endpoint, role", RECORD_CASES)
def test_another_circles_record_answers_404(client, db, world, token_for, endpoint, role):
    rule = RULES[endpoint]
    token = token_for(getattr(world.own, role))
    reads = _reads_of(db, world.other.client.id)

    before = _records(db)
    response = _send(client, rule, token, world.other.client.id, world.other_plan)
    missing = _send(client, rule, token, MISSING, MISSING)

    assert_error(response, 404)
    assert _records(db) == before, "a refused request changed something"
    assert _reads_of(db, world.other.client.id) == reads, "a refused read was logged"
    assert response.get_json() == missing.get_json(), "an answer that tells ids apart"


SCOPED = [pytest.param(e, id=e) for e, rule in RULES.items() if rule.scope]


@pytest.mark.parametrize("endpoint", SCOPED)
def test_a_token_without_the_scope_answers_403(client, world, token_for, endpoint):
    rule = RULES[endpoint]
    others = tuple(s for s in ALL_SCOPES if s != rule.scope)
    token = token_for(world.own.key_worker, scopes=others)
    response = _send(client, rule, token, world.own.client.id, world.own_plan)
    error = assert_error(response, 403)
    assert error["message"] == f"This needs a token with the '{rule.scope}' scope."
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_a_supervisor_asked_to_write_is_told_their_token_cannot_have_it(client, world, token_for):
    """They were told to use a token with the 'write' scope, which their role is never given."""
    rule = RULES["api.save_version"]
    token = token_for(world.own.supervisor, scopes=("read",))
    response = _send(client, rule, token, world.own.client.id, world.own_plan)
    error = assert_error(response, 403)
    assert (
        error["message"] == "This needs the 'write' scope, which a supervisor's token cannot have."
    )


@pytest.mark.parametrize("endpoint", SCOPED)
def test_no_token_answers_401(client, world, endpoint):
    rule = RULES[endpoint]
    response = _send(client, rule, None, world.own.client.id, world.own_plan)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
