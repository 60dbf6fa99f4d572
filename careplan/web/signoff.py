"""Signing, declining, and asking an advocate to look first."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from ..domain.errors import ContentInvalid
from ..domain.signoff import State
from ..extensions import get_db
from ..services import documents, signoff
from ..services.errors import AlreadyDone, Invalid, NotFound
from .documents import no_longer_yours, show_page

bp = Blueprint("signoff", __name__)


@bp.post("/documents/<int:document_id>/versions/<int:number>/sign")
@login_required
def sign(document_id: int, number: int):
    db, actor = get_db(), current_user.actor
    form = request.form
    try:
        result = signoff.sign(
            db,
            actor,
            document_id,
            number,
            form.get("outcome", ""),
            form.get("comment", ""),
            form.get("password", ""),
            confirm_blank=form.get("confirm_blank") == "yes",
            code=form.get("code", ""),
        )
    except NotFound:
        return no_longer_yours(document_id, form, signing=True)
    except ContentInvalid as err:
        return show_page(document_id, sign_errors=err.errors, status=422)
    except AlreadyDone as done:  # the same form sent twice: the first one counted
        flash(str(done))
        return redirect(url_for("documents.show", document_id=document_id) + "#sign-off")
    except Invalid as err:
        # Already signed, already agreed, no longer the latest version, or a decision in it
        # handed over until a day now passed: say so beside the signatures, which now show
        # how things stand.
        return show_page(document_id, sign_refusal=str(err), status=409)
    if result.state is State.AGREED:
        flash(f"Version {number} is now agreed by both of you. The signed PDF is being prepared.")
    elif form.get("outcome") == "declined":
        flash("You declined to sign. Your reason is kept with the document.")
    else:
        flash(f"You signed version {number}. It is agreed once the other person signs it too.")
    return redirect(url_for("documents.show", document_id=document_id) + "#sign-off")


@bp.post("/documents/<int:document_id>/versions/<int:number>/offer-again")
@login_required
def offer_again(document_id: int, number: int):
    try:
        new = documents.offer_again(get_db(), current_user.actor, document_id, number)
    except Invalid as err:  # declined no longer, or a newer version meanwhile: said beside it
        return show_page(document_id, sign_refusal=str(err), status=409)
    flash(f"The same words are now version {new}, for both of you to sign.")
    return redirect(url_for("documents.show", document_id=document_id) + "#sign-off")


@bp.post("/documents/<int:document_id>/versions/<int:number>/ask-advocate")
@login_required
def ask_advocate(document_id: int, number: int):
    try:
        count = signoff.ask_advocate_to_look(get_db(), current_user.actor, document_id, number)
    except Invalid as err:
        # No advocate chosen, or too late: said beside the signatures, like a refused signature.
        return show_page(document_id, sign_refusal=str(err), status=409)
    flash(
        "Your advocate has been asked to look at this version before you sign."
        if count == 1
        else f"Your {count} advocates have been asked to look at this version before you sign."
    )
    return redirect(url_for("documents.show", document_id=document_id))
