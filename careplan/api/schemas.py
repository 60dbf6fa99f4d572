"""Marshmallow schemas for everything the API reads and writes; the OpenAPI document is
generated from them (careplan.api.openapi). Unknown fields are refused everywhere."""

from __future__ import annotations

from marshmallow import (
    INCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_dump,
    validate,
    validates_schema,
)

from ..domain.api_tokens import SCOPES
from ..domain.kinds import KIND_LABELS
from ..domain.numbers import (
    AS_JSON,
    MAX_WHOLE_NUMBER,
    is_json_whole_number,
    is_whole_number,
    number_problem,
)
from ..domain.paging import PAGE_NUMBER
from ..domain.reviews import ReviewReason
from ..domain.roles import Role
from ..domain.signoff import State
from ..domain.supervision import SORTS, DashState

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


class WholeNumber(fields.Integer):
    """A whole number: in a JSON body an integer (not "2", not 2.0, not true); in a query
    string (`text=True`) ASCII digits only, as everywhere (careplan.domain.numbers), where
    int() alone would also take " 12", "+12" or "١٢"."""

    def __init__(self, *args, text: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.text = text

    def _deserialize(self, value, attr, data, **kwargs):
        if self.text and isinstance(value, str):
            if not is_whole_number(value):
                raise self.make_error("invalid")
            value = int(value)
        elif not is_json_whole_number(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _number(
    what: str, most: int = MAX_WHOLE_NUMBER, least: int = 1, text: bool = False, **kwargs
) -> WholeNumber:
    """A whole number in a query string (`text`) or a JSON body: anything else, whether not
    a number at all, below the least (-5) or too large (99999999999), is told which numbers
    there are (careplan.domain.numbers.number_problem), not "Not a valid integer." or
    "Must be greater than or equal to 1 and less than or equal to ...". In a body, "2",
    2.0 or true is also told how to send it."""
    problem = number_problem(what, most, least)
    kind = problem if text else f"{problem} {AS_JSON}"
    return WholeNumber(
        text=text,
        validate=validate.Range(min=least, max=most, error=problem),
        error_messages={"invalid": kind, "null": kind},
        **kwargs,
    )


def _query_number(what: str, most: int = MAX_WHOLE_NUMBER, **kwargs) -> WholeNumber:
    """A number in a query string, from 1 (a page number, a count, an id)."""
    return _number(what, most, text=True, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON's true or false, nothing that looks like one ("yes", 1, 0): nobody signs by a
    guess at what a value meant."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Strict(Schema):
    class Meta:
        unknown = RAISE


# --- inputs --------------------------------------------------------------------------------


class PageQuery(Strict):
    page = _query_number(
        PAGE_NUMBER,
        load_default=1,
        metadata={"description": f"From 1 to {MAX_WHOLE_NUMBER}."},
    )
    per_page = _query_number(
        "a number of items per page",
        MAX_PER_PAGE,
        load_default=DEFAULT_PER_PAGE,
        metadata={"description": f"Items per page, 1 to {MAX_PER_PAGE}."},
    )


class CompareQuery(Strict):
    older = _query_number("a version number", required=True)
    newer = _query_number("a version number", required=True)


class DashboardQuery(Strict):
    """The web dashboard's filters, by the same names."""

    team = _query_number("a team's id", metadata={"description": "A team's id."})
    key_worker = _query_number("a key worker's id", metadata={"description": "A key worker's id."})
    state = fields.String(validate=validate.OneOf([s.value for s in DashState]))
    due_from = fields.Date()
    due_to = fields.Date()
    sort = fields.String(validate=validate.OneOf(list(SORTS)))
    page = _query_number(PAGE_NUMBER)


class NewDocument(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(list(KIND_LABELS)))
    template_id = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "For an agreement: which template it starts from."},
    )

    @validates_schema
    def _template_for_agreements(self, data, **_kwargs):
        if data["kind"] == "agreement" and not data.get("template_id"):
            raise ValidationError("Please choose an agreement template.", "template_id")
        if data["kind"] != "agreement" and "template_id" in data:
            raise ValidationError("Only agreements start from a template.", "template_id")


class NewVersion(Strict):
    base_version = _number(
        "a version number",
        least=0,
        required=True,
        metadata={"description": "The version this edit was based on (0 for the first)."},
    )
    content = fields.Dict(
        required=True,
        metadata={
            "description": "The whole content (or, with `part`, only that part), in the "
            "shape the document's kind defines; validated as the web's forms are. Its "
            'numbers are JSON integers: 8, not "8" or 8.0. Who wrote and changed each part '
            "(`written_by`, `changed_by`, `writers_words`, `changers_words`) and what was taken "
            "out (`removed_items`) come from the versions, not from here: sent, they are ignored."
        },
    )
    change_note = fields.String(load_default="", validate=validate.Length(max=1000))
    part = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "Change only this section; the rest comes from the base."},
    )


class PutBackBody(Strict):
    base_version = _number(
        "a version number",
        required=True,
        metadata={"description": "The version you read the item in as taken out (its latest)."},
    )
    record_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The `id` of the item in the version's `removed_items`."},
    )
    even_if_there = StrictBoolean(
        load_default=False,
        metadata={
            "description": "Put it back even though something like it is in the document "
            "already (answered 409 with `looks_the_same` otherwise)."
        },
    )


class NewComment(Strict):
    section_key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version_number = _number("a version number", required=True)
    body = fields.String(required=True, validate=validate.Length(min=1, max=3000))


_CODE = fields.String(
    load_default="",
    validate=validate.Length(max=20),
    metadata={
        "description": "The six-digit code from the signer's authenticator app, or one of "
        "their backup codes: needed when they have turned the second step on (each code "
        "works once)."
    },
)


class SignBody(Strict):
    password = fields.String(
        required=True,
        validate=validate.Length(max=1000),
        metadata={"description": "The signer's own password, typed again to sign."},
    )
    code = _CODE
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    confirm_blank = StrictBoolean(
        load_default=False,
        metadata={"description": "An agreement's empty key parts are left blank on purpose."},
    )


class DeclineBody(Strict):
    password = fields.String(required=True, validate=validate.Length(max=1000))
    code = _CODE
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


# --- outputs -------------------------------------------------------------------------------


class ErrorDetail(Strict):
    status = fields.Integer(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "Messages by field name (a path such as content-goals-0)."},
    )
    conflict = fields.Nested("ConflictDetail", metadata={"description": "With 409 on a save."})


class ErrorBody(Strict):
    error = fields.Nested(ErrorDetail, required=True)


class Permissions(Strict):
    read = fields.Boolean()
    edit = fields.Boolean()
    comment = fields.Boolean()
    sign = fields.Boolean()


class ClientSummary(Strict):
    id = fields.Integer(attribute="client_id")
    name = fields.String()
    key_worker = fields.String()
    documents = fields.Integer()
    last_change = fields.DateTime(allow_none=True)
    next_review = fields.Date(allow_none=True)
    awaiting_signature = fields.Integer()  # one side has signed the latest version
    unsigned = fields.Integer()  # those, and drafts nobody has signed yet
    passed_day = fields.Integer(
        metadata={
            "description": "Documents whose latest version nobody can sign any more: a "
            "decision in it was handed over until a day that has passed. Not counted in "
            "awaiting_signature or unsigned; each needs a new version."
        }
    )


class DocumentSummary(Strict):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.String()
    title = fields.String()
    head_number = fields.Integer()
    updated_at = fields.DateTime()


class ClientRecord(Strict):
    id = fields.Integer(attribute="client_id")
    name = fields.String(attribute="client_name")
    key_worker = fields.String(attribute="key_worker_name")
    documents = fields.List(fields.Nested(DocumentSummary))
    permissions = fields.Nested(Permissions, attribute="access")


class VersionInfo(Strict):
    number = fields.Integer()
    author_name = fields.String()
    author_role = fields.String()
    created_at = fields.DateTime()
    change_note = fields.String()
    content_hash = fields.String()


class Signature(Strict):
    name = fields.String()
    role = fields.String()
    version_number = fields.Integer()
    outcome = fields.String()
    outcome_label = fields.String()
    comment = fields.String()
    signed_at = fields.DateTime()
    method = fields.String()
    content_hash = fields.String()


class SignOff(Strict):
    state = fields.String(validate=validate.OneOf([s.value for s in State]))
    agreed_version = fields.Function(
        lambda v: v.agreed.number if v.agreed else None,
        allow_none=True,
        metadata={"type": "integer", "nullable": True},
    )
    agreed_at = fields.DateTime(allow_none=True)
    waiting_for = fields.List(fields.String())
    key_worker_name = fields.String()
    signatures = fields.List(fields.Nested(Signature))
    refusal = fields.String(
        attribute="sign_refusal",
        allow_none=True,
        metadata={
            "description": "Why the caller may not sign the latest version now (a decision in "
            "it handed over until a day that has passed still leaves declining open)."
        },
    )


def _sections(page) -> list[dict]:
    return [{"key": k, "title": t} for k, t in page.sections]


class Document(Strict):
    id = fields.Integer()
    client_id = fields.Integer()
    client_name = fields.String()
    kind = fields.String()
    kind_label = fields.String()
    title = fields.String()
    head_number = fields.Integer()
    version = fields.Nested(VersionInfo, attribute="shown", allow_none=True)
    content = fields.Dict(
        metadata={
            "description": "The version's content as saved. Each part someone wrote says who "
            "(`written_by`, `changed_by`) and keeps the words someone else's change replaced "
            "(`writers_words`, `changers_words`), a care team member too; one listed in a "
            "version saved before members said so has neither until the next save, which "
            "credits it from the versions. An item (a goal, step, person or decision) someone "
            "took out that another person wrote or last changed is kept in `removed_items`, on "
            "its goal for a step, else on the content: each with `id`, `item`, `section`, "
            "`field` (the list it was in; a step's `goal` too), `words` (a goal's `steps` too), "
            "`writers_words` (the writer's own, beside another's change), `written_by`, "
            "`changed_by` (if another), `removed_by`, and `tell`, whom it is kept for until "
            "they change that list themselves or it is put back."
        }
    )
    sections = fields.Function(
        _sections,
        metadata={
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "title": {"type": "string"}},
            },
        },
    )
    permissions = fields.Nested(Permissions, attribute="access")
    signoff = fields.Nested(SignOff)
    removable = fields.Boolean(
        metadata={
            "description": "Nothing is saved in it yet and the caller started it: they may "
            "remove it (DELETE on the document) once nobody, the caller included, has unsaved "
            "writing in it; until then DELETE answers 409 saying so."
        }
    )


class Segment(Strict):
    op = fields.String()
    text = fields.String()


CHANGE_STATUSES = ("added", "changed", "removed")


class Change(Strict):
    key = fields.String()
    label = fields.String()
    status = fields.String(
        validate=validate.OneOf(CHANGE_STATUSES),
        metadata={
            "description": "`added`: written where there was nothing; `removed`: taken out, "
            "nothing left in its place; `changed`: words changed (see `segments`)."
        },
    )
    before = fields.String()
    after = fields.String()
    segments = fields.List(fields.Nested(Segment))
    part = fields.String(
        metadata={"description": "The section it is in, by its title, e.g. 'Goals and steps'."}
    )


class Person(Strict):
    """Someone named in a record, as each part of a document's content names who wrote it and
    who last changed it (`written_by`, `changed_by`)."""

    id = fields.Integer()
    name = fields.String()
    role = fields.String(validate=validate.OneOf([r.value for r in Role]))


class LastChanged(Strict):
    version = fields.Integer(metadata={"description": "The version that last changed it."})
    by = fields.Nested(Person, metadata={"description": "Who made that version."})


class ComparedChange(Change):
    last_changed = fields.Nested(
        LastChanged,
        allow_none=True,
        metadata={
            "description": "Of the versions after `older` up to `newer`, the last that changed "
            "this part, and who made it."
        },
    )


class Comparison(Strict):
    document_id = fields.Integer()
    older = fields.Nested(VersionInfo)
    newer = fields.Nested(VersionInfo)
    made_by = fields.List(
        fields.Nested(Person),
        metadata={
            "description": "Everyone who made a version after `older` up to `newer`, each once, "
            "in the order they first did: not only the newer version's author."
        },
    )
    changes = fields.List(fields.Nested(ComparedChange))

    @pre_dump
    def _who(self, result, **kwargs):
        """The service's comparison, each change with who last changed its part."""
        return {
            "document_id": result.document.id,
            "older": result.older,
            "newer": result.newer,
            "made_by": result.made_by,
            "changes": [
                {
                    **{name: getattr(c, name) for name in Change._declared_fields},
                    "last_changed": (
                        {"version": found[0], "by": found[1]}
                        if (found := result.changed_in.get(c.key))
                        else None
                    ),
                }
                for c in result.changes
            ],
        }


class Finding(Strict):
    where = fields.String()
    found = fields.String()
    suggest = fields.String()
    note = fields.String()


class SaveResult(Strict):
    document_id = fields.Integer()
    number = fields.Integer()
    saved = fields.Boolean()
    language = fields.List(fields.Nested(Finding))


class PutBackResult(Strict):
    document_id = fields.Integer()
    number = fields.Integer(
        metadata={"description": "The version the item is back in: new, or the latest."}
    )
    saved = fields.Boolean(metadata={"description": "False when it was back already."})
    already_put_back = fields.Boolean()
    put_back = fields.String(metadata={"description": "What is back: step “Call the council”."})


class LooksTheSame(Strict):
    item = fields.String(metadata={"description": "goal, step, person or decision"})
    putting_back = fields.String(metadata={"description": "The words of the item put back."})
    there = fields.String(metadata={"description": "The words of the one already there."})
    section = fields.String(metadata={"description": "The section it is in, by its title."})
    goal = fields.String(allow_none=True, metadata={"description": "A step's goal's title."})


class ConflictDetail(Strict):
    base_version = fields.Integer()
    head_version = fields.Integer()
    landed = fields.List(fields.Nested(VersionInfo))
    their_changes = fields.List(fields.Nested(Change))
    my_changes = fields.List(fields.Nested(Change))
    clashes = fields.List(fields.String())
    proposal = fields.Dict(metadata={"description": "Your changes re-applied to the latest."})


class CreatedDocument(Strict):
    id = fields.Integer()
    client_id = fields.Integer()
    kind = fields.String()


class SignResult(Strict):
    document_id = fields.Integer()
    version_number = fields.Integer()
    outcome = fields.String()
    state = fields.String(validate=validate.OneOf([s.value for s in State]))
    agreed_version = fields.Integer(allow_none=True)
    waiting_for = fields.List(fields.String())


class Comment(Strict):
    section_key = fields.String()
    version_number = fields.Integer()
    author_name = fields.String()
    author_role = fields.String()
    created_at = fields.DateTime()
    body = fields.String()


class ReviewRequest(Strict):
    kind = fields.String()
    reason_label = fields.String()
    due_on = fields.Date()
    reason = fields.String()
    asked_by = fields.String()
    asked_at = fields.DateTime()


class ReviewConfirmation(Strict):
    name = fields.String()
    role = fields.String()
    at = fields.DateTime()


class Review(Strict):
    document_id = fields.Integer()
    next_review_on = fields.Date(allow_none=True)
    reason_label = fields.String()
    days_until = fields.Integer(allow_none=True)
    last_reviewed_on = fields.Date(allow_none=True)
    interval_weeks = fields.Integer(allow_none=True)
    agreed_version = fields.Integer(attribute="agreed_number", allow_none=True)
    requests = fields.List(fields.Nested(ReviewRequest))
    confirmations = fields.List(fields.Nested(ReviewConfirmation))


class ReviewDate(Strict):
    document_id = fields.Integer()
    title = fields.String()
    kind_label = fields.String()
    client_name = fields.String()
    on = fields.Date()
    reason_label = fields.String()


class Reminder(Strict):
    id = fields.Integer()
    text = fields.String()
    link = fields.String()
    created_at = fields.DateTime()
    read = fields.Boolean()


class DashboardRow(Strict):
    """A document, or a client in your teams with no care plan saved yet (state
    "no_plan", document_id, kind_label and title null)."""

    document_id = fields.Integer(allow_none=True)
    client_id = fields.Integer()
    client_name = fields.String()
    kind_label = fields.String(allow_none=True)
    state = fields.String(validate=validate.OneOf([s.value for s in DashState]))
    next_review_on = fields.Date(allow_none=True)
    days_overdue = fields.Integer()
    key_worker = fields.String()
    team = fields.String()
    last_signed_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "The last signature of any kind on any version (a decline "
                  "too): not when anything was agreed (agreed_on)."},
    )  # fmt: skip
    title = fields.String(
        allow_none=True,
        metadata={"description": "The document's name as the app shows it (its template's)."},
    )
    agreed_version = fields.Integer(
        allow_none=True, metadata={"description": "The version in force: the one agreed."}
    )
    agreed_on = fields.Date(
        allow_none=True,
        metadata={"description": "The service's day the version in force was agreed."},
    )
    last_reviewed_on = fields.Date(
        allow_none=True,
        metadata={"description": "The day it was last agreed or reviewed."},
    )
    client_since = fields.Date(
        metadata={"description": "When the client's account was made: for a client with no "
                  "care plan, since when they have had none."}
    )  # fmt: skip
    review_reason = fields.String(
        allow_none=True,
        validate=validate.OneOf([r.value for r in ReviewReason]),
        metadata={"description": "Why the next review falls when it does: interval (the "
                  "regular review), earlier (asked for sooner), post_crisis."},
    )  # fmt: skip
    regular_review_on = fields.Date(
        allow_none=True,
        metadata={"description": "When the regular review falls, whatever is asked sooner."},
    )


class Named(Strict):
    id = fields.Integer()
    name = fields.String()


class Dashboard(Strict):
    items = fields.List(fields.Nested(DashboardRow))
    page = fields.Integer()
    per_page = fields.Integer()
    next = fields.String(allow_none=True)
    teams = fields.List(fields.Nested(Named))
    key_workers = fields.List(fields.Nested(Named))
    overdue = fields.Integer(
        metadata={
            "description": "Reviews overdue across all your teams, whatever the filters, as "
            "the page says it; counted up to overdue_counted (a count of that many means "
            "that many or more)."
        }
    )
    overdue_counted = fields.Integer()


class MonthOnTime(Strict):
    month = fields.String(metadata={"description": "For example 'Mar 2027'."})
    on_time_percent = fields.Float(
        allow_none=True,
        metadata={
            "description": "Reviews due that month done by their date, in per cent; null when "
            "no reviews were due (see label), which is not 0% on time."
        },
    )
    label = fields.String(
        metadata={
            "description": "The share in words, for example '75% (3 of 4)'. The current month "
            "counts only reviews due up to today, and its label ends 'so far'."
        }
    )


class WorkerOverdue(Strict):
    key_worker = fields.String()
    overdue = fields.Integer()


class Charts(Strict):
    on_time_by_month = fields.List(fields.Nested(MonthOnTime))
    overdue_by_key_worker = fields.List(fields.Nested(WorkerOverdue))


class FhirBundle(Schema):
    """A FHIR R4 Bundle (https://hl7.org/fhir/R4/bundle.html); its own schema applies.
    Only ever sent, never read, so its fields are FHIR's rather than ours."""

    class Meta:
        unknown = INCLUDE

    resourceType = fields.String()  # noqa: N815 - FHIR's own name


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A page of a list: the items, where it is, and how to get the next one."""
    return type(
        name,
        (Strict,),
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
            "next": fields.String(
                allow_none=True, metadata={"description": "The next page's address, if any."}
            ),
        },
    )


ClientPage = page_of(ClientSummary, "ClientPage")
VersionPage = page_of(VersionInfo, "VersionPage")
CommentPage = page_of(Comment, "CommentPage")
ReviewDatePage = page_of(ReviewDate, "ReviewDatePage")
ReminderPage = page_of(Reminder, "ReminderPage")

SCOPE_NAMES = tuple(SCOPES)
