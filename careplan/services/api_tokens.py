"""Personal access tokens: made and revoked by their owner, checked on every API request.

The secret is shown once, when it is made; only its hash is kept (careplan.domain.tokens),
so nobody, administrators included, can read it back. Wrong tokens count with wrong
passwords from the same address (careplan.services.throttle), so guessing is paused alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.models import ApiToken, User, utcnow
from ..domain.api_tokens import check_request, ended, parse_scopes, scopes_for
from ..domain.local_time import service_day, start_of_day
from ..domain.roles import Role
from ..domain.tokens import looks_like_token, new_token, token_hash
from . import audit
from .actor import Actor
from .errors import NotFound
from .throttle import throttle_for

# Noting each use would make every read a write: the time of last use is kept to the minute.
LAST_USED_PRECISION = timedelta(minutes=1)
MAX_TOKENS_LISTED = 200


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def last_day(self) -> date:
        """The day the owner chose: the token works until that day ends."""
        return service_day(self.expires_at - timedelta(microseconds=1))

    def works_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class NewToken:
    secret: str  # shown to its owner this once, never again
    token: TokenView


@dataclass(frozen=True)
class Caller:
    """Who an API request comes from, and what their token lets them do."""

    actor: Actor
    scopes: frozenset[str]
    token_id: int


class TokenRefused(Exception):
    """No token, or one that is unknown, expired, revoked or whose owner may no longer sign in.
    `message`: what the caller is told, for a token that was real and has ended (revoked or
    expired); empty for any other, so a guess learns nothing."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


def _view(t: ApiToken) -> TokenView:
    return TokenView(
        t.id,
        t.name,
        tuple(sorted(parse_scopes(t.scopes))),
        t.created_at,
        t.expires_at,
        t.revoked_at,
        t.last_used_at,
    )


def _end_of(day: date) -> datetime:
    """A token works until the end of its last day (the service's day)."""
    return start_of_day(day + timedelta(days=1))


def create(
    db: Database, actor: Actor, name: str, scopes, expires_on, now: datetime | None = None
) -> NewToken:
    now = now or utcnow()
    wanted = check_request(name, scopes, expires_on, service_day(now), scopes_for(actor.role))
    secret = new_token()
    with db.write() as s:
        row = ApiToken(
            user_id=actor.id,
            name=wanted.name,
            token_hash=token_hash(secret),
            scopes=" ".join(wanted.scopes),
            created_at=now,
            expires_at=_end_of(wanted.expires_on),
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor,
            "api_token.create",
            "api_token",
            row.id,
            client_id=actor.own_client_id,
            detail={"scopes": list(wanted.scopes), "expires_on": wanted.expires_on.isoformat()},
        )
        return NewToken(secret, _view(row))


def tokens_of(db: Database, actor: Actor) -> list[TokenView]:
    """The person's own tokens, newest first, revoked and expired ones included."""
    with db.read() as s:
        rows = s.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == actor.id)
            .order_by(ApiToken.id.desc())
            .limit(MAX_TOKENS_LISTED)
        ).all()
        return [_view(t) for t in rows]


def revoke(db: Database, actor: Actor, token_id: int, now: datetime | None = None) -> None:
    """Only the owner revokes a token; anyone else's answers as not found."""
    now = now or utcnow()
    with db.write() as s:
        row = s.get(ApiToken, token_id)
        if row is None or row.user_id != actor.id:
            raise NotFound()
        if row.revoked_at is not None:
            return
        row.revoked_at = now
        audit.record(
            s, actor, "api_token.revoke", "api_token", row.id, client_id=actor.own_client_id
        )


def revoke_all(s: Session, user_id: int, now: datetime) -> None:
    """Revoke every token of the account, inside the caller's transaction (closing it)."""
    s.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def authenticate(db: Database, secret: str | None, address: str, now: datetime | None = None):
    """The Caller a bearer token belongs to, or TokenRefused. Raises TooManyAttempts while
    the address is paused for wrong passwords or tokens, before the token is even looked up."""
    now = now or utcnow()
    throttle = throttle_for(db)
    throttle.before_token_check(address)
    if not looks_like_token(secret):
        # No token, or something no token looks like: no guess at one, so it does not
        # count towards a pause (a script without its token would otherwise pause signing
        # in for everyone behind the same address).
        raise TokenRefused()
    with db.read() as s:
        found = s.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash(secret))
        ).first()
    if found is None:
        throttle.token_refused(address)
        raise TokenRefused()
    token, user = found
    if not user.active:
        # A token that was real once is no guess: it does not count towards a pause. The
        # account is closed: nothing is said about its tokens.
        raise TokenRefused()
    if token.revoked_at is not None or now >= token.expires_at:
        revoked_on = service_day(token.revoked_at) if token.revoked_at is not None else None
        raise TokenRefused(ended(revoked_on, _view(token).last_day))
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        with db.write() as s:
            s.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    actor = Actor(user.id, Role(user.role), user.display_name, address)
    return Caller(actor, parse_scopes(token.scopes), token.id)
