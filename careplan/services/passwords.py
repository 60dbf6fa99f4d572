"""Argon2id password hashing (argon2-cffi), and confirming who is signing: the password again,
and the code from their app when they have turned the second step on."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, or_, select, update

from ..db.models import Notification, User, utcnow
from ..domain import second_factor
from ..domain.errors import ContentInvalid
from . import account_emails, audit, backup_codes
from .actor import Actor
from .throttle import throttle_for

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login with an unknown e-mail the same as with a
# known one, so the login form does not reveal who has an account. Made when the app is
# created (`configure`), at the configured cost; made on import as well, at the default cost,
# it took every process that imports the app about 150 ms more to start.
_dummy_hash: str | None = None


def configure(time_cost: int, memory_kib: int) -> None:
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _dummy_hash = _hasher.hash("not-a-real-password")


def _dummy() -> str:
    # Code that verifies without an app (none does today) still compares against a hash.
    if _dummy_hash is None:
        configure(_hasher.time_cost, _hasher.memory_cost)
    return _dummy_hash


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _dummy(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


CODE_REFUSED = (
    "That code is not right, or it was used already. Please type the code your app shows now."
)
TYPE_IT = "Please type your password."


def confirm_identity(
    db,
    actor: Actor,
    password: str,
    refused: str,
    code: str | None = None,
    code_refused: str = CODE_REFUSED,
    now: datetime | None = None,
    code_used_for: str | None = None,
    missing: str = TYPE_IT,
) -> str:
    """The password typed again at the moment of signing or confirming proves it is this
    person, now. Otherwise raises ContentInvalid on the password field, saying `refused`.
    Wrong passwords count with those typed at sign-in (careplan.services.throttle): too many,
    and TooManyAttempts is raised before the password is even tried. None typed is no guess:
    it says `missing`, and is not counted.

    Where the action asks for the second step (`code` is given, "" when the form had none)
    and the person has turned it on, the code from their app must be right too, and is used
    up; a wrong one counts as a wrong password. `code_used_for`: what is confirmed removes or
    replaces every backup code (one of second_factor.ENDS_EVERY_CODE), so a backup code used
    for it is not said to leave others. Returns how they proved who they are, as a signature
    records it."""
    email, secret, last_step = _checked_password(db, actor, password, refused, missing)
    throttle = throttle_for(db)
    if code is None or secret is None:
        throttle.password_accepted(email)
        return second_factor.METHOD_PASSWORD
    if (backup := second_factor.backup_code(code)) is not None:
        left = _use_backup_code(db, actor, backup, code_used_for)
        if left is None:
            throttle.password_refused(email, actor.ip)
            raise ContentInvalid({"code": code_refused})
        throttle.password_accepted(email)
        account_emails.send_soon(db)
        return second_factor.METHOD_WITH_BACKUP_CODE
    typed = second_factor.clean_code(code)
    step = second_factor.accepted_step(secret, typed, now or utcnow(), last_step)
    if step is None or not _use_step(db, actor.id, step):
        throttle.password_refused(email, actor.ip)
        raise ContentInvalid({"code": code_refused})
    throttle.password_accepted(email)
    return second_factor.METHOD_WITH_CODE


def password_problem(
    db, actor: Actor, password: str, refused: str, missing: str = TYPE_IT
) -> dict[str, str]:
    """For a form refused for other reasons: {"password": refused} if the password is wrong
    too ({} if right), so that every problem is named at once. A wrong one counts as any
    wrong password does, so a faulty form is no way round the pause; a right one does not
    start the count afresh, and no code is tried or used up, as nothing is done."""
    try:
        _checked_password(db, actor, password, refused, missing)
    except ContentInvalid as err:
        return dict(err.errors)
    return {}


def _checked_password(db, actor: Actor, password: str, refused: str, missing: str):
    """The account's e-mail address, second-step secret and last step used, once the password
    is right; otherwise raises ContentInvalid on the password field, the attempt counted.
    An empty box is no attempt and is not counted: ten forms sent before the box was noticed
    would shut the person out of signing in for a quarter of an hour."""
    if not password:
        raise ContentInvalid({"password": missing})
    with db.read() as s:
        row = s.execute(_IDENTITY, {"user_id": actor.id}).first()
    stored, email, secret, last_step = row if row else (None, f"#{actor.id}", None, None)
    throttle = throttle_for(db)
    throttle.before_password_check(email, actor.ip)
    if not verify(stored, password):
        throttle.password_refused(email, actor.ip)
        raise ContentInvalid({"password": refused})
    return email, secret, last_step


def _use_step(db, user_id: int, step: int) -> bool:
    """Records that this step's code was used, unless a later or the same one already was (two
    forms sent at once with one code: only one of them gets it)."""
    with db.write() as s:
        done = s.execute(
            update(User)
            .where(
                User.id == user_id,
                or_(User.second_factor_last_step.is_(None), User.second_factor_last_step < step),
            )
            .values(second_factor_last_step=step)
        )
        return done.rowcount == 1


def _use_backup_code(db, actor: Actor, code: str, used_for: str | None = None) -> int | None:
    """Uses up one of the person's backup codes, if it is theirs and unused, and returns how
    many are left (None: not used). They are told in the app and by e-mail, with how many
    are left (or, `used_for`, what it is being used for, which removes or replaces them all),
    so a code used by someone else does not go unnoticed."""
    with db.write() as s:
        if not backup_codes.use(s, actor.id, code):
            return None
        left = backup_codes.unused(s, actor.id)
        s.add(
            Notification(
                user_id=actor.id,
                text=second_factor.backup_code_used_wording(left, used_for),
                link="/me/account#second-step",
            )
        )
        audit.record(
            s,
            actor,
            "account.backup_code_used",
            "user",
            actor.id,
            client_id=actor.own_client_id,
            detail={"left": left},
        )
        user = s.get(User, actor.id)
        told = {"left": left, used_for: True} if used_for else {"left": left}
        account_emails.queue(s, user, account_emails.BACKUP_CODE_USED, told)
        return left


_IDENTITY = select(
    User.password_hash, User.email, User.second_factor_secret, User.second_factor_last_step
).where(User.id == bindparam("user_id"), User.active.is_(True))
