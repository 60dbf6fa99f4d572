"""Turning the second step when signing on and off (careplan.domain.second_factor).

Anyone who signs or confirms reviews may add it: from then on, signing and confirming "reviewed,
no changes" ask for the code from their authenticator app as well as their password, and the
signature records that. Turning it on proves the app works (a right code from the new secret);
turning it off asks for the password and a code, so a borrowed, signed-in phone cannot remove
it. Turning it on gives ten backup codes, each standing in once for the app's code, so a lost
phone need not stop anyone signing; without them an administrator can remove the step, and
that is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..db.engine import Database, locked
from ..db.models import User, utcnow
from ..domain import second_factor
from ..domain.account_rules import plain_name, reason_problem
from ..domain.errors import ContentInvalid
from ..domain.roles import Role
from . import account_emails, audit, backup_codes, passwords
from .account_settings import client_id_of
from .actor import Actor
from .errors import Invalid, NotFound

WHO_SIGN = (Role.CLIENT, Role.KEY_WORKER)
NOTHING_TYPED = "Please type your password. Nothing was changed."


@dataclass(frozen=True)
class Status:
    on: bool
    since: datetime | None


@dataclass(frozen=True)
class Setup:
    """What the person copies into their app: never stored until a code from it is right."""

    secret: str
    grouped: str
    uri: str
    issuer: str  # what the app lists it under


def status(db: Database, actor: Actor) -> Status:
    with db.read() as s:
        since = s.scalar(select(User.second_factor_since).where(User.id == actor.id))
    return Status(since is not None, since)


def begin(db: Database, actor: Actor, issuer: str, secret: str | None = None) -> Setup:
    """A new secret (or the one the form sent back, shown again after a mistake), for an app
    that lists it under `issuer`."""
    _require_signer(actor)
    with db.read() as s:
        email = s.scalar(select(User.email).where(User.id == actor.id))
    if email is None:
        raise NotFound()
    secret = secret if secret and second_factor.is_secret(secret) else second_factor.new_secret()
    uri = second_factor.setup_uri(secret, email, issuer)
    return Setup(secret, second_factor.grouped(secret), uri, issuer)


def turn_on(
    db: Database,
    actor: Actor,
    secret: str,
    code: str,
    password: str,
    now: datetime | None = None,
) -> list[str]:
    """Keep `secret` once the password and a code from the app are right; nothing changes
    otherwise. Returns the backup codes, which are shown this once and never again."""
    _require_signer(actor)
    if not second_factor.is_secret(secret):
        raise Invalid("That setup has expired. Please start again.")
    now = now or utcnow()
    errors = {}
    try:
        passwords.confirm_identity(
            db,
            actor,
            password,
            "That password is not right. Nothing was changed.",
            missing=NOTHING_TYPED,
        )
    except ContentInvalid as err:
        errors.update(err.errors)
    try:
        typed = second_factor.clean_code(code)
        step = second_factor.accepted_step(secret, typed, now, None)
        if step is None:
            errors.setdefault(
                "code",
                "That code does not match. Type the code the app shows now for the account "
                "you have just added. Nothing was changed.",
            )
    except ContentInvalid as err:
        errors.update(err.errors)
    if errors:
        raise ContentInvalid(errors)
    with db.write() as s:
        user = locked(s, User, actor.id)
        if user is None:
            raise NotFound()
        if user.second_factor_secret is not None:
            raise Invalid("The second step is already on. Turn it off first to use another app.")
        user.second_factor_secret = secret
        user.second_factor_last_step = step  # this code has been used now
        user.second_factor_since = now
        codes = backup_codes.replace_all(s, user.id)
        audit.record(s, actor, "account.second_factor_on", "user", user.id,
                     client_id=client_id_of(user))  # fmt: skip
        account_emails.queue(s, user, account_emails.SECOND_FACTOR_ON, now=now)
    account_emails.send_soon(db)
    return codes


def replace_backup_codes(db: Database, actor: Actor, password: str, code: str) -> list[str]:
    """New backup codes in place of all the old ones (used or not): password and a current
    code, from the app or one of the old backup codes."""
    _confirm(db, actor, password, code, second_factor.MAKES_NEW_CODES)
    with db.write() as s:
        user = _locked_with_step_on(s, actor.id)
        codes = backup_codes.replace_all(s, user.id)
        audit.record(s, actor, "account.backup_codes_new", "user", user.id,
                     client_id=client_id_of(user))  # fmt: skip
    return codes


def codes_to_show(db: Database, actor: Actor, codes: list[str]) -> list[str]:
    """`codes` as the form just sent made them, if they are still this person's backup codes
    (not replaced since, nor removed with the step); none otherwise."""
    _require_signer(actor)
    if not codes:
        return []
    with db.read() as s:
        return codes if backup_codes.are_all_kept(s, actor.id, codes) else []


def turn_off(db: Database, actor: Actor, password: str, code: str) -> None:
    """The person removes it themselves: password and a current code."""
    _confirm(db, actor, password, code, second_factor.TURNS_STEP_OFF)
    _remove(db, actor, actor.id, "account.second_factor_off")


def _confirm(
    db: Database, actor: Actor, password: str, code: str, code_used_for: str | None = None
) -> None:
    """`code_used_for`: what is confirmed removes or replaces every backup code (as
    passwords.confirm_identity says)."""
    if not status(db, actor).on:
        raise Invalid("The second step is not on.")
    passwords.confirm_identity(
        db,
        actor,
        password,
        "That password is not right. Nothing was changed.",
        code=code,
        code_refused=passwords.CODE_REFUSED + " Nothing was changed.",
        code_used_for=code_used_for,
        missing=NOTHING_TYPED,
    )


def remove_for(db: Database, admin: Actor, user_id: int, reason: str = "") -> None:
    """An administrator removes it for someone who lost their phone, saying why (the reason
    is kept in the audit trail, and asking for it means one tap cannot do it); the person
    signs with their password alone until they set it up again."""
    if admin.role is not Role.ADMIN:
        raise NotFound()
    reason = plain_name(reason)
    if problem := reason_problem(reason, "turning off their second step"):
        raise ContentInvalid({"reason": problem})
    _remove(db, admin, user_id, "user.second_factor_removed", {"reason": reason})


def _remove(
    db: Database, actor: Actor, user_id: int, action: str, detail: dict | None = None
) -> None:
    """Whoever removes it, the person is e-mailed, so a change they did not make does not go
    unnoticed."""
    with db.write() as s:
        user = _locked_with_step_on(s, user_id)
        user.second_factor_secret = None
        user.second_factor_last_step = None
        user.second_factor_since = None
        backup_codes.remove_all(s, user.id)
        audit.record(s, actor, action, "user", user.id, client_id=client_id_of(user), detail=detail)
        # Said as the service's doing when an administrator did it (a lost phone, say), so
        # the owner is not told to worry about a change they asked for.
        by_service = {"by_service": True} if actor.id != user.id else None
        account_emails.queue(s, user, account_emails.SECOND_FACTOR_OFF, by_service)
    account_emails.send_soon(db)


def _locked_with_step_on(s, user_id: int) -> User:
    user = locked(s, User, user_id)
    if user is None:
        raise NotFound()
    if user.second_factor_secret is None:
        raise Invalid("The second step is not on.")
    return user


def _require_signer(actor: Actor) -> None:
    if actor.role not in WHO_SIGN:
        raise NotFound()
