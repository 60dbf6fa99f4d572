"""The signed-in person as Flask-Login sees them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import g, request, session
from flask_login import UserMixin

from ..db.models import User
from ..domain.account_rules import called
from ..domain.roles import Role
from ..extensions import get_db
from ..services import accounts
from ..services.actor import Actor


@dataclass
class SessionUser(UserMixin):
    id: int
    email: str
    name: str
    role: Role
    session_epoch: int
    called: str = ""  # the name to greet them by (their preferred name, if they gave one)
    unread_notifications: int = 0  # as of the start of this request
    second_factor: bool = False  # signing asks for a code from their app too

    def get_id(self) -> str:
        # The epoch changes with the password, which ends every other session.
        return f"{self.id}:{self.session_epoch}"

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.role, self.name, request.remote_addr or "")

    @classmethod
    def of(cls, user: User) -> SessionUser:
        return cls(
            user.id,
            user.email,
            user.display_name,
            Role(user.role),
            user.session_epoch,
            called(user.display_name, user.preferred_name),
            second_factor=user.second_factor_secret is not None,
        )


def load_session_user(user_id: str) -> SessionUser | None:
    try:
        raw_id, raw_epoch = user_id.split(":")
        uid, epoch = int(raw_id), int(raw_epoch)
    except ValueError:
        return None
    user = accounts.load_signed_in(get_db(), uid)
    if user is None:
        return None
    if user.session_epoch != epoch:
        g.signed_out_because = _why_signed_out(uid)
        return None
    return SessionUser(
        user.id,
        user.email,
        user.display_name,
        Role(user.role),
        user.session_epoch,
        called(user.display_name, user.preferred_name),
        user.unread_notifications,
        bool(user.second_factor),
    )


PASSWORD_CHANGED = "You were signed out because your password was changed. Please sign in again."


def _why_signed_out(user_id: int) -> str | None:
    """Why this session no longer works, where the app can tell: the password changed after
    the session was last used (another session's change, or a link's, ends every other)."""
    last_seen = session.get("last_seen")
    if last_seen is None:
        return None
    since = datetime.fromtimestamp(float(last_seen), UTC)
    return PASSWORD_CHANGED if accounts.password_changed_since(get_db(), user_id, since) else None


def signed_out_message(message: str) -> str:
    """The sign-in page's message after a page needed a session (Flask-Login's
    `localize_callback`): the reason this one ended, if known."""
    return g.get("signed_out_because") or message


def session_fingerprint() -> str:
    """What "strong" session protection compares: the browser, by its User-Agent.

    Not the network address, which Flask-Login's own version includes. A phone moving from
    Wi-Fi to mobile data gets a new address, and some mobile networks give each connection a
    different one: tied to the address, the person was signed out between two pages and the
    save they pressed went to the sign-in page without their words. A copied cookie is still
    refused in another browser, and every copy stops working at sign-out, at the idle
    time-out and when the password changes.
    """
    return hashlib.sha512(request.headers.get("User-Agent", "").encode()).hexdigest()
