"""Who wrote each part of a document and who last changed it, and the words a change
replaced: a change to another person's words is a proposal they can read against what they
wrote, never a silent rewrite. Derived from the version before, never taken from a
submission (`DocumentKind.attribute`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .form_places import ANSWERS
from .local_time import long_date

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


@dataclass(frozen=True)
class Author:
    id: int
    name: str
    role: str

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role}


def credit(old: dict | None, node: dict, author: Author) -> None:
    """Stamp `node`, a part as `author` saves it, from `old`, the same part before (None when
    it is new): who wrote it, who last changed it, and the words a change replaced
    (`DocumentKind.attribute`, and `DocumentKind.credited_from_history` version by version).
    `old` crediting nobody (None: the versions could not tell who wrote it) leaves `node`
    crediting nobody while it is unchanged, never whoever saves it."""
    if old is not None and own_fields(old) == own_fields(node):
        # Unchanged, empty parts too: saving what is there credits nobody, so the same
        # content saved by someone else is no new version.
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
        kept = writers_words_kept(old, author)
        if kept is not None and kept != words_of(node):
            node["writers_words"] = kept
        if changers := changers_words_kept(old, node, author):
            node["changers_words"] = changers
    for name in ("written_by", "changed_by"):
        if node.get(name) is None:  # nobody known: no stamp, rather than someone's
            node.pop(name, None)


def words_of(node: dict) -> dict:
    return {k: v for k, v in own_fields(node).items() if k != "id"}


def writers_words_kept(old: dict, author: Author) -> dict | None:
    """What the writer of `old` last wrote there, to keep beside `author`'s change; None when
    the writer changes their own words, or the writer's words are not known (a version saved
    before they were kept)."""
    writer = (old.get("written_by") or {}).get("id")
    if writer is None or writer == author.id:
        return None
    if "writers_words" in old:  # someone else's change already stands: the writer's words
        return old["writers_words"]
    if (old.get("changed_by") or {}).get("id", writer) == writer:
        return words_of(old)
    return None


def changers_words_kept(old: dict, node: dict, author: Author) -> list[dict]:
    """The words of people other than its writer that `author`'s change to `old` (now `node`)
    leaves replaced: those of whoever changed `old` last, when neither `author` nor the
    writer, and those kept already. Someone's own change, or their words put back, ends
    theirs: they have the last word."""
    writer = (old.get("written_by") or {}).get("id")
    changer = old.get("changed_by") or {}
    now = words_of(node)
    kept = [
        entry
        for entry in _kept_entries(old)
        if entry["by"].get("id") not in (author.id, changer.get("id"))
    ]
    if changer.get("id") not in (None, author.id, writer):
        theirs = words_of(old)
        if isinstance(writers := old.get("writers_words"), dict):
            # What they changed of the writer's words, not the writer's words they left.
            theirs = {k: v for k, v in theirs.items() if writers.get(k) != v}
        kept.append({"by": dict(changer), "words": theirs})
    return [entry for entry in kept if answers_replaced(entry["words"], now)]


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


def answers_replaced(kept: dict, now: dict) -> list[tuple[str, str, str]]:
    """(key, answer, words) for each answer in `kept` that someone wrote and `now` no longer
    has: choices picked from a list, and empty answers, are nobody's words. A date ("by
    when", "until") reads as the pages say dates: "5 January 2027"."""
    return [
        (key, ANSWERS.get(key, key.replace("_", " ")), in_words(key, value))
        for key, value in kept.items()
        if key not in CHOICES
        and isinstance(value, str)
        and not is_blank(value)
        and value != now.get(key)
    ]


# The answers that hold a date (a step's "by when", a decision's "until").
DATES = ("due", "until")


def in_words(key: str, value: str) -> str:
    if key in DATES:
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
    return answers_replaced(kept, words_of(node))


def replaced_words(node: dict) -> list[tuple[dict, list[tuple[str, str]]]]:
    """(who, [(answer, words)]) for each person other than its writer whose change to `node`
    someone else saved over, with their words as they had them (as `earlier_words`)."""
    return [
        (who, [(answer, words) for _, answer, words in answers])
        for who, answers in replaced_answers(node)
    ]


def replaced_answers(node: dict) -> list[tuple[dict, list[tuple[str, str, str]]]]:
    """`replaced_words` with the key of each answer first, as `earlier_answers`."""
    now = words_of(node)
    out = []
    for entry in _kept_entries(node):
        if differing := answers_replaced(entry["words"], now):
            out.append((entry["by"], differing))
    return out


def yours_replaced(node: dict, person_id: int) -> list[tuple[str, str, str]]:
    """(key, answer, words) of what `person_id` had written in `node` that someone else's
    change replaced and that is kept beside it: as its writer (`earlier_answers`, while
    another's change stands), or as a changer someone else saved over (`replaced_answers`).
    What their edit form gives back to them."""
    writer = (node.get("written_by") or {}).get("id")
    changer = (node.get("changed_by") or {}).get("id")
    if writer == person_id and changer not in (None, writer):
        return earlier_answers(node)
    if changer is None:
        return []
    return next(
        (answers for who, answers in replaced_answers(node) if who.get("id") == person_id), []
    )


def has_writing(node: dict) -> bool:
    """Whether `node` holds anything someone wrote (not only choices picked from a list)."""
    return any(
        isinstance(value, str) and not is_blank(value)
        for key, value in words_of(node).items()
        if key not in CHOICES
    )


# Answers picked from a list (who does a step, how it is going): choices, not anyone's words.
CHOICES = ("kind", "status")


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
