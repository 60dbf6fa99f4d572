from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..db.models import utcnow
from ..domain.errors import ContentInvalid
from ..domain.local_time import service_today
from ..domain.numbers import whole_number
from ..extensions import get_db, get_library, get_time_zone
from ..services import attention, crisis_alerts, documents, handovers, leaving
from ..services.errors import Invalid

bp = Blueprint("clients", __name__)


@bp.get("/clients/<int:client_id>")
@login_required
def records(client_id: int):
    actor = current_user.actor
    records = documents.client_records(get_db(), actor, client_id, get_time_zone())
    templates = sorted(get_library().templates.values(), key=lambda t: t["name"])
    needs = None
    if actor.id == records.client_id:  # the client's own records are their start page
        home = attention.for_own_records(
            get_db(), actor, records, utcnow(), current_user.unread_notifications, get_time_zone()
        )
        alerts, needs = home.alerts, home.items
    else:
        alerts = crisis_alerts.for_client(get_db(), actor, utcnow())
    return render_template(
        "clients/records.html",
        records=records,
        templates=templates,
        handover=records.handover,
        alerts=alerts,
        needs=needs,
    )


@bp.post("/clients/<int:client_id>/care-plans")
@login_required
def new_care_plan(client_id: int):
    doc_id = documents.create_document(get_db(), current_user.actor, client_id, "care_plan")
    return redirect(url_for("documents.edit", document_id=doc_id))


@bp.route("/clients/<int:client_id>/handover", methods=["GET", "POST"])
@login_required
def handover(client_id: int):
    db, actor = get_db(), current_user.actor
    choices = handovers.workers_to_choose(db, actor, client_id)
    records = documents.client_records(db, actor, client_id, read_as=documents.HANDOVER_PAGE)
    errors, problems, status = {}, [], 200
    if request.method == "POST":
        try:
            handovers.start(
                db,
                actor,
                client_id,
                request.form.get("to_worker_id", type=whole_number),
                request.form.get("note", ""),
            )
        except ContentInvalid as err:
            # As on every form: said at the top too, each message linking to its field.
            errors, status = err.errors, 422
            problems = list(errors.items())
        except Invalid as err:  # one already waiting: said above the form, the note kept
            problems, status = [("handover-form", str(err))], 400
        else:
            flash("The handover is waiting for the new key worker to read it and take over.")
            return redirect(url_for("clients.records", client_id=client_id))
    return render_template(
        "clients/handover.html",
        records=records,
        choices=choices,
        errors=errors,
        problems=problems,
        form=request.form,
    ), status


@bp.post("/clients/<int:client_id>/handover/acknowledge")
@login_required
def acknowledge_handover(client_id: int):
    handovers.acknowledge(get_db(), current_user.actor, client_id)
    flash("Thank you. This person is now on your caseload.")
    return redirect(url_for("clients.records", client_id=client_id))


@bp.post("/clients/<int:client_id>/handover/cancel")
@login_required
def cancel_handover(client_id: int):
    handovers.cancel(get_db(), current_user.actor, client_id)
    flash("The handover was cancelled. Nothing changed.")
    return redirect(url_for("clients.records", client_id=client_id))


@bp.route("/clients/<int:client_id>/leaving", methods=["GET", "POST"])
@login_required
def leaving_service(client_id: int):
    db, actor = get_db(), current_user.actor
    records_name, name, problem = leaving.check(db, actor, client_id, service_today())
    errors, status = {}, 200
    if request.method == "POST":
        try:
            leaving.record(db, actor, client_id, request.form.get("note", ""), service_today())
        except ContentInvalid as err:
            errors, status = err.errors, 422
        except Invalid as err:  # shown above the form, the note kept
            problem, status = str(err), 400
        else:
            flash(
                f"{name} has left the service and is no longer on a caseload. They can still "
                "read and download their plans and agreements."
            )
            return redirect(url_for("home.index"))
    return render_template(
        "clients/leaving.html",
        client_id=client_id,
        records_name=records_name,
        client_name=name,
        errors=errors,
        problem=problem,
        form=request.form,
    ), status
