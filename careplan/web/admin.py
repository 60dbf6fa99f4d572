from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..extensions import get_db
from ..services import accounts

bp = Blueprint("admin", __name__)


@bp.get("/admin/users")
@login_required
def users():
    return render_template(
        "admin/users.html", users=accounts.list_users(get_db(), current_user.actor)
    )
