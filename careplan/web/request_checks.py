"""Checks every request passes before a view sees it: ids in addresses, and NUL characters;
and the choice a form's button sent, checked by the view that reads it.

Both stop input that no page of ours produces from reaching the database, where it would fail
(an id beyond the INTEGER range, a NUL in PostgreSQL text) with a server error instead of a
plain answer.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request
from werkzeug.routing import IntegerConverter, ValidationError

from ..domain.numbers import whole_number_or_none
from ..services.errors import Invalid


class WholeNumberConverter(IntegerConverter):
    """`<int:...>` in every URL rule: ASCII digits within the database's integer range.
    Anything else matches no rule, so it answers 404 like an id nobody has."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = whole_number_or_none(value)
        if number is None:
            raise ValidationError()
        return number


NUL_MESSAGE = (
    "Something you sent contained an invisible control character (NUL) that cannot be "
    "saved, so nothing was saved. Please retype what you wrote, without pasting it from "
    "elsewhere, and try again."
)


def refuse_nul_characters():
    """No text we keep may contain NUL (PostgreSQL refuses it, and no person types it)."""
    if "\x00" in request.path:
        abort(404)
    for values in (request.args, request.form):
        for name, value in values.items(multi=True):
            if "\x00" in name or "\x00" in value:
                # Raised, not answered here, so the API answers in its own shape.
                raise Invalid(NUL_MESSAGE)
    return None


def chosen(name: str, *choices: str) -> str:
    """The value a form's button or switch sent, one of `choices`; anything else (missing,
    misspelt, forged) answers 400 and changes nothing, rather than being taken for one of
    them: a switch whose "no" closes an account must not close it when it says nothing."""
    value = request.form.get(name, "")
    if value not in choices:
        abort(400)
    return value


# A body refused as too large is read and thrown away up to this much, so the sender reads the
# answer; beyond it the connection is closed unread (a phone's browser then shows its own error).
DRAINED_AT_MOST = 16 * 1024 * 1024


def read_what_was_refused(response: Response) -> Response:
    """Reads the rest of a body refused as too large (413) before answering. Closed with
    unread bytes, the connection is reset, and a sender still sending (a browser posting a
    form) gets "connection reset" instead of the page saying what happened."""
    if response.status_code == 413:
        stream = request.environ.get("wsgi.input")
        left = request.content_length
        if stream is not None and left is not None and left <= DRAINED_AT_MOST:
            while left > 0 and (chunk := stream.read(min(left, 64 * 1024))):
                left -= len(chunk)
    return response


def install(app: Flask) -> None:
    """Before any blueprint is registered: the converter applies to rules as they are added."""
    app.url_map.converters["int"] = WholeNumberConverter
    app.before_request(refuse_nul_characters)
    app.after_request(read_what_was_refused)
