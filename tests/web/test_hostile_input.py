"""Hostile input into every URL rule and every form field answers plainly, never with a 500.

Ids beyond the database's integer range (2^31 is past PostgreSQL's INTEGER, 2^63 past
SQLite's), digits that are not ASCII ("²" passes str.isdigit(), "١٢" passes int()), a field
name nested thousands of levels deep, and NUL characters (PostgreSQL refuses them in text)
are sent to every rule the access matrix lists, signed in as someone the rule lets in.
"""

# ruff: noqa: F401, F811 - `world` is the access matrix's fixture, imported to be shared

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import csrf_token, login
from tests.web.test_access_matrix import (
    PLAIN_RULES,
    RECORD_RULES,
    ROLES,
    _state,
    world,
)

ROOT = Path(__file__).resolve().parents[2]

HOSTILE_IDS = (
    "2147483648",  # 2^31: beyond PostgreSQL's INTEGER
    "9223372036854775808",  # 2^63: beyond SQLite's INTEGER
    "1" + "0" * 40,
    "²",
    "١٢",  # Arabic-Indic twelve: int() takes it
)
HOSTILE_NUMBERS = (*HOSTILE_IDS, "0", "-1", "1_0", "+3")
NUL_VALUE = "Hello\x00 there"
# Into fields that hold text, a few of the numbers are enough: the text is kept as typed.
HOSTILE_TEXT = ("²", "9223372036854775808")
DEEP_NAME = "-".join(["x"] * 5000)

# Fields each view reads besides the matrix's own forms: name -> (form or query, endpoints).
QUERY_FIELDS = {
    "documents.history": {"page": "2"},
    "documents.compare": {"older": "1", "newer": "2"},
    "supervision.dashboard": {
        "team": "",
        "key_worker": "",
        "state": "",
        "due_from": "",
        "due_to": "",
        "sort": "",
        "page": "1",
    },
    "supervision.export": {"team": "", "key_worker": "", "state": ""},
    "reminders.calendar_feed": {"key": "x"},
    "auth.login": {"next": "/"},
    "documents.edit": {"part": "", "draft": ""},
    "admin.users": {"q": "", "role": "", "page": "1", "without": ""},
    "home.index": {"q": ""},
}
EXTRA_FORM_FIELDS = {
    "clients.handover": {"to_worker_id": "1"},
    "reminders.mark_read": {"notification_id": "1"},
    "reminders.calendar_address": {"action": "stop"},
    "signoff.sign": {"outcome": "signed", "confirm_blank": "no"},
    "documents.keep_draft": {"part": "", "draft_revision": "", "draft_page": ""},
    "documents.edit": {"draft_revision": "", "draft_page": "", "sent_before": "yes"},
    "documents.discard_draft": {"draft_revision": ""},
    "documents.put_back": {"even_if_there": "no"},
    "reminders.reviewed_no_changes": {"cycle": "1"},
    "admin.user_details": {"clients_moving": "1"},
}
# Fields that carry a number: a hostile value there must change nothing.
NUMBER_FIELDS = {
    "base_number",
    "version_number",
    "to_worker_id",
    "advocate_id",
    "notification_id",
    "cycle",
    "nights",
    "older",
    "newer",
    "page",
    "team",
    "key_worker",
    "team_id",
    "key_worker_id",
}
# Views that build document content from field names.
CONTENT_ENDPOINTS = {"documents.edit"}


def _rules(app):
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"),
        key=lambda r: (r.endpoint, r.rule),
    )


def _who(endpoint: str, method: str) -> str | None:
    """A role the rule lets in (None: anonymous), so the request reaches the view."""
    if endpoint in RECORD_RULES:
        by_role = RECORD_RULES[endpoint].expect[method]
        allowed = [r for r in ("key_worker", "client", "supervisor") if by_role[r] != 404]
        return allowed[0] if allowed else "key_worker"  # nobody: the view still runs
    plain = PLAIN_RULES[endpoint]
    if plain.anonymous and method in plain.anonymous:
        return None
    return next((r for r in ROLES if plain.expect[method][r].status != 404), "client")


def _path(rule, values: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def _record_values(endpoint: str, world) -> dict:
    if endpoint in RECORD_RULES:
        return RECORD_RULES[endpoint].path(world.own_records)
    return PLAIN_RULES[endpoint].url_values(world.own)


def _form(endpoint: str, world) -> dict:
    if endpoint in RECORD_RULES:
        form = dict(RECORD_RULES[endpoint].form(world.own_records))
    else:
        form = dict(PLAIN_RULES[endpoint].form(world.own))
    return {**form, **EXTRA_FORM_FIELDS.get(endpoint, {})}


def _query(endpoint: str, world) -> dict:
    query = (
        dict(RECORD_RULES[endpoint].query(world.own_records)) if endpoint in RECORD_RULES else {}
    )
    return {**query, **QUERY_FIELDS.get(endpoint, {})}


def _signed_in(app, client, db, world, endpoint: str, method: str):
    if endpoint in RECORD_RULES and RECORD_RULES[endpoint].prepare:
        RECORD_RULES[endpoint].prepare(db, world.own, world.own_records)
    role = _who(endpoint, method)
    if role is not None:
        login(client, getattr(world.own, role))
    return csrf_token(client)


def _send(client, method: str, path: str, query: dict, form: dict, token: str):
    if method == "GET":
        return client.get(path, query_string=query)
    return client.post(path, query_string=query, data={**form, "csrf_token": token})


def _cases(app_rules):
    return [
        pytest.param(endpoint, method, id=f"{endpoint}-{method}")
        for endpoint, methods in app_rules
        for method in methods
    ]


ALL_RULES = [
    (endpoint, sorted((RECORD_RULES.get(endpoint) or PLAIN_RULES[endpoint]).expect))
    for endpoint in sorted({*RECORD_RULES, *PLAIN_RULES})
]
RULES_WITH_IDS = [(e, m) for e, m in ALL_RULES if e in RECORD_RULES]


@pytest.mark.parametrize("endpoint, method", _cases(RULES_WITH_IDS))
def test_hostile_ids_in_the_address_answer_404(app, client, db, world, endpoint, method):
    token = _signed_in(app, client, db, world, endpoint, method)
    (rule,) = [r for r in _rules(app) if r.endpoint == endpoint and method in r.methods]
    good = _record_values(endpoint, world)
    query, form = _query(endpoint, world), _form(endpoint, world)
    before = _state(db)
    for name in rule.arguments:
        for hostile in HOSTILE_IDS:
            path = _path(rule, {**good, name: hostile})
            response = _send(client, method, path, query, form, token)
            assert response.status_code == 404, (path, response.status_code)
    assert _state(db) == before


@pytest.mark.parametrize("endpoint, method", _cases(ALL_RULES))
def test_hostile_values_in_every_field_answer_plainly(app, client, db, world, endpoint, method):
    token = _signed_in(app, client, db, world, endpoint, method)
    (rule,) = [r for r in _rules(app) if r.endpoint == endpoint and method in r.methods]
    path = _path(rule, _record_values(endpoint, world))
    query, form = _query(endpoint, world), _form(endpoint, world)
    fields = [("query", name) for name in query]
    if method == "POST":
        fields += [("form", name) for name in form]

    def send(query_now, form_now):
        return _send(client, method, path, query_now, form_now, token)

    def with_value(where, name, value):
        q = {**query, name: value} if where == "query" else query
        f = {**form, name: value} if where == "form" else form
        return send(q, f)

    for where, name in fields:
        # A NUL anywhere, and any hostile number in a number field, change nothing.
        before = _state(db)
        response = with_value(where, name, NUL_VALUE)
        assert response.status_code == 400, (where, name, "NUL", response.status_code)
        assert "NUL" in response.get_data(as_text=True)
        if name in NUMBER_FIELDS:
            for hostile in HOSTILE_NUMBERS:
                response = with_value(where, name, hostile)
                assert response.status_code < 500, (where, name, hostile, response.status_code)
        assert _state(db) == before, (where, name, "hostile input changed something")
        if name not in NUMBER_FIELDS:
            for hostile in HOSTILE_TEXT:  # kept as typed, so it may well be saved
                response = with_value(where, name, hostile)
                assert response.status_code < 500, (where, name, hostile, response.status_code)

    # A NUL in a field's name, and a name nested far deeper than any form of ours.
    before = _state(db)
    response = send({**query, "x\x00": "1"}, form)
    assert response.status_code == 400
    if method == "POST":
        response = send(query, {**form, "y\x00": "1"})
        assert response.status_code == 400
        assert _state(db) == before
        response = send(query, {**form, DEEP_NAME: "deep"})
        assert response.status_code < 500
        if endpoint in CONTENT_ENDPOINTS:
            assert response.status_code == 400
            assert _state(db) == before


def test_every_field_a_view_reads_is_in_the_tables(app, world):
    """A new field read by a view must be added here, so it gets the hostile values too."""
    covered = set(NUMBER_FIELDS)
    for endpoint, _methods in ALL_RULES:
        covered |= set(_form(endpoint, world)) | set(_query(endpoint, world))
    sources = [*sorted((ROOT / "careplan" / "web").glob("*.py"))]
    sources.append(ROOT / "careplan" / "domain" / "supervision.py")
    read = set()
    for source in sources:
        text = source.read_text()
        read |= set(re.findall(r"\b(?:form|args)\.get\(\s*\"(\w+)\"", text))
        read |= set(re.findall(r"\b(?:number|day)\(\"(\w+)\"\)", text))
    read -= {"csrf_token"}
    assert read <= covered, f"fields read by views but not sent hostile values: {read - covered}"
