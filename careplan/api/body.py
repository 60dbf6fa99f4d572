"""Reading what an API request sends: JSON bodies and query strings, through a schema.

A JSON body is held to the same limits as a form: no NUL characters (PostgreSQL refuses them
and no person types them) and no nesting deeper than any content we store.
"""

from __future__ import annotations

import json
import math

from flask import request
from marshmallow import Schema

from ..domain.nested import MAX_DEPTH
from ..web.request_checks import NUL_MESSAGE
from .errors import ApiError

NOT_TEXT = (
    "Something you sent is not text that can be saved (a broken \\u escape), so nothing was saved."
)
TOO_DEEP = "The JSON sent is nested deeper than any record here can be, so nothing was saved."
NOT_UTF8 = "JSON is sent as UTF-8, the only encoding it allows, so nothing was saved."
TOO_LONG_A_NUMBER = (
    "A number sent has thousands of digits, far more than anything here can hold, so nothing "
    "was saved."
)


class _TooLong(ValueError):
    """An integer of more digits than Python reads (4,300): valid JSON, so not called
    invalid, and past every range here, so refused whichever field it is in."""


class _Repeated(ValueError):
    """A name given twice in one JSON object: which one was meant is a guess, and the last
    silently winning is how a change gets lost, so the body is refused."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def _object(pairs: list[tuple[str, object]]) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        raise _Repeated(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return data


def json_body(schema: Schema) -> dict:
    """The request's JSON object, loaded by `schema` (ValidationError: 422)."""
    if not request.mimetype or request.mimetype != "application/json":
        raise ApiError(415)
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ApiError(415, NOT_UTF8)
    try:
        text = request.get_data(cache=False).decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, NOT_UTF8) from None
    try:
        data = json.loads(
            text,
            parse_constant=_no_constants,
            parse_float=_finite,
            parse_int=_integer,
            object_pairs_hook=_object,
        )
    except RecursionError:
        raise ApiError(400, TOO_DEEP) from None
    except _TooLong:
        raise ApiError(400, TOO_LONG_A_NUMBER) from None
    except _Repeated as repeated:
        name = repeated.name[:80]
        raise ApiError(
            400, f"The JSON sent names {name!r} twice in one object, so nothing was saved."
        ) from None
    except ValueError:
        raise ApiError(400, "The body is not valid JSON.") from None
    _refuse_hostile(data)
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    return schema.load(data)


def _no_constants(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _TooLong() from None


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def query(schema: Schema) -> dict:
    """The query string, loaded by `schema`; a name given twice counts as an unknown field."""
    args = request.args
    repeated = [name for name in args if len(args.getlist(name)) > 1]
    if repeated:
        raise ApiError(422, fields={name: ["Give this only once."] for name in repeated})
    return schema.load(args.to_dict())


def _refuse_unsavable(text: str) -> None:
    if "\x00" in text:
        raise ApiError(400, NUL_MESSAGE)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate ("\ud800"): JSON can escape one, UTF-8 cannot hold it, and a
            # form, decoded from UTF-8, never carries one.
            raise ApiError(400, NOT_TEXT) from None


def _refuse_hostile(data) -> None:
    """Walks the parsed JSON without recursion: NUL or a lone surrogate anywhere, or nesting
    beyond MAX_DEPTH."""
    stack = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ApiError(400, TOO_DEEP)
        if isinstance(node, str):
            _refuse_unsavable(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                _refuse_unsavable(key)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
