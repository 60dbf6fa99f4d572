"""Forms refused for what was typed or left empty say so at the top of the page (where a phone
opens it), each message linking to its field, and beside each field; nothing is changed."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from careplan.db.models import Handover, User
from careplan.domain.errors import ContentInvalid
from careplan.services import accounts, admin_accounts, handovers
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid
from tests.conftest import csrf_token, login
from tests.factories import AdminFactory, Circle, ClientFactory, KeyWorkerFactory, TeamFactory
from tests.web.test_plan_pages import Page


def _post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def summary(page: str) -> list[tuple[str, str]]:
    """The error summary's links: (anchor, message)."""
    found = re.search(r'<div class="error" role="alert" id="error-summary".*?</div>', page, re.S)
    assert found, page[:3000]
    return [
        (anchor, html.unescape(text))
        for anchor, text in re.findall(r'<a href="#([^"]+)">([^<]+)</a>', found.group(0))
    ]


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]+)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def test_a_handover_with_no_worker_or_no_note_is_summed_up_at_the_top(app, db):
    circle = Circle()
    KeyWorkerFactory(team_id=circle.team.id)
    supervisor = login(app.test_client(), circle.supervisor)
    url = f"/clients/{circle.client.id}/handover"

    refused = _post(supervisor, url, to_worker_id="", note="  ")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    said = summary(page)
    assert [a for a, _ in said] == ["to_worker_id", "note"]
    for anchor, message in said:
        assert field_error(page, anchor) == message  # the same words beside the field
    assert "Nothing was changed." in page
    # The form sends the browser to the summary, as the other forms do.
    assert f'action="{url}#error-summary"' in page

    only_note = _post(supervisor, url, note="Likes mornings.")
    page = only_note.get_data(as_text=True)
    assert only_note.status_code == 422 and [a for a, _ in summary(page)] == ["to_worker_id"]
    assert "Likes mornings." in page  # what was typed is kept
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Handover)) == 0


def test_a_second_handover_is_refused_above_the_form_with_the_note_kept(app, db):
    circle = Circle()
    first, second = (KeyWorkerFactory(team_id=circle.team.id) for _ in range(2))
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, first.id, "Cover")
    supervisor = login(app.test_client(), circle.supervisor)
    url = f"/clients/{circle.client.id}/handover"
    refused = _post(supervisor, url, to_worker_id=str(second.id), note="Over to you instead")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    [(anchor, message)] = summary(page)
    assert anchor == "handover-form" and "already waiting" in message
    assert "Over to you instead" in page and 'id="handover-form"' in page
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Handover)) == 1


def _accounts(db) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(User))


def test_an_empty_new_account_is_refused_with_every_problem_beside_its_field(app, db):
    admin = login(app.test_client(), AdminFactory())
    before = _accounts(db)
    refused = _post(admin, "/admin/users/new", name="", email="", role="", team_id="")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    said = dict(summary(page))
    assert list(said) == ["name", "email", "role"]
    assert said["email"] == "Please give their e-mail address: they sign in with it."
    assert "''" not in page and "does not look like" not in page
    for name, message in said.items():
        assert field_error(page, name) == message
    assert "Nothing was saved." in page
    assert _accounts(db) == before


def test_a_team_is_refused_for_an_account_that_is_not_a_key_workers(app, db):
    team = TeamFactory()
    admin = login(app.test_client(), AdminFactory())
    before = _accounts(db)
    for role, words in (("client", "key worker role"), ("supervisor", "Teams they supervise")):
        refused = _post(admin, "/admin/users/new", name="Dee Novak", email="dee@example.org",
                        role=role, team_id=str(team.id))  # fmt: skip
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422, role
        [(anchor, message)] = summary(page)
        assert anchor == "team_id" and "Only key workers belong to a team." in message
        assert words in message and field_error(page, "team_id") == message
        assert 'value="Dee Novak"' in page  # what was typed is kept
    assert _accounts(db) == before
    # Several problems at once: the team's among them.
    refused = _post(admin, "/admin/users/new", name="", email="dee", role="client",
                    team_id=str(team.id))  # fmt: skip
    assert [a for a, _ in summary(refused.get_data(as_text=True))] == ["name", "email", "team_id"]
    made = _post(admin, "/admin/users/new", name="Kit Worker", email="kit@example.org",
                 role="key_worker", team_id=str(team.id))  # fmt: skip
    assert made.status_code == 302
    with db.read() as s:
        assert s.scalar(sa.select(User.team_id).where(User.email == "kit@example.org")) == team.id


def test_changing_details_puts_only_a_key_worker_into_a_team(app, db):
    circle = Circle()
    other = TeamFactory()
    admin = login(app.test_client(), AdminFactory())
    client = circle.client
    page = admin.get(f"/admin/users/{client.id}").get_data(as_text=True)
    assert 'id="team_id"' not in page  # nothing to choose for a client
    refused = _post(admin, f"/admin/users/{client.id}/details", name="Renamed",
                    email=client.email, team_id=str(other.id))  # fmt: skip
    assert refused.status_code == 400
    assert "Only key workers belong to a team." in refused.get_data(as_text=True)
    with db.read() as s:
        kept = s.get(User, client.id)
        assert (kept.display_name, kept.team_id) == (client.display_name, None)
    # A key worker moves team as before (their client with them, as they were told).
    moved = _post(admin, f"/admin/users/{circle.key_worker.id}/details",
                  name=circle.key_worker.display_name, email=circle.key_worker.email,
                  team_id=str(other.id), clients_moving="1")  # fmt: skip
    assert moved.status_code == 302


def test_a_client_kept_from_before_with_a_team_can_be_renamed_and_have_it_taken_off(app, db):
    team = TeamFactory()
    client = ClientFactory(team_id=team.id)
    admin = login(app.test_client(), AdminFactory())
    assert 'id="team_id"' in admin.get(f"/admin/users/{client.id}").get_data(as_text=True)
    url = f"/admin/users/{client.id}/details"
    renamed = _post(admin, url, name="Renamed", email=client.email, team_id=str(team.id))
    assert renamed.status_code == 302
    taken_off = _post(admin, url, name="Renamed", email=client.email, team_id="")
    assert taken_off.status_code == 302
    with db.read() as s:
        assert s.get(User, client.id).team_id is None


def test_the_service_itself_keeps_teams_for_key_workers(db):
    team = TeamFactory()
    admin = actor_for(AdminFactory())
    with pytest.raises(ContentInvalid) as refused:
        admin_accounts.create(db, admin, "cal@example.org", "Cal", "advocate", team.id)
    assert list(refused.value.errors) == ["team_id"]
    assert _accounts(db) == 1  # the administrator only


def test_a_new_account_starts_with_no_role_chosen_and_is_refused_without_one(app, db):
    """An administrator who forgets to choose a role makes no account (the list once started on
    "Client", so forgetting made a client)."""
    admin = login(app.test_client(), AdminFactory())
    before = _accounts(db)
    page = Page(admin.get("/admin/users/new").get_data(as_text=True))
    assert "required" in page.by_id["role"][1]
    assert re.search(r'<option value="" selected>Choose a role</option>', page.html)
    # The form as the page sends it, the role left as it was.
    sent = page.form("/admin/users/new").typed({"name": "Dee Novak", "email": "dee@example.org"})
    assert sent["role"] == ""
    refused = admin.post("/admin/users/new", data=sent)
    said = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert summary(said) == [("role", "Please choose a role for this account.")]
    assert field_error(said, "role") == "Please choose a role for this account."
    assert 'value="Dee Novak"' in said and _accounts(db) == before


def test_the_service_refuses_an_account_with_no_role(db):
    admin = actor_for(AdminFactory())
    for role in ("", "  "):
        with pytest.raises(ContentInvalid) as refused:
            admin_accounts.create(db, admin, "cal@example.org", "Cal Reyes", role, None)
        assert refused.value.errors == {"role": "Please choose a role for this account."}
    with pytest.raises(Invalid, match="Please choose a role for this account."):
        accounts.create_user(db, "cal@example.org", "Cal Reyes", "", "a long password here")
    assert _accounts(db) == 1  # the administrator only
