from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..domain.numbers import whole_number
from ..domain.roles import Role
from ..extensions import get_db
from ..services import accounts, audit
from ..services.errors import NotFound

bp = Blueprint("me", __name__)


@bp.get("/me/advocates")
@login_required
def advocates():
    choices = accounts.advocates_for(get_db(), current_user.actor)
    return render_template("me/advocates.html", choices=choices)


@bp.post("/me/advocates")
@login_required
def change_advocate():
    advocate_id = request.form.get("advocate_id", type=whole_number)
    action = request.form.get("action")
    if advocate_id is None or action not in {"invite", "revoke"}:
        flash("Please choose an advocate.")
        return redirect(url_for("me.advocates"))
    if action == "invite":
        accounts.invite_advocate(get_db(), current_user.actor, advocate_id)
        flash("Your advocate can now read your plans and comment. You can stop this at any time.")
    else:
        accounts.revoke_advocate(get_db(), current_user.actor, advocate_id)
        flash("Your advocate can no longer see your records.")
    return redirect(url_for("me.advocates"))


@bp.get("/me/access-log")
@login_required
def access_log():
    if current_user.actor.role is not Role.CLIENT:
        raise NotFound()
    entries = audit.access_log(get_db(), current_user.actor)
    return render_template("me/access_log.html", entries=entries)
