"""The care plan: the client's life domains in their own words, goals in small steps, the
care team, and what matters to the client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from marshmallow import RAISE, Schema, fields, post_load, validate, validates_schema
from marshmallow import ValidationError as MarshmallowError

from .documents import DocumentKind, Field, is_blank

LIFE_DOMAINS: list[tuple[str, str, str]] = [
    (
        "drug_alcohol",
        "Drug and alcohol use",
        "How are things with drugs or alcohol for you right now?",
    ),
    ("physical_health", "Physical health", "How is your body and your physical health?"),
    ("mental_health", "Mental health", "How are you feeling in yourself, in your mind and mood?"),
    ("housing", "Housing", "Where are you living, and how is it for you?"),
    ("money", "Money and benefits", "How are you managing with money and benefits?"),
    (
        "relationships",
        "Relationships and family",
        "Who is important to you, and how are things with them?",
    ),
    (
        "activity",
        "Work, education and meaningful activity",
        "What do you do with your days that matters to you?",
    ),
    ("legal", "Legal", "Is anything legal going on that worries you?"),
    ("safety", "Safety", "Do you feel safe? Is anyone or anything putting you at risk?"),
]
DOMAIN_KEYS = [key for key, _, _ in LIFE_DOMAINS]
DOMAIN_LABELS = {key: label for key, label, _ in LIFE_DOMAINS}

STEP_OWNERS = {"client": "Me (the client)", "key_worker": "My key worker", "other": "Someone else"}
STEP_STATUSES = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "done": "Done",
    "stopped": "Stopped",
}
DEFAULT_REVIEW_WEEKS = 12

REQUIRED = {"required": "Please fill this in.", "null": "Please fill this in."}
TEXT = 5000


def _text(max_len: int = TEXT, required: bool = False, **kw):
    if required:
        return fields.String(
            required=True,
            validate=[
                validate.Length(min=1, error="Please fill this in."),
                validate.Length(max=max_len, error=f"Please keep this under {max_len} characters."),
            ],
            error_messages=REQUIRED,
            **kw,
        )
    return fields.String(
        load_default="",
        validate=validate.Length(
            max=max_len, error=f"Please keep this under {max_len} characters."
        ),
        **kw,
    )


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE

    @post_load
    def _strip(self, data, **kwargs):
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


class OwnerSchema(StrictSchema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(list(STEP_OWNERS), error="Choose who will do this step."),
        error_messages=REQUIRED,
    )
    name = _text(200)

    @validates_schema
    def _named_other(self, data, **kwargs):
        if data.get("kind") == "other" and not (data.get("name") or "").strip():
            raise MarshmallowError("Please say who will do this step.", field_name="name")


class StepSchema(StrictSchema):
    id = fields.String(load_default=None, validate=validate.Length(max=40))
    text = _text(1000, required=True)
    owner = fields.Nested(OwnerSchema, required=True, error_messages=REQUIRED)
    due = fields.Date(
        required=True,
        error_messages={
            **REQUIRED,
            "required": "Please give a date, for example 2027-03-01.",
            "invalid": "Please give a real date, for example 2027-03-01.",
        },
    )
    status = fields.String(
        load_default="not_started",
        validate=validate.OneOf(list(STEP_STATUSES), error="Choose how this step is going."),
    )

    @post_load
    def _iso_date(self, data, **kwargs):
        # Content is stored as JSON, so dates are kept as ISO strings.
        data["due"] = data["due"].isoformat()
        return data


class GoalSchema(StrictSchema):
    id = fields.String(load_default=None, validate=validate.Length(max=40))
    title = _text(500, required=True)
    steps = fields.List(fields.Nested(StepSchema), load_default=list)


class DomainViewSchema(StrictSchema):
    own_words = _text()


class CareTeamMemberSchema(StrictSchema):
    id = fields.String(load_default=None, validate=validate.Length(max=40))
    name = _text(200, required=True)
    role = _text(200)
    what_they_do = _text(1000)
    may_see = _text(1000)


class TextBlockSchema(StrictSchema):
    text = _text()


class CarePlanSchema(StrictSchema):
    domains = fields.Dict(
        keys=fields.String(validate=validate.OneOf(DOMAIN_KEYS)),
        values=fields.Nested(DomainViewSchema),
        load_default=dict,
    )
    goals = fields.List(fields.Nested(GoalSchema), load_default=list)
    care_team = fields.List(fields.Nested(CareTeamMemberSchema), load_default=list)
    what_matters = fields.Nested(TextBlockSchema, load_default=lambda: {"text": ""})
    review_interval_weeks = fields.Integer(
        load_default=DEFAULT_REVIEW_WEEKS,
        strict=False,
        validate=validate.Range(min=1, max=52, error="Choose between 1 and 52 weeks."),
        error_messages={"invalid": "Please give a whole number of weeks."},
    )

    @post_load
    def _all_domains(self, data, **kwargs):
        # Every life domain is always present, in a fixed order, so versions compare cleanly.
        given = data.get("domains") or {}
        data["domains"] = {key: given.get(key, {"own_words": ""}) for key in DOMAIN_KEYS}
        return data


def _step_blank(step: dict) -> bool:
    return is_blank(step.get("text")) and is_blank(step.get("due"))


class CarePlanKind(DocumentKind):
    name = "care_plan"
    label = "Care plan"
    schema = CarePlanSchema

    def empty_content(self) -> dict:
        return {
            "domains": {key: {"own_words": ""} for key in DOMAIN_KEYS},
            "goals": [],
            "care_team": [],
            "what_matters": {"text": ""},
            "review_interval_weeks": DEFAULT_REVIEW_WEEKS,
        }

    def drop_blank_rows(self, raw: dict) -> dict:
        raw = dict(raw)
        goals = []
        for goal in raw.get("goals") or []:
            if not isinstance(goal, dict):
                goals.append(goal)
                continue
            goal = dict(goal)
            steps = goal.get("steps")
            if isinstance(steps, list):
                goal["steps"] = [s for s in steps if not (isinstance(s, dict) and _step_blank(s))]
            if is_blank(goal.get("title")) and not goal.get("steps"):
                continue
            goals.append(goal)
        if "goals" in raw:
            raw["goals"] = goals
        if isinstance(raw.get("care_team"), list):
            raw["care_team"] = [
                m
                for m in raw["care_team"]
                if not (isinstance(m, dict) and is_blank({k: v for k, v in m.items() if k != "id"}))
            ]
        return raw

    def ensure_ids(self, content: dict, make_id: Callable[[], str]) -> None:
        seen: set[str] = set()
        for item in _items_with_ids(content):
            if not item.get("id") or item["id"] in seen:
                item["id"] = make_id()
            seen.add(item["id"])

    def attributable(self, content: dict) -> Iterator[tuple[str, dict]]:
        for key in DOMAIN_KEYS:
            node = content.get("domains", {}).get(key)
            if node is not None:
                yield f"domain:{key}", node
        for goal in content.get("goals", []):
            yield f"goal:{goal['id']}", goal
            for step in goal.get("steps", []):
                yield f"step:{step['id']}", step
        yield "what_matters", content.get("what_matters", {})

    def fields(self, content: dict) -> list[Field]:
        out: list[Field] = []
        for key in DOMAIN_KEYS:
            words = content.get("domains", {}).get(key, {}).get("own_words", "")
            out.append(Field(f"domain:{key}", f"{DOMAIN_LABELS[key]}: in my own words", words))
        for n, goal in enumerate(content.get("goals", []), start=1):
            gid = goal["id"]
            out.append(Field(f"goal:{gid}", f"Goal {n}", goal["title"]))
            for m, step in enumerate(goal.get("steps", []), start=1):
                sid, where = step["id"], f"Goal {n}, step {m}"
                out.append(Field(f"step:{sid}:text", f"{where}", step["text"]))
                out.append(Field(f"step:{sid}:owner", f"{where}: who", owner_label(step["owner"])))
                out.append(Field(f"step:{sid}:due", f"{where}: by when", step["due"]))
                out.append(
                    Field(f"step:{sid}:status", f"{where}: status", STEP_STATUSES[step["status"]])
                )
        for n, member in enumerate(content.get("care_team", []), start=1):
            mid = member["id"]
            who = member["name"] + (f" ({member['role']})" if member.get("role") else "")
            out.append(Field(f"team:{mid}", f"Care team member {n}", who))
            out.append(
                Field(
                    f"team:{mid}:does",
                    f"Care team member {n}: what they do",
                    member.get("what_they_do", ""),
                )
            )
            out.append(
                Field(
                    f"team:{mid}:sees",
                    f"Care team member {n}: what they may see",
                    member.get("may_see", ""),
                )
            )
        out.append(
            Field(
                "what_matters",
                "What matters to me",
                content.get("what_matters", {}).get("text", ""),
            )
        )
        out.append(
            Field(
                "review_interval_weeks",
                "Review every (weeks)",
                str(content.get("review_interval_weeks", "")),
            )
        )
        return out


def owner_label(owner: dict) -> str:
    if owner.get("kind") == "other":
        return owner.get("name") or "Someone else"
    return STEP_OWNERS.get(owner.get("kind", ""), "")


def _items_with_ids(content: dict):
    for goal in content.get("goals", []):
        yield goal
        yield from goal.get("steps", [])
    yield from content.get("care_team", [])


CARE_PLAN = CarePlanKind()
