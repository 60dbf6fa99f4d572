"""The care plan: the client's life domains in their own words, goals in small steps, the
care team, and what matters to the client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from marshmallow import fields, post_load

from .blocks import (
    StrictSchema,
    TextBlockSchema,
    assign_ids,
    drop_blank_goals,
    drop_blank_items,
    goal_dates,
    goal_fields,
    goal_nodes,
    goals_and_steps,
    goals_field,
    id_field,
    people_field,
    text_field,
)
from .documents import DocumentKind, Field, quoted
from .typed_numbers import whole_number_field
from .writing_direction import closed

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

DEFAULT_REVIEW_WEEKS = 12


def review_interval_field():
    return whole_number_field(
        DEFAULT_REVIEW_WEEKS,
        1,
        52,
        invalid="Please give a whole number of weeks.",
        out_of_range="Choose between 1 and 52 weeks.",
    )


class DomainViewSchema(StrictSchema):
    own_words = text_field()


class CareTeamMemberSchema(StrictSchema):
    id = id_field()
    name = text_field(200, required=True)
    role = text_field(200)
    what_they_do = text_field(1000)
    may_see = text_field(1000)


# One field per life domain (not a dict of them), so a message about a domain's words is
# named like its form field, "domains-housing-own_words", and shown beside it.
DomainsSchema = type(
    "DomainsSchema",
    (StrictSchema,),
    {
        key: fields.Nested(DomainViewSchema, load_default=lambda: {"own_words": ""})
        for key in DOMAIN_KEYS
    },
)


class CarePlanSchema(StrictSchema):
    domains = fields.Nested(DomainsSchema, load_default=dict)
    goals = goals_field()
    care_team = people_field(CareTeamMemberSchema)
    what_matters = fields.Nested(TextBlockSchema, load_default=lambda: {"text": ""})
    review_interval_weeks = review_interval_field()

    @post_load
    def _all_domains(self, data, **kwargs):
        # Every life domain is always present, in a fixed order, so versions compare cleanly.
        given = data.get("domains") or {}
        data["domains"] = {key: given.get(key, {"own_words": ""}) for key in DOMAIN_KEYS}
        return data


class CarePlanKind(DocumentKind):
    name = "care_plan"
    label = "Care plan"
    schema = CarePlanSchema
    settings_keys = ("review_interval_weeks",)

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
        if "goals" in raw:
            raw["goals"] = drop_blank_goals(raw["goals"])
        if "care_team" in raw:
            raw["care_team"] = drop_blank_items(raw["care_team"])
        return raw

    def ensure_ids(self, content: dict, make_id: Callable[[], str]) -> None:
        assign_ids(goals_and_steps(content.get("goals", [])), make_id)
        assign_ids(iter(content.get("care_team", [])), make_id)

    def dates(self, content: dict) -> Iterator[tuple[str, str]]:
        return goal_dates(content.get("goals"), "goals")

    def sections(self) -> list[tuple[str, str]]:
        return [
            ("domains", "My life, in my own words"),
            ("goals", "Goals and steps"),
            ("care_team", "My care team"),
            ("what_matters", "What matters to me"),
        ]

    def review_interval_weeks(self, content: dict) -> int:
        return int(content.get("review_interval_weeks") or DEFAULT_REVIEW_WEEKS)

    def form_words(self) -> dict[str, str]:
        return {
            **super().form_words(),
            **{f"domains.{key}": DOMAIN_LABELS[key] for key in DOMAIN_KEYS},
            # As the form's label says it, so the summary names the field the page shows.
            "review_interval_weeks": "Review this plan every how many weeks?",
        }

    def attributable(self, content: dict) -> Iterator[tuple[str, dict]]:
        for key in DOMAIN_KEYS:
            node = content.get("domains", {}).get(key)
            if node is not None:
                yield f"domain:{key}", node
        yield from goal_nodes(content.get("goals", []))
        for member in content.get("care_team", []):
            yield f"team:{member['id']}", member  # as `fields` names the member
        yield "what_matters", content.get("what_matters", {})

    def part_name(self, key: str, node: dict) -> str:
        # A life domain by its label, as the page heads it; a care team member by their name;
        # "What matters to me" is a section.
        if key.startswith("team:"):
            return quoted(node.get("name"))
        return (
            DOMAIN_LABELS.get(key.removeprefix("domain:"), "") if key.startswith("domain:") else ""
        )

    def item_lists(self, content: dict) -> Iterator[tuple[str, str, list]]:
        # Each section is a list itself.
        for section, noun in (("goals", "goal"), ("care_team", "person")):
            items = content.get(section)
            yield section, noun, items if isinstance(items, list) else []

    def fields(self, content: dict) -> list[Field]:
        parts = dict(self.sections())
        life, goals, team = parts["domains"], parts["goals"], parts["care_team"]
        out: list[Field] = []
        for key in DOMAIN_KEYS:
            words = content.get("domains", {}).get(key, {}).get("own_words", "")
            label = f"{DOMAIN_LABELS[key]}: in my own words"
            out.append(Field(f"domain:{key}", label, words, life))
        # Empty lists are still parts of the plan: the PDF prints them as left blank.
        out += goal_fields(content.get("goals", []), part=goals) or [
            Field("goals", "Goals", "", goals)
        ]
        if not content.get("care_team"):
            out.append(Field("care_team", "Care team", "", team))
        for n, member in enumerate(content.get("care_team", []), start=1):
            mid, where = member["id"], f"Care team member {n}"
            who = closed(member["name"]) + (f", {member['role']}" if member.get("role") else "")
            does, sees = member.get("what_they_do", ""), member.get("may_see", "")
            out.append(Field(f"team:{mid}", where, who, team))
            out.append(Field(f"team:{mid}:does", f"{where}: what they do", does, team))
            out.append(Field(f"team:{mid}:sees", f"{where}: what they may see", sees, team))
        what_matters = content.get("what_matters", {}).get("text", "")
        out.append(Field("what_matters", "What matters to me", what_matters, parts["what_matters"]))
        weeks = str(content.get("review_interval_weeks", ""))
        out.append(Field("review_interval_weeks", "Review every (weeks)", weeks, "Review"))
        return out


CARE_PLAN = CarePlanKind()
