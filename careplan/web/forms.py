"""Turning posted forms into content, and content into form values."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from ..domain.nested import unflatten

CONTROL_FIELDS = {"csrf_token", "base_number", "change_note", "action", "part"}


def content_from_form(form: MultiDict) -> dict:
    return unflatten((k, v) for k, v in form.items() if k not in CONTROL_FIELDS)


def base_number_from_form(form: MultiDict) -> int | None:
    try:
        return int(form.get("base_number", ""))
    except ValueError:
        return None


def draft_fields(form: MultiDict) -> list[tuple[str, str]]:
    """The content fields of an edit form, in order, as they would be posted again."""
    return [(k, v) for k, v in form.items(multi=True) if k not in CONTROL_FIELDS]
