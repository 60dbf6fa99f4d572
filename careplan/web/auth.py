from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import get_db
from ..services import accounts
from ..services.throttle import TooManyAttempts
from .session_user import SessionUser

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only follow `next` to a path on this site: never to another host (no open redirect)."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


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
    flash("You are signed out.")
    return redirect(url_for("auth.login"))
