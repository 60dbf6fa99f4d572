"""Where a field of a document's edit form is, in words ("Goals and steps, goal 1, step 2: by
when"), so the summary of what went wrong names the answer it means, not only "Please fill
this in.". Form names are content paths joined by "-" (careplan.domain.nested), such as
"goals-0-steps-1-due" or "sections-contingencies-warning_signs-text"."""

from __future__ import annotations

from .nested import SEP

# The last part of a name: the answer within its item. "" adds nothing (the part's own words).
ANSWERS = {
    "text": "",
    "own_words": "",
    "title": "what to achieve",
    "due": "by when",
    "kind": "who will do it",
    "status": "how it is going",
    "name": "name",
    "role": "who they are",
    "what_they_do": "what they do",
    "may_see": "what they may see",
    "how_to_contact": "how to contact them",
    "when": "when",
    "decision": "which decision",
    "to_whom": "handed to whom",
    "until": "until when",
    # The box below the document's parts, by its own question.
    "change_note": "What did you change?",
}
# An item of a list, by the list's own name; a kind adds its own lists (`words` below).
ITEMS = {"goals": "goal", "steps": "step", "care_team": "person"}


def place(name: str, words: dict[str, str]) -> str:
    """`words` names the parts of this kind of document by their dotted path ("goals",
    "domains.housing", "sections.boundaries.mine"); a path ending "[]" names one item of
    that list ("sections.support.people[]": "person"). Unknown parts are left out."""
    said: list[str] = []
    path: list[str] = []
    parts = name.split(SEP)
    answer = ""
    for n, part in enumerate(parts):
        if part.isdigit():
            listed = ".".join(path)
            item = words.get(f"{listed}[]") or ITEMS.get(path[-1] if path else "", "item")
            said.append(f"{item} {int(part) + 1}")
            continue
        path.append(part)
        dotted = ".".join(path)
        if dotted in words:
            said.append(words[dotted])
        elif n == len(parts) - 1:
            answer = ANSWERS.get(part, part.replace("_", " "))
        elif part == "owner":  # "owner-kind", "owner-name": who does a step
            answer = "who will do it" if parts[-1] == "kind" else "who, if someone else"
            break
    where = ", ".join(w for w in said if w)
    if where and answer:
        return f"{where}: {answer}"
    return where or answer


def in_summary(where: str, message: str) -> str:
    """A message in the summary at the top of a page, with the answer it is about ("It ends
    on — The end date cannot be in the past."); beside the field itself it needs no prefix."""
    return f"{where} — {message}" if where else message


# Choices and ids in a form: what someone picked, not what they wrote.
_CHOSEN = ("-id", "-kind", "-status")


def is_writing(name: str, value: str) -> bool:
    """Whether a form field holds words someone wrote (to give back, or to check the
    wording of), not a choice, an id or a yes/no switch."""
    return not name.endswith(_CHOSEN) and value not in ("yes", "no")
