from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..db.models import utcnow
from ..domain.name_search import name_matches, search_words
from ..domain.roles import Role
from ..extensions import get_db, get_time_zone
from ..services import attention, caseloads, handovers

bp = Blueprint("home", __name__)

# A list longer than this gets a box to find someone by name: a phone shows about ten rows.
FIND_FROM = 10


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
    everyone = caseloads.people_for(get_db(), actor)
    typed = search_words(request.args.get("q"))
    return render_template(
        "home/people.html",
        rows=[row for row in everyone if name_matches(typed, *row.names)],
        everyone=len(everyone),
        typed=typed,
        find=typed or len(everyone) > FIND_FROM,
        handovers=handovers.pending_for_supervisor(get_db(), actor),
        alerts=home.alerts,
        needs=home.items,
    )
