"""Why an e-mail could not be sent, in words an administrator can act on: the mail server out
of reach (try again once it works) is not the address refused (correct it). What is said is
kept on the link's row (`not_sent`), so the account's page gives the same advice later."""

from __future__ import annotations

UNREACHABLE = "The mail server could not be reached"
ADDRESS_REFUSED = "The mail server refused the address"
# An address the server can never take (letters outside ASCII, no SMTPUTF8): see reminders.mail.
ADDRESS_NOT_ACCEPTED = "The mail server does not accept this address"
NOT_TAKEN = "The mail server did not take it"


def unreachable(how: str) -> str:
    """ "The mail server could not be reached (the connection was refused)." """
    return f"{UNREACHABLE} ({how})."


def address_refused_by_server(answer: str) -> str:
    return f"{ADDRESS_REFUSED} ({answer})." if answer else f"{ADDRESS_REFUSED}."


def not_taken(answer: str) -> str:
    return f"{NOT_TAKEN} ({answer})." if answer else f"{NOT_TAKEN}."


def is_address_refused(reason: str) -> bool:
    """Is correcting the address the way forward?"""
    return reason.startswith((ADDRESS_REFUSED, ADDRESS_NOT_ACCEPTED))


def is_unreachable(reason: str) -> bool:
    return reason.startswith(UNREACHABLE)


def advice(reason: str) -> str:
    """What to do about a link nobody has, after `reason`."""
    if is_address_refused(reason):
        return "Correct the address, or send a new link."
    if is_unreachable(reason):
        return "Try again once it works."
    return "Send a new link once the mail server can take it."
