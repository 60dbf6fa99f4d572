"""Building blocks shared by every kind of document: text fields, goals broken into steps,
and lists of people. Each kind composes these; none re-implements them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

from marshmallow import RAISE, Schema, fields, post_load, pre_load, validate, validates_schema
from marshmallow import ValidationError as MarshmallowError

from .attribution import is_blank
from .documents import Field
from .lengths import too_long
from .nested import SEP
from .writing_direction import plain_writing

# Neutral words for the record (comparisons, exports, PDF); pages name the owner to their reader.
STEP_OWNERS = {"client": "The client", "key_worker": "The key worker", "other": "Someone else"}
STEP_STATUSES = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "done": "Done",
    "stopped": "Stopped",
}

REQUIRED = {"required": "Please fill this in.", "null": "Please fill this in."}
# Only a step with a date reaches validation without words, and a goal with steps without a
# title (one with neither is a spare row, dropped): emptying the words alone does not take it
# out, so the message says what does.
STEP_WITHOUT_WORDS = "Please say what the step is. To take the step out, empty its date as well."
GOAL_WITHOUT_TITLE = (
    "Please give the goal a title. To take the goal out, take out its steps as well."
)
TEXT = 5000
# How many items a list may hold. Real plans fit comfortably (a handful of goals, a few steps
# each, a dozen people); the limits keep every version small enough to print as a signed PDF.
MAX_GOALS = 12
MAX_STEPS = 8  # per goal
MAX_PEOPLE = 20  # per list of people (care team, contacts, supporters)
MAX_HANDOVERS = 10  # decisions handed over, per list


class _Text(fields.String):
    """Text without the spaces around it, trimmed before it is checked: a box holding only
    spaces is an empty box, refused where something is needed, not saved as empty. Every
    word written into a document passes here, from a form, the API or a kept draft, so here
    it loses the characters that could make it read differently (writing_direction)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return plain_writing(super()._deserialize(value, attr, data, **kwargs)).strip()


class _AtMost(validate.Validator):
    """Too long, said with how long it is: a box on a phone shows neither its limit nor its
    count, and "keep this under 1,000" alone does not say whether to cut a word or a page."""

    def __init__(self, max_len: int):
        self.max_len = max_len

    def __call__(self, value: str) -> str:
        if said := too_long(value, self.max_len):
            raise MarshmallowError(said)
        return value


def text_field(max_len: int = TEXT, required: bool = False, empty: str = "", **kw):
    """`empty`: what an empty box is told where "Please fill this in." would not say enough."""
    too_long = _AtMost(max_len)
    if required:
        return _Text(
            required=True,
            validate=[validate.Length(min=1, error=empty or "Please fill this in."), too_long],
            error_messages=REQUIRED,
            **kw,
        )
    return _Text(load_default="", validate=too_long, **kw)


def id_field():
    return fields.String(load_default=None, validate=validate.Length(max=40))


# Said beside a date box, which shows a date the reader's own way (01/03/2027, 3/1/2027 ...):
# no example in one written form, which would contradict the box. Programs send ISO dates:
# the API says so instead (FOR_PROGRAMS).
DATE_NEEDED = "Please give a whole date: day, month and year."
DATE_NOT_REAL = "Please give a real date, with day, month and year."
FOR_PROGRAMS = {
    DATE_NEEDED: "Please give a date as YYYY-MM-DD, for example 2027-03-01.",
    DATE_NOT_REAL: "Please give a real date as YYYY-MM-DD, for example 2027-03-01.",
}


def goal_dates(goals: list, *path: str | int) -> Iterator[tuple[str, str]]:
    """(form name, date as given) of each step's "by when" in `goals`, found at `path`. Also
    read from a submission the schema refused, so anything not shaped as goals is passed over."""
    for n, goal in enumerate(dicts(goals)):
        for m, step in enumerate(dicts(goal.get("steps"))):
            name = SEP.join(str(p) for p in (*path, n, "steps", m, "due"))
            yield name, step.get("due") or ""


def dicts(value) -> list[dict]:
    """The items of a list as dicts, each not a dict standing as an empty one so that the
    others keep their places; no list, no items. For reading a submission not yet validated."""
    if not isinstance(value, list):
        return []
    return [item if isinstance(item, dict) else {} for item in value]


def date_field(required: bool = True):
    messages = {"required": DATE_NEEDED, "null": DATE_NEEDED, "invalid": DATE_NOT_REAL}
    if required:
        return fields.Date(required=True, error_messages=messages)
    return fields.Date(load_default=None, allow_none=True, error_messages=messages)


class BoundedList(fields.List):
    """A list of at most `max_items` items, counted before any item is read, so an absurdly
    long list is refused at once instead of being checked item by item."""

    def __init__(self, inner, max_items: int, too_many: str, **kwargs):
        super().__init__(inner, **kwargs)
        self.max_items, self.too_many = max_items, too_many

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list) and len(value) > self.max_items:
            raise MarshmallowError(self.too_many.format(max=self.max_items, count=len(value)))
        return super()._deserialize(value, attr, data, **kwargs)


def people_field(schema):
    return BoundedList(
        fields.Nested(schema),
        MAX_PEOPLE,
        "Up to {max} people can be listed here, and there are {count}. "
        "Please remove some, or name a team once instead of each person in it.",
        load_default=list,
    )


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE

    @post_load
    def _strip(self, data, **kwargs):
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


class IsoDates:
    """Content is stored as JSON, so dates are kept as ISO strings."""

    date_keys: tuple[str, ...] = ()

    @pre_load
    def _blank_dates(self, data, **kwargs):
        # An empty date box means "no date": required dates then say so, optional ones stay empty.
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if not (k in self.date_keys and is_blank(v))}
        return data

    @post_load
    def _iso(self, data, **kwargs):
        for key in self.date_keys:
            if data.get(key) is not None:
                data[key] = data[key].isoformat()
            elif key in data:
                data[key] = ""
        return data


class TextBlockSchema(StrictSchema):
    text = text_field()


# --- goals broken into small steps -----------------------------------------------------------


class OwnerSchema(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(STEP_OWNERS), error="Choose who will do this step."),
        error_messages=REQUIRED,
    )
    name = text_field(200)

    @validates_schema
    def _named_other(self, data, **kwargs):
        if data.get("kind") == "other" and not (data.get("name") or "").strip():
            raise MarshmallowError("Please say who will do this step.", field_name="name")


class StepSchema(IsoDates, StrictSchema):
    date_keys = ("due",)
    id = id_field()
    text = text_field(1000, required=True, empty=STEP_WITHOUT_WORDS)
    owner = fields.Nested(OwnerSchema, required=True, error_messages=REQUIRED)
    due = date_field()
    status = fields.String(
        load_default="not_started",
        validate=validate.OneOf(list(STEP_STATUSES), error="Choose how this step is going."),
    )


class GoalSchema(StrictSchema):
    id = id_field()
    title = text_field(500, required=True, empty=GOAL_WITHOUT_TITLE)
    steps = BoundedList(
        fields.Nested(StepSchema),
        MAX_STEPS,
        "A goal can have up to {max} steps, and this one has {count}. Please combine some "
        "small steps, or make part of it a goal of its own.",
        load_default=list,
    )


def goals_field():
    return BoundedList(
        fields.Nested(GoalSchema),
        MAX_GOALS,
        "Up to {max} goals fit in one document, and there are {count}. Please combine or "
        "remove some.",
        load_default=list,
    )


def drop_blank_goals(goals) -> list:
    """Remove the empty spare goal and step rows that a form offers for adding new ones."""
    if not isinstance(goals, list):
        return goals
    kept = []
    for goal in goals:
        if not isinstance(goal, dict):
            kept.append(goal)
            continue
        goal = dict(goal)
        steps = goal.get("steps")
        if isinstance(steps, list):
            # A spare step has no text and no date (its drop-downs always have a value).
            goal["steps"] = [
                s
                for s in steps
                if not (isinstance(s, dict) and is_blank(s.get("text")) and is_blank(s.get("due")))
            ]
        if is_blank(goal.get("title")) and not goal.get("steps"):
            continue
        kept.append(goal)
    return kept


def drop_blank_items(items) -> list:
    if not isinstance(items, list):
        return items
    return [i for i in items if not (isinstance(i, dict) and is_blank(i))]


def date_passed(step: dict, today: date) -> bool:
    """A step still to do (not started or in progress) whose date is behind us: worth
    saying, so a date typed wrong or a step left behind is noticed, not silently carried."""
    due = step.get("due")
    if not due or step.get("status") not in ("not_started", "in_progress"):
        return False
    try:
        return date.fromisoformat(str(due)) < today
    except ValueError:
        return False


def owner_words(reader: str, client_called: str) -> dict[str, str]:
    """Who does a step, said to whoever reads it: `reader` is "client", "key_worker" (the
    client's own) or anyone else. The record's neutral words are STEP_OWNERS."""
    if reader == "client":
        return {"client": "You", "key_worker": "Your key worker"}
    worker = "You" if reader == "key_worker" else "The key worker"
    return {"client": client_called or "The client", "key_worker": worker}


def owner_label(owner: dict) -> str:
    if owner.get("kind") == "other":
        return owner.get("name") or "Someone else"
    return STEP_OWNERS.get(owner.get("kind", ""), "")


def goal_nodes(goals: list) -> Iterator[tuple[str, dict]]:
    for goal in goals:
        yield f"goal:{goal['id']}", goal
        for step in goal.get("steps", []):
            yield f"step:{step['id']}", step


def goal_fields(goals: list, prefix: str = "", part: str = "") -> list[Field]:
    out: list[Field] = []
    for n, goal in enumerate(goals, start=1):
        out.append(Field(f"goal:{goal['id']}", f"{prefix}Goal {n}", goal["title"], part))
        for m, step in enumerate(goal.get("steps", []), start=1):
            sid, where = step["id"], f"{prefix}Goal {n}, step {m}"
            status = STEP_STATUSES[step["status"]]
            out.append(Field(f"step:{sid}:text", where, step["text"], part))
            out.append(
                Field(f"step:{sid}:owner", f"{where}: who", owner_label(step["owner"]), part)
            )
            out.append(Field(f"step:{sid}:due", f"{where}: by when", step["due"], part))
            out.append(Field(f"step:{sid}:status", f"{where}: status", status, part))
    return out


def assign_ids(items: Iterator[dict], make_id: Callable[[], str]) -> None:
    """New list items get an id, so later versions can be matched to them item by item."""
    seen: set[str] = set()
    for item in items:
        if not item.get("id") or item["id"] in seen:
            item["id"] = make_id()
        seen.add(item["id"])


def goals_and_steps(goals: list) -> Iterator[dict]:
    for goal in goals:
        yield goal
        yield from goal.get("steps", [])
