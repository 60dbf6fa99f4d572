"""A person's own account: profile, password change, and links to choose a password."""

from __future__ import annotations

from datetime import timedelta
from threading import Barrier, Thread

import pytest
import sqlalchemy as sa

from careplan.db.models import AccountEmail, AuditEvent, PasswordLink, User, utcnow
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_day
from careplan.reminders import account_mail
from careplan.services import (
    account_emails,
    account_settings,
    accounts,
    admin_accounts,
    api_tokens,
    passwords,
    reminders,
)
from careplan.services.accounts import actor_for
from careplan.services.errors import NotFound
from tests.factories import PASSWORD, AdminFactory, ClientFactory

NEW = "a brand new password"


@pytest.fixture
def person(app):
    return ClientFactory()


def _user(db, user_id) -> User:
    with db.read() as s:
        return s.get(User, user_id)


def test_changing_the_password_needs_the_current_one_and_changes_nothing_otherwise(db, person):
    with pytest.raises(ContentInvalid) as err:
        account_settings.change_password(db, actor_for(person), "wrong", NEW, NEW)
    assert set(err.value.errors) == {"current_password"}
    with pytest.raises(ContentInvalid) as err:
        account_settings.change_password(db, actor_for(person), PASSWORD, NEW, NEW + "!")
    assert set(err.value.errors) == {"password_again"}
    after = _user(db, person.id)
    assert passwords.verify(after.password_hash, PASSWORD)
    assert after.session_epoch == person.session_epoch


def test_the_password_it_has_now_is_refused_as_the_new_one(db, person):
    with pytest.raises(ContentInvalid) as err:
        account_settings.change_password(db, actor_for(person), PASSWORD, PASSWORD, PASSWORD)
    assert err.value.errors == {
        "password": "That is the password you have now. Please choose a different one."
    }
    after = _user(db, person.id)
    assert after.session_epoch == person.session_epoch  # nobody was signed out
    with db.read() as s:  # nor told of a change
        assert s.scalar(sa.select(sa.func.count()).select_from(AccountEmail)) == 0
    # A wrong current password is said as such, whatever the new one.
    with pytest.raises(ContentInvalid) as err:
        account_settings.change_password(db, actor_for(person), NEW, NEW, NEW)
    assert set(err.value.errors) == {"current_password"}


def test_a_changed_password_ends_other_sessions_and_old_links(db, person):
    link = account_settings.request_reset(db, person.email)
    epoch = account_settings.change_password(db, actor_for(person), PASSWORD, NEW, NEW)
    after = _user(db, person.id)
    assert epoch == after.session_epoch == person.session_epoch + 1
    assert passwords.verify(after.password_hash, NEW)
    assert accounts.authenticate(db, person.email, PASSWORD, "") is None
    with pytest.raises(NotFound):  # a link sent before the change cannot undo it
        account_settings.check_link(db, link.token)


def test_a_reset_link_works_once_and_only_until_it_expires(db, person):
    link = account_settings.request_reset(db, person.email.upper() + "  ")
    assert link is not None and link.email == person.email and link.purpose == "reset"
    assert account_settings.check_link(db, link.token).email == person.email
    with pytest.raises(ContentInvalid):
        account_settings.use_link(db, link.token, "short", "short")
    account_settings.use_link(db, link.token, NEW, NEW)
    assert accounts.authenticate(db, person.email, NEW, "") is not None
    assert _user(db, person.id).session_epoch == person.session_epoch + 1
    with pytest.raises(NotFound):
        account_settings.use_link(db, link.token, "another password", "another password")

    late = account_settings.request_reset(db, person.email)
    with pytest.raises(NotFound):
        account_settings.check_link(db, late.token, now=late.expires_at + timedelta(seconds=1))
    # As after a change on the account page, the mailbox is told the password was changed
    # (once: the refused tries told nothing).
    with db.read() as s:
        told = s.scalars(sa.select(AccountEmail.kind).where(AccountEmail.recipient_id == person.id))
        assert list(told) == ["password_changed"]


def test_choosing_a_first_password_sends_no_password_changed_e_mail(db):
    admin = actor_for(AdminFactory())
    client_id, welcome = admin_accounts.create(
        db, admin, "new@example.org", "New Person", "client", None
    )
    account_settings.use_link(db, welcome.token, NEW, NEW)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AccountEmail)) == 0


@pytest.mark.parametrize("welcome", ["waiting", "expired"])
def test_a_first_password_chosen_through_a_link_the_service_sent_is_said_as_chosen(db, welcome):
    """The owner never had a password: the welcome link was lost, or ran out, and they asked
    for a link on the sign-in page. (An administrator's link is another welcome: below.)"""
    admin = actor_for(AdminFactory())
    person_id, _ = admin_accounts.create(db, admin, "new@example.org", "New Person", "client", None)
    if welcome == "expired":
        with db.write() as s:
            s.execute(sa.update(PasswordLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    first = account_settings.request_reset(db, "new@example.org")
    account_settings.use_link(db, first.token, NEW, NEW)
    # Once there is a password, a new one is a change again.
    later = admin_accounts.send_password_link(db, admin, person_id)
    account_settings.use_link(db, later.token, "another new password", "another new password")
    with db.read() as s:
        kept = s.scalars(sa.select(AccountEmail).order_by(AccountEmail.id)).all()
        admin_page = account_emails.recent_for(s, person_id)
    said = [
        account_mail.account_email(k.kind, k.detail, k.created_at, "https://x.org") for k in kept
    ]
    assert [e.subject for e in said] == [
        "Your first password was chosen",
        "Your password was changed",
    ]
    body = " ".join(said[0].body.split())
    assert "The first password for this e-mail address's account was chosen on" in body
    assert "was changed" not in body and "signed out" not in body  # nobody was signed in
    assert "If this was not you, please choose a new password straight away" in body
    assert [e.about for e in admin_page] == [
        "Their password was changed",
        "Their first password was chosen",
    ]


def test_an_administrators_link_for_an_account_with_no_password_yet_is_another_welcome(db):
    """Its first e-mail never arrived: "Choosing a new password ... if you did not expect it,
    leave it", working for an hour, told someone who never heard from the service to ignore
    it. Once a password is chosen, the link is to choose a new one."""
    admin = actor_for(AdminFactory())
    person_id, _ = admin_accounts.create(db, admin, "new@example.org", "New Person", "client", None)
    again = admin_accounts.send_password_link(db, admin, person_id)
    assert again.purpose == "welcome"
    lasts = again.expires_at - utcnow()
    assert lasts > account_settings.WELCOME_LINK_LIFETIME - timedelta(minutes=1)
    account_settings.use_link(db, again.token, NEW, NEW)
    assert admin_accounts.send_password_link(db, admin, person_id).purpose == "reset"


def test_only_a_hash_of_the_link_is_kept(db, person):
    link = account_settings.request_reset(db, person.email)
    with db.read() as s:
        stored = s.scalar(sa.select(PasswordLink.token_hash))
    assert link.token not in stored and len(stored) == 64


def test_no_link_for_unknown_or_closed_accounts_and_at_most_three_an_hour(db, person):
    assert account_settings.request_reset(db, "nobody@example.org") is None
    links = [account_settings.request_reset(db, person.email) for _ in range(4)]
    assert [bool(link) for link in links] == [True, True, True, False]
    later = utcnow() + timedelta(hours=1, minutes=1)
    assert account_settings.request_reset(db, person.email, now=later) is not None
    with db.write() as s:
        s.get(User, person.id).active = False
    assert account_settings.request_reset(db, person.email, now=later) is None
    with pytest.raises(NotFound):  # a closed account's links stop working too
        account_settings.check_link(db, links[0].token)


def test_a_closed_account_asking_for_a_link_is_e_mailed_whom_to_ask_at_most_three_an_hour(
    db, person
):
    admin = actor_for(AdminFactory())
    admin_accounts.set_active(db, admin, person.id, False, "Left")
    asked = [account_settings.request_reset(db, person.email, "192.0.2.9") for _ in range(4)]
    assert asked == [None] * 4  # no link: it could not be used
    later = utcnow() + timedelta(hours=1, minutes=1)
    assert account_settings.request_reset(db, person.email, now=later) is None
    with db.read() as s:
        told = s.execute(
            sa.select(AccountEmail.to_address, AccountEmail.kind, AccountEmail.detail)
        ).all()
        links = s.scalar(sa.select(sa.func.count()).select_from(PasswordLink))
        events = s.scalars(
            sa.select(AuditEvent.detail).where(AuditEvent.action == "account.reset_requested")
        ).all()
    # Three in the hour, then one more an hour later: like links, never a flood.
    assert told == [(person.email, "account_closed", {"role": "client"})] * 4
    assert links == 0 and events == [{"closed": True}] * 4


def test_links_sent_to_a_corrected_address_stop_working(db):
    admin = actor_for(AdminFactory())
    client_id, welcome = admin_accounts.create(
        db, admin, "sam@exmaple.org", "Sam Typo", "client", None
    )
    reset = admin_accounts.send_password_link(db, admin, client_id)
    admin_accounts.update_details(db, admin, client_id, "Sam Typo", "sam@example.org", None)
    for link in (welcome, reset):  # whoever holds the mistyped mailbox cannot take the account
        with pytest.raises(NotFound):
            account_settings.use_link(db, link.token, NEW, NEW)
    unchanged = _user(db, client_id).password_hash
    fresh = admin_accounts.send_password_link(db, admin, client_id)
    assert fresh.email == "sam@example.org"
    assert account_settings.use_link(db, fresh.token, NEW, NEW) == "sam@example.org"
    assert _user(db, client_id).password_hash != unchanged
    with db.read() as s:
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.update")).one()
    assert (event.client_id, event.detail) == (client_id, {"changed": ["email"]})


def test_a_closed_and_reopened_account_has_no_old_links(db, person):
    admin = actor_for(AdminFactory())
    link = admin_accounts.send_password_link(db, admin, person.id)
    me = actor_for(person)
    calendar = reminders.new_calendar_token(db, me, utcnow())
    token = api_tokens.create(db, me, "phone", ["read"], service_day(utcnow() + timedelta(days=30)))
    admin_accounts.set_active(db, admin, person.id, False, "Left")
    admin_accounts.set_active(db, admin, person.id, True)
    with pytest.raises(NotFound):
        account_settings.check_link(db, link.token)
    # Nor its calendar's private address, nor its access tokens: reopened, it starts afresh.
    with pytest.raises(NotFound):
        reminders.calendar_for_token(db, calendar)
    with pytest.raises(api_tokens.TokenRefused):
        api_tokens.authenticate(db, token.secret, "127.0.0.1")
    assert passwords.verify(_user(db, person.id).password_hash, PASSWORD)


def test_an_account_reopened_before_its_first_password_gets_the_welcome_link_again(db):
    """Closing ends every link. Its owner, who never chose a password, would have no way in
    after reopening: reopening gives the welcome link again. An owner with a password signs in
    with it again, and gets nothing."""
    admin = actor_for(AdminFactory())
    client_id, first = admin_accounts.create(
        db, admin, "noor@example.org", "Noor Haddad", "client", None
    )
    admin_accounts.set_active(db, admin, client_id, False, "Left")
    before = utcnow()
    reopened = admin_accounts.set_active(db, admin, client_id, True)
    welcome = reopened.welcome
    assert reopened.unsupervised == [] and welcome is not None
    assert (welcome.email, welcome.purpose) == ("noor@example.org", "welcome")
    lifetime = account_settings.link_lifetime("welcome")
    assert before + lifetime <= welcome.expires_at <= utcnow() + lifetime
    with pytest.raises(NotFound):  # the one sent before closing stays ended
        account_settings.check_link(db, first.token)
    # Pressed twice: the second press finds it open, and sends no second link.
    assert admin_accounts.set_active(db, admin, client_id, True) == admin_accounts.ActiveSet()
    assert account_settings.check_link(db, welcome.token).purpose == "welcome"
    assert account_settings.use_link(db, welcome.token, NEW, NEW) == "noor@example.org"

    admin_accounts.set_active(db, admin, client_id, False, "Left")
    assert admin_accounts.set_active(db, admin, client_id, True) == admin_accounts.ActiveSet()
    with db.read() as s:
        links = s.scalars(sa.select(PasswordLink.purpose).order_by(PasswordLink.id)).all()
        told = s.scalars(sa.select(AccountEmail.kind)).all()
    assert links == ["welcome", "welcome"] and told == []  # closing and reopening tell nobody
    assert passwords.verify(_user(db, client_id).password_hash, NEW)


def test_two_people_using_one_link_at_once_set_one_password(db, person):
    link = account_settings.request_reset(db, person.email)
    barrier, outcomes = Barrier(2), []

    def use(password):
        barrier.wait()
        try:
            account_settings.use_link(db, link.token, password, password)
            outcomes.append(password)
        except NotFound:
            outcomes.append(None)

    threads = [Thread(target=use, args=(p,)) for p in ("first long password", "second long one")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o]
    assert len(winners) == 1, outcomes
    assert accounts.authenticate(db, person.email, winners[0], "") is not None


def test_profile_changes_are_kept_and_audited(db, person):
    account_settings.save_profile(db, actor_for(person), " Al ", "they/them")
    view = account_settings.account(db, actor_for(person))
    assert (view.preferred_name, view.pronouns) == ("Al", "they/them")
    with pytest.raises(ContentInvalid):
        account_settings.save_profile(db, actor_for(person), "x" * 101, "")
    assert account_settings.account(db, actor_for(person)).preferred_name == "Al"
    with db.read() as s:
        actions = s.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == person.id))
        assert "account.profile" in set(actions)
