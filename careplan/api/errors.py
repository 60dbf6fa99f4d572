"""Every error under /api answers in one JSON shape:

    {"error": {"status": 422, "message": "...", "fields": {"name": ["..."]}}}

The web's error handlers are registered on the app, where they also see errors raised before
any view is chosen (an address that matches nothing, a method not allowed, a NUL in the
query). `install` wraps each of them so that, for a request under /api, the JSON answer is
given instead of the page.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, InternalServerError

from ..db.engine import in_brief
from ..domain.errors import ContentInvalid
from ..domain.nested import flatten_errors
from ..services.errors import Conflict, Invalid, NotFound, ReadOnly, Removed
from ..services.throttle import TooManyAttempts
from ..web.trouble import DATABASE_TROUBLE, RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

PREFIX = "/api/"

MESSAGES = {
    400: "The request could not be understood.",
    401: "A valid access token is needed: send it as 'Authorization: Bearer <token>'.",
    403: "Your access token does not allow this.",
    404: "There is nothing here, or nothing you may see.",
    405: "This address does not answer that method.",
    409: "The request conflicts with the record as it is now.",
    413: "The request is too large.",
    415: "Please send a JSON body (Content-Type: application/json).",
    422: "Some values need another look.",
    429: "Too many attempts; please wait before trying again.",
    500: "Something went wrong on our side. Nothing was changed by this request.",
    503: "The service could not reach its records just now. Please try again in a minute.",
}


# An address that matches nothing in the API, told apart from a record one may not see (which
# answers MESSAGES[404], the same whether it exists or not).
NO_SUCH_ADDRESS = "No part of this API has this address. Its addresses are listed at /api/v1/docs."


class ApiError(Exception):
    """Raised by API views for an answer that no service gives (a missing scope, say)."""

    def __init__(self, status: int, message: str = "", fields: dict | None = None, **extra):
        super().__init__(message or MESSAGES.get(status, ""))
        self.status = status
        self.message = message or MESSAGES.get(status, "")
        self.fields = fields or {}
        self.extra = extra
        self.headers: dict[str, str] = {}


def is_api_request() -> bool:
    return request.path.startswith(PREFIX) or request.path == PREFIX.rstrip("/")


def error_response(
    status: int,
    message: str = "",
    fields: dict | None = None,
    headers: dict | None = None,
    **extra,
):
    body = {
        "status": status,
        "message": message or MESSAGES.get(status, "Error."),
        "fields": {k: list(v) for k, v in (fields or {}).items()},
        **extra,
    }
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_messages(errors) -> dict[str, list[str]]:
    """Marshmallow's nested errors, or a ContentInvalid's, as {"field-path": ["message"]}."""
    if isinstance(errors, dict):
        return {k: [v] for k, v in flatten_errors(errors).items()}
    return {"_schema": [str(e) for e in (errors if isinstance(errors, list) else [errors])]}


def to_response(err: BaseException):
    """The JSON answer for any exception raised while serving an API request."""
    if isinstance(err, ApiError):
        return error_response(err.status, err.message, err.fields, err.headers, **err.extra)
    if isinstance(err, ValidationError):
        return error_response(422, fields=field_messages(err.messages))
    if isinstance(err, ContentInvalid):
        return error_response(422, str(err), {k: [v] for k, v in err.errors.items()})
    if isinstance(err, Removed):  # to someone who may read the client's records
        return error_response(404, str(err))
    if isinstance(err, NotFound):
        return error_response(404)
    if isinstance(err, ReadOnly):
        return error_response(403, str(err))
    if isinstance(err, Conflict):
        return error_response(409, str(err))
    if isinstance(err, Invalid):
        return error_response(400, str(err))
    if isinstance(err, TooManyAttempts):
        return error_response(429, str(err), headers={"Retry-After": str(err.retry_after)})
    if isinstance(err, DATABASE_TROUBLE):
        log.warning("API request met database trouble: %s", in_brief(err))
        return error_response(503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(err, HTTPException):
        status = err.code or 500
        headers = {}
        if status == 405 and getattr(err, "valid_methods", None):
            headers["Allow"] = ", ".join(err.valid_methods)
        if status == 404 and request.url_rule is None:
            return error_response(404, NO_SUCH_ADDRESS)
        return error_response(status, MESSAGES.get(status, err.name), headers=headers)
    log.error("API request failed", exc_info=err)
    return error_response(500)


def install(app: Flask) -> None:
    """After the web's handlers are registered: answer API requests in JSON, whatever failed."""
    handlers = app.error_handler_spec.setdefault(None, {})
    for code in list(handlers):
        for cls, handler in list(handlers[code].items()):
            handlers[code][cls] = _json_for_api(handler)
    for cls in (HTTPException, InternalServerError, ValidationError, ApiError):
        if not any(cls in by_class for by_class in handlers.values()):
            app.register_error_handler(cls, _json_for_api(_default))


def _default(err):
    # Outside /api: what Flask would have done without a handler.
    if isinstance(err, HTTPException):
        return err
    raise err


def _json_for_api(handler):
    def handle(err):
        if is_api_request():
            original = getattr(err, "original_exception", None)
            return to_response(original if original is not None else err)
        return handler(err)

    handle.__name__ = getattr(handler, "__name__", "handle")
    return handle
