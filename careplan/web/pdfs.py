"""Downloading PDFs, and the public page for checking one."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from ..extensions import get_db
from ..services import pdfs
from ..services.errors import Agreed
from ..services.throttle import throttle_for
from .downloads import as_download

bp = Blueprint("pdfs", __name__)

MAX_UPLOAD = 20 * 1024 * 1024


def settings(with_seal: bool = True) -> pdfs.PdfSettings:
    return pdfs.PdfSettings.from_config(current_app.config, current_app.instance_path, with_seal)


@bp.get("/documents/<int:document_id>/versions/<int:number>/signed.pdf")
@login_required
def signed(document_id: int, number: int):
    # Serving a stored file needs no seal: the key is not loaded per download.
    result = pdfs.sealed_pdf(get_db(), current_user.actor, document_id, number, settings(False))
    if result.status == "ready":
        return as_download(send_file(result.path, mimetype="application/pdf"), result.filename)
    return render_template(
        "pdfs/preparing.html", result=result, document_id=document_id, number=number
    ), 202


@bp.get("/documents/<int:document_id>/versions/<int:number>/signed.pdf/state")
@login_required
def signed_state(document_id: int, number: int):
    """Whether the PDF is made yet, for the page waiting for it: it asks this in the
    background and reloads only once there is something new to show (static/preparing.js)."""
    result = pdfs.sealed_pdf_state(get_db(), current_user.actor, document_id, number)
    return jsonify(status=result.status, taking_long=result.taking_long)


@bp.post("/documents/<int:document_id>/versions/<int:number>/signed.pdf/retry")
@login_required
def retry(document_id: int, number: int):
    pdfs.retry_failed(get_db(), current_user.actor, document_id, number)
    flash("We will try to make the PDF again.")
    return redirect(url_for("pdfs.signed", document_id=document_id, number=number))


@bp.get("/documents/<int:document_id>/versions/<int:number>/draft.pdf")
@login_required
def draft(document_id: int, number: int):
    try:
        data, filename = pdfs.draft_pdf(
            get_db(), current_user.actor, document_id, number, settings(False)
        )
    except Agreed:
        return redirect(url_for("pdfs.signed", document_id=document_id, number=number))
    return as_download(current_app.response_class(data, mimetype="application/pdf"), filename)


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    verdict, nothing_to_check = None, False
    if request.method == "POST":
        throttle_for(get_db()).verify_attempt(request.remote_addr or "")
        upload = request.files.get("file")
        code = request.form.get("code", "")
        if upload and upload.filename:
            data = upload.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                verdict = pdfs.Verdict(False, "That file is too large to be one of our PDFs.")
            else:
                verdict = pdfs.verify_file(get_db(), settings(), data, code)
        elif code.strip():
            verdict = pdfs.verify_code(get_db(), code)
        else:
            # Nothing was checked, so no verdict: "Not confirmed" read as a failed check.
            nothing_to_check = True
    return render_template(
        "pdfs/verify.html", verdict=verdict, nothing_to_check=nothing_to_check
    ), (422 if nothing_to_check else 200)
