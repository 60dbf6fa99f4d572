"""The API's endpoints. Each calls the same service functions as the web pages, so the same
access rules, audit events and read logging apply; records that are not the caller's answer
404. `@operation` describes each endpoint for the OpenAPI document (careplan.api.openapi)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flask import current_app, jsonify, request, url_for

from ..domain.api_tokens import READ, SIGN, WRITE
from ..domain.blocks import FOR_PROGRAMS
from ..domain.errors import ContentInvalid
from ..domain.fhir import MEDIA_TYPE
from ..domain.local_time import service_today
from ..domain.paging import Paged, Window
from ..domain.signoff import Outcome
from ..domain.supervision import PAGE_SIZE as DASHBOARD_PAGE_SIZE
from ..domain.supervision import parse_filters
from ..domain.writing_direction import plain_writing
from ..extensions import get_db, get_library, get_time_zone
from ..services import caseloads, documents, fhir, reminders, reviews, signoff, supervision
from ..services.errors import Conflict, Invalid, NoSuchVersion, NotFound
from ..web.links import on_site
from . import schemas
from .auth import actor, requires
from .body import json_body, query
from .errors import ApiError, error_response


@dataclass(frozen=True)
class Operation:
    summary: str
    response: type | None  # the schema of a successful answer
    status: int = 200
    query: type | None = None
    body: type | None = None
    errors: tuple[int, ...] = ()
    description: str = ""
    media_type: str = "application/json"
    # Other successful answers with the same body, and what each means.
    also: dict[int, str] = field(default_factory=dict)


def operation(summary: str, response, **kwargs):
    def decorate(view):
        view.api_operation = Operation(summary, response, **kwargs)
        return view

    return decorate


def _dump(schema: type, obj, status: int = 200):
    response = jsonify(schema().dump(obj))
    response.status_code = status
    return response


def _window(args: dict) -> Window:
    return Window(args["page"], args["per_page"])


def _paged(schema: type, result: Paged, endpoint: str, **values):
    """One page of a list, as every list under /api answers: its items, the total of the
    whole list, and a link to the next page if there is one."""
    window = result.window
    return _dump(
        schema,
        {
            "items": result.items,
            "page": window.page,
            "per_page": window.per_page,
            "total": result.total,
            "next": url_for(endpoint, **values, page=window.page + 1, per_page=window.per_page)
            if result.has_next
            else None,
        },
    )


from . import bp  # noqa: E402 - the blueprint is made before its views are added

NOT_FOUND = (404,)


# --- clients -------------------------------------------------------------------------------


@bp.get("/clients")
@requires(READ)
@operation("The clients you may see", schemas.ClientPage, query=schemas.PageQuery)
def clients():
    window = _window(query(schemas.PageQuery()))
    return _paged(
        schemas.ClientPage, caseloads.people_page(get_db(), actor(), window), "api.clients"
    )


@bp.get("/clients/<int:client_id>")
@requires(READ)
@operation(
    "A client and their care plans and agreements",
    schemas.ClientRecord,
    errors=NOT_FOUND,
    description="A read by anyone other than the client and their key worker is recorded in "
    "the client's access log.",
)
def client(client_id: int):
    return _dump(
        schemas.ClientRecord,
        documents.client_records(get_db(), actor(), client_id, get_time_zone()),
    )


@bp.post("/clients/<int:client_id>/documents")
@requires(WRITE)
@operation(
    "Start a care plan or an agreement",
    schemas.CreatedDocument,
    status=201,
    body=schemas.NewDocument,
    errors=(403, 404, 422),
    description="If the client already has one of this kind (and agreement template) with "
    "nothing written in it yet, that one's id is given instead of starting another.",
)
def create_document(client_id: int):
    body = json_body(schemas.NewDocument())
    db = get_db()
    template = None
    if body["kind"] == "agreement":
        template = get_library().templates.get(body["template_id"])
    try:
        doc_id = documents.create_document(db, actor(), client_id, body["kind"], template=template)
    except ContentInvalid as err:  # no such template (asked after who is asking)
        raise ApiError(422, fields={"template_id": ["No agreement template has this id."]}) from err
    return _dump(
        schemas.CreatedDocument, {"id": doc_id, "client_id": client_id, "kind": body["kind"]}, 201
    )


# --- documents and versions ------------------------------------------------------------------


@bp.get("/documents/<int:document_id>")
@requires(READ)
@operation("A document at its latest version", schemas.Document, errors=NOT_FOUND)
def document(document_id: int):
    page = documents.document_screen(get_db(), actor(), document_id, with_extras=False).page
    return _dump(schemas.Document, page)


@bp.delete("/documents/<int:document_id>")
@requires(WRITE)
@operation(
    "Remove a document nothing was saved in",
    None,
    status=204,
    errors=(403, 404, 409),
    description="For a document only started (`head_number` 0, `removable` true): only the "
    "person who started it may remove it, while they may still change the client's records "
    "(403 otherwise), and only while nothing is saved in it and nobody has unsaved writing "
    "in it (409, saying which): not even the caller, whose words typed on the web and not "
    "saved are never thrown away by a program (they remove it on its page, which shows them). "
    "The removal is on the client's audit trail, and the id is never given to another "
    "document. A document removed is answered 404, saying so to whoever may read the "
    "client's records: asking again, or saving into it after it was removed.",
)
def remove_document(document_id: int):
    try:
        documents.remove_empty(get_db(), actor(), document_id)
    except Invalid as refused:  # not theirs to remove: 403; saved in, or being written: 409
        status = 403 if str(refused) == documents.NOT_YOURS_TO_REMOVE else 409
        return error_response(status, str(refused))
    return _no_content()


@bp.get("/documents/<int:document_id>/versions")
@requires(READ)
@operation(
    "The versions of a document, newest first",
    schemas.VersionPage,
    query=schemas.PageQuery,
    errors=NOT_FOUND,
)
def versions(document_id: int):
    window = _window(query(schemas.PageQuery()))
    result = documents.history(get_db(), actor(), document_id, window.page, window.per_page)
    # Past the last page the service names the last one and reads none; a list API answers
    # empty.
    items = result.versions if result.page == window.page else []
    page = Paged(items, result.document.head_number, window)
    return _paged(schemas.VersionPage, page, "api.versions", document_id=document_id)


@bp.get("/documents/<int:document_id>/versions/<int:number>")
@requires(READ)
@operation("A document at one version", schemas.Document, errors=NOT_FOUND)
def version(document_id: int, number: int):
    page = documents.document_screen(get_db(), actor(), document_id, number, with_extras=False)
    return _dump(schemas.Document, page.page)


@bp.post("/documents/<int:document_id>/versions")
@requires(WRITE)
@operation(
    "Save a new version, naming the version it is based on",
    schemas.SaveResult,
    status=201,
    body=schemas.NewVersion,
    errors=(400, 403, 404, 409, 422),
    also={200: "Nothing had changed, so no version was saved (`saved: false`)."},
    description="201 with the new version's number; 200 with `saved: false` when nothing "
    "changed. If another version was saved after `base_version`, nothing is saved and the "
    "answer is 409, with both sides' changes and a proposal re-applying yours to the latest. "
    "Changes the caller typed on the web and has not saved (their draft) stay theirs unless "
    "this version holds every one of them: the web's edit page offers them again, on the "
    "version they were typed on.",
)
def save_version(document_id: int):
    body = json_body(schemas.NewVersion())
    db = get_db()
    try:
        result = documents.save_version(
            db,
            actor(),
            document_id,
            body["base_version"],
            body["content"],
            body["change_note"],
            get_library().terms,
            body["part"],
            exact=True,
        )
    except ContentInvalid as err:
        # A date's message is worded for the web's date box; a program is told the format.
        fields = {_content_field(k): [FOR_PROGRAMS.get(v, v)] for k, v in err.errors.items()}
        return error_response(422, str(err), fields)
    except NoSuchVersion as err:  # a value sent, like any other refused value: beside it
        return error_response(422, str(err), {"base_version": [str(err)]})
    except Conflict as conflict:
        view = documents.conflict_view(db, actor(), conflict)
        detail = schemas.ConflictDetail().dump(
            {
                "base_version": conflict.base_number,
                "head_version": conflict.head_number,
                "landed": view.landed,
                "their_changes": view.their_changes,
                "my_changes": view.my_changes,
                "clashes": view.clashes,
                "proposal": view.proposal,
            }
        )
        return error_response(409, str(conflict), conflict=detail)
    return _dump(schemas.SaveResult, result, 201 if result.saved else 200)


@bp.post("/documents/<int:document_id>/put-back")
@requires(WRITE)
@operation(
    "Put back an item someone took out",
    schemas.PutBackResult,
    status=201,
    body=schemas.PutBackBody,
    errors=(403, 404, 409, 422),
    also={
        200: "It was back already (put back by an earlier request, or typed in again): "
        "nothing was saved (`saved: false`, `already_put_back: true`, `number` the latest)."
    },
    description="As the “Put it back” button on the document page: a goal, step, person or "
    "decision kept in `removed_items` of version `base_version` goes back where it was, as "
    "a new version (201), credited to whoever wrote it. Only the client and their key worker "
    "may (403 for others who may read it); 404 when that version keeps no item taken out "
    "with that `record_id`. Sending it twice is safe: once the latest version has it back, "
    "the answer is 200 and nothing more is saved. 409, with nothing changed: a newer version "
    "was saved after `base_version` without it (`conflict` says by whom: read the latest "
    "and put it back from there); a step's goal is taken out too (put the goal back first); "
    "or something like it is in the document already, the same kind of item in the same "
    "list with the same words but for capitals, spaces and punctuation (`looks_the_same` "
    "names it: send `even_if_there: true` to put it back anyway).",
)
def put_back(document_id: int):
    body = json_body(schemas.PutBackBody())
    db = get_db()
    try:
        done = documents.put_back(
            db,
            actor(),
            document_id,
            body["base_version"],
            body["record_id"],
            even_if_there=body["even_if_there"],
        )
    except NoSuchVersion as err:
        return error_response(422, str(err), {"base_version": [str(err)]})
    except documents.PutBackOvertaken as late:
        saved = late.saved
        who = "You" if saved.author_id == actor().id else saved.author_name
        message = (
            f"{who} saved version {saved.number} after version {late.base_number}, so "
            "nothing was put back. Read the latest version: anything still taken out can be "
            "put back from it."
        )
        detail = {
            "base_version": late.base_number,
            "head_version": late.head_number,
            "saved_by": saved.author_name,
        }
        return error_response(409, message, conflict=detail)
    except documents.LooksAlreadyThere as refused:
        there = refused.there
        same = schemas.LooksTheSame().dump(
            {
                "item": there.noun,
                "putting_back": there.putting_back,
                "there": there.there,
                "section": there.section,
                "goal": there.goal,
            }
        )
        message = f"{refused} To put it back anyway, send even_if_there: true."
        return error_response(409, message, looks_the_same=same)
    except NotFound as missing:  # after who may see the document: said plainly
        return error_response(404, str(missing))
    except Invalid as refused:  # a step's goal is taken out too
        return error_response(409, str(refused))
    result = {
        "document_id": document_id,
        "number": done.saved.number,
        "saved": done.saved.saved,
        "already_put_back": done.already,
        "put_back": done.what,
    }
    return _dump(schemas.PutBackResult, result, 200 if done.already else 201)


def _no_content():
    """204 with no body and so no content type (an empty body is not an HTML page)."""
    response = current_app.response_class(status=204)
    response.headers.pop("Content-Type", None)
    return response


def _content_field(key: str) -> str:
    """The body's field a content error is about: `part`, `content` and `change_note` as they
    are, a place inside the content as content-<place> (the form's names)."""
    return key if key in ("part", "content", "change_note") else f"content-{key}"


@bp.get("/documents/<int:document_id>/compare")
@requires(READ)
@operation(
    "What changed between two versions",
    schemas.Comparison,
    query=schemas.CompareQuery,
    errors=(404, 422),
)
def compare(document_id: int):
    args = query(schemas.CompareQuery())
    older, newer = sorted((args["older"], args["newer"]))
    result = documents.compare_versions(get_db(), actor(), document_id, older, newer)
    return _dump(schemas.Comparison, result)


# --- sign-off ------------------------------------------------------------------------------


@bp.get("/documents/<int:document_id>/signatures")
@requires(READ)
@operation("Who signed or declined which version, and the agreed state", schemas.SignOff,
           errors=NOT_FOUND)  # fmt: skip
def signatures(document_id: int):
    page = documents.document_screen(get_db(), actor(), document_id, with_extras=False).page
    return _dump(schemas.SignOff, page.signoff)


def _sign(document_id: int, number: int, outcome: str, comment: str, body: dict, blank: bool):
    """`body` is the checked request: its password, and the code when the second step is on."""
    try:
        result = signoff.sign(
            get_db(), actor(), document_id, number, outcome, comment, body["password"], blank,
            code=body["code"],
        )  # fmt: skip
    except ContentInvalid as err:
        fields = {("reason" if k == "comment" and outcome == "declined" else k): [v]
                  for k, v in err.errors.items()}  # fmt: skip
        return error_response(422, str(err), fields)
    except Invalid as err:
        # Already signed, already agreed, no longer the latest version, or a decision in it
        # handed over until a day now passed: as the web says.
        return error_response(409, str(err))
    return _dump(
        schemas.SignResult,
        {
            "document_id": document_id,
            "version_number": number,
            "outcome": outcome,
            "state": result.state.value,
            "agreed_version": result.agreed.number if result.agreed else None,
            "waiting_for": [r.value for r in result.waiting_for],
        },
    )


@bp.post("/documents/<int:document_id>/versions/<int:number>/sign")
@requires(SIGN)
@operation(
    "Sign the latest version (with your password, optionally with a comment)",
    schemas.SignResult,
    body=schemas.SignBody,
    errors=(403, 404, 409, 422, 429),
)
def sign(document_id: int, number: int):
    body = json_body(schemas.SignBody())
    # A comment of nothing but direction controls is no comment (writing_direction).
    comment = plain_writing(body["comment"]).strip()
    outcome = Outcome.SIGNED_WITH_COMMENT if comment else Outcome.SIGNED
    return _sign(
        document_id, number, outcome.value, comment, body, body["confirm_blank"]
    )  # fmt: skip


@bp.post("/documents/<int:document_id>/versions/<int:number>/decline")
@requires(SIGN)
@operation(
    "Decline to sign the latest version, with a reason (and your password)",
    schemas.SignResult,
    body=schemas.DeclineBody,
    errors=(403, 404, 409, 422, 429),
)
def decline(document_id: int, number: int):
    body = json_body(schemas.DeclineBody())
    return _sign(document_id, number, Outcome.DECLINED.value, body["reason"], body, False)


# --- comments ------------------------------------------------------------------------------


@bp.get("/documents/<int:document_id>/comments")
@requires(READ)
@operation(
    "Comments on a document, section by section in the document's order, oldest first in each",
    schemas.CommentPage,
    query=schemas.PageQuery,
    errors=NOT_FOUND,
)
def comments(document_id: int):
    window = _window(query(schemas.PageQuery()))
    # The document's page reads its comments whole, with the read recorded as any page read
    # is; a document's comments are paged from that list.
    screen = documents.document_screen(get_db(), actor(), document_id, today=service_today())
    order = {key: i for i, (key, _) in enumerate(screen.page.sections)}
    rows = [
        c
        for key in sorted(screen.comments, key=lambda k: order.get(k, len(order)))
        for c in screen.comments[key]
    ]
    result = Paged(rows[window.offset : window.offset + window.per_page], len(rows), window)
    return _paged(schemas.CommentPage, result, "api.comments", document_id=document_id)


@bp.post("/documents/<int:document_id>/comments")
@requires(WRITE)
@operation(
    "Comment on a section of a version",
    None,
    status=204,
    body=schemas.NewComment,
    errors=(403, 404, 422),
)
def add_comment(document_id: int):
    from ..services import comments as comment_service

    body = json_body(schemas.NewComment())
    comment_service.add_comment(
        get_db(),
        actor(),
        document_id,
        body["section_key"],
        body["version_number"],
        body["body"],
    )
    return _no_content()


# --- reviews and reminders -----------------------------------------------------------------


@bp.get("/documents/<int:document_id>/review")
@requires(READ)
@operation("A document's review dates and open requests for review", schemas.Review,
           errors=NOT_FOUND)  # fmt: skip
def review(document_id: int):
    screen = documents.document_screen(get_db(), actor(), document_id, today=service_today())
    return _dump(schemas.Review, screen.review)


@bp.get("/review-dates")
@requires(READ)
@operation("Every review date you can see, soonest first", schemas.ReviewDatePage,
           query=schemas.PageQuery)  # fmt: skip
def review_dates():
    window = _window(query(schemas.PageQuery()))
    result = reviews.review_dates_page(get_db(), actor(), window)
    return _paged(schemas.ReviewDatePage, result, "api.review_dates")


@bp.get("/reminders")
@requires(READ)
@operation("Your reminders and other notices in the app, newest first", schemas.ReminderPage,
           query=schemas.PageQuery)  # fmt: skip
def reminder_list():
    window = _window(query(schemas.PageQuery()))
    result = reminders.notifications_page(get_db(), actor(), window)
    # Kept app-relative; answered as the site's address, as "next" is (domain.addresses).
    items = [replace(n, link=on_site(n.link)) if n.link else n for n in result.items]
    result = replace(result, items=items)
    return _paged(schemas.ReminderPage, result, "api.reminder_list")


# --- supervision ---------------------------------------------------------------------------


@bp.get("/supervision/dashboard")
@requires(READ)
@operation(
    "The review-date audit of your teams (supervisors only)",
    schemas.Dashboard,
    query=schemas.DashboardQuery,
    errors=(404, 422),
    description=f"{DASHBOARD_PAGE_SIZE} rows a page.",
)
def dashboard():
    query(schemas.DashboardQuery())  # types and known names; the rules are the web's
    filters, errors = parse_filters(request.args.to_dict())
    if errors:  # an API refuses what it cannot use rather than ignore it as the page does
        raise ContentInvalid(errors)
    board = supervision.dashboard(get_db(), actor(), filters, service_today())
    args = {k: v for k, v in request.args.items() if k != "page"}
    return _dump(
        schemas.Dashboard,
        {
            # Past the last page the service shows the last one; a list API answers empty.
            "items": board.rows if board.filters.page == filters.page else [],
            "page": filters.page,
            "per_page": DASHBOARD_PAGE_SIZE,
            "next": url_for("api.dashboard", **args, page=filters.page + 1)
            if board.has_next
            else None,
            "teams": [{"id": i, "name": n} for i, n in board.teams.items()],
            "key_workers": [{"id": i, "name": n} for i, n in board.workers.items()],
            "overdue": board.overdue,
            "overdue_counted": supervision.OVERDUE_COUNTED,
        },
    )


@bp.get("/supervision/charts")
@requires(READ)
@operation(
    "Reviews done on time by month, and overdue reviews by key worker (supervisors only)",
    schemas.Charts,
    errors=NOT_FOUND,
)
def charts():
    _, _, months, workers = supervision.charts(get_db(), actor(), service_today())
    return _dump(
        schemas.Charts,
        {
            "on_time_by_month": [
                {"month": m, "on_time_percent": share, "label": label} for m, share, label in months
            ],
            "overdue_by_key_worker": [
                {"key_worker": name, "overdue": count} for name, count in workers
            ],
        },
    )


# --- exports -------------------------------------------------------------------------------


@bp.get("/documents/<int:document_id>/versions/<int:number>/fhir")
@requires(READ)
@operation(
    "One version as a FHIR R4 Bundle",
    schemas.FhirBundle,
    errors=NOT_FOUND,
    media_type=MEDIA_TYPE,
    description="Recorded as a download in the client's access log.",
)
def fhir_bundle(document_id: int, number: int):
    settings = fhir.ExportSettings.from_config(current_app.config, current_app.instance_path)
    bundle = fhir.bundle_for(get_db(), actor(), document_id, number, settings)
    response = jsonify(bundle)
    response.mimetype = MEDIA_TYPE
    return response
