"""Bearer tokens: who an API request comes from, and whether their token allows it.

No cookie is read or set under /api and no session is made, so a browser's sign-in can never
be borrowed by a page on another site (which is why the API needs no CSRF token), and the
web's idle sign-out has nothing to sign out.
"""

from __future__ import annotations

from functools import wraps

from flask import g, request

from ..domain.api_tokens import scopes_for
from ..domain.roles import Role
from ..extensions import get_db
from ..services import api_tokens
from ..services.actor import Actor
from .errors import ApiError

BEARER = "bearer "


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[: len(BEARER)].lower() != BEARER:
        return None
    return header[len(BEARER) :].strip() or None


def requires(scope: str):
    """The view runs for a caller whose token is valid and has `scope`; 401 or 403 otherwise."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            try:
                caller = api_tokens.authenticate(
                    get_db(), _bearer_token(), request.remote_addr or ""
                )
            except api_tokens.TokenRefused as refused:
                err = ApiError(401, refused.message)
                err.headers["WWW-Authenticate"] = 'Bearer realm="careplan"'
                raise err from None
            if scope not in caller.scopes:
                err = ApiError(403, _needs(scope, caller.actor.role))
                err.headers["WWW-Authenticate"] = (
                    f'Bearer realm="careplan", error="insufficient_scope", scope="{scope}"'
                )
                raise err
            g.api_caller = caller
            return view(*args, **kwargs)

        guarded.required_scope = scope
        return guarded

    return decorate


def _needs(scope: str, role: Role) -> str:
    """Why a token may not do this: a scope it was not given, or one its owner's role is
    never given ("make a token with 'write'" would send a supervisor in circles)."""
    if scope in scopes_for(role):
        return f"This needs a token with the '{scope}' scope."
    return f"This needs the '{scope}' scope, which a {role.label.lower()}'s token cannot have."


def actor() -> Actor:
    return g.api_caller.actor
