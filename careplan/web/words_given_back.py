"""Someone's words, sent by one of the app's own forms, that cannot be taken: given back.

Two ways this happens while a person types:

- Their session ended: the password was changed on another device (which ends every other
  session), or they signed out there. The page needed a session (Flask-Login's unauthorized
  handler). The session was ended on purpose, perhaps because this phone was lost, so nothing
  it sends is kept.
- The form's CSRF token is no longer the session's: they signed out in another tab, or signed
  in again there after the idle sign-out, which starts a new session.

Either way the words came from this browser, through this app's own page, so showing them
back costs nothing: the person copies them, opens the page again in a new tab, and pastes.
Only such a form is answered so. A CSRF failure from anywhere else could be another site
posting words of its own choosing, to be shown as if ours; it gets the plain refusal.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request
from flask_login import current_user, login_url

from ..domain.care_plan import CARE_PLAN
from ..domain.kinds import kind_for
from ..extensions import get_library, login_manager
from .links import back_on_site, on_site
from .session_user import signed_out_message
from .trouble import Kept, kept_from


def install() -> None:
    login_manager.unauthorized_handler(_unauthorized)


def _unauthorized():
    kept = _words_sent()
    if kept is not None:
        return _signed_out_page(kept, signed_out_message(""))
    # As Flask-Login does without a handler of its own.
    flash(signed_out_message(login_manager.login_message))
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def after_stale_form():
    """The page for a CSRF failure, if it can give someone's words back (None if not)."""
    kept = _words_sent() if _from_this_site() else None
    if kept is None:
        return None
    if not current_user.is_authenticated:
        return _signed_out_page(kept, "")
    return render_template(
        "errors/words_given_back.html",
        kept=kept,
        doing=doing(),
        title="This page was from before you signed in again: nothing was saved",
        why="You signed in again since this page was opened, so it could not be sent.",
        link=_form_page(),
        link_words="Open the page again in a new tab",
    ), 400


def on_not_found() -> Kept | None:
    """A form with someone's words sent to a record they can no longer reach (an advocate
    whose client stopped their access as they typed a comment): the words, to show with
    "not found", which tells nothing more than it did."""
    if not _from_this_site():
        return None
    return _words_sent()


_SIGNING = re.compile(r"/documents/\d+/versions/(\d+)/sign$")


def doing() -> tuple[str, str]:
    """What the form sent was doing, where its words alone do not say it, and how to do it
    again once signed in: a reason under "Your comment" is someone declining to sign, who must
    choose that again. Only what the form's own address and choices say: nothing read from the
    records. ("", "") where the words say enough."""
    if signing := _SIGNING.search(request.path):
        number, outcome = signing.group(1), request.form.get("outcome")
        if outcome == "declined":
            return (
                f"You were declining to sign version {number}: nothing was recorded.",
                "There, choose “I do not sign, and I say why” again, paste your reason and "
                "confirm.",
            )
        if outcome == "signed_with_comment":
            return (
                f"You were signing version {number} with a comment: nothing was signed.",
                "There, choose “I agree and sign, with a comment” again, paste your comment and "
                "confirm.",
            )
    if request.path.endswith("/comments"):
        return (
            "You were adding a comment.",
            "There, open the part it was about, paste your comment and add it.",
        )
    return "", ""


def _signed_out_page(kept: Kept, why: str):
    return render_template(
        "errors/words_given_back.html",
        kept=kept,
        doing=doing(),
        title="You were signed out: nothing was saved",
        why=why or "You had been signed out before this was sent.",
        link=login_url(login_manager.login_view, next_url=_form_page()),
        link_words="Sign in again in a new tab",
    ), 401


def _words_sent() -> Kept | None:
    """What a form sent, if it held anyone's words; None for a page opened, a form of
    choices only, or a page's script keeping a draft (it tells the person itself)."""
    if request.method != "POST" or request.headers.get("X-Requested-With") == "fetch":
        return None
    kept = kept_from(request.form, request.files, _part_titles())
    return kept if kept.writing else None


def _part_titles() -> dict[str, str]:
    """The parts of every kind of document the service offers, by their paths in a form (the
    care plan's, and each agreement template's), to name each answer where it was ("Goals and
    steps, goal 1, step 2"). Not read from the document the form was for: someone signed out,
    or no longer allowed in, would learn from its titles what kind of document is there."""
    titles: dict[str, str] = {}
    for template in get_library().templates.values():
        for path, title in kind_for("agreement", template).form_words().items():
            titles.setdefault(path, title)
    return {**titles, **CARE_PLAN.form_words()}


def _from_this_site() -> bool:
    """The browser says the form was on one of this site's pages: Sec-Fetch-Site, which a
    page cannot set, or else the Origin it sends with every form."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = urlsplit(request.headers.get("Origin") or "")
    return bool(origin.netloc) and origin.netloc == request.host


def _form_page() -> str:
    """The page the form was on, to return to; the form's own address if the browser did not
    say (the app's pages ask it to, same-origin)."""
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc == request.host and came_from.path:
        page = back_on_site(came_from._replace(scheme="", netloc="", fragment="").geturl())
        if page:
            return page
    return on_site(request.full_path.rstrip("?"))
