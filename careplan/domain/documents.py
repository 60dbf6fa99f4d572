"""The engine shared by every kind of document: validation, attribution and readable fields.

A document kind (care plan, partnership agreement) describes its content; everything else,
versions, comparison, attribution and conflict handling, works on any kind through this
interface.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from marshmallow import Schema, ValidationError

from .errors import ContentInvalid, DomainError
from .form_places import ANSWERS
from .local_time import long_date
from .nested import flatten_errors, in_order_of
from .plan_dates import unlikely_dates
from .typed_numbers import name_the_answers, reading

# Who wrote a part, who last changed it, and, while someone else's change to it stands, the
# writer's own words it replaced (`writers_words`): a change to another person's words is a
# proposal they can read against what they wrote, never a silent rewrite. The same for the
# words of someone who changed a part they did not write, once another person saves over
# them (`changers_words`: [{"by": who, "words": theirs}], one for each such person).
# A list item (a goal, a step, a person, a decision) someone took out that another person wrote
# or last changed is kept too (`removed_items`, see `_removals`), for whoever it was taken
# from to read before they sign: on the goal a step was taken out of, and on the content
# itself for an item of a section's own list.
REMOVED = "removed_items"
ATTRIBUTION_KEYS = ("written_by", "changed_by", "writers_words", "changers_words", REMOVED)
# The most writing one version may hold, in characters: several times a very full real plan,
# and small enough that the signed PDF of any version that can be agreed is made well within
# the renderer's limits (tests/pdf/test_largest_version.py renders the largest one).
MAX_TEXT = 60_000
# The form name the message about too much writing is given under (not one field's).
ALL_CONTENT = "content"


@dataclass(frozen=True)
class Author:
    id: int
    name: str
    role: str

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role}


@dataclass(frozen=True)
class Field:
    """One readable piece of a document: what the comparison and the PDF show."""

    key: str  # stable across versions, e.g. "step:3f2a:due"
    label: str  # for people, e.g. 'Goal "Find a flat", step 2: due date'
    text: str
    part: str = ""  # the section it is in, by its title: "Goals and steps"


def new_id() -> str:
    return uuid.uuid4().hex[:12]


class DocumentKind:
    """Base for the kinds of document. Subclasses set the class attributes and hooks."""

    name: str = ""
    label: str = ""
    schema: type[Schema]

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
        the other answers to look at again, not only once they are right."""
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
        return content

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
        out = []
        for key, title in self.sections():
            path, value = self.part_path(key), content
            for name in path:
                value = value.get(name) if isinstance(value, dict) else None
            if value is None:
                continue
            only = value  # the content with this section alone, for `attributable`
            for name in reversed(path):
                only = {name: only}
            names = {
                called(node["changed_by"]) if called else node["changed_by"].get("name", "")
                for _, node in self.attributable(only)
                if (node.get("changed_by") or {}).get("id") not in (None, person_id)
                and (
                    (node.get("written_by") or {}).get("id") == person_id
                    or any(by.get("id") == person_id for by, _ in replaced_words(node))
                )
            }
            if names:
                out.append((title, sorted(names)))
        return out

    def taken_out_from(
        self, content: dict, person_id: int, called: Callable[[dict], str] | None = None
    ) -> list[tuple[str, list[str]]]:
        """The sections where someone else took out an item `person_id` wrote or last changed,
        each with one line for each person who took some out, naming them once and the items
        in the order the page shows them ("Kim took out a step and a goal you wrote"), while
        they are kept (`_removals`): what a signer should know before signing. `called` as
        `changed_by_others`."""
        said: dict[str, dict[str, list[tuple[str, str]]]] = {}  # section: name: items
        for record in self._records_in_page_order(content):
            if not any(p.get("id") == person_id for p in record.get("tell", [])):
                continue
            remover = record.get("removed_by") or {}
            name = called(remover) if called else remover.get("name", "")
            items = said.setdefault(record.get("section", ""), {}).setdefault(name, [])
            if (item := _yours(record, person_id)) not in items:
                items.append(item)
        return [
            (
                title,
                [f"{name} took out {_what_was_yours(items)}" for name, items in said[key].items()],
            )
            for key, title in self.sections()
            if key in said
        ]

    def _records_in_page_order(self, content: dict) -> Iterator[dict]:
        """Every record of a taken-out item kept in `content`, in the order a page shows them:
        list by list, those kept on its goals (in their order) and then the list's own; last,
        any kept before the list they were in was recorded."""
        on_content = taken_out(content)
        places = set()
        for section, field, _, items in self._item_places(content):
            places.add((section, field))
            for item in items:
                yield from taken_out(item)
            yield from (
                r for r in on_content if (r.get("section"), r.get("field")) == (section, field)
            )
        yield from (r for r in on_content if (r.get("section"), r.get("field")) not in places)

    def _records(self, content: dict) -> Iterator[dict]:
        """Every record of a taken-out item kept in `content`, on it and on its goals."""
        yield from taken_out(content)
        for _, _, items in self.item_lists(content):
            for item in items:
                if isinstance(item, dict):
                    yield from taken_out(item)

    def _removals(self, previous: dict | None, content: dict, author: Author) -> None:
        """Keep a record (in `REMOVED`) of each item of `previous` that `content`, saved by
        `author`, no longer has, when someone other than `author` wrote or last changed it (a
        goal: or any of its steps): who wrote it, who took it out, its words as they stood
        (a goal's with its steps'; the writer's own beside someone else's change), where it
        was (its section, and the list it was in: `field`, and a step's `goal`), and whom to
        tell (`tell`). Records kept before stay, but end when the item is back (the same id)
        or, for each person told, once they save a change to the list it was in themselves
        (`_list_of`): they have had the last word there."""
        if previous is None:
            return
        now: dict[str, tuple[str, str]] = {}  # id: (section, noun), of every item and step now
        goals: dict[str, dict] = {}  # id: goal, of every goal now
        for section, noun, item in self._items(content):
            now[item["id"]] = (section, noun)
            if noun != "step" and isinstance(item.get("steps"), list):
                goals[item["id"]] = item
        # Putting an item back is not having the last word on the rest of its list: the lists
        # changed are read without the items back (or someone putting back one of two would
        # lose the other).
        back = {r.get("id") for r in self._records(previous)} & set(now)
        compared = self._without(content, back) if back else content
        before, after = self._lists(previous), self._lists(compared)
        changed = {key for key in {*before, *after} if before.get(key) != after.get(key)}
        changed |= {
            ("section", key)  # for records kept before the list was
            for key, _ in self.sections()
            if strip_attribution(self._part(previous, key))
            != strip_attribution(self._part(compared, key))
        }
        kept: dict[str | None, list[dict]] = {}  # by the goal kept on; None: the content

        def keep(record: dict | None, goal_id: str | None = None) -> None:
            if record is None or now.get(record.get("id")) == (
                record.get("section"),
                record.get("item"),
            ):  # put back: nothing to keep
                return
            kept.setdefault(goal_id if goal_id in goals else None, []).append(record)

        def told(record: dict, goal_id: str | None = None) -> dict | None:
            return _still_told(record, author, changed, _list_of(record, goal_id, before))

        for record in taken_out(previous):
            keep(told(record))
        for _, _, items in self.item_lists(previous):
            for item in items:
                for record in taken_out(item):  # a goal taken out passes on what it kept
                    keep(told(record, item.get("id")), item.get("id"))
        for section, field, noun, items in self._item_places(previous):
            for item in (i for i in items if isinstance(i, dict)):
                steps = [s for s in item.get("steps") or [] if s.get("id") not in now]
                if item.get("id") not in now:  # its steps went with it
                    keep(_removal((section, field), noun, item, steps, author))
                    continue
                for step in steps:
                    record = _removal((section, field), "step", step, [], author)
                    if record is not None:
                        record["goal"] = item["id"]
                    keep(record, item["id"])
        for goal_id, records in kept.items():
            (content if goal_id is None else goals[goal_id])[REMOVED] = records

    def _put_back(self, previous: dict, content: dict) -> dict[str, dict]:
        """The items of `content` that are ones taken out of `previous` back again (a record
        kept there, `_removals`), by their key in `attributable`: each as it was when taken
        out (`_as_it_was`), so who wrote and last changed it are credited as they were, not
        to whoever put it back. An item is back when it has the record's id (put back), or
        when it is new and has exactly the record's words (typed in again): it then takes
        the record's id, and the record ends. Only an item of the record's kind in its
        section is; each record is given back once."""
        records: dict[str, tuple[str, str, dict]] = {}  # id: (section, noun, entry)
        for record in self._records(previous):
            if not isinstance(record.get("id"), str):
                continue
            section = record.get("section", "")
            records[record["id"]] = (section, record.get("item", ""), record)
            for entry in record.get("steps") or []:
                if isinstance(entry, dict) and isinstance(entry.get("words"), dict):
                    records.setdefault(entry.get("id", ""), (section, "step", entry))
        if not records:
            return {}
        known = {node.get("id") for _, node in self.attributable(previous)}
        now = list(self._items(content))
        ids_now = {item.get("id") for _, _, item in now}
        unused = {i: r for i, r in records.items() if i not in ids_now}
        back: dict[str, dict] = {}
        for section, noun, item in now:  # goals before their steps
            its = records.get(item.get("id"))
            if its is None and item.get("id") not in known:
                words = _words_of(item)
                for record_id, (where, what, entry) in unused.items():
                    if (where, what) == (section, noun) and entry["words"] == words:
                        item["id"], its = record_id, (where, what, entry)
                        break
            if its is None or its[:2] != (section, noun):
                continue
            unused.pop(item["id"], None)
            back[item["id"]] = _as_it_was(its[2])
        keys = {node.get("id"): key for key, node in self.attributable(content)}
        return {keys[i]: node for i, node in back.items() if i in keys}

    def with_put_back(
        self, content: dict, record_id: str, earlier: Iterable[dict] = ()
    ) -> tuple[dict, dict]:
        """`content` (stored, as a version holds it) with the item taken out that the record
        `record_id` keeps put back: its id, words and steps as they were, in its list where
        it stood (a step in its goal), which `earlier` (the contents of the versions before,
        newest first) tell; at the end of its list when none does. And the record. Saved,
        `attribute` credits the item to whoever wrote it and the record ends. Refused
        (CannotPutBack) when no such record is kept, or a step's goal is not there now."""
        raw = copy.deepcopy(content)
        found = next(
            (
                (record, holder)
                for holder in (None, *(i for _, _, i in self._items(raw)))
                for record in taken_out(raw if holder is None else holder)
                if record.get("id") == record_id
            ),
            None,
        )
        if found is None:
            raise NotTakenOut(NOT_TAKEN_OUT)
        record, holder = found
        section, noun = record.get("section"), record.get("item")
        item = {**copy.deepcopy(record["words"]), "id": record_id}
        if record.get("steps"):
            item["steps"] = [
                {**copy.deepcopy(s["words"]), "id": s["id"]}
                for s in record["steps"]
                if isinstance(s, dict) and isinstance(s.get("words"), dict) and s.get("id")
            ]
        stood = next((p for version in earlier if (p := self._place_of(version, record_id))), None)
        if noun == "step":
            goal_id = holder.get("id") if holder else (stood[1] if stood else None)
            goal = next(
                (i for where, what, i in self._items(raw) if what != "step" and where == section
                 and i.get("id") == goal_id),
                None,
            )  # fmt: skip
            if goal is None:
                raise CannotPutBack(GOAL_NOT_THERE)
            into = goal.setdefault("steps", [])
        else:
            lists = [
                i for where, what, i in self.item_lists(raw) if (where, what) == (section, noun)
            ]
            if not lists:
                raise NotTakenOut(NOT_TAKEN_OUT)
            before = set(stood[0]) if stood else set()
            into = next((i for i in lists if any(x.get("id") in before for x in i)), lists[0])
        at = len(into)
        if stood is not None:  # after the nearest of those before it that are still there
            at = max((n + 1 for n, x in enumerate(into) if x.get("id") in set(stood[0])), default=0)
        into.insert(at, item)
        return raw, record

    def _place_of(self, content: dict, item_id: str) -> tuple[list[str], str | None] | None:
        """Where the item `item_id` stands in `content`: the ids before it in its list, and
        its goal's id (for a step); None when it is not there."""
        for _, _, items in self.item_lists(content):
            lists = [(items, None)] + [
                (i["steps"], i.get("id"))
                for i in items
                if isinstance(i, dict) and isinstance(i.get("steps"), list)
            ]
            for listed, goal_id in lists:
                ids = [x.get("id") for x in listed if isinstance(x, dict)]
                if item_id in ids:
                    return ids[: ids.index(item_id)], goal_id
        return None

    def _items(self, content: dict) -> Iterator[tuple[str, str, dict]]:
        """(section, noun, item) for each list item of `content`, each goal before its steps."""
        for section, noun, items in self.item_lists(content):
            for item in (i for i in items if isinstance(i, dict)):
                yield section, noun, item
                for step in item.get("steps") or []:
                    if isinstance(step, dict):
                        yield section, "step", step

    def _without(self, content: dict, ids: set) -> dict:
        """A copy of `content` without the items and steps of `ids`."""
        content = copy.deepcopy(content)
        for _, _, items in self.item_lists(content):
            items[:] = [i for i in items if not isinstance(i, dict) or i.get("id") not in ids]
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("steps"), list):
                    item["steps"] = [s for s in item["steps"] if s.get("id") not in ids]
        return content

    def _item_places(self, content: dict) -> Iterator[tuple[str, str, str, list]]:
        """`item_lists` with the key of each list in its section: an agreement's field
        ("contacts"); a section that is a list itself (a care plan's goals) by its own key."""
        for section, noun, items in self.item_lists(content):
            part, field = self._part(content, section), section
            if isinstance(part, dict):
                field = next((k for k, v in part.items() if v is items), section)
            yield section, field, noun, items

    def _lists(self, content: dict) -> dict[tuple, list]:
        """Each list an item can be taken out of, as its items read (not who wrote them, nor a
        goal's steps, which are a list of their own): ("list", section, field) and ("steps",
        goal id). What `_removals` compares to see who changed which list."""
        out: dict[tuple, list] = {}
        for section, field, _, items in self._item_places(content):
            out[("list", section, field)] = _as_read(items)
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("steps"), list):
                    out[("steps", item.get("id"))] = _as_read(item["steps"])
        return out

    def _part(self, content: dict, key: str) -> Any:
        value: Any = content
        for name in self.part_path(key):
            value = value.get(name) if isinstance(value, dict) else None
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
            if old is not None and own_fields(old) == own_fields(node):
                # Unchanged, empty parts too: saving what is there credits nobody, so the
                # same content saved by someone else is no new version.
                node["written_by"] = old.get("written_by", author.as_dict())
                node["changed_by"] = old.get("changed_by", author.as_dict())
                for name in ("writers_words", "changers_words"):
                    if name in old:
                        node[name] = old[name]
            elif old is None or is_blank(own_fields(old)):
                # Filling in an empty part counts as writing it.
                node["written_by"] = author.as_dict()
                node["changed_by"] = author.as_dict()
            else:
                node["written_by"] = old.get("written_by", author.as_dict())
                node["changed_by"] = author.as_dict()
                kept = _writers_words(old, author)
                if kept is not None and kept != _words_of(node):
                    node["writers_words"] = kept
                if changers := _changers_words(old, node, author):
                    node["changers_words"] = changers
        self._removals(previous, content, author)
        return content


class CannotPutBack(DomainError):
    """An item cannot be put back as asked (`DocumentKind.with_put_back`)."""


class NotTakenOut(CannotPutBack):
    """No item taken out is kept under that id: an address naming what is not there."""


NOT_TAKEN_OUT = (
    "That is not taken out of the latest version: it may have been put back already. "
    "Nothing was changed."
)
GOAL_NOT_THERE = (
    "The goal this step was in is not in the plan now. Put the goal back first, then the "
    "step. Nothing was changed."
)


def taken_out(node: Any) -> list[dict]:
    """The records of items taken out that `node` (a goal, or the content) keeps."""
    kept = node.get(REMOVED) if isinstance(node, dict) else None
    if not isinstance(kept, list):
        return []
    return [r for r in kept if isinstance(r, dict) and isinstance(r.get("words"), dict)]


# The words an item taken out is known by, by what it is (`taken_out_words`).
_MAIN_WORDS = {"goal": "title", "step": "text", "person": "name", "decision": "decision"}


def taken_out_words(record: dict) -> tuple[str, list[tuple[str, str, str]], list[dict]]:
    """What a page says of a taken-out item: its main words (a step's text, a person's
    name...), (key, answer, words) for each other answer someone wrote (not choices from a
    list; a date in words), and the steps that went with a goal (each as {"words",
    "written_by", "due": its date in words, "earlier": as `taken_out_earlier`})."""
    words = record.get("words") if isinstance(record.get("words"), dict) else {}
    main = _MAIN_WORDS.get(record.get("item", ""), "")
    others = [
        (key, ANSWERS.get(key, key.replace("_", " ")), _in_words(key, value))
        for key, value in words.items()
        if key != main and key not in _CHOICES and isinstance(value, str) and not is_blank(value)
    ]
    steps = [
        {
            "words": str(s["words"].get("text", "")),
            "written_by": s.get("written_by") or {},
            "due": _in_words("due", s["words"]["due"])
            if isinstance(s["words"].get("due"), str) and not is_blank(s["words"]["due"])
            else "",
            "earlier": taken_out_earlier(s),
        }
        for s in record.get("steps") or []
        if isinstance(s, dict) and isinstance(s.get("words"), dict)
    ]
    return str(words.get(main, "")), others, steps


def taken_out_earlier(record: dict) -> list[tuple[str, str, str]]:
    """(key, answer, words) for each answer of a taken-out item (or a step that went with a
    goal) whose writer had written otherwise before someone else changed it, as they had it
    (as `earlier_answers`)."""
    kept, words = record.get("writers_words"), record.get("words")
    if not isinstance(kept, dict) or not isinstance(words, dict):
        return []
    return _differing(kept, words)


def _removal(
    where: tuple[str, str], noun: str, item: dict, steps: list[dict], author: Author
) -> dict | None:
    """The record of `item` (with `steps`, a goal's steps that went with it) taken out by
    `author` of the list `where` ((section, field)), or None when nobody else wrote or last
    changed any of it: your own is yours to take out."""
    tell: list[dict] = []
    for node in (item, *steps):
        for name in ("written_by", "changed_by"):
            who = node.get(name)
            if (
                isinstance(who, dict)
                and who.get("id") not in (None, author.id)
                and all(p.get("id") != who["id"] for p in tell)
            ):
                tell.append(dict(who))
    if not tell:
        return None
    section, field = where
    record: dict = {"id": item["id"], "item": noun, "section": section, "field": field}
    record.update(_kept_words(item))
    if steps:
        record["steps"] = [
            {"id": s["id"], **_kept_words(s), **_credit_of(s, written_by_too=True)} for s in steps
        ]
    record["written_by"] = item.get("written_by")
    record.update(_credit_of(item))
    record["removed_by"] = author.as_dict()
    record["tell"] = tell
    return record


def _credit_of(node: dict, written_by_too: bool = False) -> dict:
    """What a record keeps of who wrote `node` besides its writer, to give back with it when
    it is put back (`_as_it_was`): who last changed it, when someone else, and the words a
    change replaced. A step of a goal taken out keeps its writer here too."""
    credit = {"written_by": node.get("written_by")} if written_by_too else {}
    if node.get("changed_by") not in (None, node.get("written_by")):
        credit["changed_by"] = node["changed_by"]
    credit.update((k, node[k]) for k in ("writers_words", "changers_words") if k in node)
    return credit


def _as_it_was(entry: dict) -> dict:
    """An item (or a goal's step) kept in a record, as a part was before it was taken out:
    its words with who wrote and last changed them, for `attribute` to credit it back."""
    node = {**entry["words"], "id": entry["id"]}
    if isinstance(entry.get("written_by"), dict):
        node["written_by"] = entry["written_by"]
        node["changed_by"] = entry.get("changed_by") or entry["written_by"]
    node.update((k, entry[k]) for k in ("writers_words", "changers_words") if k in entry)
    return node


def _kept_words(node: dict) -> dict:
    """An item's words as they stood when it was taken out and, beside someone else's change
    to them, its writer's own (`writers_words`), so neither is lost with the item."""
    kept = {"words": _words_of(node)}
    if isinstance(node.get("writers_words"), dict):
        kept["writers_words"] = node["writers_words"]
    return kept


def _as_read(items: list) -> list:
    return [strip_attribution(own_fields(i)) for i in items if isinstance(i, dict)]


def _list_of(record: dict, goal_id: str | None, lists: dict[tuple, list]) -> tuple:
    """The list `record`'s item was taken out of, as `DocumentKind._lists` names it: a step's
    goal's steps (the goal's own list once the goal is gone too), another item's field; a
    record kept before fields were, its section."""
    goal = record.get("goal") or goal_id
    if record.get("item") == "step" and ("steps", goal) in lists:
        return ("steps", goal)
    if "field" in record:
        return ("list", record.get("section"), record["field"])
    return ("section", record.get("section"))


def _still_told(record: dict, author: Author, changed: set, where: tuple) -> dict | None:
    """`record` as a save by `author` leaves it: no longer told to `author` once they change
    the list it was in (`where`, see `_list_of`) themselves; None when nobody is left to
    tell."""
    tell = [p for p in record.get("tell", []) if isinstance(p, dict)]
    if where in changed:
        tell = [p for p in tell if p.get("id") != author.id]
    return {**record, "tell": tell} if tell else None


# What one item is called where it is said who took it out (`taken_out_from`).
_YOURS = {"person": ("someone", "you listed"), "decision": ("a decision", "you wrote")}


def _yours(record: dict, person_id: int) -> tuple[str, str]:
    """(what the item is, whose it is) to `person_id`: ("a step", "you wrote")."""
    noun = record.get("item", "")
    a = "someone" if noun == "person" else f"a {noun}"
    if (record.get("written_by") or {}).get("id") == person_id:
        return _YOURS.get(noun, (a, "you wrote"))
    if (record.get("changed_by") or {}).get("id") == person_id:
        return (a, "you changed")
    return (a, "with a step you wrote or changed")


def _what_was_yours(items: list[tuple[str, str]]) -> str:
    """Items said together by whose they are, in order: "a step and a goal you wrote and
    someone you listed"."""
    whose: dict[str, list[str]] = {}
    for what, of in items:
        whose.setdefault(of, []).append(what)
    return _and([f"{_and(whats)} {of}" for of, whats in whose.items()])


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _words_of(node: dict) -> dict:
    return {k: v for k, v in own_fields(node).items() if k != "id"}


def _writers_words(old: dict, author: Author) -> dict | None:
    """What the writer of `old` last wrote there, to keep beside `author`'s change; None when
    the writer changes their own words, or the writer's words are not known (a version saved
    before they were kept)."""
    writer = (old.get("written_by") or {}).get("id")
    if writer is None or writer == author.id:
        return None
    if "writers_words" in old:  # someone else's change already stands: the writer's words
        return old["writers_words"]
    if (old.get("changed_by") or {}).get("id", writer) == writer:
        return _words_of(old)
    return None


def _changers_words(old: dict, node: dict, author: Author) -> list[dict]:
    """The words of people other than its writer that `author`'s change to `old` (now `node`)
    leaves replaced: those of whoever changed `old` last, when neither `author` nor the
    writer, and those kept already. Someone's own change, or their words put back, ends
    theirs: they have the last word."""
    writer = (old.get("written_by") or {}).get("id")
    changer = old.get("changed_by") or {}
    now = _words_of(node)
    kept = [
        entry
        for entry in _kept_entries(old)
        if entry["by"].get("id") not in (author.id, changer.get("id"))
    ]
    if changer.get("id") not in (None, author.id, writer):
        theirs = _words_of(old)
        if isinstance(writers := old.get("writers_words"), dict):
            # What they changed of the writer's words, not the writer's words they left.
            theirs = {k: v for k, v in theirs.items() if writers.get(k) != v}
        kept.append({"by": dict(changer), "words": theirs})
    return [entry for entry in kept if _differing(entry["words"], now)]


def _kept_entries(node: dict) -> list[dict]:
    kept = node.get("changers_words")
    if not isinstance(kept, list):
        return []
    return [
        entry
        for entry in kept
        if isinstance(entry, dict)
        and isinstance(entry.get("by"), dict)
        and isinstance(entry.get("words"), dict)
    ]


def _differing(kept: dict, now: dict) -> list[tuple[str, str, str]]:
    """(key, answer, words) for each answer in `kept` that someone wrote and `now` no longer
    has: choices picked from a list, and empty answers, are nobody's words. A date ("by
    when", "until") reads as the pages say dates: "5 January 2027"."""
    return [
        (key, ANSWERS.get(key, key.replace("_", " ")), _in_words(key, value))
        for key, value in kept.items()
        if key not in _CHOICES
        and isinstance(value, str)
        and not is_blank(value)
        and value != now.get(key)
    ]


# The answers that hold a date (a step's "by when", a decision's "until").
_DATES = ("due", "until")


def _in_words(key: str, value: str) -> str:
    if key in _DATES:
        try:
            return long_date(date.fromisoformat(value))
        except ValueError:
            pass
    return value


def earlier_words(node: dict) -> list[tuple[str, str]]:
    """(answer, words) for each answer of `node` where someone else's change replaced what its
    writer wrote, as the writer had it; the answer is "" for a part's own words."""
    return [(answer, words) for _, answer, words in earlier_answers(node)]


def earlier_answers(node: dict) -> list[tuple[str, str, str]]:
    """`earlier_words` with the key of each answer first."""
    kept = node.get("writers_words")
    if not isinstance(kept, dict):
        return []
    return _differing(kept, _words_of(node))


def replaced_words(node: dict) -> list[tuple[dict, list[tuple[str, str]]]]:
    """(who, [(answer, words)]) for each person other than its writer whose change to `node`
    someone else saved over, with their words as they had them (as `earlier_words`)."""
    return [
        (who, [(answer, words) for _, answer, words in answers])
        for who, answers in replaced_answers(node)
    ]


def replaced_answers(node: dict) -> list[tuple[dict, list[tuple[str, str, str]]]]:
    """`replaced_words` with the key of each answer first, as `earlier_answers`."""
    now = _words_of(node)
    out = []
    for entry in _kept_entries(node):
        if differing := _differing(entry["words"], now):
            out.append((entry["by"], differing))
    return out


def has_writing(node: dict) -> bool:
    """Whether `node` holds anything someone wrote (not only choices picked from a list)."""
    return any(
        isinstance(value, str) and not is_blank(value)
        for key, value in _words_of(node).items()
        if key not in _CHOICES
    )


# Answers picked from a list (who does a step, how it is going): choices, not anyone's words.
_CHOICES = ("kind", "status")


def text_size(value: Any) -> int:
    """Characters of writing in content (every text, not the ids that match items up)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(text_size(v) for k, v in value.items() if k != "id")
    if isinstance(value, list):
        return sum(text_size(v) for v in value)
    return 0


def own_fields(node: dict) -> dict:
    """A node's own values: not its attribution and not its child lists."""
    return {k: v for k, v in node.items() if k not in ATTRIBUTION_KEYS and not isinstance(v, list)}


def strip_attribution(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_attribution(v) for k, v in value.items() if k not in ATTRIBUTION_KEYS}
    if isinstance(value, list):
        return [strip_attribution(v) for v in value]
    return value


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, dict):
        return all(is_blank(v) for k, v in value.items() if k != "id")
    if isinstance(value, list):
        return all(is_blank(v) for v in value)
    return False
