"""A page needed a session it no longer has (Flask-Login's unauthorized handler).

Usually that is a page opened after signing out: the sign-in page, then back to it. A form
sent with someone's words is different. Its session ended while they typed, most often
because the password was changed on another device (which ends every other session) or they
signed out there. The words cannot be saved: the session that would vouch for them was ended
on purpose, perhaps because this phone was lost. But they came from this browser, through
this app's own form (its CSRF token matched), so giving them back on the page answered costs
nothing and loses nothing: the person copies them, signs in again in a new tab, and pastes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request
from flask_login import login_url

from ..extensions import login_manager
from .links import back_on_site, on_site
from .session_user import signed_out_message
from .trouble import kept_from


def install() -> None:
    login_manager.unauthorized_handler(_unauthorized)


def _unauthorized():
    kept = _words_sent()
    if kept is not None:
        return render_template(
            "auth/signed_out_kept.html",
            kept=kept,
            why=signed_out_message(""),
            sign_in=login_url(login_manager.login_view, next_url=_form_page()),
        ), 401
    # As Flask-Login does without a handler of its own.
    flash(signed_out_message(login_manager.login_message))
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def _words_sent():
    """What a form sent, if it held anyone's words; None for a page opened, a form of
    choices only, or a page's script keeping a draft (it tells the person itself)."""
    if request.method != "POST" or request.headers.get("X-Requested-With") == "fetch":
        return None
    kept = kept_from(request.form, request.files)
    return kept if kept.writing else None


def _form_page() -> str:
    """The page the form was on, to return to after signing in; the form's own address if the
    browser did not say (the app's pages ask it to, same-origin)."""
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc == request.host and came_from.path:
        page = back_on_site(came_from._replace(scheme="", netloc="", fragment="").geturl())
        if page:
            return page
    return on_site(request.full_path.rstrip("?"))
