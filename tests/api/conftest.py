"""Fixtures for the API: two circles in different teams, each with a care plan of two
versions, and bearer tokens made through the service the token page uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from careplan.db.models import ApiToken, utcnow
from careplan.domain.api_tokens import SCOPES, scopes_for
from careplan.domain.local_time import service_today
from careplan.domain.tokens import new_token, token_hash
from careplan.services import api_tokens
from careplan.services.accounts import actor_for
from tests.built_once import built_once
from tests.factories import Circle, make_plan

ROLES = ("client", "key_worker", "supervisor", "advocate", "admin")
ALL_SCOPES = tuple(SCOPES)
ERROR_KEYS = {"status", "message", "fields"}


@dataclass
class World:
    own: Circle
    other: Circle
    own_plan: int
    other_plan: int


@pytest.fixture
def world(app, db) -> World:
    def build() -> World:
        own, other = Circle(), Circle()
        return World(
            own,
            other,
            make_plan(own.key_worker, own.client, versions=2),
            make_plan(other.key_worker, other.client, versions=2),
        )

    return built_once("api world", db, build)


@pytest.fixture
def token_for(db):
    """A working token for `user` (every scope unless told), as its owner would make one.
    Scopes their role may not be given now (a supervisor's "sign") are written as a token
    made before that rule holds them: the API must still refuse what the role may not do."""

    def make(user, scopes=ALL_SCOPES) -> str:
        actor = actor_for(user)
        expires = service_today() + timedelta(days=30)
        if set(scopes) <= set(scopes_for(actor.role)):
            return api_tokens.create(db, actor, "tests", scopes, expires).secret
        secret = new_token()
        with db.write() as s:
            s.add(
                ApiToken(
                    user_id=user.id,
                    name="made before",
                    token_hash=token_hash(secret),
                    scopes=" ".join(scopes),
                    created_at=utcnow(),
                    expires_at=utcnow() + timedelta(days=30),
                )
            )
        return secret

    return make


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int) -> dict:
    """Every error under /api: this status, in the one documented shape."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) >= ERROR_KEYS
    assert body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert all(
        isinstance(v, list) and all(isinstance(m, str) for m in v)
        for v in body["error"]["fields"].values()
    )
    return body["error"]
