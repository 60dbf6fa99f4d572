"""Every client keeps a key worker someone can reach, in a supervisor's sight."""

from careplan.domain.caseload_rules import closing_problem, giving_problem, team_problem


def test_a_key_worker_with_clients_is_not_closed_and_the_message_says_what_to_do():
    assert closing_problem("Kim", 0) is None
    assert closing_problem("Kim", 1).startswith("Kim still has 1 client, whose reminders")
    assert "3 clients" in closing_problem("Kim", 3)
    assert "hand them over" in closing_problem("Kim", 1)


def test_a_key_worker_with_clients_keeps_a_team():
    assert team_problem("Kim", 2, None).startswith("Kim has 2 clients, and without a team")
    assert team_problem("Kim", 2, 7) is None
    assert team_problem("Kim", 0, None) is None


def test_a_client_is_given_only_to_a_key_worker_in_a_team():
    assert giving_problem("Nina", None).startswith("Nina is in no team")
    assert giving_problem("Nina", 3) is None
