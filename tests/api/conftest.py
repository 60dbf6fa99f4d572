"""Fixtures for the API: two circles in different teams, each with a care plan of two
versions, and bearer tokens made through the service the token page uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from careplan.domain.api_tokens import SCOPES
from careplan.domain.local_time import service_today
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
    """A working token for `user` (every scope unless told), as its owner would make one."""

    def make(user, scopes=ALL_SCOPES) -> str:
        expires = service_today() + timedelta(days=30)
        return api_tokens.create(db, actor_for(user), "tests", scopes, expires).secret

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
