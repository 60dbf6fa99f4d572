from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..domain.blocks import STEP_OWNERS, STEP_STATUSES, owner_label
from ..domain.care_plan import DOMAIN_LABELS, LIFE_DOMAINS
from ..domain.errors import ContentInvalid
from ..domain.numbers import whole_number
from ..extensions import get_db, get_library
from ..services import comments, documents
from ..services.errors import Conflict, ReadOnly
from .forms import base_number_from_form, content_from_form

bp = Blueprint("documents", __name__)


@bp.app_context_processor
def _care_plan_vocabulary():
    return {
        "LIFE_DOMAINS": LIFE_DOMAINS,
        "DOMAIN_LABELS": DOMAIN_LABELS,
        "STEP_OWNERS": STEP_OWNERS,
        "STEP_STATUSES": STEP_STATUSES,
        "owner_label": owner_label,
    }


@bp.get("/documents/<int:document_id>")
@login_required
def show(document_id: int):
    page = documents.open_document(get_db(), current_user.actor, document_id)
    return show_page(page)


@bp.get("/documents/<int:document_id>/versions/<int:number>")
@login_required
def version(document_id: int, number: int):
    page = documents.open_document(get_db(), current_user.actor, document_id, number)
    return show_page(page)


def show_page(
    page, comment_errors: dict | None = None, sign_errors: dict | None = None, status: int = 200
):
    notes = comments.comments_on(get_db(), current_user.actor, page.id)
    return render_template(
        "documents/show.html",
        doc=page,
        comments=notes,
        comment_errors=comment_errors or {},
        sign_errors=sign_errors or {},
    ), status


@bp.post("/documents/<int:document_id>/comments")
@login_required
def comment(document_id: int):
    db, actor = get_db(), current_user.actor
    form = request.form
    try:
        comments.add_comment(
            db,
            actor,
            document_id,
            form.get("section_key", ""),
            form.get("version_number", 0, type=whole_number),
            form.get("body", ""),
        )
    except ContentInvalid as err:
        return show_page(documents.open_document(db, actor, document_id), err.errors, status=422)
    flash("Your comment was added. Everyone who can see this document can read it.")
    return redirect(url_for("documents.show", document_id=document_id) + "#comments")


@bp.get("/documents/<int:document_id>/history")
@login_required
def history(document_id: int):
    page = request.args.get("page", 1, type=whole_number)
    result = documents.history(get_db(), current_user.actor, document_id, page)
    return render_template("documents/history.html", result=result, doc=result.document)


@bp.get("/documents/<int:document_id>/compare")
@login_required
def compare(document_id: int):
    older = request.args.get("older", type=whole_number)
    newer = request.args.get("newer", type=whole_number)
    if older is None or newer is None:
        abort(404)
    if older > newer:
        older, newer = newer, older
    result = documents.compare_versions(get_db(), current_user.actor, document_id, older, newer)
    return render_template("documents/compare.html", result=result, doc=result.document)


@bp.route("/documents/<int:document_id>/edit", methods=["GET", "POST"])
@login_required
def edit(document_id: int):
    db, actor = get_db(), current_user.actor
    if request.method == "GET":
        page = documents.open_document(db, actor, document_id)
        if not page.access.edit:
            raise ReadOnly("You can read this document but not change it.")
        return render_template(
            "documents/edit.html",
            doc=page,
            form=page.content,
            base_number=page.head_number,
            errors={},
            change_note="",
        )

    base_number = base_number_from_form(request.form)
    content = content_from_form(request.form)
    change_note = request.form.get("change_note", "")
    if base_number is None:
        abort(400)
    try:
        result = documents.save_version(
            db, actor, document_id, base_number, content, change_note, get_library().terms
        )
    except ContentInvalid as err:
        page = documents.open_document(db, actor, document_id)
        return render_template(
            "documents/edit.html",
            doc=page,
            form=content,
            base_number=base_number,
            errors=err.errors,
            change_note=change_note,
        ), 422
    except Conflict as conflict:
        view = documents.conflict_view(db, actor, conflict)
        return render_template(
            "documents/conflict.html",
            view=view,
            doc=view.document,
            form=view.proposal,
            base_number=conflict.head_number,
            errors={},
            change_note=conflict.note,
        ), 409
    if result.saved:
        flash(f"Saved as version {result.number}.")
        for finding in result.language:
            flash(
                f"A suggestion about wording in “{finding.where}”: “{finding.found}” can feel "
                f"stigmatising to some people. You could write “{finding.suggest}”. "
                "Nothing has been changed."
            )
    else:
        flash("Nothing had changed, so no new version was saved.")
    return redirect(url_for("documents.show", document_id=document_id))
