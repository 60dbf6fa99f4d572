"""An administrator's change that leaves clients in no supervisor's sight is made, and said:
moving a key worker into a team nobody supervises, giving a client to a key worker there, a
supervisor stopping or leaving. A change that leaves every client seen says nothing."""

from __future__ import annotations

from careplan.services import admin_accounts
from careplan.services.accounts import actor_for
from careplan.services.admin_accounts import ActiveSet, Unsupervised
from tests.factories import (
    CaseloadLinkFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    TeamFactory,
)


def _move(db, circle, worker, team_id, clients: int = 1):
    """`clients`: how many clients the administrator is told move with them."""
    return admin_accounts.update_details(
        db,
        actor_for(circle.admin),
        worker.id,
        worker.display_name,
        worker.email,
        team_id,
        clients_moving=clients,
    ).unsupervised


def test_moving_a_key_worker_with_clients_into_an_unsupervised_team_says_so(db):
    circle = Circle()
    CaseloadLinkFactory(key_worker_id=circle.key_worker.id)  # a second client
    new = TeamFactory()
    [said] = _move(db, circle, circle.key_worker, new.id, clients=2)
    assert said == Unsupervised(new.name, 2)
    assert said.notice.startswith(f"No supervisor now sees {new.name}, which has 2 clients")
    # Made, not refused: a new team may get its supervisor a moment later.
    assert admin_accounts.unsupervised_teams(db, actor_for(circle.admin)) == [new.name]


def test_moves_that_leave_every_client_seen_say_nothing(db):
    circle, other = Circle(), Circle()
    assert _move(db, circle, circle.key_worker, other.team.id) == []  # supervised
    idle = KeyWorkerFactory(team_id=circle.team.id)
    assert _move(db, circle, idle, TeamFactory().id) == []  # no clients to lose
    # A new name alone says nothing either, even in a team nobody supervises.
    lone = Circle()
    admin_accounts.set_supervision(
        db, actor_for(lone.admin), lone.supervisor.id, lone.team.id, False
    )
    worker = lone.key_worker
    assert (
        admin_accounts.update_details(
            db, actor_for(lone.admin), worker.id, "New Name", worker.email, lone.team.id
        ).unsupervised
        == []
    )


def test_giving_a_client_to_a_key_worker_in_an_unsupervised_team_says_so(db):
    circle = Circle()
    team = TeamFactory()
    worker = KeyWorkerFactory(team_id=team.id)
    said = admin_accounts.give_key_worker(
        db, actor_for(circle.admin), ClientFactory().id, worker.id
    )
    assert said == [Unsupervised(team.name, 1)]
    # In a supervised team: nothing to say.
    assert (
        admin_accounts.give_key_worker(
            db, actor_for(circle.admin), ClientFactory().id, circle.key_worker.id
        )
        == []
    )


def test_the_last_supervisor_stopping_or_leaving_says_so(db):
    circle = Circle()
    admin = actor_for(circle.admin)
    second = Circle(team=circle.team)  # a second supervisor of the same team, one more client
    said = admin_accounts.set_supervision(db, admin, second.supervisor.id, circle.team.id, False)
    assert said == []  # the first still watches it
    said = admin_accounts.set_supervision(db, admin, circle.supervisor.id, circle.team.id, False)
    assert said == [Unsupervised(circle.team.name, 2)]
    # Closing a supervisor's account: every team they alone watched.
    other = Circle()
    extra = TeamFactory()
    CaseloadLinkFactory(key_worker_id=KeyWorkerFactory(team_id=extra.id).id)
    admin_accounts.set_supervision(db, admin, other.supervisor.id, extra.id, True)
    said = admin_accounts.set_active(db, admin, other.supervisor.id, False, "Left").unsupervised
    assert sorted(said, key=lambda u: u.team) == sorted(
        [Unsupervised(other.team.name, 1), Unsupervised(extra.name, 1)], key=lambda u: u.team
    )
    # Reopening it says nothing, and they watch those teams again.
    assert admin_accounts.set_active(db, admin, other.supervisor.id, True) == ActiveSet()
    assert admin_accounts.unsupervised_teams(db, admin) == [circle.team.name]
