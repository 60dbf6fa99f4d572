"""Agreement-only actions: starting one from a template, the crisis plan, self-referral."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from ..db.models import utcnow
from ..domain.contingency import latest_end, nights_text
from ..domain.crisis_alerts import still_waiting
from ..domain.errors import ContentInvalid
from ..domain.form_places import in_summary
from ..domain.local_time import long_date, service_today, show
from ..domain.phone_numbers import phone_number_parts
from ..domain.roles import Role
from ..extensions import get_db, get_library, get_time_zone
from ..services import contingencies, crisis_alerts, documents
from ..services.crisis_alerts import AlertSettings
from ..services.errors import Invalid

bp = Blueprint("agreements", __name__)


@bp.post("/clients/<int:client_id>/agreements")
@login_required
def new(client_id: int):
    template = get_library().templates.get(request.form.get("template_id", ""))
    try:
        doc_id = documents.create_document(
            get_db(), current_user.actor, client_id, "agreement", template=template
        )
    except ContentInvalid as err:  # no such template (asked after who is asking)
        raise Invalid(err.errors["template_id"]) from err
    return redirect(url_for("documents.edit", document_id=doc_id))


@bp.app_template_filter("tel_links")
def tel_links(text: str | None) -> Markup:
    """Free text with its phone numbers as tap-to-call links, everything escaped: how to reach
    a crisis contact, wherever an agreement's people are shown. The words read the same."""
    return Markup("").join(
        escape(piece) if tel is None else Markup('<a href="{}">{}</a>').format(tel, piece)
        for piece, tel in phone_number_parts(text or "")
    )


bp.add_app_template_filter(nights_text, "nights")
bp.add_app_template_global(still_waiting, "still_waiting_words")


def _alert_settings() -> AlertSettings:
    return AlertSettings.from_config(current_app.config)


# The key worker is always told (the plan cannot be started without one); their team's other
# key workers too, where there are any, which the panel below names.
TEAM_TOLD = "Your key worker has been told. Below is who will respond, and by when."


def _back_to_crisis_page(document_id: int):
    return redirect(url_for("agreements.crisis", document_id=document_id))


@bp.post("/documents/<int:document_id>/crisis-plan/start")
@login_required
def start_contingency(document_id: int):
    form = request.form
    try:
        client = contingencies.start_contingency(
            get_db(),
            current_user.actor,
            document_id,
            form.get("observed", ""),
            form.get("actions_taken", ""),
            form.get("ends_on", ""),
            service_today(),
            _alert_settings(),
        )
    except ContentInvalid as err:
        return _crisis_page(document_id, errors=err.errors, form=form, sent="start"), 422
    if current_user.actor.role is Role.CLIENT:
        flash(f"The plan for when you are not well is now in effect. {TEAM_TOLD}")
    else:
        flash(
            f"The plan for when {client} is not well is now in effect. "
            "Everyone on this agreement can see it."
        )
    return _back_to_crisis_page(document_id)


@bp.post("/documents/<int:document_id>/crisis-plan/end")
@login_required
def end_contingency(document_id: int):
    form = request.form
    try:
        due = contingencies.end_contingency(
            get_db(), current_user.actor, document_id, form.get("end_note", ""), service_today()
        )
    except ContentInvalid as err:
        return _crisis_page(document_id, errors=err.errors, form=form, sent="end"), 422
    flash(f"The plan is no longer in effect. The look-back meeting is due by {long_date(due)}.")
    return _back_to_crisis_page(document_id)


@bp.post("/documents/<int:document_id>/self-referral")
@login_required
def self_referral(document_id: int):
    form = request.form
    try:
        result = contingencies.request_self_referral(
            get_db(),
            current_user.actor,
            document_id,
            form.get("nights", ""),
            form.get("last_discharge_on", ""),
            form.get("note", ""),
            service_today(),
            _alert_settings(),
        )
    except ContentInvalid as err:
        return _crisis_page(document_id, errors=err.errors, form=form, sent="self_referral"), 422
    told = " " + TEAM_TOLD if current_user.actor.role is Role.CLIENT else ""
    if not result.agreed:
        gone = " It has gone to the team." if told else " It has been recorded."
        flash(NOTHING_AGREED + gone + told)
    elif result.within_terms:
        flash("This request is within the agreed terms." + told)
    else:
        # Which term, and that it still goes to the team: someone asking for help outside the
        # terms is still answered.
        why = " ".join(result.reasons)
        sent = " It has still gone to the team." if told else " It has been recorded."
        flash(f"This request is outside the agreed terms. {why}{sent}{told}")
    if result.earlier_waiting:
        flash(
            still_waiting(
                show(result.earlier_waiting, get_time_zone()),
                current_user.actor.role is Role.CLIENT,
            )
        )
    return _back_to_crisis_page(document_id)


# Never "within" or "outside" terms when there are none: that would promise a right the
# client does not have. The request still goes to the team, as every call for help does.
NOTHING_AGREED = "Nothing is agreed by both of you yet, so this is a request, not an agreed stay."


@bp.get("/documents/<int:document_id>/crisis-plan")
@login_required
def crisis(document_id: int):
    return _crisis_page(document_id)


# What a refused form on the crisis page did not do, said first at the top of the page: in a
# crisis, whether the team has been told matters more than which field was wrong.
NOT_DONE = {
    "start": "The plan is not in effect yet, and nobody has been told. Please look again at:",
    "start_again": "What you wrote was not saved:",
    "end": "The plan was not ended. Please look again at:",
    "self_referral": "Your request was not sent yet. Please look again at:",
}


# The crisis page's answers, as its forms ask them: the summary at the top names each.
ANSWERS = {
    "observed": "What has been noticed?",
    "actions_taken": "Which of the actions in the plan have been taken?",
    "ends_on": "It ends on",
    "end_note": "Anything to note as it ends?",
    "nights": "How many nights?",
    "last_discharge_on": "When did the last stay end?",
    "note": "Anything else?",
}


def _problem(name: str, message: str) -> str:
    # Already in effect is about the plan, not about what was written in the box.
    if message == contingencies.ALREADY_IN_EFFECT:
        return message
    return in_summary(ANSWERS.get(name, ""), message)


def _crisis_page(document_id: int, errors: dict | None = None, form=None, sent: str = ""):
    """The crisis page; after a refused form, `sent` names which form it was, so the page can
    say what went wrong at the top and give back what was typed even where that form is no
    longer shown (the plan was started, or ended, by the other person meanwhile)."""
    db, actor, today = get_db(), current_user.actor, service_today()
    page = documents.open_document(db, actor, document_id)
    record = contingencies.crisis_record(db, actor, document_id, today)
    errors = errors or {}
    offered_end = latest_end(today, record.max_days)
    return render_template(
        "agreements/crisis.html",
        doc=page,
        record=record,
        errors=errors,
        form=form or {},
        sent=sent,
        # Each message links to its field: the form's own, or the copy of what was typed.
        problems=[(name, _problem(name, message)) for name, message in errors.items()],
        summary_heading=NOT_DONE.get(
            "start_again" if sent == "start" and record.active else sent, ""
        ),
        today=today,
        offered_end=offered_end.isoformat() if offered_end else "",
        urgent=_alert_settings().urgent_numbers,
        nobody_to_tell=contingencies.NOBODY_TO_TELL,
    )


@bp.get("/documents/<int:document_id>/respond")
@login_required
def alert(document_id: int):
    return _alert_page(document_id)


# A path of its own: two rules on one path make an id outside the range answer 405, not 404.
@bp.post("/documents/<int:document_id>/responses")
@login_required
def respond(document_id: int):
    db, actor = get_db(), current_user.actor
    try:
        crisis_alerts.respond(db, actor, document_id, request.form.get("note", ""), utcnow())
    except ContentInvalid as err:
        return _alert_page(document_id, errors=err.errors, form=request.form), 422
    except Invalid as err:  # answered meanwhile (another tab, a colleague): said, words kept
        return _alert_page(document_id, form=request.form, refused=str(err)), 409
    flash("Your response is recorded. Everyone who was asked, and the client, can see it.")
    return redirect(url_for("agreements.alert", document_id=document_id))


def _alert_page(document_id: int, errors: dict | None = None, form=None, refused: str = ""):
    page = crisis_alerts.alert_page(get_db(), current_user.actor, document_id, utcnow())
    errors = errors or {}
    return render_template(
        "agreements/respond.html",
        page=page,
        client_holder=page.key_worker_id,
        errors=errors,
        form=form or {},
        # As on the crisis page: said at the top, where a refused form lands.
        problems=[(name, in_summary("Your response", message)) for name, message in errors.items()],
        summary_heading="Your response was not sent yet. Please look again at:",
        refused=refused,
    )
