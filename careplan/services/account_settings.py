"""A person's own account: how they want to be called, changing their password, and the
e-mailed links that let someone choose a password (after "forgot my password", or for a new
account an administrator made)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..db.engine import Database, locked
from ..db.models import AccountEmail, PasswordLink, User, utcnow
from ..domain.account_rules import (
    SAME_AS_NOW,
    Profile,
    changed_meanwhile,
    clean_profile,
    merge_form,
    new_password_problems,
)
from ..domain.errors import ContentInvalid
from ..domain.roles import Role, own_records_of
from ..domain.tokens import looks_like_token, new_token, token_hash
from . import account_emails, audit, backup_codes, passwords
from .actor import Actor
from .errors import ChangedMeanwhile, NotFound
from .throttle import throttle_for

RESET_LINK_LIFETIME = timedelta(hours=1)
WELCOME_LINK_LIFETIME = timedelta(days=7)
# More links than this in an hour are not sent: a form anyone can fill in must not become a
# way to flood someone's inbox.
RESET_LINKS_PER_HOUR = 3


@dataclass(frozen=True)
class AccountView:
    email: str
    display_name: str
    preferred_name: str
    pronouns: str
    role: Role
    second_factor_since: datetime | None = None  # they sign with a code from their app too
    backup_codes_left: int = 0  # stand-ins for that code, each used once


@dataclass(frozen=True)
class IssuedLink:
    """A link to choose a password, to be e-mailed. The token is never stored."""

    email: str
    token: str
    purpose: str
    expires_at: datetime
    link_id: int = 0  # its row, where a failure to send it is kept (link_not_sent)
    role: str = ""  # whose account: a welcome says what it is for to a client alone


def client_id_of(user: User) -> int | None:
    """The client whose records an event about this account belongs to."""
    return own_records_of(user.id, Role(user.role))


def account(db: Database, actor: Actor) -> AccountView:
    with db.read() as s:
        user = s.get(User, actor.id)
        if user is None:
            raise NotFound()
        left = user.second_factor_since and backup_codes.unused(s, user.id)
        return AccountView(
            user.email, user.display_name, user.preferred_name or "", user.pronouns or "",
            Role(user.role), user.second_factor_since, left or 0,
        )  # fmt: skip


# Where else a person's own settings may have been changed while the page was open (nobody
# else changes them).
ELSEWHERE = "in another tab, or on another phone or computer"


def save_profile(
    db: Database,
    actor: Actor,
    preferred_name: str,
    pronouns: str,
    loaded: Profile | None = None,
) -> Profile:
    """Keep how the person wants to be called; returns it as kept.

    `loaded`: the profile the form showed. Only what the form changed from it is changed, so
    a save from a page open in another tab does not undo what was saved there; and if a
    field the form changed was changed meanwhile, nothing is saved (ChangedMeanwhile, with
    what it is now). Without it, the form's values are saved."""
    profile, errors = clean_profile(preferred_name, pronouns)
    if errors:
        raise ContentInvalid(errors)
    with db.write() as s:
        # Two saves at once take turns, so the second compares with what the first saved.
        user = locked(s, User, actor.id)
        if user is None:
            raise NotFound()
        if loaded is not None:
            profile = _merged_profile(user, loaded, profile)
        user.preferred_name = profile.preferred_name or None
        user.pronouns = profile.pronouns or None
        audit.record(s, actor, "account.profile", "user", user.id, client_id=client_id_of(user))
    return profile


def _merged_profile(user: User, loaded: Profile, posted: Profile) -> Profile:
    was, _ = clean_profile(loaded.preferred_name, loaded.pronouns)
    values, clashes = merge_form(
        asdict(was),
        asdict(posted),
        asdict(Profile(user.preferred_name or "", user.pronouns or "")),
    )
    if clashes:
        raise ChangedMeanwhile(
            {field: changed_meanwhile(values[field], ELSEWHERE) for field in clashes}
        )
    return Profile(**values)


def change_password(db: Database, actor: Actor, current: str, new: str, repeated: str) -> int:
    """Check the current password, set the new one (not the same again) and sign out every
    other session; the person is e-mailed, so a change they did not make does not go
    unnoticed. Returns the account's new session epoch, so the session that asked can stay
    signed in."""
    with db.read() as s:
        email = s.scalar(select(User.email).where(User.id == actor.id))
    problems = new_password_problems(new, repeated, email or "")
    try:
        passwords.confirm_identity(
            db,
            actor,
            current,
            "That is not your current password.",
            missing="Please type the password you have now.",
        )
    except ContentInvalid as err:
        problems = {"current_password": err.errors["password"], **problems}
    else:
        if new == current:
            problems.setdefault("password", SAME_AS_NOW)
    if problems:
        raise ContentInvalid(problems)
    new_hash = passwords.hash_password(new)
    with db.write() as s:
        user = s.get(User, actor.id)
        _set_password(s, user, new_hash)
        audit.record(s, actor, "account.password_change", "user", user.id,
                     client_id=client_id_of(user))  # fmt: skip
        account_emails.queue(s, user, account_emails.PASSWORD_CHANGED, {"stayed_signed_in": True})
        epoch = user.session_epoch
    account_emails.send_soon(db)
    return epoch


def _set_password(s: Session, user: User, new_hash: str) -> None:
    user.password_hash = new_hash
    user.session_epoch = user.session_epoch + 1
    # A link e-mailed earlier must not be able to change the password back.
    void_links(s, user.id, password_chosen=True)


def void_links(s: Session, user_id: int, password_chosen: bool = False) -> None:
    """End every link not yet used to choose this account's password: after a new password
    (`password_chosen`), and when the links may have gone to the wrong person (the address was
    corrected, the account closed), so whoever holds one cannot take the account over.

    Links a new password ends are marked used, as the one it was chosen with; the others only
    stop working now, so an account whose owner never chose a password is still known as one
    (`no_password_yet`) after it was closed and reopened."""
    now = utcnow()
    unused = update(PasswordLink).where(
        PasswordLink.user_id == user_id, PasswordLink.used_at.is_(None)
    )
    if password_chosen:
        s.execute(unused.values(used_at=now))
    else:
        s.execute(unused.where(PasswordLink.expires_at > now).values(expires_at=now))


# --- links to choose a password ------------------------------------------------------------


def reset_address_problem(email: str) -> str:
    """What is wrong with the address typed on the forgotten-password page ("" if nothing):
    an empty or malformed one gets no link, and is said beside the box. It says nothing about
    whether an account has the address."""
    from .accounts import looks_like_email, not_an_email

    email = (email or "").strip()
    if not email:
        return "Please type the e-mail address you sign in with."
    if not looks_like_email(email):
        return f"{not_an_email(email)} Please type the address you sign in with."
    return ""


def request_reset(db: Database, email: str, ip: str = "", now: datetime | None = None):
    """A link for the account with this e-mail address, or None when there is no such active
    account or it already had RESET_LINKS_PER_HOUR links in the last hour. The caller answers
    the same either way, so the form does not reveal who has an account. The owner of a
    closed account gets no link (it could not be used) but an e-mail saying whom to ask, at
    most as often as links go."""
    now = now or utcnow()
    email = (email or "").strip().lower()
    if reset_address_problem(email):
        return None
    with db.write() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is None or _asked_too_often(s, user, now):
            return None
        if user.active:
            link = _issue(s, user, "reset", now, None)
        else:
            link = None
            account_emails.queue(
                s, user, account_emails.ACCOUNT_CLOSED, {"role": user.role}, now=now
            )
        audit.record(
            s, Actor(user.id, Role(user.role), user.display_name, ip), "account.reset_requested",
            "user", user.id, client_id=client_id_of(user),
            detail={} if user.active else {"closed": True},
        )  # fmt: skip
    if link is None:
        account_emails.send_soon(db)
    return link


def _asked_too_often(s: Session, user: User, now: datetime) -> bool:
    """RESET_LINKS_PER_HOUR links in the last hour, or as many e-mails saying the account is
    closed: a form anyone can fill in floods nobody's inbox either way."""
    since = now - timedelta(hours=1)
    if user.active:
        sent = (
            select(func.count())
            .select_from(PasswordLink)
            .where(
                PasswordLink.user_id == user.id,
                PasswordLink.purpose == "reset",
                PasswordLink.created_at > since,
            )
        )
    else:
        sent = (
            select(func.count())
            .select_from(AccountEmail)
            .where(
                AccountEmail.recipient_id == user.id,
                AccountEmail.kind == account_emails.ACCOUNT_CLOSED,
                AccountEmail.created_at > since,
            )
        )
    return s.scalar(sent) >= RESET_LINKS_PER_HOUR


def no_password_yet(s: Session, user_id: int) -> bool:
    """Whether the account's welcome link was never used, even if it has run out or was ended
    by closing the account or correcting its address: nobody has chosen a password for it yet
    (choosing one, by any link, marks every other link used)."""
    return (
        s.scalar(
            select(PasswordLink.id)
            .where(
                PasswordLink.user_id == user_id,
                PasswordLink.purpose == "welcome",
                PasswordLink.used_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def issue_welcome(s: Session, user: User, admin: Actor | None, now: datetime) -> IssuedLink:
    """A link for a new account to choose its first password (an administrator made it)."""
    return _issue(s, user, "welcome", now, admin)


def issue_reset(s: Session, user: User, admin: Actor, now: datetime) -> IssuedLink:
    """A link to choose a new password, sent at an administrator's request."""
    return _issue(s, user, "reset", now, admin)


def link_lifetime(purpose: str) -> timedelta:
    """How long a link of this purpose works after it is sent."""
    return WELCOME_LINK_LIFETIME if purpose == "welcome" else RESET_LINK_LIFETIME


def _issue(s: Session, user: User, purpose: str, now: datetime, by: Actor | None) -> IssuedLink:
    token = new_token()
    expires = now + link_lifetime(purpose)
    link = PasswordLink(
        user_id=user.id,
        token_hash=token_hash(token),
        purpose=purpose,
        created_at=now,
        expires_at=expires,
        requested_by_id=by.id if by else None,
    )
    s.add(link)
    s.flush()
    return IssuedLink(user.email, token, purpose, expires, link.id, user.role)


def link_not_sent(db: Database, link_id: int, reason: str) -> None:
    """Its e-mail could not be sent: kept with the mail server's reason, so the account's page
    says so instead of "not used yet" (the link reached nobody and is never sent again)."""
    with db.write() as s:
        s.execute(
            update(PasswordLink)
            .where(PasswordLink.id == link_id)
            .values(not_sent=reason[:300] or "The mail server did not take it.")
        )


@dataclass(frozen=True)
class LinkInfo:
    purpose: str
    email: str


def _usable_link(
    s: Session, token: str, now: datetime, for_update: bool = False
) -> tuple[PasswordLink, User]:
    if not looks_like_token(token):
        raise NotFound()
    query = (
        select(PasswordLink, User)
        .join(User, User.id == PasswordLink.user_id)
        .where(PasswordLink.token_hash == token_hash(token))
    )
    if for_update:  # PostgreSQL; SQLite's writers already queue (BEGIN IMMEDIATE)
        query = query.with_for_update(of=PasswordLink)
    row = s.execute(query).first()
    if row is None:
        raise NotFound()
    link, user = row
    if link.used_at is not None or link.expires_at <= now or not user.active:
        raise NotFound()
    return link, user


def check_link(db: Database, token: str, now: datetime | None = None) -> LinkInfo:
    """What a link is for; NotFound when it is unknown, used, expired or its account closed."""
    with db.read() as s:
        link, user = _usable_link(s, token, now or utcnow())
        return LinkInfo(link.purpose, user.email)


def use_link(
    db: Database, token: str, new: str, repeated: str, ip: str = "", now: datetime | None = None
) -> str:
    """Set the password through a link (once). Returns the account's e-mail address."""
    now = now or utcnow()
    with db.read() as s:
        _link, user = _usable_link(s, token, now)
        email = user.email
    problems = new_password_problems(new, repeated, email)
    if problems:
        raise ContentInvalid(problems)
    new_hash = passwords.hash_password(new)
    with db.write() as s:
        # Read again under the write lock: of two people using one link at once, one wins.
        link, user = _usable_link(s, token, now, for_update=True)
        # Asked before the new password ends the welcome link.
        first = no_password_yet(s, user.id)
        link.used_at = now
        _set_password(s, user, new_hash)
        audit.record(
            s, Actor(user.id, Role(user.role), user.display_name, ip),
            "account.password_set", "user", user.id,
            client_id=client_id_of(user), detail={"through": link.purpose},
        )  # fmt: skip
        if link.purpose != "welcome":
            # As for a change on the account page: a record in the mailbox, and a warning if
            # someone else used the link. (A first password chosen from the welcome link is
            # the owner's start, not news; from a link the service sent later, it is said as
            # chosen, not changed.)
            told = {"first": True} if first else None
            account_emails.queue(s, user, account_emails.PASSWORD_CHANGED, told)
        email = user.email
    # Whoever chose it holds the account's mailbox: the pause on wrong passwords for this
    # account ends, so the page's "sign in with it" is true (the connection's count stays).
    throttle_for(db).password_accepted(email)
    account_emails.send_soon(db)
    return email
