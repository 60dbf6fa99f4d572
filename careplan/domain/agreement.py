"""Partnership agreements: a document kind whose sections come from a service's template.

Templates are data (agreements/*.toml). A template is validated when loaded; an agreement
keeps its own copy of the template it was made from, so editing a template later never
changes an existing agreement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .blocks import (
    MAX_HANDOVERS,
    BoundedList,
    IsoDates,
    StrictSchema,
    TextBlockSchema,
    assign_ids,
    date_field,
    dicts,
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
from .documents import DocumentKind, Field, new_id, quoted
from .local_time import show
from .nested import SEP
from .plan_dates import PassedUntil, earliest_until, passed_until, past_days
from .typed_numbers import whole_number_field
from .writing_direction import closed

SECTION_KEYS = {
    "shared_goals": "Our shared goals",
    "communication": "How we communicate",
    "boundaries": "Boundaries, both sides",
    "contingencies": "When I am not well",
    "flexibility": "Flexibility and renegotiation",
    "support": "Support",
    "review": "Review",
}
REQUIRED_SECTIONS = ("boundaries", "contingencies")
# Parts that should not be signed empty unless the signer says it is on purpose: "always", only
# "with_self_referral" terms switched on, or "never". A template field says which with
# `confirm_if_empty`; these defaults apply where it does not, and to agreements copied from
# templates written before the setting existed.
CONFIRM_IF_EMPTY = ("never", "always", "with_self_referral")
DEFAULT_CONFIRM_IF_EMPTY = {
    ("shared_goals", "goals"): "always",
    ("boundaries", "out_of_hours"): "always",
    ("contingencies", "contacts"): "always",
    ("contingencies", "self_referral_how"): "with_self_referral",
}
FIELD_TYPES = ("text", "goals", "people", "handover")
SLUG = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SLUG_MESSAGE = "Use lower-case letters, digits and underscores, starting with a letter."

# The agreed terms (how often it is reviewed, the crisis plan, self-referral): their title.
TERMS = "Agreed terms"


# --- the template file -------------------------------------------------------------------


class _TemplateSchema(Schema):
    class Meta:
        unknown = RAISE


class TemplateFieldSchema(_TemplateSchema):
    key = fields.String(required=True, validate=validate.Regexp(SLUG, error=SLUG_MESSAGE))
    type = fields.String(load_default="text", validate=validate.OneOf(FIELD_TYPES))
    prompt = fields.String(required=True, validate=validate.Length(min=1, max=300))
    help = fields.String(load_default="", validate=validate.Length(max=1000))
    confirm_if_empty = fields.String(load_default=None, validate=validate.OneOf(CONFIRM_IF_EMPTY))


class TemplateSectionSchema(_TemplateSchema):
    key = fields.String(required=True, validate=validate.OneOf(list(SECTION_KEYS)))
    title = fields.String(load_default=None, validate=validate.Length(min=1, max=120))
    intro = fields.String(load_default="", validate=validate.Length(max=2000))
    fields_ = fields.List(
        fields.Nested(TemplateFieldSchema),
        data_key="fields",
        attribute="fields",
        required=True,
        validate=validate.Length(min=1, error="A section needs at least one field."),
    )

    @validates_schema
    def _unique_fields(self, data, **kwargs):
        keys = [f["key"] for f in data.get("fields", [])]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValidationError(
                f"Field keys must be unique; repeated: {', '.join(dupes)}", "fields"
            )


class SelfReferralTermsSchema(_TemplateSchema):
    enabled = fields.Boolean(load_default=False)
    max_nights = fields.Integer(load_default=5, validate=validate.Range(min=1, max=60))
    min_days_since_discharge = fields.Integer(
        load_default=14, validate=validate.Range(min=0, max=365)
    )


class TemplateDefaultsSchema(_TemplateSchema):
    review_interval_weeks = fields.Integer(load_default=12, validate=validate.Range(min=1, max=52))
    post_crisis_review_days = fields.Integer(load_default=7, validate=validate.Range(min=1, max=60))
    contingency_max_days = fields.Integer(load_default=28, validate=validate.Range(min=1, max=365))
    self_referral = fields.Nested(
        SelfReferralTermsSchema, load_default=lambda: SelfReferralTermsSchema().load({})
    )


class TemplateSchema(_TemplateSchema):
    id = fields.String(required=True, validate=validate.Regexp(SLUG, error=SLUG_MESSAGE))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    defaults = fields.Nested(
        TemplateDefaultsSchema, load_default=lambda: TemplateDefaultsSchema().load({})
    )
    sections = fields.List(fields.Nested(TemplateSectionSchema), required=True)

    @validates_schema
    def _sections(self, data, **kwargs):
        keys = [s["key"] for s in data.get("sections", [])]
        missing = [k for k in REQUIRED_SECTIONS if k not in keys]
        if missing:
            raise ValidationError(
                f"Every agreement needs these sections: {', '.join(missing)} is missing.",
                "sections",
            )
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValidationError(
                f"Each section may appear once; repeated: {', '.join(dupes)}", "sections"
            )


class TemplateInvalid(ValueError):
    """A template file is broken; the message names the file and the field."""


def parse_template(source_name: str, data: dict) -> dict:
    try:
        template = TemplateSchema().load(data)
    except ValidationError as err:
        raise TemplateInvalid(f"{source_name}: {_describe(err.messages)}") from err
    for section in template["sections"]:
        section["title"] = section["title"] or SECTION_KEYS[section["key"]]
    return template


def _describe(messages, path: str = "") -> str:
    parts = []
    for key, value in messages.items():
        where = f"{path}.{key}" if path else str(key)
        if isinstance(value, dict):
            parts.append(_describe(value, where))
        else:
            parts.append(f"{where}: {' '.join(map(str, value))}")
    return "; ".join(parts)


# --- empty parts, before signing -------------------------------------------------------


@dataclass(frozen=True)
class EmptyPart:
    key: str  # "contingencies.contacts"
    label: str  # "When I am not well: Who should be contacted?"


def confirm_rule(section_key: str, field: dict) -> str:
    return field.get("confirm_if_empty") or DEFAULT_CONFIRM_IF_EMPTY.get(
        (section_key, field["key"]), "never"
    )


def empty_key_parts(template: dict, content: dict) -> list[EmptyPart]:
    """The parts of this agreement that matter in a crisis or for working together (crisis
    contacts, out-of-hours contacts, how to ask for an admission, shared goals: whatever the
    template marks) and are empty. Signing with any of them empty needs a confirmation."""
    self_referral = bool(content.get("terms", {}).get("self_referral", {}).get("enabled"))
    empty = []
    for section in template["sections"]:
        values = content.get("sections", {}).get(section["key"], {})
        for field in section["fields"]:
            rule = confirm_rule(section["key"], field)
            if rule == "never" or (rule == "with_self_referral" and not self_referral):
                continue
            value = values.get(field["key"])
            blank = (
                not (value or {}).get("text", "").strip() if field["type"] == "text" else not value
            )
            if blank:
                empty.append(
                    EmptyPart(
                        f"{section['key']}.{field['key']}", f"{section['title']}: {field['prompt']}"
                    )
                )
    return empty


def blank_on_purpose(template: dict | None, content: dict, agreed: bool) -> frozenset[str]:
    """The empty key parts ("section.field") of a version, if it was agreed: nobody signs with
    one empty without confirming it is left blank on purpose (careplan.services.signoff), so
    both signers did, and the signed PDF and the pages say so. A draft's empty parts are only
    not written yet; a care plan (no template) has none."""
    if not agreed or not template:
        return frozenset()
    return frozenset(p.key for p in empty_key_parts(template, content))


# --- agreement content -------------------------------------------------------------------


class PersonSchema(StrictSchema):
    id = id_field()
    name = text_field(200, required=True)
    role = text_field(200)
    how_to_contact = text_field(500)
    when = text_field(500)


class HandoverSchema(IsoDates, StrictSchema):
    """A decision the client hands over for a limited time."""

    date_keys = ("until",)
    id = id_field()
    decision = text_field(1000, required=True)
    to_whom = text_field(200, required=True)
    until = date_field(required=True)


def _field_for(kind: str):
    if kind == "goals":
        return goals_field()
    if kind == "people":
        return people_field(PersonSchema)
    if kind == "handover":
        return BoundedList(
            fields.Nested(HandoverSchema),
            MAX_HANDOVERS,
            "Up to {max} decisions can be handed over here, and there are {count}. Please "
            "combine or remove some.",
            load_default=list,
        )
    return fields.Nested(TextBlockSchema, load_default=lambda: {"text": ""})


def _number(default: int, low: int, high: int):
    return whole_number_field(
        default,
        low,
        high,
        invalid="Please give a whole number.",
        out_of_range=f"Choose a number from {low} to {high}.",
    )


def numbered(label: str, n: int, items: list) -> str:
    """A list's item under its question: numbered when there are more than one, so a single
    answer does not read as if a footnote or a second one were missing."""
    return f"{label} ({n})" if len(items) > 1 else label


def _until_dates(value, path: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
    """(form name, ISO date, the decision's id) of each decision's "until" in a handover list
    at `path`; what is not shaped so (a submission the schema refused) is passed over."""
    for n, handed in enumerate(dicts(value)):
        name = SEP.join(str(p) for p in (*path, n, "until"))
        yield name, handed.get("until") or "", str(handed.get("id") or "")


class AgreementKind(DocumentKind):
    name = "agreement"
    label = "Partnership agreement"
    settings_keys = ("terms",)  # numbers the template sets, changed or not

    def __init__(self, template: dict):
        self.template = template
        d = template["defaults"]
        sr = d["self_referral"]
        section_schemas = {
            s["key"]: type(
                f"Section_{s['key']}",
                (StrictSchema,),
                {f["key"]: _field_for(f["type"]) for f in s["fields"]},
            )
            for s in template["sections"]
        }
        sections_schema = type(
            "Sections",
            (StrictSchema,),
            {
                k: fields.Nested(v, load_default=lambda v=v: v().load({}))
                for k, v in section_schemas.items()
            },
        )
        self_referral = type(
            "SelfReferralTerms",
            (StrictSchema,),
            {
                "enabled": fields.Boolean(
                    load_default=sr["enabled"],
                    truthy={"yes", "true", "on", "1", True},
                    falsy={"no", "false", "off", "0", "", False},
                ),
                "max_nights": _number(sr["max_nights"], 1, 60),
                "min_days_since_discharge": _number(sr["min_days_since_discharge"], 0, 365),
            },
        )
        terms = type(
            "Terms",
            (StrictSchema,),
            {
                "review_interval_weeks": _number(d["review_interval_weeks"], 1, 52),
                "post_crisis_review_days": _number(d["post_crisis_review_days"], 1, 60),
                "contingency_max_days": _number(d["contingency_max_days"], 1, 365),
                "self_referral": fields.Nested(
                    self_referral, load_default=lambda: self_referral().load({})
                ),
            },
        )
        self.schema = type(
            "AgreementSchema",
            (StrictSchema,),
            {
                "sections": fields.Nested(
                    sections_schema, load_default=lambda: sections_schema().load({})
                ),
                "terms": fields.Nested(terms, load_default=lambda: terms().load({})),
            },
        )

    @property
    def ref(self) -> dict:
        return {
            "id": self.template["id"],
            "version": self.template["version"],
            "name": self.template["name"],
        }

    def empty_content(self) -> dict:
        return {**self.schema().load({}), "template": self.ref}

    def validate(
        self, raw: dict, make_id: Callable[[], str] = new_id, *, from_form: bool = False
    ) -> dict:
        content = super().validate(raw, make_id, from_form=from_form)
        content["template"] = self.ref
        return content

    def drop_blank_rows(self, raw: dict) -> dict:
        raw = {k: v for k, v in raw.items() if k != "template"}
        sections = raw.get("sections")
        if isinstance(sections, dict):
            sections = {k: dict(v) if isinstance(v, dict) else v for k, v in sections.items()}
            for section, field in self._fields():
                values = sections.get(section["key"])
                if isinstance(values, dict) and field["key"] in values:
                    if field["type"] == "goals":
                        values[field["key"]] = drop_blank_goals(values[field["key"]])
                    elif field["type"] in ("people", "handover"):
                        values[field["key"]] = drop_blank_items(values[field["key"]])
            raw["sections"] = sections
        return raw

    def _fields(self) -> Iterator[tuple[dict, dict]]:
        for section in self.template["sections"]:
            for field in section["fields"]:
                yield section, field

    def ensure_ids(self, content: dict, make_id: Callable[[], str]) -> None:
        for section, field in self._fields():
            value = content["sections"][section["key"]][field["key"]]
            if field["type"] == "goals":
                assign_ids(goals_and_steps(value), make_id)
            elif field["type"] in ("people", "handover"):
                assign_ids(iter(value), make_id)

    def dates(self, content: dict) -> Iterator[tuple[str, str]]:
        # Also read from a submission the schema refused: what is not shaped so is passed over.
        sections = content.get("sections")
        for section, field in self._fields():
            values = sections.get(section["key"]) if isinstance(sections, dict) else None
            value = values.get(field["key"]) if isinstance(values, dict) else None
            path = ("sections", section["key"], field["key"])
            if field["type"] == "goals":
                yield from goal_dates(value, *path)
            elif field["type"] == "handover":
                yield from ((name, iso) for name, iso, _ in _until_dates(value, path))

    def _handed_over_dates(self, content: dict) -> Iterator[tuple[str, str, str]]:
        """(form name, ISO date, decision id) of each decision's "until", as `dates` reads
        them."""
        sections = content.get("sections")
        for section, field in self._fields():
            if field["type"] != "handover":
                continue
            values = sections.get(section["key"]) if isinstance(sections, dict) else None
            value = values.get(field["key"]) if isinstance(values, dict) else None
            yield from _until_dates(value, ("sections", section["key"], field["key"]))

    def earliest_handed_over_until(self, content: dict) -> date | None:
        return earliest_until(iso for _, iso, _ in self._handed_over_dates(content))

    def handed_over_until_passed(self, content: dict, today: date) -> list[PassedUntil]:
        sections = content.get("sections")
        decisions = []
        for section, field in self._fields():
            if field["type"] != "handover":
                continue
            values = sections.get(section["key"]) if isinstance(sections, dict) else None
            value = values.get(field["key"]) if isinstance(values, dict) else None
            path = ("sections", section["key"], field["key"])
            for (name, iso, _), handed in zip(_until_dates(value, path), dicts(value), strict=True):
                decisions.append(
                    (
                        section["key"],
                        section["title"],
                        name,
                        quoted(handed.get("decision")),
                        str(handed.get("to_whom") or ""),
                        iso,
                    )
                )
        return passed_until(decisions, today)

    def _date_problems(self, before: dict | None, content: dict, today: date) -> dict[str, str]:
        """Also a decision handed over until a day already past, when that decision is new or
        its day changed since `before` (plan_dates.past_days): a day too unlikely to be meant
        is said first."""
        already = (
            {(key, iso) for _, iso, key in self._handed_over_dates(before)} if before else set()
        )
        past = past_days(self._handed_over_dates(content), already, today)
        said = {**past, **super()._date_problems(before, content, today)}
        return {name: said[name] for name, _ in self.dates(content) if name in said}

    def sections(self) -> list[tuple[str, str]]:
        return [(s["key"], s["title"]) for s in self.template["sections"]]

    def part_path(self, key: str) -> tuple[str, ...]:
        return ("sections", key)

    def review_interval_weeks(self, content: dict) -> int:
        return int(content["terms"]["review_interval_weeks"])

    def form_words(self) -> dict[str, str]:
        words = {
            **super().form_words(),
            # Each term as the form's label says it (after "Agreed terms, "), so the summary
            # names the field the page shows; printed and compared fields keep short names.
            "terms": TERMS,
            "terms.review_interval_weeks": "review this agreement every how many weeks?",
            "terms.post_crisis_review_days": (
                "after a crisis, meet to look back within how many days?"
            ),
            "terms.contingency_max_days": (
                "when the plan for when I am not well is used, it lasts at most how many days?"
            ),
            "terms.self_referral": "self-referral",
            "terms.self_referral.max_nights": "for at most how many nights?",
            "terms.self_referral.min_days_since_discharge": (
                "not within how many days of the last time I left?"
            ),
        }
        items = {"goals": "goal", "people": "person", "handover": "decision"}
        for section, field in self._fields():
            path = f"sections.{section['key']}.{field['key']}"
            if field["type"] in items:
                words[f"{path}[]"] = items[field["type"]]
            else:
                words[path] = field["prompt"]
        return words

    def attributable(self, content: dict) -> Iterator[tuple[str, dict]]:
        for section, field in self._fields():
            value = content.get("sections", {}).get(section["key"], {}).get(field["key"])
            if value is None:
                continue
            where = f"{section['key']}.{field['key']}"
            if field["type"] == "text":
                yield where, value
            elif field["type"] == "goals":
                yield from goal_nodes(value)
            else:
                for item in value:
                    yield f"{where}:{item['id']}", item

    def part_name(self, key: str, node: dict) -> str:
        # A field by its question (none when it is its section's only one); an item of a list
        # by its main words: a person's name, a decision.
        where, _, item = key.partition(":")
        for section, field in self._fields():
            if f"{section['key']}.{field['key']}" != where:
                continue
            if item:
                main = {"people": "name", "handover": "decision"}.get(field["type"], "")
                return quoted(node.get(main)) if main else ""
            return quoted(field["prompt"]) if len(section["fields"]) > 1 else ""
        return ""

    def item_lists(self, content: dict) -> Iterator[tuple[str, str, list]]:
        nouns = {"goals": "goal", "people": "person", "handover": "decision"}
        for section, field in self._fields():
            value = content.get("sections", {}).get(section["key"], {}).get(field["key"])
            if field["type"] in nouns and isinstance(value, list):
                yield section["key"], nouns[field["type"]], value

    def fields(self, content: dict) -> list[Field]:
        out: list[Field] = []
        for section, field in self._fields():
            out += self._part_fields(section, field, content)
        t = content.get("terms", {})
        sr = t.get("self_referral", {})
        weeks = str(t.get("review_interval_weeks", ""))
        out.append(Field("terms.review", "Review every (weeks)", weeks, TERMS))
        out.append(
            Field(
                "terms.post_crisis",
                "Review after a crisis within (days)",
                str(t.get("post_crisis_review_days", "")),
                TERMS,
            )
        )
        out.append(
            Field(
                "terms.contingency",
                "A crisis plan lasts at most (days)",
                str(t.get("contingency_max_days", "")),
                TERMS,
            )
        )
        if sr.get("enabled"):
            out.append(
                Field(
                    "terms.self_referral",
                    "Asking for a short stay myself",
                    f"up to {sr['max_nights']} nights, not within {sr['min_days_since_discharge']} days "
                    "of the last time I left",
                    TERMS,
                )
            )
        else:
            out.append(
                Field(
                    "terms.self_referral",
                    "Asking for a short stay myself",
                    "not part of this agreement",
                    TERMS,
                )
            )
        return out

    def _part_fields(self, section: dict, field: dict, content: dict) -> list[Field]:
        """The fields one part of the agreement ("section.field") reads as in `content`."""
        value = content.get("sections", {}).get(section["key"], {}).get(field["key"])
        if value is None:
            return []
        where = f"{section['key']}.{field['key']}"
        part = section["title"]
        label = f"{part}: {field['prompt']}"
        if field["type"] == "text":
            return [Field(where, label, value.get("text", ""), part)]
        if not value:
            # An empty list is still a part of the agreement: printed as left blank.
            return [Field(where, label, "", part)]
        if field["type"] == "goals":
            return goal_fields(value, prefix=f"{part}: ", part=part)
        out: list[Field] = []
        if field["type"] == "people":
            for n, p in enumerate(value, start=1):
                bits = [p["name"], p.get("role"), p.get("how_to_contact"), p.get("when")]
                bits = [closed(b) for b in bits if b]  # each part reaches only itself
                text = " · ".join(bits)
                out.append(Field(f"{where}:{p['id']}", numbered(label, n, value), text, part))
            return out
        for n, h in enumerate(value, start=1):
            decision, to_whom = closed(h["decision"]), closed(h["to_whom"])
            # The date in words, as the pages say it: this text is what the PDF
            # and "what changed" print.
            until = show(h["until"], UTC)
            text = f"{decision} — handed to {to_whom} until {until}"
            out.append(Field(f"{where}:{h['id']}", numbered(label, n, value), text, part))
        return out

    def left_blank_on_purpose(self, agreed: dict, draft: dict) -> frozenset[str]:
        """The keys of the fields (as `fields` names them) of a draft that stand where
        `agreed`, an agreed version, had a part both signers left blank on purpose: what the
        agreed side says of them when the two are compared (compare.Change.key)."""
        empty = blank_on_purpose(self.template, agreed, True)
        keys: set[str] = set(empty)
        for section, field in self._fields():
            if f"{section['key']}.{field['key']}" in empty:
                keys.update(f.key for f in self._part_fields(section, field, draft))
        return frozenset(keys)
