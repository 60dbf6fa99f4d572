"""The JSON API under /api/v1: bearer tokens (careplan.api.auth), marshmallow schemas
(careplan.api.schemas), one error shape (careplan.api.errors) and an OpenAPI description
generated from the code (careplan.api.openapi)."""

from __future__ import annotations

from flask import Blueprint, Flask

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import docs, views  # noqa: E402, F401 - views register themselves on bp


def register(app: Flask) -> None:
    # No cookies are read under /api, so there is no session to forge requests with.
    csrf.exempt(bp)
    app.register_blueprint(bp)
