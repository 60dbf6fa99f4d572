"""Teams are named once, capitals and spaces aside, and an administrator renames one (to put
a mistake right), recorded like any other administrator's change."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, Team
from careplan.services import accounts, admin_accounts
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid, NotFound
from tests.factories import AdminFactory, Circle, KeyWorkerFactory, TeamFactory


def _names(db) -> list[str]:
    with db.read() as s:
        return sorted(s.scalars(sa.select(Team.name)))


@pytest.mark.parametrize("again", ["north TEAM", "NORTH TEAM", "  North   team ", "north\tteam"])
def test_a_team_named_again_in_other_capitals_or_spaces_is_refused(db, again):
    admin = actor_for(AdminFactory())
    accounts.create_team(db, "North team", admin)
    with pytest.raises(Invalid) as refused:
        accounts.create_team(db, again, admin)
    # As plainly as the exact same name is refused, naming the team that has it.
    assert str(refused.value) == "There is already a team called “North team”."
    assert _names(db) == ["North team"]


def test_a_team_is_renamed_and_its_people_and_supervisors_stay_with_it(db):
    circle = Circle()
    admin = actor_for(circle.admin)
    old = circle.team.name
    assert accounts.rename_team(db, admin, circle.team.id, "  Riverside   team ") is True
    [row] = [t for t in admin_accounts.teams(db, admin) if t.id == circle.team.id]
    assert row.name == "Riverside team"
    assert row.members == 1 and row.supervisors == [circle.supervisor.display_name]
    with db.read() as s:
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "team.rename"))
        assert (event.actor_id, event.object_type, event.object_id) == (
            circle.admin.id, "team", circle.team.id,
        )  # fmt: skip
        assert event.detail == {"from": old, "to": "Riverside team"}


def test_a_team_may_be_renamed_in_other_capitals_but_not_to_another_teams_name(db):
    admin = actor_for(AdminFactory())
    north = accounts.create_team(db, "north TEAM", admin)
    accounts.create_team(db, "South team", admin)
    assert accounts.rename_team(db, admin, north.id, "North team") is True  # its own name
    with pytest.raises(Invalid, match="There is already a team called “South team”."):
        accounts.rename_team(db, admin, north.id, "SOUTH team")
    assert _names(db) == ["North team", "South team"]
    # The same name again changes nothing, and records nothing.
    assert accounts.rename_team(db, admin, north.id, " North  team") is False
    with db.read() as s:
        renames = s.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "team.rename"))
    assert renames == 1


def test_teams_named_alike_before_the_rule_are_put_right_by_renaming_one(db):
    # Made before names were compared without capitals: both are kept, and one is renamed.
    first, second = TeamFactory(name="North team"), TeamFactory(name="north TEAM")
    KeyWorkerFactory(team_id=second.id)
    admin = actor_for(AdminFactory())
    with pytest.raises(Invalid, match="There is already a team called “North team”."):
        accounts.rename_team(db, admin, second.id, "North Team")
    assert accounts.rename_team(db, admin, second.id, "North team (east)") is True
    assert _names(db) == ["North team", "North team (east)"]
    assert first.id != second.id


def test_a_team_name_needs_letters_and_a_team_that_exists(db):
    admin = actor_for(AdminFactory())
    team = accounts.create_team(db, "North team", admin)
    with pytest.raises(Invalid, match="A team needs a name"):
        accounts.rename_team(db, admin, team.id, "  ")
    with pytest.raises(NotFound):
        accounts.rename_team(db, admin, team.id + 1000, "Another")
    assert _names(db) == ["North team"]
