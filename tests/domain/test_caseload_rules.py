"""Every client keeps a key worker someone can reach, in a supervisor's sight."""

import pytest

from careplan.domain.caseload_rules import (
    LEAVING_NOTE_LIMIT,
    client_closing_problem,
    closing_problem,
    giving_problem,
    leaving_problem,
    team_problem,
    validate_leaving_note,
)
from careplan.domain.errors import ContentInvalid


def test_a_key_worker_with_clients_is_not_closed_and_the_message_says_what_to_do():
    assert closing_problem("Kim", 0) is None
    assert closing_problem("Kim", 1).startswith("Kim still has 1 client, whose reminders")
    assert "3 clients" in closing_problem("Kim", 3)
    assert "hand them over" in closing_problem("Kim", 1)


def test_a_client_with_a_key_worker_is_not_closed_and_the_message_says_what_to_do():
    assert client_closing_problem("Bea", "") is None and client_closing_problem("Bea", None) is None
    said = client_closing_problem("Bea", "Kim")
    assert said.startswith("Bea still has a key worker, Kim. Ask Kim or a supervisor")
    assert "on Bea's page that they have left the service first" in said


def test_a_key_worker_with_clients_keeps_a_team():
    assert team_problem("Kim", 2, None).startswith("Kim has 2 clients, and without a team")
    assert team_problem("Kim", 2, 7) is None
    assert team_problem("Kim", 0, None) is None


def test_a_client_is_given_only_to_a_key_worker_in_a_team():
    assert giving_problem("Nina", None).startswith("Nina is in no team")
    assert giving_problem("Nina", 3) is None


def test_leaving_the_service_waits_for_a_handover_or_a_crisis_plan_and_says_which():
    assert leaving_problem("Alex", None, False) is None
    waiting = leaving_problem("Alex", "Lee", False)
    assert waiting.startswith("Alex is being handed over to Lee. Cancel the handover first")
    assert "Alex's plan for when they are not well is in effect" in leaving_problem(
        "Alex", None, True
    )
    assert leaving_problem("Alex", "Lee", True) == waiting  # one thing to do at a time
    # A supervisor may not end it: told who can.
    assert "in effect. It has to be ended first, by Alex or their key worker:" in leaving_problem(
        "Alex", None, True, may_end_it=False
    )


def test_the_leaving_note_is_needed_trimmed_and_kept_short():
    assert validate_leaving_note("  Moved away.\n") == "Moved away."
    assert len(validate_leaving_note("x" * LEAVING_NOTE_LIMIT)) == LEAVING_NOTE_LIMIT
    for note in ("", "  \n ", None, "x" * (LEAVING_NOTE_LIMIT + 1)):
        with pytest.raises(ContentInvalid) as refused:
            validate_leaving_note(note)
        assert set(refused.value.errors) == {"note"}


def test_a_key_worker_moved_with_clients_is_told_who_sees_them_now():
    from careplan.domain.caseload_rules import moved_team_notice

    assert moved_team_notice("Lee", 21, "South team", "North team", 0) == (
        "Lee's 21 clients moved with them to North team: its supervisors see them now, and "
        "South team's key workers and supervisors no longer see them."
    )
    unsupervised = moved_team_notice("Lee", 1, "South team", "East team", 2, supervised=False)
    assert unsupervised.startswith("Lee's 1 client moved with them to East team, and South")
    assert " 2 of them have asked for help in the last two days" in unsupervised
