"""The OpenAPI 3 document, generated from the API's routes, their `@operation` descriptions
and the marshmallow schemas (apispec and its marshmallow plugin)."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from ..domain.api_tokens import SCOPES
from . import schemas
from .errors import MESSAGES

TITLE = "careplan API"
VERSION = "1.0.0"
_ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


def _path(rule: str) -> str:
    return _ARGUMENT.sub(lambda m: "{" + m.group(2) + "}", rule)


def _schema_name(resolver_schema) -> str:
    cls = resolver_schema if isinstance(resolver_schema, type) else type(resolver_schema)
    return cls.__name__


def build(app: Flask) -> dict:
    spec = APISpec(
        title=TITLE,
        version=VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={
            "description": "Care plans and partnership agreements, their versions, "
            "signatures, comments and review dates: the same records, rules and audit "
            "as the web pages. Authenticate with a personal access token, made under "
            "'My account', sent as 'Authorization: Bearer <token>'."
        },
    )
    spec.components.security_scheme(
        "token",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "Scopes: "
            + "; ".join(f"{name}: {text}" for name, text in SCOPES.items()),
        },
    )
    spec.components.schema("ErrorBody", schema=schemas.ErrorBody)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        described = getattr(view, "api_operation", None)
        if described is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(_path(rule.rule), {})[method.lower()] = _operation(
                rule, view, described
            )
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


# What an error's description adds to its message, where the message can differ.
_MORE = {
    401: " If the token was real but revoked or has expired, the message says which, and on "
    "what day; an unknown token is told nothing more.",
}


def _error(status: int) -> dict:
    return {
        "description": MESSAGES.get(status, "Error") + _MORE.get(status, ""),
        "content": {"application/json": {"schema": "ErrorBody"}},
    }


def _operation(rule, view, described) -> dict:
    scope = getattr(view, "required_scope", None)
    parameters = [
        {
            "in": "path",
            "name": name,
            "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        }
        for name in sorted(rule.arguments)
    ]
    if described.query is not None:
        parameters.append({"in": "query", "schema": described.query})
    success: dict = {"description": described.summary}
    if described.response is not None:
        success["content"] = {described.media_type: {"schema": described.response}}
    responses = {str(described.status): success}
    for status, meaning in described.also.items():
        responses[str(status)] = {**success, "description": meaning}
    statuses = set(described.errors) | {400, 405, 413, 500}
    if scope:
        statuses |= {401, 403, 429}
    if described.query is not None or described.body is not None:
        statuses.add(422)
    if described.body is not None:
        statuses.add(415)
    for status in sorted(statuses):
        responses[str(status)] = _error(status)
    op = {
        "operationId": rule.endpoint.removeprefix("api."),
        "summary": described.summary,
        "responses": responses,
    }
    description = described.description
    if scope:
        description = f"Needs the '{scope}' scope. {description}".strip()
        op["security"] = [{"token": []}]
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if described.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": described.body}},
        }
    return op
