"""A readable comparison of two versions: what was added, removed or changed, word by word."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

from .blocks import STEP_OWNERS
from .documents import DocumentKind, Field
from .local_time import long_date

# Words keep their trailing space, so "Not started" -> "In progress" reads as one replacement.
_TOKENS = re.compile(r"\S+\s*|\s+")
T = TypeVar("T")


@dataclass(frozen=True)
class Segment:
    op: str  # "same", "added" or "removed"
    text: str


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    status: str  # "added", "removed" or "changed"
    segments: tuple[Segment, ...]
    before: str
    after: str
    part: str = ""  # the section of the document it is in, e.g. "Goals and steps"
    # "newer" or "older": the item (a step, a person listed) is in only that version, told
    # apart from one in both whose words were empty. Its label numbers it as that version
    # does, so "Goal 1, step 3" added is not the older version's step 3.
    only_in: str = ""


def word_diff(before: str, after: str) -> tuple[Segment, ...]:
    """Word-level difference; whitespace is kept so the result reads as the original text."""
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    # Match on the words alone; the text shown keeps the original spacing.
    matcher = difflib.SequenceMatcher(
        None, [t.strip() for t in a], [t.strip() for t in b], autojunk=False
    )
    out: list[Segment] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(Segment("same", "".join(b[j1:j2])))
        else:
            if i2 > i1:
                out.append(Segment("removed", "".join(a[i1:i2])))
            if j2 > j1:
                out.append(Segment("added", "".join(b[j1:j2])))
    return tuple(_merge_adjacent(out))


def _merge_adjacent(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for seg in segments:
        if merged and merged[-1].op == seg.op:
            merged[-1] = Segment(seg.op, merged[-1].text + seg.text)
        else:
            merged.append(seg)
    return merged


def compare(
    kind: DocumentKind, old: dict | None, new: dict, owners: dict[str, str] | None = None
) -> list[Change]:
    """Changes from `old` to `new`, in the order they appear in the newer document. `owners`
    (blocks.owner_words) says who does a step in the reader's words ("You")."""
    before = {f.key: _readable(f, owners) for f in kind.fields(old)} if old else {}
    after = {f.key: _readable(f, owners) for f in kind.fields(new)}
    changes: list[Change] = []
    for key, field in after.items():
        was = before.get(key)
        previous = was.text if was is not None else ""
        if previous == field.text:
            continue
        if not previous:
            # Nothing was written there before: the words are added, not a change of words.
            new_item = was is None and old is not None
            changes.append(_whole(field, "added", "", field.text, "newer" if new_item else ""))
        elif not field.text:
            changes.append(_whole(field, "removed", previous, ""))
        else:
            segments = word_diff(previous, field.text)
            changes.append(
                Change(key, field.label, "changed", segments, previous, field.text, field.part)
            )
    for key, field in before.items():
        if key not in after and field.text:
            changes.append(_whole(field, "removed", field.text, "", "older"))
    return changes


def _whole(field: Field, status: str, before: str, after: str, only_in: str = "") -> Change:
    """A part added or removed whole: all its words are new, or all are gone."""
    text = after or before
    segments = (Segment(status, text),)
    return Change(field.key, field.label, status, segments, before, after, field.part, only_in)


def by_part(changes: Iterable[Change]) -> list[tuple[str, list[Change]]]:
    """Changes grouped by the section they are in, sections in the order first met (the
    document's own order, as `compare` lists them)."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.part, []).append(change)
    return list(groups.items())


def last_changed(
    kind: DocumentKind, versions: Sequence[tuple[int, T, dict]], keys: Iterable[str]
) -> dict[str, tuple[int, T]]:
    """For each part `keys` names, the version that last changed it and who made it.
    `versions`: (number, who made it, content), oldest first, every version from the one
    compared from to the one compared to, none left out: the first is where the comparison
    starts, so its own changes are not counted. A part no version changed is left out."""
    wanted = set(keys)
    found: dict[str, tuple[int, T]] = {}
    if not versions:
        return found
    previous = _texts(kind, versions[0][2], wanted)
    for number, who, content in versions[1:]:
        now = _texts(kind, content, wanted)
        for key in wanted:
            if now.get(key, "") != previous.get(key, ""):
                found[key] = (number, who)
        previous = now
    return found


def _texts(kind: DocumentKind, content: dict, keys: set[str]) -> dict[str, str]:
    return {f.key: f.text for f in kind.fields(content) if f.key in keys}


def _readable(field: Field, owners: dict[str, str] | None) -> Field:
    """A step's date as people write it ("5 January 2020", not "2020-01-05"), and who does it
    in the reader's words; the document's fields keep the record's form for the PDF and the
    exports."""
    if field.key.endswith(":due") and field.text:
        try:
            return replace(field, text=long_date(date.fromisoformat(field.text)))
        except ValueError:
            return field
    if field.key.endswith(":owner") and owners:
        said = {label: owners[key] for key, label in STEP_OWNERS.items() if key in owners}
        return replace(field, text=said.get(field.text, field.text))
    return field
