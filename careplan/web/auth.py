from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from ..domain.errors import ContentInvalid
from ..domain.form_places import in_summary
from ..domain.wording import ANYONE_ASKS
from ..extensions import get_db
from ..reminders import account_mail
from ..services import account_settings, accounts
from ..services.errors import NotFound
from ..services.throttle import TooManyAttempts, throttle_for
from .links import app_paths, back_on_site, public_url
from .session_user import SessionUser

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only follow `next` to a page of this app: never to another host (no open redirect),
    nor out from under the sub-path the app is reached at."""
    return back_on_site(target)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    error = None
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        try:
            user = (
                accounts.authenticate(get_db(), email, password, request.remote_addr or "")
                if email and password
                else None
            )
        except TooManyAttempts as paused:
            page = render_template("auth/login.html", error=str(paused), email=email)
            return page, 429, {"Retry-After": str(paused.retry_after)}
        except accounts.AccountClosed as closed:
            return render_template("auth/login.html", error=str(closed), email=email), 403
        if user is None:
            error = "That e-mail address and password do not match an account. Please try again."
        else:
            session.clear()
            login_user(SessionUser.of(user))
            # Start the idle clock now, not at the first page after this one.
            session["last_seen"] = datetime.now(UTC).timestamp()
            return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
    return render_template("auth/login.html", error=error, email=email), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    # Sessions live in the cookie, so a copy would outlive this one; moving the account's
    # session epoch on makes every earlier cookie of this account invalid.
    accounts.end_sessions(get_db(), current_user.id)
    logout_user()
    session.clear()
    flash("You are signed out, here and everywhere else you were signed in.")
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    sent_to, errors = None, {}
    if request.method == "POST":
        typed = request.form.get("email", "").strip()[:320]
        throttle_for(get_db()).reset_attempt(request.remote_addr or "")
        problem = account_settings.reset_address_problem(typed)
        if problem:  # nothing is sent, and nothing said about any account
            return render_template(
                "auth/forgot_password.html",
                sent_to=None,
                who_to_ask=ANYONE_ASKS,
                errors={"email": problem},
                problems=[("email", in_summary("Your e-mail address", problem))],
                typed=typed,
            ), 422
        sent_to = typed
        # Looked up after the answer: finding an account and making its link take time that
        # a stranger could measure to learn whether an address has an account here.
        config, urls, db = current_app.config, app_paths(), get_db()
        db.account_notices.reset_asked(
            sent_to,
            request.remote_addr or "",
            lambda link: _send_password_link(config, urls, db, link, by_service=False),
        )
    return render_template(
        "auth/forgot_password.html", sent_to=sent_to, who_to_ask=ANYONE_ASKS, errors=errors
    )


def email_password_link(
    link: account_settings.IssuedLink, by_service: bool = False
) -> account_mail.Sending:
    return _send_password_link(current_app.config, app_paths(), get_db(), link, by_service)


def _send_password_link(
    config, urls, db, link: account_settings.IssuedLink, by_service: bool
) -> account_mail.Sending:
    """`urls`: app_paths(), which builds the link's path outside the request too (from the
    thread that answers the forgotten-password page). A link that cannot be sent says so on
    its row, for the account's page."""
    path = urls.build("auth.set_password", {"token": link.token})
    return account_mail.send_soon(
        config,
        link.email,
        account_mail.password_link_email(
            link.purpose,
            public_url(config, path),
            account_mail.long_time(link.expires_at, config["TIME_ZONE"]),
            by_service,
            link.role,
        ),
        lambda reason: account_settings.link_not_sent(db, link.link_id, reason),
    )


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    db = get_db()
    try:
        info = account_settings.check_link(db, token)
    except NotFound:
        return render_template("auth/link_used.html"), 404
    errors = {}
    if request.method == "POST":
        try:
            account_settings.use_link(
                db,
                token,
                request.form.get("password", ""),
                request.form.get("password_again", ""),
                request.remote_addr or "",
            )
        except ContentInvalid as err:
            errors = err.errors
        except NotFound:
            return render_template("auth/link_used.html"), 404
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash("Your password is set. Please sign in with it.")
            return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", info=info, errors=errors), (
        422 if errors else 200
    )


@bp.post("/session/keep-alive")
@login_required
def keep_alive():
    """ "Stay signed in" on the idle warning: the request itself resets the idle clock."""
    return "", 204
