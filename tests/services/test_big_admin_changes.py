"""Closing an account and turning off someone's second step need a reason: asking for it is
what keeps one tap from doing either, and the reason is kept in the audit trail with the
change. Opening an account again only gives back, and needs none. A key worker moves team
with their clients only once the administrator was told how many."""

from __future__ import annotations

import pyotp
import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, User
from careplan.domain.errors import ContentInvalid
from careplan.services import admin_accounts, handovers, second_factor
from careplan.services.accounts import actor_for
from careplan.services.errors import MoveToConfirm
from tests.factories import (
    PASSWORD,
    AdminFactory,
    CaseloadLinkFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    TeamFactory,
)


def _detail(db, action: str):
    with db.read() as s:
        return s.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == action)).all()


@pytest.mark.parametrize("reason", ["", "   ", "—", "x" * 301])
def test_an_account_is_not_closed_without_a_reason(db, reason):
    person, admin = ClientFactory(), actor_for(AdminFactory())
    with pytest.raises(ContentInvalid) as refused:
        admin_accounts.set_active(db, admin, person.id, False, reason)
    assert list(refused.value.errors) == ["reason"]
    with db.read() as s:
        assert s.get(User, person.id).active is True
    assert _detail(db, "user.close") == []


def test_the_reason_for_closing_is_kept_with_the_change(db):
    person, admin = ClientFactory(), actor_for(AdminFactory())
    admin_accounts.set_active(db, admin, person.id, False, "  Moved to   another service ")
    assert _detail(db, "user.close") == [{"reason": "Moved to another service"}]
    admin_accounts.set_active(db, admin, person.id, True)  # reopening needs no reason
    with db.read() as s:
        assert s.get(User, person.id).active is True


def _with_second_step(db):
    person = ClientFactory()
    setup = second_factor.begin(db, actor_for(person), "careplan")
    code = pyotp.TOTP(setup.secret).now()
    second_factor.turn_on(db, actor_for(person), setup.secret, code, PASSWORD)
    return person


def test_a_second_step_is_not_turned_off_by_an_administrator_without_a_reason(db):
    person, admin = _with_second_step(db), actor_for(AdminFactory())
    with pytest.raises(ContentInvalid) as refused:
        second_factor.remove_for(db, admin, person.id, " ")
    assert list(refused.value.errors) == ["reason"]
    with db.read() as s:
        assert s.get(User, person.id).second_factor_secret is not None
    second_factor.remove_for(db, admin, person.id, "Lost their phone, no backup codes")
    with db.read() as s:
        assert s.get(User, person.id).second_factor_secret is None
    assert _detail(db, "user.second_factor_removed") == [
        {"reason": "Lost their phone, no backup codes"}
    ]


def test_a_key_worker_moves_team_with_their_clients_only_once_told_how_many(db):
    # One Save moved every client's records out of the old team's sight: the service asks
    # for the number the administrator was shown, and asks again if it changed meanwhile.
    circle = Circle()
    north, worker = TeamFactory(name="North team"), circle.key_worker
    admin = actor_for(circle.admin)

    def move(clients_moving=None):
        return admin_accounts.update_details(
            db, admin, worker.id, worker.display_name, worker.email, north.id,
            clients_moving=clients_moving,
        )  # fmt: skip

    for told in (None, 0, 2):
        with pytest.raises(MoveToConfirm) as asked:
            move(told)
        assert (asked.value.clients, asked.value.new_team) == (1, "North team")
        with db.read() as s:
            assert s.get(User, worker.id).team_id == circle.team.id
    assert str(asked.value).startswith(f"{worker.display_name} has 1 client. If")
    CaseloadLinkFactory(key_worker_id=worker.id)  # a second client meanwhile
    with pytest.raises(MoveToConfirm):
        move(1)
    assert "2 clients moved with them to North team" in move(2).moved
    with db.read() as s:
        assert s.get(User, worker.id).team_id == north.id


def test_the_question_before_a_move_says_a_waiting_handover_goes_on(db):
    # The incoming worker, in the old team, still reads and takes over: "the old team will
    # no longer see them" was not the whole truth.
    circle = Circle()
    CaseloadLinkFactory(key_worker_id=circle.key_worker.id)  # a second client, staying
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    worker = circle.key_worker
    handovers.start(db, actor_for(worker), circle.client.id, incoming.id, "Going on leave.")
    with pytest.raises(MoveToConfirm) as asked:
        admin_accounts.update_details(
            db, actor_for(circle.admin), worker.id, worker.display_name, worker.email,
            TeamFactory().id,
        )  # fmt: skip
    assert str(asked.value).endswith(
        "1 of them is being handed over to another key worker: that goes on, and they still "
        "take over once they have read the plans."
    )
