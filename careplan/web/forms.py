"""Turning posted forms into content, and content into form values."""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.datastructures import MultiDict

from ..domain.blocks import MAX_GOALS, MAX_HANDOVERS, MAX_PEOPLE, MAX_STEPS
from ..domain.nested import from_fields
from ..domain.numbers import whole_number_or_none
from ..services.drafts import Seen

CONTROL_FIELDS = {"csrf_token", "base_number", "change_note", "action", "part"}
# Which of its writer's drafts the edit page knows (careplan.services.drafts.Seen).
CONTROL_FIELDS |= {"draft_revision", "draft_page"}
# Words the browser put back on an edit page that had already sent them (editing.js).
CONTROL_FIELDS |= {"sent_before"}
# A refused form is shown again for correcting, every list in full up to twice the longest any
# list may be; beyond that it is cut, so refusing a list of 60,000 is not a page of 60,000.
SHOWN_AGAIN = 2 * max(MAX_GOALS, MAX_STEPS, MAX_PEOPLE, MAX_HANDOVERS)


def content_from_form(form: MultiDict) -> dict:
    return from_fields(draft_fields(form))


def base_number_from_form(form: MultiDict) -> int | None:
    return whole_number_or_none(form.get("base_number", ""))


def draft_fields(form: MultiDict) -> list[tuple[str, str]]:
    """The content fields of an edit form, in order, as they would be posted again."""
    return [(k, v) for k, v in form.items(multi=True) if k not in CONTROL_FIELDS]


def draft_seen(form: MultiDict) -> Seen | None:
    """What the edit page that posted this knows of its writer's draft; None from a page sent
    before drafts had revisions."""
    revision = form.get("draft_revision")
    if revision is None:
        return None
    return Seen(revision[:32], form.get("draft_page", "")[:32])


def typed_again(kind, content: dict) -> dict:
    """Posted content to show again on the edit form (refused, checked, restored): as the
    kind's validation reads it, without the spare rows the form offered for adding an item.
    The page offers one spare row again in each list, so every round trip shows what was
    typed plus one spare, never one more each time; and a message about the nth item of a
    list lands on the nth item shown, as validation counted them."""
    return shown_again(kind.drop_blank_rows(content))


def shown_again(value, limit: int = SHOWN_AGAIN):
    """Submitted content to show again on the form, with absurdly long lists cut."""
    if isinstance(value, list):
        return [shown_again(item, limit) for item in value[:limit]]
    if isinstance(value, dict):
        return {key: shown_again(item, limit) for key, item in value.items()}
    return value


# A details form (an account's, a person's own settings) carries what it showed when loaded in
# fields named with this prefix, so that a save changes only what the form changed.
LOADED = "was_"


def loaded_from(form: Mapping[str, str], fields) -> dict[str, str | None]:
    """What a details form showed when it was loaded, field by field (None: not sent)."""
    return {name: form.get(LOADED + name) for name in fields}


def kept_typing(
    form: Mapping[str, str], loaded: Mapping[str, str | None], now: Mapping[str, str]
) -> dict[str, str]:
    """A refused details form, shown again: what the person typed or chose in each field
    they changed, and in the others what is kept now (the value the page had loaded would,
    saved again, undo a change made meanwhile elsewhere)."""
    return {
        name: form[name]
        if form.get(name) is not None and form[name] != loaded.get(name)
        else current
        for name, current in now.items()
    }
