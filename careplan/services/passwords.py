"""Argon2id password hashing (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ..db.models import User
from ..domain.errors import ContentInvalid
from .actor import Actor
from .throttle import throttle_for

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login with an unknown e-mail the same as with a
# known one, so the login form does not reveal who has an account.
_dummy_hash = _hasher.hash("not-a-real-password")


def configure(time_cost: int, memory_kib: int) -> None:
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _dummy_hash = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _dummy_hash, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def confirm_identity(db, actor: Actor, password: str, refused: str) -> None:
    """The password typed again at the moment of signing or confirming proves it is this
    person, now. Otherwise raises ContentInvalid on the password field, saying `refused`.
    Wrong passwords count with those typed at sign-in (careplan.services.throttle): too many,
    and TooManyAttempts is raised before the password is even tried."""
    with db.read() as s:
        row = s.execute(
            select(User.password_hash, User.email).where(User.id == actor.id, User.active.is_(True))
        ).first()
    stored, email = row if row else (None, f"#{actor.id}")
    throttle = throttle_for(db)
    throttle.before_password_check(email, actor.ip)
    if not verify(stored, password or ""):
        throttle.password_refused(email, actor.ip)
        raise ContentInvalid({"password": refused})
    throttle.password_accepted(email)
