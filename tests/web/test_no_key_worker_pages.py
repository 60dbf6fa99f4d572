"""On the pages: a client never given a key worker is told so, not that they left; the
administrators' start page counts the clients with no key worker and links to a list of them."""

from __future__ import annotations

import re

from careplan.services import documents, signoff
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, Circle, ClientFactory, make_plan


def test_a_client_never_given_a_key_worker_is_not_told_they_left(app, db):
    new = ClientFactory()
    plan = make_plan(new)
    browser = login(app.test_client(), new)
    records = browser.get(f"/clients/{new.id}").get_data(as_text=True)
    assert "You have not been given a key worker yet." in records
    assert "come back to the service" not in records
    signoff.sign(db, actor_for(new), plan, 1, "signed", "", PASSWORD, confirm_blank=True)
    page = browser.get(f"/documents/{plan}").get_data(as_text=True)
    assert "You have not been given a key worker yet, so nobody can sign it" in page
    assert "come back to the service" not in page
    assert documents.client_records(db, actor_for(new), new.id).key_worker_id is None


def test_the_administrators_start_page_counts_clients_with_no_key_worker(app, db):
    circle = Circle()
    first, second = ClientFactory(display_name="Nia New"), ClientFactory(display_name="Ola New")
    admin = login(app.test_client(), circle.admin)
    start = admin.get("/admin/users").get_data(as_text=True)
    assert "2 clients have no key worker yet" in start
    assert 'href="/admin/users?without=key_worker"' in start

    listed = admin.get("/admin/users?without=key_worker").get_data(as_text=True)
    assert "Clients with no key worker" in listed
    assert "2 accounts." in listed
    for person in (first, second):
        assert f'href="/admin/users/{person.id}"' in listed
    for person in (circle.client, circle.key_worker, circle.admin):
        assert f'href="/admin/users/{person.id}"' not in listed
    assert "have no key worker yet" not in listed  # the list says it, not the warning again

    # Their page chooses nobody until the admin does, and names each key worker's team.
    page = admin.get(f"/admin/users/{first.id}").get_data(as_text=True)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", page.split('id="key_worker_id"')[1])
    assert options[0] == "Choose a key worker"
    assert f"{circle.key_worker.display_name} ({circle.team.name})" in options
    refused = admin.post(
        f"/admin/users/{first.id}/key-worker",
        data={"key_worker_id": "", "csrf_token": csrf_token(admin)},
    )
    assert "Please choose a key worker from the list." in refused.get_data(as_text=True)

    # Given a key worker on their account page, they are off the list.
    admin.post(
        f"/admin/users/{first.id}/key-worker",
        data={"key_worker_id": str(circle.key_worker.id), "csrf_token": csrf_token(admin)},
    )
    start = admin.get("/admin/users").get_data(as_text=True)
    assert "1 client has no key worker yet" in start
