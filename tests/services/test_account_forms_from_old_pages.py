"""Account details saved from a page loaded before someone else's save (two administrators, or
one person in two tabs): the save changes only what its form changed, and a field someone else
changed meanwhile is refused with what it is now, changing nothing. Nothing is lost."""

from __future__ import annotations

from threading import Barrier, Thread

import pytest
import sqlalchemy as sa

from careplan.db.models import AccountEmail, AuditEvent, User
from careplan.domain.account_rules import Profile
from careplan.services import account_settings, admin_accounts
from careplan.services.accounts import actor_for
from careplan.services.admin_accounts import Details
from careplan.services.errors import ChangedMeanwhile
from tests.factories import AdminFactory, ClientFactory, KeyWorkerFactory, TeamFactory


@pytest.fixture
def bob(app):
    return ClientFactory(display_name="Bob Smith", email="bob@example.org")


def _kept(db, user_id) -> User:
    with db.read() as s:
        return s.get(User, user_id)


def _told(db, user_id) -> list[str]:
    with db.read() as s:
        kinds = s.scalars(
            sa.select(AccountEmail.kind)
            .where(AccountEmail.recipient_id == user_id)
            .order_by(AccountEmail.id)
        )
        return list(kinds)


def _events(db, action: str) -> list[dict]:
    with db.read() as s:
        rows = s.scalars(
            sa.select(AuditEvent.detail).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows)


def _save(db, admin, user, name, email, loaded, team_id=None):
    return admin_accounts.update_details(
        db, actor_for(admin), user.id, name, email, team_id, loaded
    )


# --- an administrator's account details ---------------------------------------------------------


def test_two_administrators_changing_different_details_keep_both(db, bob):
    one, other = AdminFactory(), AdminFactory()
    loaded = Details("Bob Smith", "bob@example.org", None)  # both pages show this
    _save(db, one, bob, "Bob Corrected", "bob@example.org", loaded)
    _save(db, other, bob, "Bob Smith", "bob.new@example.org", loaded)  # the name as loaded
    kept = _kept(db, bob.id)
    assert (kept.display_name, kept.email) == ("Bob Corrected", "bob.new@example.org")
    # Each save is recorded as what it changed; only the address change is told, once.
    assert _events(db, "user.update") == [{"changed": ["name"]}, {"changed": ["email"]}]
    assert _told(db, bob.id) == ["email_changed", "email_now_here"]


def test_a_detail_changed_meanwhile_is_refused_with_what_it_is_now_and_nothing_is_saved(db, bob):
    one, other = AdminFactory(), AdminFactory()
    loaded = Details("Bob Smith", "bob@example.org", None)
    _save(db, one, bob, "Bob Corrected", "bob@example.org", loaded)
    with pytest.raises(ChangedMeanwhile) as refused:
        # The name changed too, and the address: neither is saved.
        _save(db, other, bob, "Robert Smith", "bob.new@example.org", loaded)
    assert list(refused.value.errors) == ["name"]
    assert "it is now “Bob Corrected”" in refused.value.errors["name"]
    assert "another administrator" in refused.value.errors["name"]
    kept = _kept(db, bob.id)
    assert (kept.display_name, kept.email) == ("Bob Corrected", "bob@example.org")
    assert _events(db, "user.update") == [{"changed": ["name"]}]
    assert _told(db, bob.id) == []
    # Saved again from the refused form (it now carries what is kept), theirs is used.
    _save(db, other, bob, "Robert Smith", "bob.new@example.org",
          Details("Bob Corrected", "bob@example.org", None))  # fmt: skip
    kept = _kept(db, bob.id)
    assert (kept.display_name, kept.email) == ("Robert Smith", "bob.new@example.org")


def test_the_same_change_made_by_both_is_saved_once_and_told_once(db, bob):
    one, other = AdminFactory(), AdminFactory()
    loaded = Details("Bob Smith", "bob@example.org", None)
    _save(db, one, bob, "Bob Smith", "Bob.New@example.org", loaded)
    # The other page changed the address to the same one (written differently) and the name.
    _save(db, other, bob, "Bob  Corrected", " bob.new@example.org", loaded)
    kept = _kept(db, bob.id)
    assert (kept.display_name, kept.email) == ("Bob Corrected", "bob.new@example.org")
    assert _events(db, "user.update") == [{"changed": ["email"]}, {"changed": ["name"]}]
    assert _told(db, bob.id) == ["email_changed", "email_now_here"]  # not told twice


def test_a_team_chosen_meanwhile_is_refused_by_its_name(db):
    first, second = TeamFactory(name="North"), TeamFactory(name="South")
    worker = KeyWorkerFactory(team_id=None)
    one, other = AdminFactory(), AdminFactory()
    loaded = Details(worker.display_name, worker.email, None)
    _save(db, one, worker, worker.display_name, worker.email, loaded, first.id)
    with pytest.raises(ChangedMeanwhile) as refused:
        _save(db, other, worker, worker.display_name, worker.email, loaded, second.id)
    assert list(refused.value.errors) == ["team_id"]
    assert "it is now “North”" in refused.value.errors["team_id"]
    assert _kept(db, worker.id).team_id == first.id
    # Taken out of a team meanwhile: said as no team.
    _save(db, one, worker, worker.display_name, worker.email,
          Details(worker.display_name, worker.email, first.id), None)  # fmt: skip
    with pytest.raises(ChangedMeanwhile) as refused:
        _save(db, other, worker, worker.display_name, worker.email,
              Details(worker.display_name, worker.email, first.id), second.id)  # fmt: skip
    assert "it is now “No team”" in refused.value.errors["team_id"]
    # A stale page that left the team as it was does not put it back.
    _save(db, other, worker, "Renamed Worker", worker.email,
          Details(worker.display_name, worker.email, first.id), first.id)  # fmt: skip
    kept = _kept(db, worker.id)
    assert (kept.display_name, kept.team_id) == ("Renamed Worker", None)


def test_two_administrators_saving_at_the_same_moment_lose_nothing(db, bob):
    loaded = Details("Bob Smith", "bob@example.org", None)
    saves = [
        (AdminFactory(), "Bob Corrected", "bob@example.org"),
        (AdminFactory(), "Bob Smith", "bob.new@example.org"),
    ]
    barrier, failures = Barrier(2), []

    def save(admin, name, email):
        barrier.wait()
        try:
            _save(db, admin, bob, name, email, loaded)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    threads = [Thread(target=save, args=one) for one in saves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    kept = _kept(db, bob.id)
    assert (kept.display_name, kept.email) == ("Bob Corrected", "bob.new@example.org")


# --- a person's own account settings ------------------------------------------------------------


NOTHING_YET = Profile()  # as a page shows it before anything was saved


def _profile(db, person, preferred_name, pronouns, loaded=NOTHING_YET):
    return account_settings.save_profile(db, actor_for(person), preferred_name, pronouns, loaded)


def _shown(db, person) -> tuple[str, str]:
    view = account_settings.account(db, actor_for(person))
    return view.preferred_name, view.pronouns


def test_two_tabs_changing_different_settings_keep_both(db, bob):
    _profile(db, bob, "Bee", "")
    kept = _profile(db, bob, "", "she/her")  # the other tab still showed no preferred name
    assert _shown(db, bob) == ("Bee", "she/her")
    assert kept == Profile("Bee", "she/her")  # as kept: the greeting follows it
    assert len(_events(db, "account.profile")) == 2


def test_a_setting_changed_in_another_tab_is_refused_with_what_it_is_now(db, bob):
    _profile(db, bob, "Bee", "")
    with pytest.raises(ChangedMeanwhile) as refused:
        _profile(db, bob, "Bea", "she/her")
    assert list(refused.value.errors) == ["preferred_name"]
    assert "it is now “Bee”" in refused.value.errors["preferred_name"]
    assert _shown(db, bob) == ("Bee", "")  # the pronouns were not saved either
    assert len(_events(db, "account.profile")) == 1
    # Emptied in one tab, and changed in a tab that still showed it: said as empty.
    _profile(db, bob, "", "", Profile("Bee", ""))
    with pytest.raises(ChangedMeanwhile) as refused:
        _profile(db, bob, "Bea", "", Profile("Bee", ""))
    assert "it is now empty" in refused.value.errors["preferred_name"]
    assert _shown(db, bob) == ("", "")


def test_the_same_setting_typed_in_both_tabs_is_saved(db, bob):
    _profile(db, bob, "Bee", "she/her")
    assert _profile(db, bob, " Bee ", "she/her") == Profile("Bee", "she/her")
    assert _shown(db, bob) == ("Bee", "she/her")


def test_a_setting_emptied_in_another_tab_stays_empty(db, bob):
    _profile(db, bob, "Bee", "she/her")
    loaded = Profile("Bee", "she/her")
    _profile(db, bob, "", "she/her", loaded)
    _profile(db, bob, "Bee", "they/them", loaded)  # the name as it loaded it
    assert _shown(db, bob) == ("", "they/them")
