"""Rules for new passwords and for how a person wants to be called."""

from __future__ import annotations

from careplan.domain.account_rules import (
    MAX_PRONOUNS_LENGTH,
    MAX_REASON_LENGTH,
    called,
    changed_meanwhile,
    clean_profile,
    full_name_problem,
    introduce,
    merge_form,
    new_password_problems,
    plain_name,
    reason_problem,
    same_team_name,
)


def test_a_good_new_password_has_no_problems():
    assert new_password_problems("a few plain words", "a few plain words", "a@b.org") == {}


def test_new_password_problems_name_the_field_at_fault():
    assert "password" in new_password_problems("short", "short")
    assert "password" in new_password_problems(" " * 12, " " * 12)
    assert "password" in new_password_problems("x" * 201, "x" * 201)
    assert "password" in new_password_problems("Me@Example.org", "Me@Example.org", "me@example.org")
    assert set(new_password_problems("long enough one", "long enough two")) == {"password_again"}
    # Both boxes at once: a short password typed differently twice is told both.
    assert set(new_password_problems("short", "different")) == {"password", "password_again"}


def test_profile_is_trimmed_and_bounded():
    profile, errors = clean_profile("  Al   Morgan ", " they/them ")
    assert (profile.preferred_name, profile.pronouns, errors) == ("Al Morgan", "they/them", {})
    _, errors = clean_profile("", "x" * (MAX_PRONOUNS_LENGTH + 1))
    assert set(errors) == {"pronouns"}
    # Joiners alone are nothing anyone can read: shown as "Dana Newby, " with a comma.
    _, errors = clean_profile("", "\u200d\u200c\u200d")
    assert errors == {"pronouns": "Please use letters for your pronouns, or leave it empty."}


def test_a_token_s_name_is_kept_without_characters_that_turn_it_around():
    from datetime import date

    from careplan.domain.api_tokens import check_request

    asked = check_request("my phone \u202eapp\u202c ", ["read"], "2027-01-10", date(2027, 1, 1))
    assert asked.name == "my phone app"


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


def test_a_name_keeps_no_character_that_hides_or_turns_the_text_around_it():
    assert plain_name("  Béa\u200b  Client\u202e ") == "Béa Client"
    assert plain_name("\u2067سارا\u2069") == "سارا"
    assert plain_name("\u061c\u2060Bea\xad \u180eClient\u2062") == "Bea Client"
    assert plain_name("Ana\u200dïs") == "Ana\u200dïs"  # joiners stay: scripts need them
    assert full_name_problem(plain_name("\u200f")) is not None  # nothing left to read
    assert full_name_problem("---") is not None
    assert full_name_problem("x" * 201) is not None
    assert full_name_problem("Team North", "A team") is None
    profile, errors = clean_profile("\u202e", "they/them")
    assert errors == {}, "an invisible character alone is no name: it is left empty"
    assert profile.preferred_name == ""
    _, errors = clean_profile("!!", "")
    assert set(errors) == {"preferred_name"}


# --- a details form saved from a page loaded before someone else's save ----------------------

LOADED = {"name": "Bob Smith", "email": "bob@example.org"}


def test_a_form_changes_only_the_fields_it_changed_and_keeps_the_others_as_stored_now():
    stored = {"name": "Bob Corrected", "email": "bob@example.org"}  # another tab's change
    posted = {"name": "Bob Smith", "email": "bob.new@example.org"}
    assert merge_form(LOADED, posted, stored) == (
        {"name": "Bob Corrected", "email": "bob.new@example.org"},
        [],
    )


def test_a_field_changed_by_both_is_a_clash_and_the_stored_value_is_kept():
    stored = {"name": "Bob Corrected", "email": "bob@example.org"}
    posted = {"name": "Robert Smith", "email": "bob@example.org"}
    assert merge_form(LOADED, posted, stored) == (stored, ["name"])


def test_the_same_change_typed_by_both_is_no_clash():
    stored = {"name": "Bob Corrected", "email": "bob@example.org"}
    assert merge_form(LOADED, stored, stored) == (stored, [])


def test_a_form_from_an_up_to_date_page_saves_what_it_sends():
    posted = {"name": "Robert Smith", "email": "rob@example.org"}
    assert merge_form(LOADED, posted, LOADED) == (posted, [])


def test_a_field_emptied_meanwhile_is_said_as_empty_with_what_it_is_now_otherwise():
    assert "it is now empty" in changed_meanwhile("", "in another tab")
    said = changed_meanwhile("Bee", "in another tab")
    assert "(in another tab): it is now “Bee”. Nothing was saved." in said


def test_team_names_in_other_capitals_or_spacing_are_the_same_team():
    assert same_team_name("North team", "north TEAM")
    assert same_team_name("North team", "  North   team ")
    assert same_team_name("Équipe Nord", "ÉQUIPE NORD")  # not only A to Z
    assert same_team_name("Straße", "STRASSE")  # as a list would read them
    assert not same_team_name("North team", "North team 2")
    assert not same_team_name("North team", "Northteam")


def test_a_reason_for_a_big_change_is_a_few_words():
    assert reason_problem("Left the service in May", "closing this account") is None
    assert reason_problem("", "closing this account") == (
        "Please say in a few words why you are closing this account: it is kept with the change."
    )
    assert reason_problem("...", "closing this account")  # no words in it
    assert reason_problem("x" * MAX_REASON_LENGTH, "closing this account") is None
    assert reason_problem("x" * (MAX_REASON_LENGTH + 1), "closing this account") == (
        f"Please keep the reason to {MAX_REASON_LENGTH} characters or fewer: it has "
        f"{MAX_REASON_LENGTH + 1}."
    )
