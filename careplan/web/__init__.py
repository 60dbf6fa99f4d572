"""Web adapter: blueprints by area, session handling, error pages."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError

from .. import api
from ..api import errors as api_errors
from ..domain import idle_sessions
from ..domain.attribution import earlier_answers, has_writing, replaced_answers, yours_replaced
from ..domain.blocks import date_passed
from ..domain.errors import ContentInvalid
from ..domain.local_time import service_today, show
from ..domain.plan_dates import UNTIL_PASSED_NOTE, day_passed
from ..domain.reviews import days_late
from ..domain.taken_out import taken_out, taken_out_earlier, taken_out_words, told_to
from ..extensions import get_db, get_time_zone, login_manager
from ..services.comments import comments_anchor
from ..services.errors import Invalid, NotFound, ReadOnly, Removed
from ..services.throttle import TooManyAttempts
from . import (
    admin,
    agreements,
    auth,
    clients,
    documents,
    exports,
    health,
    home,
    links,
    me,
    page_links,
    pdfs,
    reminders,
    request_checks,
    signoff,
    supervision,
    trouble,
    wording,
    words_given_back,
)
from .edit_notes import had_written, others_words
from .session_user import load_session_user, session_fingerprint, signed_out_message


def register(app: Flask) -> None:
    request_checks.install(app)
    links.install(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.localize_callback = signed_out_message
    login_manager.user_loader(load_session_user)
    login_manager._session_identifier_generator = session_fingerprint
    words_given_back.install()

    for module in (
        auth,
        home,
        clients,
        documents,
        agreements,
        signoff,
        pdfs,
        exports,
        reminders,
        me,
        supervision,
        admin,
        health,
    ):
        app.register_blueprint(module.bp)
    api.register(app)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)

    app.before_request(_shared_reads)
    app.teardown_request(_end_shared_reads)
    app.before_request(_idle_logout)
    app.after_request(_security_headers)
    app.after_request(_idle_time_left)
    app.after_request(_land_at_confirmation)
    wording.install(app)
    page_links.install(app)
    app.jinja_env.filters["when"] = _when
    # `day` is `when` for the local day only (a moment shows the day it fell on, no time).
    app.jinja_env.filters["day"] = lambda value: _when(value, date_only=True)
    # Forms are re-shown from whatever was posted, which may not have the expected shape.
    # `{% if step is date_passed %}`: the service's days, as the review rules count them.
    app.jinja_env.tests["date_passed"] = lambda step: date_passed(step, service_today())
    # `{% if h.until is day_passed %}`: a decision's "until" before the service's day.
    app.jinja_env.tests["day_passed"] = lambda iso: day_passed(iso, service_today())
    app.jinja_env.globals["UNTIL_PASSED_NOTE"] = UNTIL_PASSED_NOTE
    # `{{ d.next_review_on|days_late }}`: how late a review date is by the service's day (0: not).
    app.jinja_env.filters["days_late"] = lambda day: days_late(day, service_today())
    # `{% if d.next_review_on is service_today %}`: a review due today is said to be.
    app.jinja_env.tests["service_today"] = lambda day: day == service_today()
    app.jinja_env.filters["as_mapping"] = lambda v: v if isinstance(v, dict) else {}
    # (key, answer, words) a person had written there before someone else's change (see
    # domain.attribution): the key tells a date, shown in words.
    app.jinja_env.filters["earlier_answers"] = lambda v: (
        earlier_answers(v) if isinstance(v, dict) else []
    )
    app.jinja_env.filters["replaced_answers"] = lambda v: (
        replaced_answers(v) if isinstance(v, dict) else []
    )
    # What the reader had written there that someone else's change replaced (their edit form).
    app.jinja_env.filters["yours_replaced"] = lambda v, person_id: (
        yours_replaced(v, person_id) if isinstance(v, dict) else []
    )
    app.jinja_env.tests["writing"] = lambda v: isinstance(v, dict) and has_writing(v)
    # `others_words(stored, box, boxes)`: the edit form's note about whose words a box holds.
    app.jinja_env.globals["others_words"] = others_words
    # `had_written(answers)`: what someone had written, answer by answer.
    app.jinja_env.globals["had_written"] = had_written
    # `id="{{ comments_anchor(key) }}"`: where a part's comments are, as links to them say.
    app.jinja_env.globals["comments_anchor"] = comments_anchor
    # `stored|with_id(item.id)`: the item of a list with that id (the version's own, with who
    # wrote it, beside the same item as a form shows it); {} when there is none.
    app.jinja_env.filters["with_id"] = lambda items, id: (
        next((i for i in items if isinstance(i, dict) and i.get("id") == id), {})
        if id and isinstance(items, list)
        else {}
    )
    # `{% for r in content|taken_out("goals") %}`: items taken out of a section, or of a goal;
    # with a field, of that list of the section ("" for those kept before fields were).
    app.jinja_env.filters["taken_out"] = lambda v, section=None, field=None: [
        r
        for r in taken_out(v)
        if (section is None or r.get("section") == section)
        and (field is None or (r.get("field") or "") == field)
    ]
    app.jinja_env.filters["taken_out_words"] = taken_out_words
    app.jinja_env.filters["taken_out_earlier"] = taken_out_earlier
    # The records of items taken out that are kept for this person (the edit form's list).
    app.jinja_env.filters["told_to"] = lambda records, person_id: [
        r for r in records if told_to(r, person_id)
    ]
    app.jinja_env.filters["as_list"] = lambda v: (
        [i if isinstance(i, dict) else {} for i in v] if isinstance(v, list) else []
    )

    @app.errorhandler(NotFound)
    @app.errorhandler(404)
    def _not_found(err):
        # A document removed (nothing had been saved in it) is said to be, to those who may
        # read the client's records (careplan.services.access.gone).
        removed = err if isinstance(err, Removed) else None
        kept = words_given_back.on_not_found()
        return render_template("errors/404.html", removed=removed, kept=kept), 404

    @app.errorhandler(ReadOnly)
    def _read_only(err):
        return render_template("errors/403.html", message=str(err)), 403

    @app.errorhandler(ContentInvalid)
    def _content_invalid(err):
        return render_template(
            "errors/400.html", message=" ".join(dict.fromkeys(err.errors.values()))
        ), 400

    @app.errorhandler(Invalid)
    def _invalid(err):
        return render_template("errors/400.html", message=str(err)), 400

    @app.errorhandler(TooManyAttempts)
    def _too_many(err):
        return (
            render_template("errors/429.html", message=str(err)),
            429,
            {"Retry-After": str(err.retry_after)},
        )

    @app.errorhandler(CSRFError)
    def _csrf(_err):
        given_back = words_given_back.after_stale_form()
        if given_back is not None:
            return given_back
        return render_template(
            "errors/400.html",
            message="This form had expired or was sent from somewhere else. Nothing was saved. "
            "Please go back, reload the page and try again.",
        ), 400

    @app.errorhandler(400)
    def _bad_request(_err):
        return render_template(
            "errors/400.html",
            message="Part of this form could not be read. Nothing was saved. Please go back, "
            "reload the page and try again.",
        ), 400

    @app.errorhandler(413)
    def _too_large(_err):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        size = f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit // 1024} KB"
        return render_template(
            "errors/400.html",
            message=f"That was more than this service takes at once ({size}). Nothing "
            "was saved. Please go back and send less, a part at a time.",
        ), 413

    @app.errorhandler(405)
    def _method(_err):
        return render_template("errors/404.html"), 405

    # A database that cannot be reached, or any failure not foreseen: a page that keeps what
    # the person sent.
    trouble.install(app)
    # Last, over the handlers above: under /api every error answers in JSON.
    api_errors.install(app)


def _shared_reads():
    """Everything a request reads, it reads in one transaction (careplan.db.engine)."""
    g.shared_reads = get_db().begin_shared_reads()


def _end_shared_reads(_exc):
    token = g.pop("shared_reads", None)
    if token is not None:
        get_db().end_shared_reads(token)


def _idle_logout():
    """Sign out after a period without activity (default 15 minutes). Not under /api, which
    has no sessions: each request carries its token."""
    if request.endpoint == "static" or api_errors.is_api_request():
        return None
    if not current_user.is_authenticated:
        return None
    now = datetime.now(UTC).timestamp()
    limit = 60 * _idle_minutes()
    last = session.get("last_seen")
    last = None if last is None else float(last)
    if idle_sessions.timed_out(last, now, limit):
        edit = documents.keep_unsaved_edit()
        logout_user()
        session.clear()
        flash("You were signed out because the page was left for a while. Please sign in again.")
        if edit is not None and edit.kept:
            flash("The changes you were making are kept. Sign in to carry on with them.")
        elif edit is not None:
            flash(
                "The changes on the page you left could not be kept as a draft: you had changed "
                "this document in another tab or on another device since, and those changes "
                "are the draft kept. Sign in to see them."
            )
        return redirect(url_for("auth.login", next=edit.url if edit else _back_to()))
    if idle_sessions.worth_recording(last, now, limit):
        session["last_seen"] = last = now
    # The page's warning counts down from this, so it and the sign-out agree.
    g.idle_seconds_left = idle_sessions.seconds_left(last, now, limit)
    return None


def _back_to() -> str | None:
    """Where to return after signing in again: the page that was being opened, as the
    browser addresses it (under the sub-path, as flask-login's own `next` is)."""
    if request.endpoint == "auth.login":
        return request.args.get("next")
    if request.method == "GET":
        return links.on_site(request.full_path.rstrip("?"))
    return None


def _idle_minutes() -> int:
    from flask import current_app

    return current_app.config["IDLE_TIMEOUT_MINUTES"]


def _favicon():
    """Browsers ask for /favicon.ico on a page that names no icon: the one the pages name."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


def _idle_time_left(response):
    """For the page's scripts: after a draft is kept or "Stay signed in", the idle warning
    restarts from what the server says is left (careplan/static/idle.js)."""
    left = g.get("idle_seconds_left")
    if left is not None:
        response.headers["Idle-Seconds-Left"] = str(left)
    return response


def _land_at_confirmation(response):
    """A form that worked redirects to a page whose message says what it did (base.html's
    #confirmation): the browser lands there. Sent without a place of its own, a redirect keeps
    the form's address's, #error-summary on most, which names nothing on the page landed on."""
    if (
        request.method == "POST"
        and response.status_code in (301, 302, 303, 307, 308)
        and session.get("_flashes")
    ):
        location = response.headers.get("Location", "")
        if location and "#" not in location:
            response.headers["Location"] = f"{location}#confirmation"
    return response


def _security_headers(response):
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        # Records about people's health must not be kept by any cache, browser or proxy: not
        # pages, not downloads (send_file would say "no-cache", which still stores), not the
        # calendar feed, whose address is the only key.
        response.headers["Cache-Control"] = "no-store"
    return response


def _when(value, date_only: bool = False) -> str:
    """The one way pages show a date or a moment: local time, in words (local_time.show)."""
    return show(value, get_time_zone(), date_only)
