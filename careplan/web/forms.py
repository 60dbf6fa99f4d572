"""Turning posted forms into content, and content into form values."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from ..domain.nested import unflatten
from ..domain.numbers import whole_number_or_none

CONTROL_FIELDS = {"csrf_token", "base_number", "change_note", "action"}


def content_from_form(form: MultiDict) -> dict:
    return unflatten((k, v) for k, v in form.items() if k not in CONTROL_FIELDS)


def base_number_from_form(form: MultiDict) -> int | None:
    return whole_number_or_none(form.get("base_number", ""))
