"""Three-way merge for re-applying someone's changes on top of a newer version.

Lists of items with an "id" merge item by item; everything else merges value by value. Where
both sides changed the same value differently, the re-applied side wins in the proposal and
the clash is reported, so the person sees it before they save: nothing is lost silently.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def merge(base: Any, theirs: Any, mine: Any, path: str = "") -> tuple[Any, list[str]]:
    """Return (merged, clashes). `theirs` is what landed meanwhile, `mine` the change to re-apply."""
    if _eq(mine, base):
        return theirs, []
    if _eq(theirs, base) or _eq(theirs, mine):
        return mine, []
    if isinstance(base, dict) and isinstance(theirs, dict) and isinstance(mine, dict):
        return _merge_dicts(base, theirs, mine, path)
    if _id_list(base) and _id_list(theirs) and _id_list(mine):
        return _merge_id_lists(base, theirs, mine, path)
    return mine, [path or "(whole document)"]


def _eq(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    return a == b


def _id_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and i.get("id") for i in value)


def _join(path: str, key: str) -> str:
    return f"{path}-{key}" if path else str(key)


def _merge_dicts(base: dict, theirs: dict, mine: dict, path: str) -> tuple[dict, list[str]]:
    out: dict = {}
    clashes: list[str] = []
    for key in list(theirs) + [k for k in mine if k not in theirs]:
        value, sub = merge(
            base.get(key, _MISSING),
            theirs.get(key, _MISSING),
            mine.get(key, _MISSING),
            _join(path, key),
        )
        clashes += sub
        if value is not _MISSING:
            out[key] = value
    return out, clashes


def _merge_id_lists(base: list, theirs: list, mine: list, path: str) -> tuple[list, list[str]]:
    b = {i["id"]: i for i in base}
    t = {i["id"]: i for i in theirs}
    m = {i["id"]: i for i in mine}
    order = [i["id"] for i in theirs] + [i["id"] for i in mine if i["id"] not in t]
    out: list = []
    clashes: list[str] = []
    for item_id in order:
        value, sub = merge(
            b.get(item_id, _MISSING),
            t.get(item_id, _MISSING),
            m.get(item_id, _MISSING),
            _join(path, item_id),
        )
        clashes += sub
        if value is not _MISSING:
            out.append(value)
    return out, clashes
