"""Rules for the details people keep about themselves: passwords, names and pronouns.

Each check returns field-by-field messages (empty when all is well), so the web page can show
every problem at once next to the field it belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .lengths import too_long

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200  # Argon2 copes with more; a limit keeps a form from being abused
MAX_NAME_LENGTH = 100
MAX_PRONOUNS_LENGTH = 40

MAX_FULL_NAME_LENGTH = 200  # a person's or a team's name, as an administrator writes it
MAX_REASON_LENGTH = 300  # why an administrator closed an account or turned off a second step

# Offered as suggestions only: anyone may write their own.
PRONOUN_SUGGESTIONS = ("she/her", "he/him", "they/them")

# Invisible characters that turn the text around them or hide in it (zero-width space,
# direction marks, the Arabic letter mark, embeddings, overrides and isolates, the word joiner
# and invisible operators, the soft hyphen, the Mongolian vowel separator, the byte-order
# mark): in a name they would let one name pass for another. The zero-width joiner and
# non-joiner stay: some scripts and emoji need them.
_HIDDEN = dict.fromkeys(
    [
        0x00AD,
        0x061C,
        0x180E,
        0x200B,
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2060, 0x2065),
        *range(0x2066, 0x206A),
        0xFEFF,
    ]
)


def plain_name(raw: str | None) -> str:
    """A name as it is kept: single spaces, none of the hidden characters above."""
    return " ".join((raw or "").translate(_HIDDEN).split())


def full_name_problem(name: str, what: str = "A person") -> str | None:
    """What is wrong with a person's or team's name (already made plain), or None."""
    if not any(ch.isalnum() for ch in name):
        return f"{what} needs a name (up to {MAX_FULL_NAME_LENGTH} characters, with letters)."
    return too_long(name, MAX_FULL_NAME_LENGTH, "the name")


def reason_problem(reason: str, doing: str) -> str | None:
    """What is wrong with the reason (already made plain) an administrator gives for a change
    with big effects on someone ("closing this account"), or None. The reason is asked for so
    that one tap cannot do it, and kept in the audit trail with the change."""
    if not any(ch.isalnum() for ch in reason):
        return f"Please say in a few words why you are {doing}: it is kept with the change."
    return too_long(reason, MAX_REASON_LENGTH, "the reason")


def same_team_name(a: str, b: str) -> bool:
    """Two team names that a list would show as the same team: capitals and spaces aside
    ("North team", "north  TEAM")."""
    return name_key(a) == name_key(b)


def name_key(raw: str | None) -> str:
    """A name as a list would be read to tell two apart: capitals and spaces aside. Teams and
    agreement templates, each chosen by name, may not share one."""
    return plain_name(raw).casefold()


def team_for_role_problem(role: str, team_chosen: bool) -> str | None:
    """Only a key worker belongs to a team (their clients are that team's, for its
    supervisors). A supervisor's teams are the ones they supervise, chosen on their own account
    page; clients, advocates and administrators have none."""
    if not team_chosen or role == "key_worker":
        return None
    if role == "supervisor":
        return (
            "Only key workers belong to a team. Choose “No team”: a supervisor’s "
            "teams are chosen on their account page, under “Teams they supervise”."
        )
    return (
        "Only key workers belong to a team. Choose “No team”, or choose the key "
        "worker role if this account is for a key worker."
    )


# A key worker made without a team: nothing refuses it, but no client can be theirs yet.
NO_TEAM_YET = (
    "They are in no team yet, so no client can be given to them until they are: choose their "
    "team below."
)


def no_team_yet(role: str, team_chosen: bool) -> str | None:
    """What to tell whoever made the account (None if nothing): a key worker in no team."""
    return NO_TEAM_YET if role == "key_worker" and not team_chosen else None


# A "change" to the same password would end every other session and e-mail "your password was
# changed" while changing nothing.
SAME_AS_NOW = "That is the password you have now. Please choose a different one."


def new_password_problems(password: str, repeated: str, email: str = "") -> dict[str, str]:
    """What is wrong with a new password, by form field ("password", "password_again"): both
    boxes' problems at once, so one answer names everything to put right."""
    problems = {}
    if len(password) < MIN_PASSWORD_LENGTH:
        problems["password"] = f"Please use at least {MIN_PASSWORD_LENGTH} characters."
    elif len(password) > MAX_PASSWORD_LENGTH:
        problems["password"] = f"Please use at most {MAX_PASSWORD_LENGTH} characters."
    elif not password.strip():
        problems["password"] = "A password cannot be only spaces."
    elif email and password.strip().lower() == email.strip().lower():
        problems["password"] = "Please choose something other than your e-mail address."
    if password != repeated:
        problems["password_again"] = "The two passwords are not the same. Please type them again."
    return problems


@dataclass(frozen=True)
class Profile:
    """How a person wants to be called. Both parts are optional."""

    preferred_name: str = ""
    pronouns: str = ""


def clean_profile(preferred_name: str, pronouns: str) -> tuple[Profile, dict[str, str]]:
    """The profile as it will be kept (trimmed, single spaces), and what is wrong with it."""
    name, said = plain_name(preferred_name), plain_name(pronouns)
    errors = {}
    if name and not any(ch.isalnum() for ch in name):
        errors["preferred_name"] = "Please use letters for the name you go by, or leave it empty."
    elif said_long := too_long(name, MAX_NAME_LENGTH):
        errors["preferred_name"] = said_long
    if said and not any(ch.isalnum() for ch in said):
        # Only joiners or marks: nothing anyone could read, shown as "Al, " with a comma.
        errors["pronouns"] = "Please use letters for your pronouns, or leave it empty."
    elif said_long := too_long(said, MAX_PRONOUNS_LENGTH):
        errors["pronouns"] = said_long
    return Profile(name, said), errors


def called(display_name: str, preferred_name: str | None) -> str:
    """The name to use when speaking to or about the person."""
    return preferred_name or display_name


def introduce(display_name: str, preferred_name: str | None, pronouns: str | None) -> str:
    """The name with how the person wants to be called, e.g. "Alex Morgan, known as Al,
    they/them", for the people who work with them."""
    parts = [display_name]
    if preferred_name and preferred_name != display_name:
        parts.append(f"known as {preferred_name}")
    if pronouns:
        parts.append(pronouns)
    return ", ".join(parts)


def merge_form(
    loaded: Mapping[str, object], posted: Mapping[str, object], stored: Mapping[str, object]
) -> tuple[dict[str, object], list[str]]:
    """A details form saved from a page that may be out of date (another tab, another
    administrator): the values to keep, and the fields changed meanwhile by someone else.

    A field the form shows as it loaded it is not this form's change: what is stored now stays
    (the other tab's change is not undone). A field the form changed is saved, unless what is
    stored now is neither what the form loaded nor what it sends: then someone else changed it
    in between, and their change must not be lost without being seen. Typing the same value as
    the other person is no clash."""
    values, clashes = {}, []
    for name, now in stored.items():
        was, sent = loaded[name], posted[name]
        if sent == was:
            values[name] = now
        elif now in (was, sent):
            values[name] = sent
        else:
            values[name] = now
            clashes.append(name)
    return values, clashes


def changed_meanwhile(now: str, by: str) -> str:
    """Said beside a field that was changed while the form was open, with what it is now."""
    shown = f"it is now “{now}”" if now else "it is now empty"
    return (
        f"This was changed while you had the page open ({by}): {shown}. Nothing was saved. "
        "Yours is still here: save again to use it, or change it to keep what it is now."
    )
