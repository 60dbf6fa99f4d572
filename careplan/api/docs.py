"""The OpenAPI document, and a page that reads it aloud for people (rendered here, on the
server, from that same document: nothing is fetched from elsewhere)."""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request

from . import bp, openapi

_KEY = "careplan.api.openapi"


def document() -> dict:
    """Built once per app: the routes and schemas do not change while it runs."""
    if _KEY not in current_app.extensions:
        current_app.extensions[_KEY] = openapi.build(current_app)
    return current_app.extensions[_KEY]


@bp.get("/openapi.json")
def openapi_json():
    # The paths start at the app ("/api/v1/..."); where the app is, under a sub-path or at the
    # host's root, is the request's to say (careplan.domain.addresses).
    return jsonify({**document(), "servers": [{"url": request.script_root or "/"}]})


@bp.get("/docs")
def docs():
    spec = document()
    return render_template(
        "api/docs.html",
        spec=spec,
        schemas=spec["components"]["schemas"],
        operations=[
            (path, method, op)
            for path, methods in spec["paths"].items()
            for method, op in methods.items()
        ],
    )
