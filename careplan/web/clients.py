from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..extensions import get_db, get_library
from ..services import documents

bp = Blueprint("clients", __name__)


@bp.get("/clients/<int:client_id>")
@login_required
def records(client_id: int):
    records = documents.client_records(get_db(), current_user.actor, client_id)
    templates = sorted(get_library().templates.values(), key=lambda t: t["name"])
    return render_template("clients/records.html", records=records, templates=templates)


@bp.post("/clients/<int:client_id>/care-plans")
@login_required
def new_care_plan(client_id: int):
    doc_id = documents.create_document(get_db(), current_user.actor, client_id, "care_plan")
    return redirect(url_for("documents.edit", document_id=doc_id))
