"""List items (a goal, a step, a person, a decision) someone took out that another person
wrote or last changed: kept in the content for whoever they were taken from to read before
they sign, said on the pages and the sign form, and put back credited to their writer."""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .attribution import (
    CHOICES,
    REMOVED,
    Author,
    answers_replaced,
    in_words,
    is_blank,
    own_fields,
    strip_attribution,
    words_of,
)
from .errors import DomainError
from .form_places import ANSWERS


class TakenOutItems:
    """Part of every document kind (`DocumentKind`): what its lists (`item_lists`), sections
    and parts (`_part`) give, kept as items are taken out, said, and put back."""

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
            if not told_to(record, person_id):
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
                    if item.get("id") not in goals:  # said with the goal it was in
                        record = {**record, "goal_title": str(item.get("title") or "")}
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
                words = words_of(item)
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
                raise CannotPutBack(goal_not_there(record.get("goal_title", "")))
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

    def is_back(self, content: dict, record: dict) -> bool:
        """Whether the item `record` keeps is in `content` again: an item of its kind in its
        section with its id (put back, or typed in again word for word, `_put_back`)."""
        wanted = (record.get("section"), record.get("item"), record.get("id"))
        return any((where, what, i.get("id")) == wanted for where, what, i in self._items(content))

    def looks_there(self, content: dict, record: dict) -> LooksThere | None:
        """An item of `content` that looks like the one `record` keeps, typed in again in other
        words (`same_words`): of the same kind, in the list it was taken out of (a step: in
        any goal of that list), its main words (a goal's title, a step's text, a person's
        name, a decision) the same but for capitals, spaces and punctuation. Putting the
        record's item back would list it twice. None when there is none (or the item itself
        is back: `is_back`)."""
        noun, main = record.get("item", ""), taken_out_words(record)[0]
        if not same_words(main, main):  # no letters or numbers to compare
            return None
        field = record.get("field")
        for section, at, what, items in self._item_places(content):
            if section != record.get("section") or field not in (None, at):
                continue
            goals = [(i, None) for i in items if isinstance(i, dict)]
            if noun == "step":
                goals = [
                    (s, str(g.get("title") or ""))
                    for g, _ in goals
                    for s in g.get("steps") or []
                    if isinstance(s, dict)
                ]
            elif what != noun:
                continue
            for item, goal in goals:
                words = str(item.get(_MAIN_WORDS.get(noun, ""), ""))
                if item.get("id") != record.get("id") and same_words(words, main):
                    title = dict(self.sections()).get(section, section)
                    return LooksThere(noun, main, words, title, goal)
        return None

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


def same_words(a: str, b: str) -> bool:
    """Whether two items' words are the same but for capitals, spaces and punctuation ("Call
    the council." and "call  the Council"): the same letters and numbers in the same order.
    Words with no letter or number are never the same as anything."""
    a, b = _letters_and_numbers(a), _letters_and_numbers(b)
    return bool(a) and a == b


def _letters_and_numbers(words: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", words).casefold() if c.isalnum())


# How the message of `LooksThere` calls an item there already.
_ALREADY_HAS = {"person": "someone listed as", "decision": "a decision"}


@dataclass(frozen=True)
class LooksThere:
    """An item already in the document that looks like the one being put back (`looks_there`):
    what it is, the words of the one put back and of the one there, in which section (by its
    title) and, for a step, in which goal."""

    noun: str
    putting_back: str
    there: str
    section: str
    goal: str | None = None

    @property
    def message(self) -> str:
        what = _ALREADY_HAS.get(self.noun, f"a {self.noun}")
        goal = f" in the goal “{self.goal}”" if self.goal else ""
        return (
            f"“{self.section}” already has {what} “{self.there}”{goal}. It looks the same as "
            f"“{self.putting_back}”, the {self.noun} you are putting back, so putting it back "
            "would list it twice."
        )


class CannotPutBack(DomainError):
    """An item cannot be put back as asked (`DocumentKind.with_put_back`)."""


class NotTakenOut(CannotPutBack):
    """No item taken out is kept under that id: an address naming what is not there."""


NOT_TAKEN_OUT = (
    "That is not taken out of the latest version: it may have been put back already. "
    "Nothing was changed."
)


def goal_not_there(title: str) -> str:
    """Why a step cannot be put back while the goal it was in is taken out too, naming it."""
    goal = f"The goal “{title}”, which this step was in," if title else "The goal this step was in"
    return f"{goal} is not in the plan now. Put that goal back first, then the step. Nothing was changed."


def told_to(record: dict, person_id: int) -> bool:
    """Whether `person_id` is one of those a taken-out item's record is kept for (`tell`)."""
    return any(isinstance(p, dict) and p.get("id") == person_id for p in record.get("tell") or [])


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
        (key, ANSWERS.get(key, key.replace("_", " ")), in_words(key, value))
        for key, value in words.items()
        if key != main and key not in CHOICES and isinstance(value, str) and not is_blank(value)
    ]
    steps = [
        {
            "words": str(s["words"].get("text", "")),
            "written_by": s.get("written_by") or {},
            "due": in_words("due", s["words"]["due"])
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
    return answers_replaced(kept, words)


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
    kept = {"words": words_of(node)}
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
