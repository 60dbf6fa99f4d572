from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..domain.roles import Role
from ..extensions import get_db, get_library
from ..services import accounts
from ..services.errors import NotFound

bp = Blueprint("admin", __name__)


@bp.get("/admin/users")
@login_required
def users():
    return render_template(
        "admin/users.html", users=accounts.list_users(get_db(), current_user.actor)
    )


@bp.get("/admin/templates")
@login_required
def templates():
    if current_user.actor.role is not Role.ADMIN:
        raise NotFound()
    library = get_library()
    return render_template(
        "admin/templates.html",
        templates=library.templates.values(),
        errors=library.errors,
        terms=len(library.terms),
    )
