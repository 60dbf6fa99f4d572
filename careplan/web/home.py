from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..db.models import utcnow
from ..domain.roles import Role
from ..extensions import get_db, get_time_zone
from ..services import attention, caseloads, handovers

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index():
    actor = current_user.actor
    if actor.role is Role.CLIENT:
        return redirect(url_for("clients.records", client_id=actor.id))
    if actor.role is Role.ADMIN:
        return redirect(url_for("admin.users"))
    home = attention.home(
        get_db(), actor, utcnow(), current_user.unread_notifications, get_time_zone()
    )
    return render_template(
        "home/people.html",
        rows=caseloads.people_for(get_db(), actor),
        handovers=handovers.pending_for_supervisor(get_db(), actor),
        alerts=home.alerts,
        needs=home.items,
    )
