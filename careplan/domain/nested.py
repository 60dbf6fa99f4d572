"""Flat form names <-> nested content.

A form field called ``goals-0-steps-1-due`` is the value at content["goals"][0]["steps"][1]["due"].
The same dash-joined path names validation errors, so each message lands beside its field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ContentInvalid
from .numbers import is_whole_number

SEP = "-"
# The deepest name the forms use is six parts (sections-goals-0-steps-1-due). A name far
# deeper than that was not made by our pages, and building it would only cost time and stack.
MAX_DEPTH = 12


def unflatten(pairs: Iterable[tuple[str, str]]) -> dict:
    """Build nested dicts from dash-separated names; numeric parts become list positions."""
    root: dict = {}
    for name, value in pairs:
        parts = name.split(SEP, MAX_DEPTH)
        if len(parts) > MAX_DEPTH:
            raise ContentInvalid(
                {name[:80]: "This form had a field that is not one of ours. Nothing was saved."}
            )
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return _lists_from_numeric_keys(root)


def from_fields(fields: Iterable[tuple[str, str]]) -> dict:
    """Content from a form's fields in the order it posts them, as a form is read: the first
    value of a name given twice (a page's or a kept draft's, alike)."""
    first: dict[str, str] = {}
    for name, value in fields:
        first.setdefault(name, value)
    return unflatten(first.items())


def _lists_from_numeric_keys(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists_from_numeric_keys(v) for k, v in node.items()}
    if converted and all(is_whole_number(k) for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def flatten_errors(errors: Mapping, prefix: str = "") -> dict[str, str]:
    """Marshmallow's nested error dict -> {"goals-0-title": "message"} (first message per field)."""
    flat: dict[str, str] = {}
    for key, value in errors.items():
        name = f"{prefix}{SEP}{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_errors(value, name))
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            for item in value:
                flat.update(flatten_errors(item, name))
        elif isinstance(value, list):
            flat[name] = str(value[0]) if value else ""
        else:
            flat[name] = str(value)
    return flat


def in_order_of(errors: Mapping[str, str], raw: Any) -> dict[str, str]:
    """`errors` by form name in the order their answers come in `raw` (as a form sends them:
    its boxes' order), so a summary reads down the page. An answer left out is placed where
    the nearest part holding it is; a name nowhere in `raw` (the whole content's) comes
    after every answer. Names at one place keep their order in `errors`."""
    order: dict[str, int] = {}
    for n, name in enumerate(_names(raw)):
        parts = name.split(SEP)
        for end in range(1, len(parts) + 1):  # a list or part is where its first answer is
            order.setdefault(SEP.join(parts[:end]), n)

    def place(name: str) -> int:
        parts = name.split(SEP)
        for end in range(len(parts), 0, -1):
            if (found := order.get(SEP.join(parts[:end]))) is not None:
                return found
        return len(order)

    ranked = sorted(enumerate(errors), key=lambda item: (place(item[1]), item[0]))
    return {name: errors[name] for _, name in ranked}


def _names(node: Any, prefix: str = "") -> Iterable[str]:
    """The form name of each answer in nested content, in order."""
    if isinstance(node, Mapping):
        items: Iterable = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        yield prefix
        return
    for key, value in items:
        yield from _names(value, f"{prefix}{SEP}{key}" if prefix else str(key))


def leaf_texts(node: Any) -> set[str]:
    """Every value in nested content as a form would show it (text as typed, numbers as
    digits, true and false as "yes" and "no"): what a form posted back unchanged holds."""
    if isinstance(node, Mapping):
        return {text for value in node.values() for text in leaf_texts(value)}
    if isinstance(node, list):
        return {text for value in node for text in leaf_texts(value)}
    if isinstance(node, bool):
        return {"yes" if node else "no"}
    return set() if node is None else {str(node).strip()}
