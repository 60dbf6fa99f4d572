"""Administrators: accounts, teams and agreement templates. No clinical content."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import pdf
from ..domain import mail_failures
from ..domain.account_rules import no_team_yet
from ..domain.errors import ContentInvalid
from ..domain.local_time import how_long, service_today
from ..domain.numbers import whole_number
from ..domain.roles import Role
from ..extensions import get_db, get_library
from ..reminders.mail import sends_email
from ..reminders.scheduler import expected_jobs
from ..services import (
    account_settings,
    accounts,
    admin_accounts,
    scheduled_jobs,
    seal_certificates,
    second_factor,
    undelivered,
)
from ..services.errors import ChangedMeanwhile, Invalid, MoveToConfirm, NotFound
from .auth import email_password_link
from .forms import kept_typing, loaded_from
from .paging import asked_page, to_first_page, to_page_shown
from .request_checks import chosen

bp = Blueprint("admin", __name__)


@bp.context_processor
def _mail():
    # Every administration page that talks about e-mails says when none can be sent.
    return {"sends_email": sends_email(current_app.config)}


ROLE_CHOICES = {r.value: r.label for r in Role}


def _admin():
    actor = current_user.actor
    if actor.role is not Role.ADMIN:
        raise NotFound()
    return actor


def _chosen(raw: str | None, required: bool = False, what: str = "") -> int | None:
    """The id of a team or person chosen from a list in a form; empty means none. `what`
    names the list in the refusal ("a key worker"), said at the top of the page."""
    if not raw and not required:
        return None
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise Invalid(f"Please choose {what or 'one'} from the list.")
    return int(raw)


@bp.get("/admin/users")
@login_required
def users():
    if moved := to_first_page():
        return moved
    library = get_library()
    listing = admin_accounts.search(
        get_db(),
        _admin(),
        request.args.get("q", ""),
        request.args.get("role", ""),
        asked_page(),
        without_key_worker=request.args.get("without") == "key_worker",
    )
    if moved := to_page_shown(listing.page):
        return moved
    return render_template(
        "admin/users.html",
        listing=listing,
        roles=ROLE_CHOICES,
        seal=_seal(_admin()),
        undelivered=undelivered.count(get_db(), _admin(), _tries()),
        not_running=scheduled_jobs.not_running(get_db(), expected_jobs(current_app.config)),
        broken_templates=len(library.errors) - len(library.kept),
        kept_templates=len(library.kept),
        unsupervised=admin_accounts.unsupervised_teams(get_db(), _admin()),
        without_key_worker=admin_accounts.count_without_key_worker(get_db(), _admin()),
    )


@bp.get("/admin/scheduler")
@login_required
def scheduler():
    jobs = scheduled_jobs.overview(get_db(), _admin(), expected_jobs(current_app.config))
    return render_template("admin/scheduler.html", jobs=jobs)


@bp.get("/admin/emails")
@login_required
def emails():
    listing = undelivered.listing(get_db(), _admin(), _tries())
    return render_template("admin/emails.html", listing=listing)


def _tries() -> int:
    return current_app.config["REMINDER_MAX_ATTEMPTS"]


@bp.post("/admin/emails/try-again")
@login_required
def emails_try_again():
    result = undelivered.try_again(get_db(), _admin())
    flash(_tried_again(result) if result.any else "Nothing was waiting to be tried again.")
    return redirect(url_for("admin.emails"))


def _tried_again(result: undelivered.TriedAgain) -> str:
    said = []
    if result.emails:
        said.append(
            f"{result.emails} e-mail{'' if result.emails == 1 else 's'} will be tried again "
            "within a minute."
        )
    if result.summaries_folded:
        n = result.summaries_folded
        said.append(
            f"The reminders of {n} daily summar{'y' if n == 1 else 'ies'} from earlier days "
            "will go into the next summary."
        )
    said.append("Any the mail server still refuses are listed here again after about an hour.")
    return " ".join(said)


@bp.get("/admin/seal")
@login_required
def seal():
    return render_template("admin/seal.html", seal=_seal(_admin()))


def _seal(admin) -> seal_certificates.SealOverview:
    """The sealing certificates the configuration names (the accounts page, the admins' start,
    shows what needs doing about them)."""
    credentials = pdf.credentials_from_config(current_app.config, current_app.instance_path)
    return seal_certificates.overview(admin, credentials, service_today())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    admin = _admin()
    form = request.form
    error, errors = None, {}
    if request.method == "POST":
        try:
            team_id = _chosen(form.get("team_id"))
            user_id, link = admin_accounts.create(
                get_db(), admin, form.get("email", ""), form.get("name", ""),
                form.get("role", ""), team_id,
            )  # fmt: skip
        except ContentInvalid as err:  # every problem at once, each beside its field
            errors = err.errors
        except Invalid as err:  # a team id no list offers: a forged or broken form
            error = str(err)
        else:
            sending = email_password_link(link)
            flash(f"Account made. {_link_sent_to(link, 'a password', sending)}")
            if notice := no_team_yet(form.get("role", ""), team_id is not None):
                flash(notice)
            return redirect(url_for("admin.user", user_id=user_id))
    return render_template(
        "admin/new_user.html",
        roles=ROLE_CHOICES,
        teams=admin_accounts.teams(get_db(), admin),
        error=error,
        errors=errors,
        problems=list(errors.items()),
        form=form,
    ), (422 if errors else 400 if error else 200)


DETAILS = ("name", "email", "team_id")


@bp.get("/admin/users/<int:user_id>")
@login_required
def user(
    user_id: int,
    error: str | None = None,
    errors: dict | None = None,
    typed: bool = False,
    confirming: str | None = None,
    move: MoveToConfirm | None = None,
):
    """`errors`: what is wrong with the details form (`typed`: it was refused, and keeps what
    was typed) or, with `confirming`, with the reason for a change with big effects asked for
    ("close", "second_factor"), which the page asks to confirm, with a reason, before it is
    made (as a client's invitation of an advocate is confirmed); or ("move", with `move`) a
    key worker's move to another team, which takes their clients with them."""
    account = admin_accounts.detail(get_db(), _admin(), user_id)
    errors = errors or {}
    now = {"name": account.name, "email": account.email, "team_id": str(account.team_id or "")}
    # A refused details form (`typed`) keeps what was typed in it; the details it carries as
    # loaded are the ones kept now, so saving it again changes only what it changes.
    form = request.form
    typed_in = kept_typing(form, loaded_from(form, DETAILS), now) if typed else now
    # Asked to confirm a move, the question's form carries what was typed, and the form below
    # shows what is saved, not the move asked about.
    shown = now if move else typed_in
    page = render_template(
        "admin/user.html",
        account=account,
        error=error,
        errors=errors,
        problems=[(name, errors[name]) for name in DETAILS if name in errors],
        details=shown,
        loaded=now,
        confirming=confirming,
        move=move,
        moving=typed_in,
    )
    if errors:
        return page, 422 if confirming else 409
    return page, 400 if error else 200


def _confirmed(user_id: int, confirming: str, action):
    """A change with big effects: the first tap asks to confirm it and say why (one tap on a
    phone, or a slip, must not do it); the confirmed form, with its reason, makes it. The
    service refuses it without a reason."""
    if request.form.get("confirm") != "yes":
        return user(user_id, confirming=confirming)
    try:
        said = action(request.form.get("reason", ""))
    except ContentInvalid as err:  # no reason given, or too long: asked again, beside it
        return user(user_id, confirming=confirming, errors=err.errors)
    except Invalid as err:
        return user(user_id, str(err))
    return said


def _change(user_id: int, action, done: str):
    try:
        unsupervised = action()
    except Invalid as err:
        return user(user_id, str(err))
    return _done(user_id, [done], unsupervised)


def _done(user_id: int, said: list[str], unsupervised=()):
    for words in said:
        flash(words)
    # A change that leaves clients in no supervisor's sight is made, and said plainly with a
    # link to the supervisors (base.html), never only "Saved.".
    for team in unsupervised or ():
        flash(team.notice, "unsupervised")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/details")
@login_required
def user_details(user_id: int):
    form = request.form
    try:
        loaded = _loaded_details(form)
        team_id = _chosen(form.get("team_id"))
        if "team_id" not in form and loaded:  # no team to choose on the page: as it was
            team_id = loaded.team_id
        saved = admin_accounts.update_details(
            get_db(), _admin(), user_id, form.get("name", ""), form.get("email", ""), team_id,
            loaded, form.get("clients_moving", type=whole_number),
        )  # fmt: skip
    except MoveToConfirm as ask:
        return user(user_id, typed=True, confirming="move", move=ask)
    except ChangedMeanwhile as err:
        return user(user_id, errors=err.errors, typed=True)
    except Invalid as err:
        return user(user_id, str(err), typed=True)
    said = ["Saved."]
    if saved.moved:
        said.append(saved.moved)
    if saved.welcome:  # the address corrected before a first password was chosen
        sending = email_password_link(saved.welcome)
        said.append(
            "The link sent to the old address no longer works. "
            + _link_sent_to(saved.welcome, "a password", sending)
        )
    return _done(user_id, said, saved.unsupervised)


def _loaded_details(form) -> admin_accounts.Details | None:
    """The details the form showed when its page was loaded; None from a form without them
    (a page loaded before forms carried them): its values are saved as they are."""
    loaded = loaded_from(form, DETAILS)
    if loaded["name"] is None or loaded["email"] is None:
        return None
    return admin_accounts.Details(loaded["name"], loaded["email"], _chosen(loaded["team_id"]))


@bp.post("/admin/users/<int:user_id>/active")
@login_required
def user_active(user_id: int):
    active = chosen("active", "yes", "no") == "yes"
    if active:  # reopening only gives back: one tap
        try:
            done = admin_accounts.set_active(get_db(), _admin(), user_id, True)
        except Invalid as err:
            return user(user_id, str(err))
        return _active_set(user_id, True, done)
    return _confirmed(
        user_id,
        "close",
        lambda reason: _active_set(
            user_id, False, admin_accounts.set_active(get_db(), _admin(), user_id, False, reason)
        ),
    )


def _active_set(user_id: int, active: bool, done: admin_accounts.ActiveSet):
    said = ["The account is open again." if active else "The account is closed and signed out."]
    if done.welcome:  # reopened before a first password was chosen
        sending = email_password_link(done.welcome)
        said.append(
            "Nobody has chosen a password for it yet, and closing it ended the link sent before. "
            + _link_sent_to(done.welcome, "a password", sending)
        )
    return _done(user_id, said, done.unsupervised)


@bp.post("/admin/users/<int:user_id>/password-link")
@login_required
def user_password_link(user_id: int):
    try:
        link = admin_accounts.send_password_link(get_db(), _admin(), user_id)
    except Invalid as err:
        return user(user_id, str(err))
    if link.purpose == "welcome":  # no password chosen yet: the welcome again
        flash(_link_sent_to(link, "a password", email_password_link(link)))
    else:
        flash(_link_sent_to(link, "a new password", email_password_link(link, by_service=True)))
    return redirect(url_for("admin.user", user_id=user_id))


# How long an administrator's page waits for the mail server's answer about a link, so that
# it says what happened rather than what was meant to.
LINK_ANSWER_WAIT_SECONDS = 5


def link_not_sent(what: str, email: str, reason: str) -> str:
    """Why nobody has the link, and what to do that fits (mail_failures.advice)."""
    advice = mail_failures.advice(reason)
    if mail_failures.is_unreachable(reason):
        return f"The mail server could not be reached, so nobody has the link. {advice}"
    return (
        f"The link to choose {what} could not be e-mailed to {email}. {reason} Nobody has "
        f"it. {advice}"
    )


def _link_sent_to(link: account_settings.IssuedLink, what: str, sending) -> str:
    """Where the link went, and how long it works; or why it could not be e-mailed."""
    lasts = f" It works for {how_long(account_settings.link_lifetime(link.purpose))}."
    if sends_email(current_app.config):
        sending.join(LINK_ANSWER_WAIT_SECONDS)
        if sending.is_alive():
            return (
                f"A link to choose {what} is on its way to {link.email}; the mail server has not "
                f"answered yet. The account's page says if it could not be sent.{lasts}"
            )
        if sending.error:
            return link_not_sent(what, link.email, sending.error)
        return f"We have e-mailed {link.email} a link to choose {what}.{lasts}"
    # Without a mail server the link goes to the app's log (LogMailer), and nowhere else.
    return (
        f"No mail server is set, so the link to choose {what} for {link.email} was written to "
        f"the app's log instead of being e-mailed.{lasts}"
    )


@bp.post("/admin/users/<int:user_id>/second-factor")
@login_required
def user_second_factor(user_id: int):
    def remove(reason: str):
        second_factor.remove_for(get_db(), _admin(), user_id, reason)
        return _done(
            user_id,
            ["The second step is off. They sign with their password until they set it up again."],
        )

    return _confirmed(user_id, "second_factor", remove)


@bp.post("/admin/users/<int:user_id>/key-worker")
@login_required
def user_key_worker(user_id: int):
    return _change(
        user_id,
        lambda: admin_accounts.give_key_worker(
            get_db(),
            _admin(),
            user_id,
            _chosen(request.form.get("key_worker_id"), True, "a key worker"),
        ),
        "Key worker given.",
    )


@bp.post("/admin/users/<int:user_id>/supervision")
@login_required
def user_supervision(user_id: int):
    form = request.form
    return _change(
        user_id,
        lambda: admin_accounts.set_supervision(
            get_db(),
            _admin(),
            user_id,
            _chosen(form.get("team_id"), True, "a team"),
            chosen("supervises", "yes", "no") == "yes",
        ),  # fmt: skip
        "Saved.",
    )


@bp.route("/admin/teams", methods=["GET", "POST"])
@login_required
def teams():
    admin = _admin()
    error = None
    if request.method == "POST":
        try:
            accounts.create_team(get_db(), request.form.get("name", ""), admin)
        except Invalid as err:
            error = str(err)
        else:
            flash("Team made.")
            return redirect(url_for("admin.teams"))
    return render_template(
        "admin/teams.html", teams=admin_accounts.teams(get_db(), admin), error=error
    ), (400 if error else 200)


@bp.route("/admin/teams/<int:team_id>", methods=["GET", "POST"])
@login_required
def team(team_id: int):
    """A team's page, where an administrator renames it."""
    admin = _admin()
    error = None
    if request.method == "POST":
        try:
            renamed = accounts.rename_team(get_db(), admin, team_id, request.form.get("name", ""))
        except Invalid as err:
            error = str(err)
        else:
            flash("Team renamed." if renamed else "The name is the same: nothing was changed.")
            return redirect(url_for("admin.teams"))
    return render_template(
        "admin/team.html",
        team=admin_accounts.team(get_db(), admin, team_id),
        members=admin_accounts.team_members(get_db(), admin, team_id),
        error=error,
    ), (400 if error else 200)


@bp.get("/admin/templates")
@login_required
def templates():
    _admin()
    library = get_library()
    return render_template(
        "admin/templates.html",
        templates=library.templates.values(),
        errors=library.errors,
        terms=len(library.terms),
    )
