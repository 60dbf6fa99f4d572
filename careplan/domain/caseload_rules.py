"""Rules that keep every client with a key worker someone can reach and in a supervisor's
sight. Supervisors see review dates team by team, so a key worker with clients needs a team,
and an account cannot be closed while clients still depend on it."""

from __future__ import annotations

from .errors import ContentInvalid
from .lengths import KEPT, too_long
from .wording import possessive
from .writing_direction import plain_writing


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


def client_closing_problem(client: str, key_worker: str | None) -> str | None:
    """Why a client's account cannot be closed yet, or None. Closed while a key worker still
    held them, they left that worker's caseload list, yet their records stayed open to be
    written in (for signatures nobody could give) and on the supervisors' review dates."""
    if not key_worker:
        return None
    return (
        f"{client} still has a key worker, {key_worker}. Ask {key_worker} or a supervisor of "
        f"their team to record on {possessive(client)} page that they have left the service "
        "first, then close the account."
    )


def team_problem(worker: str, open_clients: int, team_id: int | None) -> str | None:
    """Why a key worker cannot be left without a team, or None."""
    if team_id is not None or not open_clients:
        return None
    return (
        f"{worker} has {_clients(open_clients)}, and without a team no supervisor would see "
        "their review dates. Please choose a team."
    )


def move_question(
    worker: str, open_clients: int, old_team: str, new_team: str, handing_over: int = 0
) -> str:
    """What an administrator is asked before a key worker with clients moves team: one Save
    would move every client's records out of the old team's sight. `handing_over`: how many
    of them are being handed over to someone else, which the move does not stop."""
    # "them" only where it can mean nothing but the clients: it read as the worker too.
    clients, them = (
        ("that client goes", "that client") if open_clients == 1
        else (f"the {open_clients} clients go", "them")
    )  # fmt: skip
    return (
        f"{worker} has {_clients(open_clients)}. If {worker} moves to {new_team}, {clients} "
        f"too: {old_team}'s key workers and supervisors will no longer see {them}, and "
        f"{new_team}'s will. To move only some clients, hand them over to someone in "
        f"{old_team} first."
    ) + _handovers_go_on(handing_over)


def _handovers_go_on(count: int) -> str:
    if not count:
        return ""
    if count == 1:
        return (
            " 1 of them is being handed over to another key worker: that goes on, and they "
            "still take over once they have read the plans."
        )
    return (
        f" {count} of them are being handed over to other key workers: that goes on, and they "
        "still take over once they have read the plans."
    )


def moved_team_notice(
    worker: str,
    open_clients: int,
    old_team: str,
    new_team: str,
    in_crisis: int,
    supervised: bool = True,
) -> str:
    """What an administrator is told when a key worker with clients moves team: the clients
    go with them, and the old team's key workers and supervisors no longer see them, even
    someone following up a request for help they answered. `supervised`: the new team has a
    supervisor (if not, that is said on its own, unsupervised_notice)."""
    now = ": its supervisors see them now, and" if supervised else ", and"
    said = (
        f"{possessive(worker)} {_clients(open_clients)} moved with them to {new_team}{now} "
        f"{old_team}'s key workers and supervisors no longer see them."
    )
    if in_crisis:
        who = "1 of them has" if in_crisis == 1 else f"{in_crisis} of them have"
        said += (
            f" {who} asked for help in the last two days or has a crisis plan in effect: "
            f"please tell {old_team} that anyone following it up there can no longer open "
            "their records."
        )
    return said


def giving_problem(worker: str, team_id: int | None) -> str | None:
    """Why a client cannot be given to this key worker, or None."""
    if team_id is not None:
        return None
    return (
        f"{worker} is in no team, so no supervisor would see this client's review dates. "
        "Give them a team first."
    )


def unsupervised_notice(team: str, open_clients: int) -> str:
    """What an administrator is told when a change they made leaves a team's clients in no
    supervisor's sight."""
    return (
        f"No supervisor now sees {team}, which has {_clients(open_clients)}: a request for "
        "help there that nobody answers in time, or a review that goes well past its date, is "
        "passed on to nobody. Give a supervisor the team on their account page."
    )


# What a key worker writes when a client leaves the service: why, and anything the client
# should know. The client reads it on their own page.
LEAVING_NOTE_LIMIT = 2000


def validate_leaving_note(note: str) -> str:
    note = plain_writing(note).strip()
    if not note:
        raise ContentInvalid(
            {"note": "Please say why, in a sentence or two. The client can read this note."}
        )
    if said := too_long(note, LEAVING_NOTE_LIMIT, "the note"):
        raise ContentInvalid({"note": said + KEPT})
    return note


def leaving_problem(
    client: str, handover_to: str | None, crisis_plan_in_effect: bool, *, may_end_it: bool = True
) -> str | None:
    """Why it cannot be recorded yet that a client has left the service, or None. Leaving
    ends the caseload: nobody would take over a handover or answer a request for help.
    `may_end_it`: the reader may end a crisis plan (the client's key worker; a supervisor
    may not, so is told who can)."""
    if handover_to:
        return (
            f"{client} is being handed over to {handover_to}. Cancel the handover first, or "
            f"let {handover_to} take over."
        )
    if crisis_plan_in_effect:
        first = (
            "End it first"
            if may_end_it
            else f"It has to be ended first, by {client} or their key worker"
        )
        return (
            f"{possessive(client)} plan for when they are not well is in effect. {first}: "
            "while it is in effect someone must be there to respond."
        )
    return None
