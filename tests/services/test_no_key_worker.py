"""A client with no key worker: the administrators are told how many there are and can list
them (nobody else on the staff sees them: only a key worker's team has a supervisor), and the
client is told they have not been given one yet, not that they left the service."""

from __future__ import annotations

from datetime import date

import pytest

from careplan.services import admin_accounts, documents, leaving, signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import NotFound
from tests.factories import PASSWORD, Circle, ClientFactory, make_plan

TODAY = date(2027, 3, 1)


@pytest.fixture
def circle(app):
    return Circle()


def _listed(db, admin, **kwargs) -> list[int]:
    listing = admin_accounts.search(db, actor_for(admin), without_key_worker=True, **kwargs)
    return [row.id for row in listing.rows]


def test_administrators_count_and_list_the_clients_with_no_key_worker(db, circle):
    admin = actor_for(circle.admin)
    new = ClientFactory(display_name="Nia New")
    closed = ClientFactory(active=False)
    left = Circle()
    leaving.record(db, actor_for(left.key_worker), left.client.id, "Moved away.", TODAY)
    # Only the new client: not those with a key worker, who left, or whose account is closed.
    assert admin_accounts.count_without_key_worker(db, admin) == 1
    assert _listed(db, circle.admin) == [new.id]
    assert closed.id not in _listed(db, circle.admin)
    # The search works within the list.
    assert _listed(db, circle.admin, query="nia") == [new.id]
    assert _listed(db, circle.admin, query="someone else") == []

    # Given a key worker, they are in a supervisor's sight and off the list.
    admin_accounts.give_key_worker(db, admin, new.id, circle.key_worker.id)
    assert admin_accounts.count_without_key_worker(db, admin) == 0
    assert _listed(db, circle.admin) == []


def test_only_administrators_count_them(db, circle):
    for person in (circle.supervisor, circle.key_worker, circle.client):
        with pytest.raises(NotFound):
            admin_accounts.count_without_key_worker(db, actor_for(person))


def test_a_client_never_given_a_key_worker_is_not_told_they_left(db, circle):
    new = ClientFactory()
    plan = make_plan(new)
    signoff.sign(db, actor_for(new), plan, 1, "signed", "", PASSWORD, confirm_blank=True)
    view = documents.open_document(db, actor_for(new), plan).signoff
    assert view.no_key_worker_to_sign and not view.client_left
    assert documents.client_records(db, actor_for(new), new.id).left is None

    # One who left the service is.
    doc = make_plan(circle.client)
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved away.", TODAY)
    view = documents.open_document(db, actor_for(circle.client), doc).signoff
    assert view.no_key_worker_to_sign and view.client_left
