"""The teams page refuses a name another team has in other capitals, as it refuses the same
name, and each team's page renames it."""

from __future__ import annotations

import html

import sqlalchemy as sa

from careplan.db.models import Team, User
from careplan.domain.local_time import service_today
from careplan.services import contingencies
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import AdminFactory, Circle, TeamFactory, make_agreement
from tests.web.test_plan_pages import Page, _section


def _post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def _words(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def test_a_team_named_again_in_other_capitals_is_refused_on_the_page(app, db):
    admin = login(app.test_client(), AdminFactory())
    assert _post(admin, "/admin/teams", name="North team").status_code == 302
    for again in ("North team", "north TEAM", " north   Team "):
        refused = _post(admin, "/admin/teams", name=again)
        assert refused.status_code == 400
        assert "There is already a team called “North team”. Nothing was saved." in (
            _words(refused)
        )
        # Given back to correct, not wiped.
        assert f'name="name" required maxlength="200" value="{again}"' in refused.get_data(
            as_text=True
        )
    with db.read() as s:
        assert s.scalars(sa.select(Team.name)).all() == ["North team"]


def test_an_administrator_renames_a_team_from_its_page(app, db):
    circle = Circle()
    other = TeamFactory(name="South team")
    admin = login(app.test_client(), circle.admin)
    listing = admin.get("/admin/teams").get_data(as_text=True)
    assert f'href="/admin/teams/{circle.team.id}"' in listing
    page = _words(admin.get(f"/admin/teams/{circle.team.id}"))
    assert "Rename the team" in page and f'value="{circle.team.name}"' in page
    assert "Its people (1)" in page
    assert f"Supervised by <bdi>{circle.supervisor.display_name}</bdi>." in page

    refused = _post(admin, f"/admin/teams/{circle.team.id}", name="SOUTH TEAM")
    assert refused.status_code == 400
    said = _words(refused)
    assert "There is already a team called “South team”. Nothing was saved." in said
    assert 'value="SOUTH TEAM"' in said  # what was typed, to put right

    renamed = _post(admin, f"/admin/teams/{circle.team.id}", name="Riverside team")
    assert renamed.status_code == 302 and renamed.headers["Location"] == "/admin/teams#confirmation"
    listing = _words(admin.get("/admin/teams"))
    assert "Team renamed." in listing and "Riverside team" in listing
    # Everywhere teams are chosen, by their new name.
    account = _words(admin.get(f"/admin/users/{circle.key_worker.id}"))
    assert "Riverside team" in account and f">{other.name}<" in account
    with db.read() as s:
        assert s.get(Team, circle.team.id).name == "Riverside team"


def test_a_team_page_is_for_administrators_and_teams_that_exist(app, db):
    circle = Circle()
    assert (
        login(app.test_client(), circle.supervisor)
        .get(f"/admin/teams/{circle.team.id}")
        .status_code
        == 404
    )
    admin = login(app.test_client(), circle.admin)
    assert admin.get(f"/admin/teams/{circle.team.id + 1000}").status_code == 404
    assert _post(admin, f"/admin/teams/{circle.team.id + 1000}", name="X").status_code == 404


def test_a_team_s_page_names_its_people(app, db):
    """It said "People: 2." and named nobody."""
    circle = Circle()
    admin = login(app.test_client(), AdminFactory())
    page = _words(admin.get(f"/admin/teams/{circle.team.id}"))
    worker = circle.key_worker
    assert (
        f'<a href="/admin/users/{worker.id}"><bdi>{worker.display_name}</bdi></a>, key worker'
        in (page)
    )
    other = _words(admin.get(f"/admin/teams/{TeamFactory().id}"))
    assert worker.display_name not in other
    assert "Its people (0)" in other and "Nobody is in this team yet." in other
    assert "Nobody supervises this team yet." in other


def test_moving_a_key_worker_with_clients_says_who_no_longer_sees_them(app, db):
    """The page said only "Saved." while the old team's key workers lost the records of a
    client they were following up after a request for help."""
    circle = Circle()
    north = TeamFactory(name="North team")
    doc = make_agreement(circle.key_worker, circle.client)
    contingencies.request_self_referral(
        db, actor_for(circle.client), doc, "2", "", "", service_today()
    )
    admin = login(app.test_client(), AdminFactory())
    worker = circle.key_worker
    move = dict(name=worker.display_name, email=worker.email, team_id=str(north.id))
    # Asked first, with how many clients go too: one Save moved them all.
    asked = _post(admin, f"/admin/users/{worker.id}/details", **move)
    assert asked.status_code == 200
    question = " ".join(
        html.unescape(_section(asked.get_data(as_text=True), 'id="confirm-move"', "</div>")).split()
    )
    assert (
        f"{worker.display_name} has 1 client. If {worker.display_name} moves to North team, "
        f"that client goes too: {circle.team.name}'s key workers and supervisors will no "
        "longer see that client"
    ) in question
    assert "Yes, move them and 1 client to <bdi>North team</bdi>" in question
    with db.read() as s:
        assert s.get(User, worker.id).team_id == circle.team.id  # nothing moved yet
    # The details form below shows the team saved, not the move asked about.
    assert f'<option value="{north.id}" selected>' not in asked.get_data(as_text=True)
    confirmed = Page(asked.get_data(as_text=True)).forms
    [form] = [f for f in confirmed if ("clients_moving", "1") in f.fields]
    saved = admin.post(form.action, data=dict(form.fields))
    assert saved.status_code == 302
    page = html.unescape(_words(admin.get(saved.headers["Location"])))
    assert (
        f"{worker.display_name}'s 1 client moved with them to North team, and "
        f"{circle.team.name}'s key workers and supervisors no longer see them. 1 of "
        "them has asked for help in the last two days or has a crisis plan in effect: please "
        f"tell {circle.team.name} that anyone following it up there can no longer open their "
        "records."
    ) in page
