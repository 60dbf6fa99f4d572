"""What administrators do with accounts and teams, from the web pages. No clinical content:
an administrator sees names, e-mail addresses, roles and teams, never anyone's plans.

Passwords are never typed or seen by an administrator: a new account gets an e-mailed link to
choose its own, and "send a link to choose a new password" replaces a forgotten one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..db.engine import Database, locked
from ..db.models import (
    CaseloadLink,
    ContingencyActivation,
    CrisisAlert,
    Document,
    Handover,
    PasswordLink,
    SupervisorTeam,
    Team,
    User,
    utcnow,
)
from ..domain import mail_failures
from ..domain.account_rules import (
    changed_meanwhile,
    full_name_problem,
    merge_form,
    plain_name,
    reason_problem,
    team_for_role_problem,
)
from ..domain.caseload_rules import (
    client_closing_problem,
    closing_problem,
    giving_problem,
    move_question,
    moved_team_notice,
    team_problem,
    unsupervised_notice,
)
from ..domain.errors import ContentInvalid
from ..domain.local_time import service_day
from ..domain.name_search import search_words
from ..domain.paging import Window, last_page, nearest_page
from ..domain.roles import Role
from . import (
    account_emails,
    account_settings,
    accounts,
    api_tokens,
    audit,
    leaving,
    passwords,
    reminders,
    reviews,
)
from .account_settings import IssuedLink
from .actor import Actor
from .errors import ChangedMeanwhile, Invalid, MoveToConfirm, NotFound

PAGE_SIZE = 50


@dataclass(frozen=True)
class Unsupervised:
    """A team that a change just made leaves with clients and no supervisor.

    The change is made and this is said with it, not refused or asked about first: the
    administration pages make a change and then say what it did, a supervisor who leaves must
    be removable, and a new team often gets its supervisor a moment later."""

    team: str
    clients: int

    @property
    def notice(self) -> str:
        return unsupervised_notice(self.team, self.clients)


def require_admin(actor: Actor) -> None:
    """Administrators only; anyone else is told there is no such page."""
    if actor.role is not Role.ADMIN:
        raise NotFound()


@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    email: str
    role: str
    team: str
    active: bool


@dataclass(frozen=True)
class AccountList:
    rows: list[AccountRow]
    query: str
    role: str
    page: int
    pages: int
    total: int
    without_key_worker: bool = False


def _without_key_worker():
    """Open client accounts with no key worker who have not left the service (a leaving is
    recorded, services.leaving): nobody on the staff sees them, as only a key worker's team
    has a supervisor, until an administrator gives them a key worker (give_key_worker)."""
    return (
        User.role == Role.CLIENT.value,
        User.active.is_(True),
        ~select(CaseloadLink.id)
        .where(
            CaseloadLink.client_id == User.id,
            or_(CaseloadLink.ended_at.is_(None), CaseloadLink.ended_by_id.is_not(None)),
        )
        .exists(),
    )


def count_without_key_worker(db: Database, admin: Actor) -> int:
    """How many clients are in no one's sight for want of a key worker (_without_key_worker)."""
    require_admin(admin)
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(User).where(*_without_key_worker()))


def search(
    db: Database,
    admin: Actor,
    query: str = "",
    role: str = "",
    page: int = 1,
    without_key_worker: bool = False,
):
    """Accounts by name or e-mail address, one page at a time; `without_key_worker`: only the
    clients who have none (_without_key_worker)."""
    require_admin(admin)
    query = search_words(query)
    role = role if role in {r.value for r in Role} else ""
    conditions = list(_without_key_worker()) if without_key_worker else []
    if query:
        pattern = (
            "%" + query.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        )
        conditions.append(
            or_(
                func.lower(User.display_name).like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
            )
        )
    if role:
        conditions.append(User.role == role)
    with db.read() as s:
        total = s.scalar(select(func.count()).select_from(User).where(*conditions))
        pages = last_page(total, PAGE_SIZE)
        page = nearest_page(page, total, PAGE_SIZE)
        rows = s.execute(
            select(User, Team.name)
            .outerjoin(Team, Team.id == User.team_id)
            .where(*conditions)
            .order_by(User.display_name, User.id)
            .limit(PAGE_SIZE)
            .offset(Window(page, PAGE_SIZE).offset)
        ).all()
    return AccountList(
        [AccountRow(u.id, u.display_name, u.email, Role(u.role).label, t or "", u.active)
         for u, t in rows],
        query, role, page, pages, total, without_key_worker,
    )  # fmt: skip


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class AccountDetail:
    id: int
    name: str
    email: str
    role: Role
    team_id: int | None
    active: bool
    created_at: datetime
    key_worker: str  # clients: their key worker's name, or ""
    caseload: int  # key workers: how many clients
    supervises: list[Choice]  # supervisors: their teams
    teams: list[Choice]  # every team, for the choices on the page
    key_workers: list[Choice]  # active key workers, for a client without one
    second_factor: bool = False  # they sign with a code from their app too
    emails: list[account_emails.AccountEmailView] = field(default_factory=list)
    links: list[LinkView] = field(default_factory=list)  # to choose a password, newest first
    # Clients without a key worker: when they left the service, if they did. Its note is care
    # content, so it is not shown here.
    left_service_on: datetime | None = None
    # Nobody has chosen a password for it yet: reopening it e-mails a new welcome link.
    no_password_yet: bool = False
    # An open key worker's account with clients, or an open client's with a key worker: why
    # it cannot be closed yet (the refusal `set_active` would give), said up front instead of
    # a form that would be refused; for a key worker, with their team and its open
    # supervisors' accounts, who can hand the clients over.
    cannot_close: str | None = None
    team: Choice | None = None
    team_supervisors: list[Choice] = field(default_factory=list)
    # A closed account: when, by whom and why it was closed (the reason was asked for).
    closing: Closing | None = None


@dataclass(frozen=True)
class Closing:
    """The latest closing of an account, as its audit event records it."""

    at: datetime
    by: str  # the administrator's name ("" if the event names nobody)
    reason: str
    by_id: int | None = None  # so the page says "you" to that administrator


@dataclass(frozen=True)
class LinkView:
    """A link to choose a password, as an administrator may see it: never its secret. Its
    e-mail is sent once and not kept (only a hash of the link is), so whether it was used is
    what answers "I never got the e-mail": if not, send a new one."""

    purpose: str  # "welcome" or "reset"
    sent_at: datetime
    expires_at: datetime
    ended_at: datetime | None  # used, or ended by a new password or a corrected address
    expired: bool
    not_sent: str | None = None  # why its e-mail could not be sent: nobody has it

    @property
    def about(self) -> str:
        return link_about(self.purpose)

    @property
    def advice(self) -> str:
        """What to do about a link not sent: correct the address only if it was refused."""
        return mail_failures.advice(self.not_sent or "")


def link_about(purpose: str) -> str:
    """What a link to choose a password is, as an administrator's pages list it."""
    return f"Link to choose a {'first' if purpose == 'welcome' else 'new'} password"


LINKS_SHOWN = 5


def detail(db: Database, admin: Actor, user_id: int) -> AccountDetail:
    require_admin(admin)
    with db.read() as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound()
        role = Role(user.role)
        key_worker, caseload, supervises, key_workers, left_on = "", 0, [], [], None
        cannot_close, team, team_supervisors = None, None, []
        if role is Role.CLIENT:
            key_worker = _key_worker_name(s, user.id)
            if key_worker and user.active:
                cannot_close = client_closing_problem(user.display_name, key_worker)
            if not key_worker:
                left = leaving.left_service(s, user.id)
                left_on = left.on if left else None
                # Named with their team, as two of one name may be in different teams.
                key_workers = [
                    Choice(i, f"{n} ({team})")
                    for i, n, team in s.execute(
                        select(User.id, User.display_name, Team.name)
                        .join(Team, Team.id == User.team_id)
                        .where(
                            User.role == Role.KEY_WORKER.value,
                            User.active.is_(True),
                            # One in no team would be refused: a caseload needs a team.
                            User.team_id.is_not(None),
                        )
                        .order_by(User.display_name)
                    )
                ]
        elif role is Role.KEY_WORKER:
            caseload = _open_clients(s, user.id)
            if user.active and (cannot_close := closing_problem(user.display_name, caseload)):
                team = _team_choice(s, user.team_id)
                team_supervisors = _supervisors_of(s, user.team_id)
        elif role is Role.SUPERVISOR:
            supervises = [
                Choice(i, n)
                for i, n in s.execute(
                    select(Team.id, Team.name)
                    .join(SupervisorTeam, SupervisorTeam.team_id == Team.id)
                    .where(SupervisorTeam.supervisor_id == user.id)
                    .order_by(Team.name)
                )
            ]
        teams = [Choice(i, n) for i, n in s.execute(select(Team.id, Team.name).order_by(Team.name))]
        return AccountDetail(
            user.id, user.display_name, user.email, role, user.team_id, user.active,
            user.created_at, key_worker, caseload, supervises, teams, key_workers,
            user.second_factor_secret is not None, account_emails.recent_for(s, user.id),
            _links(s, user.id, utcnow()), left_on, account_settings.no_password_yet(s, user.id),
            cannot_close, team, team_supervisors, None if user.active else _closing(s, user.id),
        )  # fmt: skip


def _team_choice(s: Session, team_id: int | None) -> Choice | None:
    if team_id is None:
        return None
    return Choice(team_id, s.scalar(select(Team.name).where(Team.id == team_id)))


def _supervisors_of(s: Session, team_id: int | None) -> list[Choice]:
    """The open supervisor accounts of a team (a closed account supervises nobody)."""
    if team_id is None:
        return []
    return [
        Choice(i, n)
        for i, n in s.execute(
            select(User.id, User.display_name)
            .join(SupervisorTeam, SupervisorTeam.supervisor_id == User.id)
            .where(SupervisorTeam.team_id == team_id, User.active.is_(True))
            .order_by(User.display_name)
        )
    ]


def _closing(s: Session, user_id: int) -> Closing | None:
    """The latest closing of this account in the audit trail, which keeps its reason (None
    for an account closed some other way, with no such event)."""
    row = audit.latest(s, "user", user_id, "user.close")
    if row is None:
        return None
    reason = str((row.detail or {}).get("reason", ""))
    return Closing(row.at, row.display_name or "", reason, row.actor_id)


def _links(s: Session, user_id: int, now: datetime) -> list[LinkView]:
    rows = s.scalars(
        select(PasswordLink)
        .where(PasswordLink.user_id == user_id)
        .order_by(PasswordLink.id.desc())
        .limit(LINKS_SHOWN)
    )
    return [
        LinkView(r.purpose, r.created_at, r.expires_at, r.used_at, r.expires_at <= now, r.not_sent)
        for r in rows
    ]


def create(
    db: Database, admin: Actor, email: str, name: str, role: str, team_id: int | None
) -> tuple[int, IssuedLink]:
    """A new account, and the link (to e-mail) with which its owner chooses a password."""
    require_admin(admin)
    # Nobody knows this password; the owner sets their own through the link.
    unusable = passwords.hash_password(secrets.token_urlsafe(32))
    with db.write() as s:
        user = accounts.add_user(s, email, name, role, unusable, team_id, admin)
        return user.id, account_settings.issue_welcome(s, user, admin, utcnow())


@dataclass(frozen=True)
class DetailsSaved:
    # Teams a key worker's move left with clients and no supervisor.
    unsupervised: list[Unsupervised] = field(default_factory=list)
    # A key worker with clients moved to another team: what it did, said to the administrator.
    moved: str = ""
    # An address corrected before its owner chose a first password: the welcome link, made
    # again for the new address (the one sent to the old address no longer works), to e-mail.
    welcome: IssuedLink | None = None


@dataclass(frozen=True)
class Details:
    """An account's details as the page with the form showed them when it was loaded."""

    name: str
    email: str
    team_id: int | None


# Who else may have changed an account's details while its page was open.
BY_ANOTHER_ADMIN = "by another administrator, or in another tab"


def update_details(
    db: Database,
    admin: Actor,
    user_id: int,
    name: str,
    email: str,
    team_id: int | None,
    loaded: Details | None = None,
    clients_moving: int | None = None,
) -> DetailsSaved:
    """Change a name, e-mail address or team. A key worker with clients moves team only with
    `clients_moving`, the number of their clients the administrator was told would move with
    them: otherwise (or if that number changed meanwhile) MoveToConfirm, nothing saved. Says
    which teams a key worker's move leaves with clients in no supervisor's sight, and gives a
    new welcome link when the address of an account nobody has chosen a password for yet was
    corrected.

    `loaded`: the details the form showed. Only what the form changed from them is changed,
    so a save from a page loaded earlier does not undo another administrator's change; and
    if one of those fields was changed by someone else meanwhile, nothing is saved
    (ChangedMeanwhile, with what each is now). Without it, the form's values are saved."""
    require_admin(admin)
    name = plain_name(name)
    email = _address(email)
    if problem := full_name_problem(name):
        raise Invalid(problem)
    if not accounts.looks_like_email(email):
        raise Invalid(accounts.not_an_email(email))
    with db.write() as s:
        # Two saves at once take turns, so the second compares with what the first saved.
        user = _user(s, user_id, lock=True)
        if team_id is not None and s.get(Team, team_id) is None:
            raise Invalid("There is no such team.")
        if loaded is not None:
            name, email, team_id = _merged(s, user, loaded, name, email, team_id)
        if email != user.email and s.scalar(select(User.id).where(User.email == email)):
            raise Invalid(f"There is already an account for {email}.")
        changed = {
            field: True
            for field, old, new in (
                ("name", user.display_name, name),
                ("email", user.email, email),
                ("team", user.team_id, team_id),
            )
            if old != new
        }
        if not changed:
            return DetailsSaved()
        # Put into a team only as a key worker (a team kept from before can still be taken
        # off, or left as it is while the name or address is corrected).
        if "team" in changed and (problem := team_for_role_problem(user.role, team_id is not None)):
            raise Invalid(problem)
        if "team" in changed and user.role == Role.KEY_WORKER.value:
            clients = _open_clients(s, user.id)
            if problem := team_problem(user.display_name, clients, team_id):
                raise Invalid(problem)
            if clients and user.team_id is not None and clients_moving != clients:
                teams = dict(s.execute(select(Team.id, Team.name)).all())
                old, new = teams[user.team_id], teams[team_id]
                handing_over = s.scalar(
                    select(func.count())
                    .select_from(Handover)
                    .where(
                        Handover.from_worker_id == user.id,
                        Handover.completed_at.is_(None),
                        Handover.cancelled_at.is_(None),
                    )
                )
                raise MoveToConfirm(
                    move_question(user.display_name, clients, old, new, handing_over),
                    clients,
                    new,
                )
        # Nobody has chosen a password for it yet (whether or not the welcome link ran out):
        # the owner (at the corrected address) needs the welcome link again, not "your
        # password stays the same"; and the old address, most likely someone else's, is told
        # nothing.
        now = utcnow()
        welcoming = "email" in changed and account_settings.no_password_yet(s, user.id)
        if "email" in changed and not welcoming:
            # To the old address: a change the owner did not ask for does not go unnoticed.
            account_emails.queue(s, user, account_emails.EMAIL_CHANGED)
        if "email" in changed:
            # Links sent to the old address (often a mistyped one) must not set the password.
            account_settings.void_links(s, user.id)
        old_team_id = user.team_id
        if "team" in changed and user.role == Role.KEY_WORKER.value:
            # Their clients' reviews already overdue stay late on the old team's chart.
            held = s.scalars(
                select(CaseloadLink.client_id).where(
                    CaseloadLink.key_worker_id == user.id, CaseloadLink.ended_at.is_(None)
                )
            )
            reviews.keep_overdue_with_holder(s, held, user.id, service_day(now))
        user.display_name, user.email, user.team_id = name, email, team_id
        welcome = account_settings.issue_welcome(s, user, admin, now) if welcoming else None
        if "email" in changed and not welcoming:
            # And to the new one: the owner learns which address they now sign in with.
            account_emails.queue(s, user, account_emails.EMAIL_NOW_HERE)
        audit.record(s, admin, "user.update", "user", user.id,
                     client_id=account_settings.client_id_of(user),
                     detail={"changed": sorted(changed)})  # fmt: skip
        unsupervised, said = [], ""
        moved = "team" in changed and user.role == Role.KEY_WORKER.value and team_id is not None
        if moved and (clients := _open_clients(s, user.id)):  # their clients go with them
            unsupervised = _left_unsupervised(s, [team_id])
            if old_team_id is not None:
                teams = dict(s.execute(select(Team.id, Team.name)).all())
                said = moved_team_notice(
                    name, clients, teams[old_team_id], teams[team_id],
                    _in_crisis(s, user.id, now), supervised=not unsupervised,
                )  # fmt: skip
    account_emails.send_soon(db)
    return DetailsSaved(unsupervised, moved=said, welcome=welcome)


def _in_crisis(s: Session, key_worker_id: int, now: datetime) -> int:
    """How many of this key worker's clients asked for help in the last two days (when a
    colleague who answered still follows it up) or have a crisis plan in effect."""
    from .crisis_alerts import COLLEAGUE_FOLLOW_UP

    theirs = select(CaseloadLink.client_id).where(
        CaseloadLink.key_worker_id == key_worker_id, CaseloadLink.ended_at.is_(None)
    )
    asked = select(CrisisAlert.client_id).where(
        CrisisAlert.client_id.in_(theirs), CrisisAlert.raised_at > now - COLLEAGUE_FOLLOW_UP
    )
    running = (
        select(Document.client_id)
        .join(ContingencyActivation, ContingencyActivation.document_id == Document.id)
        .where(
            Document.client_id.in_(theirs),
            ContingencyActivation.ended_at.is_(None),
            ContingencyActivation.ends_on >= service_day(now),
        )
    )
    return s.scalar(select(func.count()).select_from(asked.union(running).subquery()))


def _address(email: str | None) -> str:
    return (email or "").strip().lower()


def _merged(
    s: Session, user: User, loaded: Details, name: str, email: str, team_id: int | None
) -> tuple[str, str, int | None]:
    """The details to keep: the form's changes on top of what is stored now."""
    values, clashes = merge_form(
        {"name": plain_name(loaded.name), "email": _address(loaded.email),
         "team_id": loaded.team_id},
        {"name": name, "email": email, "team_id": team_id},
        {"name": user.display_name, "email": user.email, "team_id": user.team_id},
    )  # fmt: skip
    if clashes:
        team = s.get(Team, user.team_id) if user.team_id is not None else None
        now = {**values, "team_id": team.name if team else "No team"}
        raise ChangedMeanwhile(
            {field: changed_meanwhile(now[field], BY_ANOTHER_ADMIN) for field in clashes}
        )
    return values["name"], values["email"], values["team_id"]


@dataclass(frozen=True)
class ActiveSet:
    # Teams a supervisor's closed account leaves with clients and no supervisor.
    unsupervised: list[Unsupervised] = field(default_factory=list)
    # An account reopened before its owner chose a first password: a new welcome link (closing
    # ended the one they had), to e-mail.
    welcome: IssuedLink | None = None


def set_active(
    db: Database, admin: Actor, user_id: int, active: bool, reason: str = ""
) -> ActiveSet:
    """Close or reopen an account. Closing needs a reason (kept in the audit trail; asking
    for it means one tap cannot close an account) and signs it out everywhere at once. A
    closed account supervises nobody: closing a supervisor's says which teams it leaves with
    clients and no supervisor. Reopening only gives back, so it needs none: an account nobody
    has chosen a password for gets a new welcome link; the owner of one with a password just
    signs in with it again."""
    require_admin(admin)
    if user_id == admin.id and not active:
        raise Invalid("You cannot close your own account. Ask another administrator.")
    reason = plain_name(reason)
    if not active and (problem := reason_problem(reason, "closing this account")):
        raise ContentInvalid({"reason": problem})
    with db.write() as s:
        user = _user(s, user_id, lock=True)  # two presses at once: the second finds it done
        if user.active == active:
            return ActiveSet()
        if not active and user.role == Role.KEY_WORKER.value:
            problem = closing_problem(user.display_name, _open_clients(s, user.id))
            if problem:
                raise Invalid(problem)
        if not active and user.role == Role.CLIENT.value:
            problem = client_closing_problem(user.display_name, _key_worker_name(s, user.id))
            if problem:
                raise Invalid(problem)
        user.active = active
        if not active:
            user.session_epoch = user.session_epoch + 1
            # Reopening must not revive anything that let someone in: links to choose a
            # password, the calendar's private address, access tokens.
            account_settings.void_links(s, user.id)
            reminders.forget_calendar(s, user.id)
            api_tokens.revoke_all(s, user.id, utcnow())
        if active:
            audit.record(s, admin, "user.open", "user", user.id)
        else:
            audit.record(s, admin, "user.close", "user", user.id, detail={"reason": reason})
        if active:
            # Closing ended the welcome link; without a new one the owner could never get in,
            # and nothing would tell anyone so.
            if account_settings.no_password_yet(s, user.id):
                return ActiveSet(welcome=account_settings.issue_welcome(s, user, admin, utcnow()))
            return ActiveSet()
        if user.role != Role.SUPERVISOR.value:
            return ActiveSet()
        s.flush()
        return ActiveSet(
            _left_unsupervised(
                s,
                s.scalars(
                    select(SupervisorTeam.team_id).where(SupervisorTeam.supervisor_id == user.id)
                ).all(),
            )
        )


def send_password_link(db: Database, admin: Actor, user_id: int) -> IssuedLink:
    """A link to choose a password for the account: a welcome link while it has none yet."""
    require_admin(admin)
    with db.write() as s:
        user = _user(s, user_id)
        if not user.active:
            raise Invalid("This account is closed. Reopen it first.")
        # Nobody has chosen a password for it yet (the welcome e-mail never arrived, or ran
        # out): another welcome, which says what the account is for and lasts as long, not
        # "a new password ... if you did not expect it, leave it" for an hour.
        if account_settings.no_password_yet(s, user.id):
            link = account_settings.issue_welcome(s, user, admin, utcnow())
        else:
            link = account_settings.issue_reset(s, user, admin, utcnow())
        audit.record(s, admin, "user.password_link", "user", user.id)
        return link


CLIENT_CLOSED = "This client's account is closed. Open it again first, then give them a key worker."


def give_key_worker(
    db: Database, admin: Actor, client_id: int, key_worker_id: int
) -> list[Unsupervised]:
    """A key worker for a client who has none. Changing an existing key worker is a handover:
    the new worker reads and acknowledges the agreed documents first. Answers the worker's
    team if nobody supervises it."""
    require_admin(admin)
    with db.read() as s:
        client = _user(s, client_id)
        worker = _user(s, key_worker_id)
        if client.role != Role.CLIENT.value or worker.role != Role.KEY_WORKER.value:
            raise Invalid("Please choose a key worker for a client.")
        if not worker.active:
            raise Invalid("That key worker's account is closed.")
        if not client.active:  # closing needed them gone from every caseload: keep it so
            raise Invalid(CLIENT_CLOSED)
        problem = giving_problem(worker.display_name, worker.team_id)
        if problem:
            raise Invalid(problem)
        has_one = s.scalar(
            select(CaseloadLink.id).where(
                CaseloadLink.client_id == client_id, CaseloadLink.ended_at.is_(None)
            )
        )
        if has_one:
            raise Invalid(
                "This client already has a key worker. To change it, their key worker or a "
                "supervisor starts a handover."
            )
        client_email, worker_email, team_id = client.email, worker.email, worker.team_id
    accounts.link_caseload(db, client_email, worker_email, admin)
    with db.read() as s:
        return _left_unsupervised(s, [team_id])


@dataclass(frozen=True)
class TeamRow:
    id: int
    name: str
    members: int
    supervisors: list[str]


def teams(db: Database, admin: Actor) -> list[TeamRow]:
    require_admin(admin)
    with db.read() as s:
        members = dict(
            s.execute(
                select(User.team_id, func.count())
                .where(User.team_id.is_not(None), User.active.is_(True))
                .group_by(User.team_id)
            ).all()
        )
        supervisors: dict[int, list[str]] = {}
        for team_id, name in s.execute(
            select(SupervisorTeam.team_id, User.display_name)
            .join(User, User.id == SupervisorTeam.supervisor_id)
            .where(User.active.is_(True))  # a closed account supervises nobody
            .order_by(User.display_name)
        ):
            supervisors.setdefault(team_id, []).append(name)
        return [
            TeamRow(t.id, t.name, members.get(t.id, 0), supervisors.get(t.id, []))
            for t in s.scalars(select(Team).order_by(Team.name))
        ]


def team(db: Database, admin: Actor, team_id: int) -> TeamRow:
    """One team, as the list of teams shows it (its page, where it is renamed)."""
    for row in teams(db, admin):
        if row.id == team_id:
            return row
    raise NotFound()


@dataclass(frozen=True)
class TeamMember:
    id: int
    name: str
    role: str  # "Key worker"


def team_members(db: Database, admin: Actor, team_id: int) -> list[TeamMember]:
    """The open accounts in a team (those the team's count counts), by name, each linking
    to its account page."""
    require_admin(admin)
    with db.read() as s:
        rows = s.execute(
            select(User.id, User.display_name, User.role)
            .where(User.team_id == team_id, User.active.is_(True))
            .order_by(User.display_name, User.id)
        ).all()
    return [TeamMember(i, name, Role(role).label) for i, name, role in rows]


def unsupervised_teams(db: Database, admin: Actor) -> list[str]:
    """Teams whose key workers have clients but that no open supervisor account watches: a
    request for help nobody answers in time, or a review well past its date, is passed on to
    nobody."""
    require_admin(admin)
    supervised = (
        select(SupervisorTeam.team_id)
        .join(User, User.id == SupervisorTeam.supervisor_id)
        .where(User.active.is_(True))
    )
    with db.read() as s:
        return list(
            s.scalars(
                select(Team.name)
                .join(User, User.team_id == Team.id)
                .join(
                    CaseloadLink,
                    (CaseloadLink.key_worker_id == User.id) & CaseloadLink.ended_at.is_(None),
                )
                .where(Team.id.not_in(supervised))
                .distinct()
                .order_by(Team.name)
            )
        )


def set_supervision(
    db: Database, admin: Actor, supervisor_id: int, team_id: int, supervises: bool
) -> list[Unsupervised]:
    """Start or stop supervising a team; answers the team if stopping leaves its clients with
    no supervisor."""
    require_admin(admin)
    with db.write() as s:
        supervisor = _user(s, supervisor_id, lock=True)  # the same change twice: once
        if supervisor.role != Role.SUPERVISOR.value or s.get(Team, team_id) is None:
            raise Invalid("Please choose a team for a supervisor.")
        row = s.get(SupervisorTeam, (supervisor_id, team_id))
        if supervises and row is None:
            s.add(SupervisorTeam(supervisor_id=supervisor_id, team_id=team_id))
            audit.record(s, admin, "supervision.add", "team", team_id,
                         detail={"supervisor_id": supervisor_id})  # fmt: skip
        elif not supervises and row is not None:
            s.delete(row)
            audit.record(s, admin, "supervision.remove", "team", team_id,
                         detail={"supervisor_id": supervisor_id})  # fmt: skip
            s.flush()
            return _left_unsupervised(s, [team_id])
        return []


def _left_unsupervised(s: Session, team_ids) -> list[Unsupervised]:
    """Those of these teams whose key workers have clients and that no open supervisor
    account watches, with how many clients (as `unsupervised_teams` finds them)."""
    supervised = (
        select(SupervisorTeam.team_id)
        .join(User, User.id == SupervisorTeam.supervisor_id)
        .where(User.active.is_(True))
    )
    rows = s.execute(
        select(Team.name, func.count(CaseloadLink.id))
        .join(User, User.team_id == Team.id)
        .join(
            CaseloadLink,
            (CaseloadLink.key_worker_id == User.id) & CaseloadLink.ended_at.is_(None),
        )
        .where(Team.id.in_(list(team_ids)), Team.id.not_in(supervised))
        .group_by(Team.id, Team.name)
        .order_by(Team.name)
    )
    return [Unsupervised(name, clients) for name, clients in rows]


def _key_worker_name(s: Session, client_id: int) -> str:
    """The name of the client's key worker now, or "" (none, or they left the service)."""
    return (
        s.scalar(
            select(User.display_name)
            .join(CaseloadLink, CaseloadLink.key_worker_id == User.id)
            .where(CaseloadLink.client_id == client_id, CaseloadLink.ended_at.is_(None))
        )
        or ""
    )


def _open_clients(s: Session, key_worker_id: int) -> int:
    return s.scalar(
        select(func.count())
        .select_from(CaseloadLink)
        .where(CaseloadLink.key_worker_id == key_worker_id, CaseloadLink.ended_at.is_(None))
    )


def _user(s: Session, user_id: int, lock: bool = False) -> User:
    """The account, or not found; `lock`: changes to it take turns (db.engine.locked)."""
    user = locked(s, User, user_id) if lock else s.get(User, user_id)
    if user is None:
        raise NotFound()
    return user
