"""Rules for new passwords and for how a person wants to be called."""

from __future__ import annotations

from careplan.domain.account_rules import (
    MAX_PRONOUNS_LENGTH,
    called,
    clean_profile,
    introduce,
    new_password_problems,
)


def test_a_good_new_password_has_no_problems():
    assert new_password_problems("a few plain words", "a few plain words", "a@b.org") == {}


def test_new_password_problems_name_the_field_at_fault():
    assert "password" in new_password_problems("short", "short")
    assert "password" in new_password_problems(" " * 12, " " * 12)
    assert "password" in new_password_problems("x" * 201, "x" * 201)
    assert "password" in new_password_problems("Me@Example.org", "Me@Example.org", "me@example.org")
    assert set(new_password_problems("long enough one", "long enough two")) == {"password_again"}


def test_profile_is_trimmed_and_bounded():
    profile, errors = clean_profile("  Al   Morgan ", " they/them ")
    assert (profile.preferred_name, profile.pronouns, errors) == ("Al Morgan", "they/them", {})
    _, errors = clean_profile("", "x" * (MAX_PRONOUNS_LENGTH + 1))
    assert set(errors) == {"pronouns"}


def test_people_are_called_and_introduced_as_they_asked():
    assert called("Alex Morgan", None) == "Alex Morgan"
    assert called("Alex Morgan", "Al") == "Al"
    assert introduce("Alex Morgan", None, None) == "Alex Morgan"
    assert introduce("Alex Morgan", "Al", "they/them") == "Alex Morgan, known as Al, they/them"
    assert introduce("Alex Morgan", "Alex Morgan", "") == "Alex Morgan"


def test_only_a_clients_own_account_events_belong_to_their_records():
    from careplan.domain.roles import Role, own_records_of

    assert own_records_of(7, Role.CLIENT) == 7
    for role in (Role.KEY_WORKER, Role.SUPERVISOR, Role.ADVOCATE, Role.ADMIN):
        assert own_records_of(7, role) is None
