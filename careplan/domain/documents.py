"""The engine shared by every kind of document: validation, attribution and readable fields.

A document kind (care plan, partnership agreement) describes its content; everything else,
versions, comparison, attribution and conflict handling, works on any kind through this
interface. Who wrote what is in `attribution`; items someone took out, in `taken_out`.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError

from .attribution import (
    ATTRIBUTION_KEYS,
    Author,
    credit,
    own_fields,
    replaced_words,
    strip_attribution,
)
from .errors import ContentInvalid
from .nested import flatten_errors, in_order_of
from .plan_dates import PassedUntil, unlikely_dates
from .taken_out import TakenOutItems
from .typed_numbers import name_the_answers, reading

# The most writing one version may hold, in characters: several times a very full real plan,
# and small enough that the signed PDF of any version that can be agreed is made well within
# the renderer's limits (tests/pdf/test_largest_version.py renders the largest one).
MAX_TEXT = 60_000
# The form name the message about too much writing is given under (not one field's).
ALL_CONTENT = "content"
NOTHING_FILLED_IN = (
    "Nothing is filled in yet, so there is nothing to save as a version. Please write in at "
    "least one part first."
)


@dataclass(frozen=True)
class Field:
    """One readable piece of a document: what the comparison and the PDF show."""

    key: str  # stable across versions, e.g. "step:3f2a:due"
    label: str  # for people, e.g. 'Goal "Find a flat", step 2: due date'
    text: str
    part: str = ""  # the section it is in, by its title: "Goals and steps"


def new_id() -> str:
    return uuid.uuid4().hex[:12]


# At most this many parts of a section are named on the sign form; beyond, "and 3 more".
MAX_PARTS_NAMED = 3
# Words quoted to name a part are cut to about this many characters, at a word.
QUOTED_CHARACTERS = 40


def quoted(words: object) -> str:
    """A part's main words in quotes, short enough for a phone ("“Ring the council…”")."""
    text = " ".join(str(words or "").split())
    if len(text) > QUOTED_CHARACTERS:
        cut = text[:QUOTED_CHARACTERS].rsplit(" ", 1)[0] or text[:QUOTED_CHARACTERS]
        text = cut.rstrip(" ,;:.") + "…"
    return f"“{text}”"


class DocumentKind(TakenOutItems):
    """Base for the kinds of document. Subclasses set the class attributes and hooks."""

    name: str = ""
    label: str = ""
    schema: type[Schema]
    # Top-level keys holding settings (numbers the form fills in), not anyone's words: a first
    # version with only these changed has nothing written in it.
    settings_keys: tuple[str, ...] = ()

    # --- hooks for subclasses -------------------------------------------------------------
    def empty_content(self) -> dict:
        raise NotImplementedError

    def drop_blank_rows(self, raw: dict) -> dict:
        """Remove unfilled spare rows that a form offers for adding items."""
        return raw

    def attributable(self, content: dict) -> Iterator[tuple[str, dict]]:
        """Yield (stable key, node) for every part that records who wrote and changed it."""
        raise NotImplementedError

    def fields(self, content: dict) -> list[Field]:
        raise NotImplementedError

    def item_lists(self, content: dict) -> Iterator[tuple[str, str, list]]:
        """(section key, what one item is called, the items) for each list of attributable
        items in the content (a goal's steps are read from the goal): what someone can take
        out, and is kept when they take out another person's (`_removals`)."""
        return iter(())

    def left_blank_on_purpose(self, agreed: dict, draft: dict) -> frozenset[str]:
        """The keys of a draft's fields standing where the agreed version had a part both
        signers left blank on purpose. Only agreements ask for that confirmation."""
        return frozenset()

    def ensure_ids(self, content: dict, make_id: Callable[[], str]) -> None:
        """Give new list items an id so that later versions can be matched to them."""

    def dates(self, content: dict) -> Iterator[tuple[str, str]]:
        """(form name, ISO date) of each date in the content that is one of its plans (a
        step's date, a decision's end), for `check_dates`."""
        return iter(())

    def handed_over_until_passed(self, content: dict, today: date) -> list[PassedUntil]:
        """Decisions in `content` handed over until a day before `today` (only agreements
        hand decisions over): nobody signs a version holding one (plan_dates.passed_until)."""
        return []

    def earliest_handed_over_until(self, content: dict) -> date | None:
        """The earliest day a decision in `content` is handed over until, None if none is
        (plan_dates.earliest_until): what documents keep of their latest version."""
        return None

    def sections(self) -> list[tuple[str, str]]:
        """(key, title) of the parts people can comment on."""
        raise NotImplementedError

    def review_interval_weeks(self, content: dict) -> int:
        raise NotImplementedError

    def part_path(self, key: str) -> tuple[str, ...]:
        """Where a section's values sit in the content (see `with_part`)."""
        return (key,)

    def form_words(self) -> dict[str, str]:
        """Words for the parts of the edit form, by dotted path (careplan.domain.form_places):
        each section's title; kinds add their own. The whole document's message needs none."""
        words = {".".join(self.part_path(key)): title for key, title in self.sections()}
        return {ALL_CONTENT: "", **words}

    # --- shared behaviour -----------------------------------------------------------------
    @cached_property
    def _loader(self) -> Schema:
        """One schema instance per kind, reused (marshmallow's instances may be): making one
        builds every nested schema's fields, which took longer than loading a whole plan."""
        return self.schema()

    def validate(
        self, raw: dict, make_id: Callable[[], str] = new_id, *, from_form: bool = False
    ) -> dict:
        """Return clean content or raise ContentInvalid with one message per form field.
        `from_form`: typed into a web form, where every answer is text and "12" is a number;
        otherwise (JSON, or the app's own) a number must be an integer (typed_numbers)."""
        raw = strip_attribution(raw)
        raw = self.drop_blank_rows(raw)
        try:
            with reading(from_form):
                content = self._loader.load(raw)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
            raise ContentInvalid(name_the_answers(errors, self.form_words)) from err
        size = text_size(content)
        if size > MAX_TEXT:
            raise ContentInvalid(
                {
                    ALL_CONTENT: f"Altogether this is {size:,} characters of writing, and one "
                    f"version can hold up to {MAX_TEXT:,}. Please shorten some parts."
                }
            )
        self.ensure_ids(content, make_id)
        return content

    def check_dates(self, before: dict | None, content: dict, today: date) -> None:
        """Refuse (ContentInvalid, beside each box) a date new or changed since `before`, the
        version the save is based on, that is too far ahead or before 1900
        (plan_dates.unlikely_dates). Dates already there stay, so an old version can be saved
        again as it is."""
        if problems := self._date_problems(before, content, today):
            raise ContentInvalid(problems)

    def _date_problems(self, before: dict | None, content: dict, today: date) -> dict[str, str]:
        already = {iso for _, iso in self.dates(before)} if before else set()
        return unlikely_dates(self.dates(content), already, today)

    def check_save(
        self,
        before: dict | None,
        raw: dict,
        today: date,
        make_id: Callable[[], str] = new_id,
        *,
        from_form: bool = False,
    ) -> dict:
        """What a save of `raw` on `before` (the version it is based on; None for the first)
        would hold: `validate` and `check_dates` together. Refused, the ContentInvalid names
        every problem at once, in the order of the answers: an unlikely date is said beside
        the other answers to look at again, not only once they are right. A first version
        with nothing filled in is refused: saved, it would ask the other person to sign an
        empty form, and the document could no longer be removed as only started."""
        try:
            content = self.validate(raw, make_id, from_form=from_form)
        except ContentInvalid as refused:
            # The dates as typed, where the schema would have read them (`validate`'s steps).
            typed = self.drop_blank_rows(strip_attribution(raw))
            if dates := self._date_problems(before, typed, today):
                both = {**dates, **refused.errors}  # the schema's word on a box comes first
                raise ContentInvalid(in_order_of(both, typed)) from refused
            raise
        self.check_dates(before, content, today)
        if before is None and self._written(content) == self._written(
            self.validate(self.empty_content(), make_id)
        ):
            raise ContentInvalid({ALL_CONTENT: NOTHING_FILLED_IN})
        return content

    def _written(self, content: dict) -> dict:
        return {k: v for k, v in content.items() if k not in self.settings_keys}

    def with_part(self, base: dict, raw: dict, key: str) -> dict:
        """The base content with one section replaced by what was submitted for it: editing one
        section at a time (on a phone, say) leaves every other section exactly as it was."""
        if key not in dict(self.sections()):
            raise ContentInvalid({"part": "That part of the document does not exist."})
        *parents, last = self.part_path(key)
        merged = copy.deepcopy(strip_attribution(base))
        into, source = merged, raw
        for name in parents:
            into = into.setdefault(name, {})
            source = source.get(name) if isinstance(source, dict) else None
        if isinstance(source, dict) and last in source:
            into[last] = source[last]
        else:  # nothing left in that section: every box was emptied
            into.pop(last, None)
        return merged

    def require_exact(self, raw: dict, part: str = "") -> None:
        """A program's submission says what it means: with `part`, that part and nothing
        else; without, every part (an emptied one sent empty). A form leaves out what was
        emptied; a program that leaves something out, or misspells it, would empty it."""
        if part:
            if part not in dict(self.sections()):
                raise ContentInvalid({"part": "That part of the document does not exist."})
            path = self.part_path(part)
            node = raw
            for name in path:
                if not isinstance(node, dict) or set(node) != {name}:
                    shape = "".join(f'{{"{n}": ' for n in path) + "…" + "}" * len(path)
                    raise ContentInvalid(
                        {ALL_CONTENT: f"With a part, send that part alone: {shape}"}
                    )
                node = node[name]
            return
        missing = [name for name in self._loader.fields if name not in raw]
        for key, _ in self.sections():
            path, node = self.part_path(key), raw
            for name in path:
                node = node.get(name) if isinstance(node, dict) else None
            if node is None and path[0] not in missing:
                missing.append(".".join(path))
        if missing:
            raise ContentInvalid(
                {
                    ALL_CONTENT: f"Missing: {', '.join(missing)}. Send the whole content (as "
                    "reading the version gives it), or one part with `part`."
                }
            )

    def changed_by_others(
        self, content: dict, person_id: int, called: Callable[[dict], str] | None = None
    ) -> list[tuple[str, list[str]]]:
        """The sections where words `person_id` wrote were last changed by someone else, with
        those people's names (`called` names each from their attribution; else the name kept
        there): what a signer should read again before signing."""
        return [
            (title, names)
            for title, names, _ in self.parts_changed_by_others(content, person_id, called)
        ]

    def parts_changed_by_others(
        self, content: dict, person_id: int, called: Callable[[dict], str] | None = None
    ) -> list[tuple[str, list[str], list[str]]]:
        """`changed_by_others`, with the parts of each section so changed named as its page
        names them (`part_name`: a life domain, a goal by its title and its steps with it, a
        field by its question, an item by its main words), at most `MAX_PARTS_NAMED` and then
        "and 3 more"; none when the section is one part alone."""
        out = []
        for key, title in self.sections():
            only = self.part_alone(content, key)
            if only is None:
                continue
            names: set[str] = set()
            changed: list[tuple[str, dict, dict | None]] = []  # key, node, a step's goal
            goal = None
            for where, node in self.attributable(only):
                if where.startswith("goal:"):
                    goal = node
                if (node.get("changed_by") or {}).get("id") not in (None, person_id) and (
                    (node.get("written_by") or {}).get("id") == person_id
                    or any(by.get("id") == person_id for by, _ in replaced_words(node))
                ):
                    names.add(
                        called(node["changed_by"]) if called else node["changed_by"].get("name", "")
                    )
                    changed.append((where, node, goal if where.startswith("step:") else None))
            if names:
                out.append((title, sorted(names), self._parts_named(changed)))
        return out

    def part_name(self, key: str, node: dict) -> str:
        """What a part of a section (`key` and `node` as `attributable` gives them) is called
        within it, in few words; "" when it is the section itself. Goals and steps are named
        by `_parts_named`."""
        return ""

    def _parts_named(self, changed: list[tuple[str, dict, dict | None]]) -> list[str]:
        """The names of the parts `changed` ((key, node, a step's goal) in page order): each
        goal once, with those of its steps changed ("goal “Move”, and a step of it (“Ring
        the council”)"; "a step of goal “Move” (“Ring the council”)")."""
        names: list[str] = []
        goals: dict[str, tuple[dict, bool, list[str]]] = {}  # id: goal, itself changed, steps
        for key, node, goal in changed:
            if key.startswith(("goal:", "step:")):
                holder = node if goal is None else goal
                gid = str(holder.get("id"))
                if gid not in goals:
                    goals[gid] = (holder, False, [])
                    names.append(f"goal:{gid}")
                if goal is None:
                    goals[gid] = (holder, True, goals[gid][2])
                else:
                    goals[gid][2].append(quoted(node.get("text")))
            elif name := self.part_name(key, node):
                names.append(name)
        said = []
        for name in names:
            if not name.startswith("goal:"):
                said.append(name)
                continue
            holder, itself, steps = goals[name[len("goal:") :]]
            title = quoted(holder.get("title"))
            some = "a step" if len(steps) == 1 else f"{len(steps)} steps"
            if itself and steps:
                said.append(f"goal {title}, and {some} of it ({', '.join(steps)})")
            elif steps:
                said.append(f"{some} of goal {title} ({', '.join(steps)})")
            else:
                said.append(f"goal {title}")
        if len(said) > MAX_PARTS_NAMED:
            said = [*said[:MAX_PARTS_NAMED], f"and {len(said) - MAX_PARTS_NAMED} more"]
        return said

    def _part(self, content: dict, key: str) -> Any:
        value: Any = content
        for name in self.part_path(key):
            value = value.get(name) if isinstance(value, dict) else None
        return value

    def saved_all_of(self, base: dict | None, draft: dict, saved: dict) -> bool:
        """Whether a save of `saved` holds every change `draft` (unsaved writing on `base`,
        the version it was typed on) made: each part the draft changed reads in `saved` as in
        the draft, word for word. Who wrote what and the ids new items are given are not
        words; a draft that changed nothing holds nothing to lose."""
        base = base if base is not None else self.empty_content()
        draft, base, saved = (_words(c) for c in (draft, base, saved))
        keys = [key for key, _ in self.sections()]
        for key in keys:
            mine = self._part(draft, key)
            if mine != self._part(base, key) and mine != self._part(saved, key):
                return False
        # Whatever is in no part (a plan's review interval): as one more part.
        rest = [self._without_parts(c, keys) for c in (draft, base, saved)]
        return rest[0] in (rest[1], rest[2])

    def changes_nothing(self, base: dict | None, raw: dict, part: str = "") -> bool:
        """Whether `raw`, a form's answers as typed on `base` (the version they were typed on;
        None before the first), changes nothing: a draft of it would keep no words. Answers
        that cannot be read as they stand (a date typed wrongly) are a change."""
        start = base if base is not None else self.validate(self.empty_content())
        try:
            if part:
                raw = self.with_part(start, raw, part)
            typed = self.validate(raw, from_form=True)
        except ContentInvalid:
            return False
        return self.saved_all_of(start, typed, start)

    def _without_parts(self, content: dict, keys: list[str]) -> dict:
        content = copy.deepcopy(content)
        for key in keys:
            *parents, last = self.part_path(key)
            node: Any = content
            for name in parents:
                node = node.get(name) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(last, None)
        return content

    def part_alone(self, content: dict, key: str) -> dict | None:
        """`content` with the part `key` alone (None when it has no such part), for
        `attributable` to read that part's stamps only."""
        value = self._part(content, key)
        if value is None:
            return None
        for name in reversed(self.part_path(key)):
            value = {name: value}
        return value

    def attribute(self, previous: dict | None, content: dict, author: Author) -> dict:
        """Stamp who wrote each part and who last changed it.

        Attribution is derived from the previous version, never taken from the submission, so
        nobody can claim another person's words or disown their own.
        """
        before = dict(self.attributable(previous)) if previous else {}
        back = self._put_back(previous, content) if previous else {}
        for key, node in self.attributable(content):
            old = before.get(key)
            if old is None and key in back:
                old = back[key]  # taken out, and back: credited as it was
            credit(old, node, author)
        self._removals(previous, content, author)
        return content

    def unstamped(self, content: dict) -> set[str]:
        """The keys (as `attributable` gives them) of the parts of `content` that do not say
        who wrote them: saved before that kind of part recorded it (every care team member
        of a version saved then), or by nobody known (`credited_from_history`)."""
        return {
            key
            for key, node in self.attributable(content)
            if not isinstance(node.get("written_by"), dict)
        }

    def credited_from_history(self, previous: dict, history: Sequence[tuple[dict, Author]]) -> dict:
        """A copy of `previous` in which each part that does not say who wrote it
        (`unstamped`) says so as if `attribute` had credited it at every save, read from
        `history`: the contents of the versions up to `previous` and including it, oldest
        first, each with who saved it. Whoever saved the earliest version with the part (a
        list item by its id) wrote it; whoever saved the latest change to its own words
        changed it last, and the words that change replaced are kept. A part the history
        does not show as `previous` has it credits nobody (None), so the save credits it to
        nobody rather than to whoever saves. What a save reads the version it is based on
        as; the stored version is never changed."""
        missing = self.unstamped(previous)
        if not missing:
            return previous
        seen: dict[str, dict] = {}  # key: the part as the latest version so far had it
        for content, author in history:
            for key, node in self.attributable(content):
                if key in missing:
                    part = copy.deepcopy(own_fields(node))
                    credit(seen.get(key), part, author)
                    seen[key] = part
        credited = copy.deepcopy(previous)
        for key, node in self.attributable(credited):
            if key not in missing:
                continue
            found = seen.get(key)
            if found is not None and own_fields(found) == own_fields(node):
                node.update((name, found[name]) for name in ATTRIBUTION_KEYS if name in found)
            else:  # the history cannot tell: nobody, but whoever it says changed it stays
                node["written_by"] = None
                node.setdefault("changed_by", None)
        return credited


def _words(value: Any) -> Any:
    """Content as people wrote it: without who wrote what, nor the ids items are given."""
    if isinstance(value, dict):
        return {k: _words(v) for k, v in value.items() if k not in ATTRIBUTION_KEYS and k != "id"}
    if isinstance(value, list):
        return [_words(v) for v in value]
    return value


def text_size(value: Any) -> int:
    """Characters of writing in content (every text, not the ids that match items up)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(text_size(v) for k, v in value.items() if k != "id")
    if isinstance(value, list):
        return sum(text_size(v) for v in value)
    return 0
