"""Reviews and reminders on the web: asking for an earlier review, "reviewed, no changes",
notifications, how a client is reminded, and the private calendar feed."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from ..db.models import utcnow
from ..domain.errors import ContentInvalid
from ..domain.local_time import service_today
from ..domain.numbers import whole_number_or_none
from ..domain.reviews import ClientChannel
from ..domain.roles import Role
from ..extensions import get_db
from ..reminders import ical
from ..services import leaving, reminders, reviews
from ..services.errors import Invalid
from ..services.reminders import ReminderSettings
from .documents import show_page
from .links import app_paths, public_url
from .request_checks import chosen

bp = Blueprint("reminders", __name__)


def _settings() -> ReminderSettings:
    return ReminderSettings.from_config(current_app.config)


@bp.app_context_processor
def _helpers():
    def review_panel_for(doc):
        return reviews.review_panel(get_db(), current_user.actor, doc.id, service_today())

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        # Counted when the person was loaded for this request, in the same statement.
        return current_user.unread_notifications

    return {
        "review_panel_for": review_panel_for,
        "unread_notifications": unread_notifications,
        "review_errors": g.get("review_errors", {}),
        "review_form": g.get("review_form", {}),
    }


# --- on a document ------------------------------------------------------------------------------


@bp.post("/documents/<int:document_id>/review-request")
@login_required
def request_review(document_id: int):
    db, actor, form = get_db(), current_user.actor, request.form
    try:
        when = reviews.request_earlier_review(
            db,
            actor,
            document_id,
            form.get("wanted_by", ""),
            form.get("reason", ""),
            service_today(),
        )
    except ContentInvalid as err:
        g.review_errors, g.review_form = err.errors, form
        return show_page(document_id, status=422)
    flash(f"An earlier review was asked for. The next review is now on {when:%-d %B %Y}.")
    return redirect(url_for("documents.show", document_id=document_id) + "#review")


@bp.post("/documents/<int:document_id>/versions/<int:number>/reviewed")
@login_required
def reviewed_no_changes(document_id: int, number: int):
    db, actor = get_db(), current_user.actor
    raw = request.form.get("cycle")  # the review the form was for (a page from before: none)
    cycle = whole_number_or_none(raw) if raw is not None else None
    if raw is not None and cycle is None:
        abort(400)  # named unreadably: never taken as no review named
    try:
        done = reviews.confirm_no_changes(
            db,
            actor,
            document_id,
            number,
            request.form.get("password", ""),
            code=request.form.get("code", ""),
            cycle=cycle,
        )
    except ContentInvalid as err:
        g.review_errors = err.errors
        return show_page(document_id, status=422)
    except Invalid as err:
        # Done meanwhile, or no longer confirmable: said on the page as it is now.
        flash(str(err), "refused")
        return redirect(url_for("documents.show", document_id=document_id))
    if done:
        flash("You have both confirmed the review with no changes. The next review date is set.")
    else:
        other = reviews.still_to_confirm(db, actor, document_id) or "the other person"
        flash(f"You confirmed the review with no changes. It is done once {other} confirms too.")
    return redirect(url_for("documents.show", document_id=document_id) + "#review")


# --- notifications ------------------------------------------------------------------------------


@bp.get("/me/notifications")
@login_required
def notifications():
    items = reminders.notifications_for(get_db(), current_user.actor)
    return render_template("me/notifications.html", items=items)


@bp.post("/me/notifications/read")
@login_required
def mark_read():
    raw = request.form.get("notification_id")
    one = whole_number_or_none(raw) if raw is not None else None
    if raw is not None and one is None:
        abort(400)  # one message named, unreadably: never taken to mean all of them
    reminders.mark_read(get_db(), current_user.actor, utcnow(), one)
    # One message: back at it, not at the top of the list, for whoever goes on down it.
    where = f"#message-{one}" if one is not None else ""
    return redirect(url_for("reminders.notifications") + where)


# --- how I am reminded, and the calendar ---------------------------------------------------------


def _settings_page(calendar_url: str | None = None, status: int = 200):
    db, actor, settings = get_db(), current_user.actor, _settings()
    reminders.refuse_admins(actor.role)
    return render_template(
        "me/reminder_settings.html",
        channel=reminders.channel_of(db, actor, settings) if actor.role is Role.CLIENT else None,
        sent_from=f"{settings.reminder_hour:02d}:00",
        channels=list(ClientChannel),
        dates=reviews.review_dates_for(db, actor),
        # A client who left is owed no reviews: said so, not "no review dates yet".
        left=leaving.time_ended(db, actor.id) if actor.role is Role.CLIENT else None,
        calendar_started=reminders.calendar_started(db, actor),
        calendar_url=calendar_url,
    ), status


@bp.get("/me/reminders")
@login_required
def settings():
    return _settings_page()


@bp.post("/me/reminders")
@login_required
def choose_channel():
    channel = reminders.choose_channel(get_db(), current_user.actor, request.form.get("channel"))
    flash(
        {
            ClientChannel.EMAIL: "Saved. You will get reminders by e-mail, and see them here.",
            ClientChannel.APP: "Saved. You will see reminders here when you sign in; no e-mails.",
            ClientChannel.NONE: "Saved. You will not get reminders. Your review dates are "
            "still shown on each plan.",
        }[channel]
    )
    return redirect(url_for("reminders.settings"))


@bp.post("/me/calendar")
@login_required
def calendar_address():
    db, actor = get_db(), current_user.actor
    if chosen("action", "new", "stop") == "stop":
        reminders.stop_calendar(db, actor)
        flash("Your calendar address no longer works.")
        return redirect(url_for("reminders.settings"))
    token = reminders.new_calendar_token(db, actor, utcnow())
    url = public_url(
        current_app.config, app_paths().build("reminders.calendar_feed", {"key": token})
    )
    # Shown once, on this page only: only a hash of it is kept.
    return _settings_page(calendar_url=url)


@bp.app_template_filter("webcal")
def webcal(address: str) -> str:
    """The feed's address as a link that calendar apps (on phones especially) open as a
    subscription, instead of downloading the file once."""
    return "webcal://" + address.split("://", 1)[-1]


@bp.get("/calendar.ics")
def calendar_feed():
    """The private feed. No sign-in (calendar apps cannot), so the secret address is the key;
    any other address answers 404."""
    key = request.args.get("key", "")
    if not key:
        abort(404)
    _, dates = reminders.calendar_for_token(get_db(), key)
    body = ical.feed(dates, current_app.config["PUBLIC_BASE_URL"].rstrip("/"), utcnow())
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'inline; filename="reviews.ics"',
            "Cache-Control": "private, no-store",
            "X-Robots-Tag": "noindex",
        },
    )
