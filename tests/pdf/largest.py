"""The largest versions the validation allows: every list at its limit, every text as long as
its field allows, until the whole holds exactly the most writing a version may hold."""

from __future__ import annotations

from datetime import date, timedelta

from careplan.domain.agreement import AgreementKind
from careplan.domain.blocks import MAX_GOALS, MAX_HANDOVERS, MAX_PEOPLE, MAX_STEPS, TEXT
from careplan.domain.care_plan import CARE_PLAN, DOMAIN_KEYS
from careplan.domain.documents import MAX_TEXT, DocumentKind, text_size

# A decision's "until" day ahead of whatever day the tests run: a day already past is refused
# when saved and when signed. ISO days are all ten characters, so the writing adds up the same.
UNTIL = (date.today() + timedelta(days=180)).isoformat()

WORDS = (
    "I want to keep going to the group on Tuesdays and see my sister more often. "
    "When things get hard I stop answering the phone, so please text first. "
)


def words(length: int, seed: int = 0) -> str:
    """Ordinary sentences (one paragraph, as a form gives them) of exactly `length` characters."""
    start = seed % len(WORDS)
    text = (WORDS[start:] + WORDS * (length // len(WORDS) + 2))[:length]
    return "x" + text[1:-1] + "x" if length > 1 else "x" * length


def _step(n: int) -> dict:
    return {
        "text": "s",
        "owner": {"kind": "other", "name": "o"},
        "due": "2027-03-01",
        "status": ("not_started", "in_progress", "done", "stopped")[n % 4],
    }


def _goals() -> list[dict]:
    return [{"title": "g", "steps": [_step(n) for n in range(MAX_STEPS)]} for _ in range(MAX_GOALS)]


def _people(**fields) -> list[dict]:
    return [{"name": "p", **{k: "x" for k in fields}} for _ in range(MAX_PEOPLE)]


# The longest text each form field takes (careplan.domain.blocks, care_plan, agreement).
LONGEST = {
    "own_words": TEXT,
    "title": 500,
    "what_they_do": 1000,
    "may_see": 1000,
    "decision": 1000,
    "how_to_contact": 500,
    "when": 500,
    "name": 200,
    "role": 200,
    "to_whom": 200,
}


def _longest(node: dict, key: str) -> int | None:
    if key == "text":
        return 1000 if "owner" in node else TEXT  # a step's text, or a block of text
    return LONGEST.get(key)


def _texts(content) -> list[tuple[dict, str, int]]:
    """(node, key, longest allowed) for each free-text value, longest fields first."""
    found: list[tuple[dict, str, int]] = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                longest = _longest(node, key) if isinstance(value, str) else None
                if longest:
                    found.append((node, key, longest))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(content)
    return sorted(found, key=lambda f: -f[2])


def _fill(kind: DocumentKind, content: dict) -> dict:
    """Lengthen texts, longest fields first, until the writing adds up to exactly MAX_TEXT."""
    budget = MAX_TEXT - text_size(kind.validate(content))
    for n, (node, key, longest) in enumerate(_texts(content)):
        extra = min(budget, longest - len(node[key]))
        node[key] = words(len(node[key]) + extra, seed=n)
        budget -= extra
        if budget == 0:
            break
    assert budget == 0, "the lists at their limits do not leave room to fill"
    return kind.validate(content)


def largest_care_plan() -> dict:
    content = {
        "domains": {key: {"own_words": "d"} for key in DOMAIN_KEYS},
        "goals": _goals(),
        "care_team": _people(role=1, what_they_do=1, may_see=1),
        "what_matters": {"text": "w"},
    }
    return _fill(CARE_PLAN, content)


def largest_agreement(template: dict) -> dict:
    kind = AgreementKind(template)
    sections: dict = {}
    for section in template["sections"]:
        values = sections.setdefault(section["key"], {})
        for field in section["fields"]:
            values[field["key"]] = {
                "text": lambda: {"text": "t"},
                "goals": _goals,
                "people": lambda: _people(role=1, how_to_contact=1, when=1),
                "handover": lambda: [
                    {"decision": "d", "to_whom": "w", "until": UNTIL} for _ in range(MAX_HANDOVERS)
                ],
            }[field["type"]]()
    return _fill(kind, {"sections": sections})
