"""Rules that keep every client with a key worker someone can reach and in a supervisor's
sight. Supervisors see review dates team by team, so a key worker with clients needs a team,
and an account cannot be closed while clients still depend on it."""

from __future__ import annotations


def _clients(count: int) -> str:
    return "1 client" if count == 1 else f"{count} clients"


def closing_problem(worker: str, open_clients: int) -> str | None:
    """Why a key worker's account cannot be closed yet, or None."""
    if not open_clients:
        return None
    return (
        f"{worker} still has {_clients(open_clients)}, whose reminders and requests for help "
        "would go to an account nobody uses. Ask their team's supervisor to hand them over "
        "to another key worker first, then close the account."
    )


def team_problem(worker: str, open_clients: int, team_id: int | None) -> str | None:
    """Why a key worker cannot be left without a team, or None."""
    if team_id is not None or not open_clients:
        return None
    return (
        f"{worker} has {_clients(open_clients)}, and without a team no supervisor would see "
        "their review dates. Please choose a team."
    )


def giving_problem(worker: str, team_id: int | None) -> str | None:
    """Why a client cannot be given to this key worker, or None."""
    if team_id is not None:
        return None
    return (
        f"{worker} is in no team, so no supervisor would see this client's review dates. "
        "Give them a team first."
    )
