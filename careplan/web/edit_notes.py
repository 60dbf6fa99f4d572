"""The note beside a box of the edit form about whose words it holds (`others_words` in the
templates), and what someone had written there (`had_written`).

Written here rather than as a template macro: it is asked once per box of every goal, step,
contact and decision, and as a macro it was a sixth of the edit page's rendering.
"""

from __future__ import annotations

from jinja2 import pass_context
from markupsafe import Markup

from ..domain.attribution import CHOICES, has_writing, words_of, yours_replaced
from ..domain.wording import closed
from .wording import person


@pass_context
def others_words(
    context, node, box: str | None = None, boxes=None, shown: str | None = None
) -> Markup:
    """On the edit page, beside a part (its stored node in the latest version), one note for
    the reader. Their own words someone else changed come first, with what they had written
    (so they can put it back); else, on a part someone else wrote, whose it is, or that the
    reader changed it last (what changing it does is said once, at the top of the form).
    Nobody but the reader is "you"; the client is called by the name they go by. A list
    item's note is beside the box whose answer was changed: `boxes`, the item's answers in
    the form's order; `box`, the one asking.
    `shown`, for a part that is one answer, what its box holds: other words than the stored
    ones (the reader's own put on top of a version saved meanwhile, or their draft), the note
    quotes the other person's, which the box no longer shows and a save would replace."""
    node = node if isinstance(node, dict) else {}
    reader = getattr(context.get("current_user"), "id", None)
    answers = yours_replaced(node, reader)
    changed = {key for key, _, _ in answers}
    at = next((b for b in boxes or () if b in changed), (boxes or [None])[0])
    if box != at:
        return Markup("")
    doc = context.get("doc")
    client_id, called = getattr(doc, "client_id", None), getattr(doc, "client_called", "")
    if answers:
        name = _named(context, _mapping(node.get("changed_by")), client_id, called)
        return Markup("{} changed what you wrote here. You had written: {}").format(
            name, had_written(answers)
        )
    writer = _mapping(node.get("written_by"))
    if writer.get("id") and writer.get("id") != reader and has_writing(node):
        name = _named(context, writer, client_id, called)
        stored = _words(node)
        # The words stored are the reader's own last change: said as the plan page says it
        # ("Last changed by you · first written by …"), not as if the first writer's.
        mine = _mapping(node.get("changed_by")).get("id") == reader
        # Compared word by word: a form sent back holds "\r\n" where the stored words have "\n".
        if shown is None or shown.split() == stored.split():
            if mine:
                return Markup("You changed this last. {} first wrote it.").format(name)
            return Markup("{} wrote this.").format(name)
        said = (
            Markup("You saved “{}” here last.").format(stored)
            if mine
            else Markup("{} wrote “{}” here.").format(name, stored)
        )
        if not shown.strip():
            return said + " This box is empty now: saving takes it out."
        return said + " What is in this box now replaces it when you save."
    return Markup("")


def _named(context, who: dict, client_id: int | None, called: str) -> str:
    """Whoever it was, as the rest of the pages name them ("Kim, your key worker," to the
    client; the client by the name they go by), with the comma that closes an aside."""
    if who.get("id") == client_id and called:
        return called
    return closed(person(context, who.get("name", ""), who.get("role", ""), who.get("id"), called))


def _words(node: dict) -> str:
    """The words of a part that is one answer."""
    return " ".join(
        value.strip()
        for key, value in words_of(node).items()
        if isinstance(value, str) and key not in CHOICES and value.strip()
    )


def had_written(answers) -> Markup:
    """What the reader had written, answer by answer: an answer named where it is not the
    part's own words ("What to achieve: “Move”"), a date in words."""
    said = []
    for n, (key, answer, words) in enumerate(answers):
        named = Markup("{}: ").format(answer.capitalize() if n == 0 else answer) if answer else ""
        quoted = Markup("{}") if key in ("due", "until") else Markup("“{}”")
        said.append(named + quoted.format(words))
    return Markup("; ").join(said)


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}
