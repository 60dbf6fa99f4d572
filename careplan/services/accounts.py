"""People, teams, caseloads and advocate invitations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.engine import Database, locked, plain_rows
from ..db.models import (
    AdvocateInvitation,
    AuditEvent,
    CaseloadLink,
    Notification,
    SupervisorTeam,
    Team,
    User,
    utcnow,
)
from ..domain.account_rules import (
    called,
    full_name_problem,
    new_password_problems,
    plain_name,
    same_team_name,
    team_for_role_problem,
)
from ..domain.errors import ContentInvalid
from ..domain.local_time import service_day
from ..domain.roles import Role
from ..domain.wording import account_closed, new_key_worker_notice, on_your_caseload_notice
from . import audit, crisis_alerts, passwords, reviews
from .actor import Actor
from .answered_messages import no_longer_theirs
from .errors import Invalid, NotFound, ServiceError
from .signoff import refresh_states_for_client
from .throttle import throttle_for

# No spaces and no control characters (a mail server would refuse them, and every message to
# the address would fail); otherwise as loose as real addresses are.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


def looks_like_email(email: str) -> bool:
    return bool(_EMAIL.match(email)) and len(email) <= 320


def not_an_email(email: str) -> str:
    """The refusal, quoting what was typed (cut short: it may be pasted pages)."""
    if not email:
        return "Please give their e-mail address: they sign in with it."
    shown = email if len(email) <= 80 else email[:79] + "…"
    return f"{shown!r} does not look like an e-mail address."


def actor_for(user: User, ip: str = "") -> Actor:
    return Actor(id=user.id, role=Role(user.role), name=user.display_name, ip=ip)


def create_team(db: Database, name: str, actor: Actor | None = None) -> Team:
    """A new team. `actor` is the administrator making it on a page (None from the command
    line); anyone else is answered as on any administrator's page: not found."""
    if actor is not None and actor.role is not Role.ADMIN:
        raise NotFound()
    name = _team_name(name)
    with db.write() as s:
        _refuse_taken_team_name(s, name)
        team = Team(name=name)
        s.add(team)
        try:
            s.flush()
        except IntegrityError:  # the same name made at the same moment, by another press
            raise Invalid(_team_name_taken(name)) from None
        audit.record(s, actor, "team.create", "team", team.id, detail={"name": name})
        return team


def rename_team(db: Database, actor: Actor, team_id: int, name: str) -> bool:
    """An administrator renames a team (a mistake in its name, or a team that changed its
    name). Its people and supervisors stay with it. Refused if another team already has the
    name, capitals and spaces aside. Answers whether anything changed."""
    if actor.role is not Role.ADMIN:
        raise NotFound()
    name = _team_name(name)
    with db.write() as s:
        team = locked(s, Team, team_id)
        if team is None:
            raise NotFound()
        if team.name == name:
            return False
        _refuse_taken_team_name(s, name, but=team.id)
        old, team.name = team.name, name
        try:
            s.flush()
        except IntegrityError:  # the same name taken at the same moment, by another press
            raise Invalid(_team_name_taken(name)) from None
        audit.record(s, actor, "team.rename", "team", team.id, detail={"from": old, "to": name})
        return True


def _team_name(raw: str) -> str:
    name = plain_name(raw)
    if problem := full_name_problem(name, "A team"):
        raise Invalid(problem)
    return name


# Naming teams takes turns on PostgreSQL (SQLite's writers queue anyway), so two presses at
# once cannot make "North team" and "north TEAM" side by side. No unique index does this: on
# SQLite lower() folds only A to Z, so it would let "Équipe" and "ÉQUIPE" through while the
# service refuses them, and adding one would fail on databases holding such pairs already
# (an administrator renames one of them instead). careplan.services.audit uses 7_411_001,
# the scheduler 7_411_002.
_PG_TEAM_NAMES_LOCK = 7_411_003


def _refuse_taken_team_name(s: Session, name: str, but: int | None = None) -> None:
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_TEAM_NAMES_LOCK})
    for team_id, existing in s.execute(select(Team.id, Team.name)):
        if team_id != but and same_team_name(existing, name):
            raise Invalid(_team_name_taken(existing))


def _team_name_taken(name: str) -> str:
    return f"There is already a team called “{name}”."


def create_user(
    db: Database,
    email: str,
    display_name: str,
    role: Role | str,
    password: str,
    team_name: str | None = None,
    actor: Actor | None = None,
) -> User:
    problems = new_password_problems(password, password, email)
    if problems:
        raise Invalid(" ".join(problems.values()))
    password_hash = passwords.hash_password(password)
    with db.write() as s:
        team_id = None
        if team_name:
            team = s.scalar(select(Team).where(Team.name == team_name))
            if team is None:
                raise Invalid(f"There is no team called {team_name!r}.")
            team_id = team.id
        try:
            return add_user(s, email, display_name, role, password_hash, team_id, actor)
        except ContentInvalid as err:  # said on the command line in one go
            raise Invalid(" ".join(err.errors.values())) from None


def add_user(
    s: Session,
    email: str,
    display_name: str,
    role: Role | str,
    password_hash: str,
    team_id: int | None,
    actor: Actor | None,
) -> User:
    """Check and insert a new account inside the caller's transaction. Every problem is
    said at once, by form field ("name", "email", "role", "team_id"): ContentInvalid."""
    email = email.strip().lower()
    display_name = plain_name(display_name)
    problems = {}
    if problem := full_name_problem(display_name):
        problems["name"] = problem
    if not looks_like_email(email):
        problems["email"] = not_an_email(email)
    elif s.scalar(select(User.id).where(User.email == email)):
        problems["email"] = f"There is already an account for {email}."
    try:
        role = Role(role)
    except ValueError:
        # No role is assumed: an account made as a client by mistake would be wrong from the start.
        problems["role"] = (
            "Please choose a role for this account."
            if not str(role).strip()
            else "Please choose a role from the list."
        )
    if team_id is not None and s.get(Team, team_id) is None:
        problems["team_id"] = "There is no such team. Please choose one from the list."
    elif "role" not in problems and (problem := team_for_role_problem(role, team_id is not None)):
        problems["team_id"] = problem
    if problems:
        raise ContentInvalid(problems)
    user = User(
        email=email,
        display_name=display_name,
        role=role.value,
        password_hash=password_hash,
        team_id=team_id,
    )
    s.add(user)
    try:
        s.flush()
    except IntegrityError as exc:  # the same address made at the same moment
        raise ContentInvalid({"email": f"There is already an account for {email}."}) from exc
    audit.record(s, actor, "user.create", "user", user.id, detail={"role": role.value})
    return user


def _user_with_role(s, email: str, role: Role) -> User:
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"There is no account for {email}.")
    if user.role != role.value:
        raise Invalid(f"{email} is a {Role(user.role).label}, not a {role.label}.")
    return user


def link_caseload(
    db: Database, client_email: str, key_worker_email: str, actor: Actor | None = None
) -> CaseloadLink:
    """Put a client on a key worker's caseload, ending any earlier link (kept as history)."""
    with db.write() as s:
        client = _user_with_role(s, client_email, Role.CLIENT)
        # Two choices at once take turns: the second ends the first's link, never a clash.
        locked(s, User, client.id)
        worker = _user_with_role(s, key_worker_email, Role.KEY_WORKER)
        now = utcnow()
        for old in s.scalars(
            select(CaseloadLink).where(
                CaseloadLink.client_id == client.id, CaseloadLink.ended_at.is_(None)
            )
        ):
            if old.key_worker_id == worker.id:
                return old
            # A review already overdue stays late on the chart of the team that held it.
            reviews.keep_overdue_with_holder(s, [client.id], old.key_worker_id, service_day(now))
            old.ended_at = now
        s.flush()
        # Read before the new link is added; only told when given in the app (below).
        came_back = actor is not None and _had_a_key_worker(s, client.id)
        link = CaseloadLink(client_id=client.id, key_worker_id=worker.id, started_at=now)
        s.add(link)
        s.flush()
        if actor is not None:  # given in the app (not set up from the command line)
            # Both hear it in the app: the client's page names someone new, the worker's
            # caseload grows.
            s.add(Notification(user_id=client.id, text=new_key_worker_notice(worker.display_name),
                               link="/"))  # fmt: skip
            s.add(Notification(
                user_id=worker.id, link=f"/clients/{client.id}",
                text=on_your_caseload_notice(
                    called(client.display_name, client.preferred_name), came_back
                ),
            ))  # fmt: skip
        refresh_states_for_client(s, client.id)
        # A client back in the service: their review dates come back.
        reviews.reschedule_for_client(s, client.id, service_day(now))
        crisis_alerts.reach_new_key_worker(s, client.id, now)
        audit.record(
            s,
            actor,
            "caseload.link",
            "user",
            client.id,
            client_id=client.id,
            detail={"key_worker_id": worker.id},
        )
        return link


def _had_a_key_worker(s, client_id: int) -> bool:
    return (
        s.scalar(select(CaseloadLink.id).where(CaseloadLink.client_id == client_id).limit(1))
        is not None
    )


def add_supervisor(
    db: Database, supervisor_email: str, team_name: str, actor: Actor | None = None
) -> None:
    with db.write() as s:
        supervisor = _user_with_role(s, supervisor_email, Role.SUPERVISOR)
        team = s.scalar(select(Team).where(Team.name == team_name))
        if team is None:
            raise NotFound(f"There is no team called {team_name!r}.")
        if s.get(SupervisorTeam, (supervisor.id, team.id)) is None:
            s.add(SupervisorTeam(supervisor_id=supervisor.id, team_id=team.id))
            audit.record(
                s,
                actor,
                "supervision.add",
                "team",
                team.id,
                detail={"supervisor_id": supervisor.id},
            )


class AccountClosed(ServiceError):
    """The right password for an account the service closed. Said only after the right
    password, so the sign-in form tells nobody else whether an address has an account."""

    def __init__(self, role: str):
        super().__init__(account_closed(role))


def authenticate(db: Database, email: str, password: str, address: str) -> User | None:
    """The account for this e-mail address and password, or None; AccountClosed when the
    password is right but the account was closed. Wrong passwords are counted per e-mail
    address typed (known or not, alike) and per `address` the attempt came from; too many, and
    TooManyAttempts is raised before the password is tried."""
    account = email.strip().lower()
    throttle = throttle_for(db)
    throttle.before_password_check(account, address)
    with db.read() as s:
        user = s.scalar(select(User).where(User.email == account))
    if not passwords.verify(user.password_hash if user else None, password):
        throttle.password_refused(account, address)
        return None
    throttle.password_accepted(account)
    if not user.active:
        raise AccountClosed(user.role)
    return user


def load_user(db: Database, user_id: int) -> User | None:
    with db.read() as s:
        return s.scalar(select(User).where(User.id == user_id, User.active.is_(True)))


@dataclass(frozen=True)
class SignedIn:
    id: int
    email: str
    display_name: str
    role: str
    session_epoch: int
    preferred_name: str | None
    unread_notifications: int
    second_factor: bool  # they sign with a code from their app too


def load_signed_in(db: Database, user_id: int) -> SignedIn | None:
    """The signed-in person (if still active) and how many of their messages are unread,
    which every page's header shows: one statement per request, plain columns."""
    with db.read() as s:
        row = plain_rows(s, _SIGNED_IN, {"user_id": user_id}).first()
    return SignedIn(*row) if row else None


# Built once: this runs on every request, and building the statement cost more than running it.
_SIGNED_IN = select(
    User.id,
    User.email,
    User.display_name,
    User.role,
    User.session_epoch,
    User.preferred_name,
    select(func.count())
    .select_from(Notification)
    .where(Notification.user_id == User.id, Notification.read_at.is_(None))
    .scalar_subquery(),
    User.second_factor_secret.is_not(None),
).where(User.id == bindparam("user_id"), User.active.is_(True))


# What moves a session epoch on because the password changed (the account page, a link).
PASSWORD_CHANGES = ("account.password_change", "account.password_set")


def password_changed_since(db: Database, user_id: int, since: datetime) -> bool:
    """Was this account's password changed after `since`? Said to someone whose session
    ended without their signing out, as the reason."""
    with db.read() as s:
        return (
            s.scalar(
                select(AuditEvent.id)
                .where(
                    AuditEvent.object_type == "user",
                    AuditEvent.object_id == user_id,
                    AuditEvent.action.in_(PASSWORD_CHANGES),
                    AuditEvent.at > since,
                )
                .limit(1)
            )
            is not None
        )


def end_sessions(db: Database, user_id: int) -> None:
    """Sign the account out everywhere: every session cookie issued so far stops working."""
    with db.write() as s:
        s.execute(
            update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1)
        )


# --- advocates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AdvocateChoice:
    id: int
    name: str
    email: str
    invited: bool
    # Invited, and their account closed since: shown so the client knows why they went quiet
    # (and can stop their access, which reopening the account would otherwise give back).
    closed: bool = False


def advocates_for(db: Database, client: Actor) -> list[AdvocateChoice]:
    if client.role is not Role.CLIENT:
        raise NotFound()
    with db.read() as s:
        invited = set(
            s.scalars(
                select(AdvocateInvitation.advocate_id).where(
                    AdvocateInvitation.client_id == client.id,
                    AdvocateInvitation.revoked_at.is_(None),
                )
            )
        )
        people = s.scalars(
            select(User)
            .where(
                User.role == Role.ADVOCATE.value,
                or_(User.active.is_(True), User.id.in_(sorted(invited))),
            )
            .order_by(User.display_name)
        )
        return [
            AdvocateChoice(u.id, u.display_name, u.email, u.id in invited, closed=not u.active)
            for u in people
        ]


def invite_advocate(db: Database, client: Actor, advocate_id: int) -> None:
    if client.role is not Role.CLIENT:
        raise NotFound()
    with db.write() as s:
        locked(s, User, client.id)  # the same form twice: one invite
        advocate = s.get(User, advocate_id)
        if advocate is None or advocate.role != Role.ADVOCATE.value or not advocate.active:
            raise NotFound()
        open_invite = s.scalar(
            select(AdvocateInvitation).where(
                AdvocateInvitation.client_id == client.id,
                AdvocateInvitation.advocate_id == advocate_id,
                AdvocateInvitation.revoked_at.is_(None),
            )
        )
        if open_invite:
            return
        s.add(AdvocateInvitation(client_id=client.id, advocate_id=advocate_id))
        audit.record(s, client, "advocate.invite", "user", advocate_id, client_id=client.id)


def _ever_invited(s: Session, client_id: int, advocate_id: int) -> bool:
    return (
        s.scalar(
            select(AdvocateInvitation.id)
            .where(
                AdvocateInvitation.client_id == client_id,
                AdvocateInvitation.advocate_id == advocate_id,
            )
            .limit(1)
        )
        is not None
    )


def revoke_advocate(db: Database, client: Actor, advocate_id: int) -> None:
    if client.role is not Role.CLIENT:
        raise NotFound()
    with db.write() as s:
        locked(s, User, client.id)  # the same form twice: one revoke
        invites = s.scalars(
            select(AdvocateInvitation).where(
                AdvocateInvitation.client_id == client.id,
                AdvocateInvitation.advocate_id == advocate_id,
                AdvocateInvitation.revoked_at.is_(None),
            )
        ).all()
        if not invites:
            if _ever_invited(s, client.id, advocate_id):
                return  # already done (a second tap): nothing more to do
            raise NotFound()
        now = utcnow()
        for invite in invites:
            invite.revoked_at = now
        # What the client asked them to look at no longer waits for them (nor can they open it).
        no_longer_theirs(s, advocate_id, client.id, now)
        audit.record(s, client, "advocate.revoke", "user", advocate_id, client_id=client.id)
