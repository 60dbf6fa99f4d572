from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from ..domain import local_time, wording
from ..domain.blocks import STEP_OWNERS, STEP_STATUSES, owner_label
from ..domain.care_plan import DEFAULT_REVIEW_WEEKS, DOMAIN_LABELS, LIFE_DOMAINS
from ..domain.compare import by_part
from ..domain.documents import ALL_CONTENT
from ..domain.errors import ContentInvalid, DomainError
from ..domain.form_places import in_summary, is_writing, place
from ..domain.kinds import kind_for
from ..domain.language import check_text
from ..domain.local_time import service_time, service_today
from ..domain.nested import from_fields
from ..domain.numbers import whole_number
from ..domain.roles import Role
from ..extensions import get_db, get_library, get_time_zone
from ..services import comments, documents, drafts
from ..services.errors import Conflict, Invalid, NotFound, Removed, ServiceError
from .forms import base_number_from_form, content_from_form, draft_fields, draft_seen, typed_again
from .paging import asked_page, to_first_page, to_page_shown

bp = Blueprint("documents", __name__)


@bp.app_context_processor
def _care_plan_vocabulary():
    return {
        "LIFE_DOMAINS": LIFE_DOMAINS,
        "DOMAIN_LABELS": DOMAIN_LABELS,
        "STEP_OWNERS": STEP_OWNERS,
        "STEP_STATUSES": STEP_STATUSES,
        "owner_label": owner_label,
    }


@bp.get("/documents/<int:document_id>")
@login_required
def show(document_id: int):
    return show_page(document_id)


@bp.get("/documents/<int:document_id>/versions/<int:number>")
@login_required
def version(document_id: int, number: int):
    return show_page(document_id, number)


def show_page(
    document_id: int,
    number: int | None = None,
    comment_errors: dict | None = None,
    sign_errors: dict | None = None,
    status: int = 200,
    sign_refusal: str = "",
    remove_refusal: str = "",
):
    screen = documents.document_screen(
        get_db(), current_user.actor, document_id, number, service_today()
    )
    return render_template(
        "documents/show.html",
        doc=screen.page,
        comments=screen.comments,
        review=screen.review,
        from_agreed=screen.from_agreed,
        from_agreed_parts=by_part(screen.from_agreed),
        from_agreed_on_purpose=screen.from_agreed_on_purpose,
        read_to_take_over=screen.read_to_take_over,
        comment_errors=comment_errors or {},
        comment_limit=comments.MAX_COMMENT,
        sign_errors=sign_errors or {},
        sign_refusal=sign_refusal,
        remove_refusal=remove_refusal,
        problems=[("remove-empty", remove_refusal)] * bool(remove_refusal)
        + _problems(
            comment_errors, sign_errors, sign_refusal, g.get("review_errors"), screen.page.sections
        ),
    ), status


def _problems(
    comment_errors, sign_errors, sign_refusal, review_errors, sections=()
) -> list[tuple[str, str]]:
    """Each message of a refused form on the document page, with the id of its field (as the
    templates name them), for the summary at the top of the page. A comment's names the part
    it was about: the page has a comment box under every part."""
    problems = [("sign-off", sign_refusal)] if sign_refusal else []
    section = request.form.get("section_key", "")
    sign_ids = {"outcome": "outcome-signed"}
    problems += [(sign_ids.get(name, name), msg) for name, msg in (sign_errors or {}).items()]
    title = dict(sections).get(section, "")
    about = f"Your comment on “{title}”" if title else ""
    problems += [
        (
            f"body-{section}" if name == "body" else comments.comments_anchor(section),
            in_summary(about, message),
        )
        for name, message in (comment_errors or {}).items()
    ]
    review_ids = {"password": "review-password", "code": "review-code"}
    # The earlier-review form's answers, as it asks them: the summary names each.
    review_answers = {"wanted_by": "Review it by", "reason": "Why?"}
    problems += [
        (review_ids.get(name, name), in_summary(review_answers.get(name, ""), msg))
        for name, msg in (review_errors or {}).items()
    ]
    return problems


@bp.post("/documents/<int:document_id>/comments")
@login_required
def comment(document_id: int):
    db, actor = get_db(), current_user.actor
    form = request.form
    try:
        already = comments.add_comment(
            db,
            actor,
            document_id,
            form.get("section_key", ""),
            form.get("version_number", 0, type=whole_number),
            form.get("body", ""),
        )
    except ContentInvalid as err:
        return show_page(document_id, comment_errors=err.errors, status=422)
    if already is not None:  # sent twice: once is kept
        at = local_time.show(already, get_time_zone())
        flash(f"Your comment was added at {at}, and once only: it was sent twice.")
    else:
        # Only a client's own documents take a client's comments: they are the reader.
        role = current_user.actor.role
        readers = wording.who_reads(role is Role.CLIENT, role is Role.KEY_WORKER)
        flash(f"Your comment was added. {wording.sentence(readers)} can read it.")
    # At the comment just added, under its part: the page can be long.
    where = comments.comments_anchor(form.get("section_key", ""))
    return redirect(url_for("documents.show", document_id=document_id, _anchor=where))


@bp.get("/documents/<int:document_id>/history")
@login_required
def history(document_id: int):
    if moved := to_first_page():
        return moved
    result = documents.history(get_db(), current_user.actor, document_id, asked_page())
    if moved := to_page_shown(result.page):
        return moved
    return render_template("documents/history.html", result=result, doc=result.document)


@bp.get("/documents/<int:document_id>/compare")
@login_required
def compare(document_id: int):
    older = request.args.get("older", type=whole_number)
    newer = request.args.get("newer", type=whole_number)
    if older is None or newer is None:
        # The history's form sent without two versions chosen: their own document, not a
        # record hidden from them, so no "not found" (the history checks who is asking).
        flash("Choose a version to compare from and one to compare to.")
        return redirect(url_for("documents.history", document_id=document_id))
    # Asked newer first: answered oldest first, as every comparison reads, and said so.
    turned = (older, newer) if older > newer else None
    if turned:
        older, newer = newer, older
    result = documents.compare_versions(get_db(), current_user.actor, document_id, older, newer)
    return render_template(
        "documents/compare.html", result=result, doc=result.document, turned=turned
    )


@bp.route("/documents/<int:document_id>/edit", methods=["GET", "POST"])
@login_required
def edit(document_id: int):
    db, actor = get_db(), current_user.actor
    part = request.values.get("part", "")
    if request.method == "GET":
        screen = documents.open_for_editing(db, actor, document_id)
        page, draft = screen.page, screen.draft
        if part and part not in dict(page.sections):
            abort(404)
        if draft and request.args.get("draft") == "restore":
            # Carrying on from the draft: this page may replace it, until another page does.
            return _edit_page(
                page,
                typed_again(_kind(page), from_fields(draft.fields)),
                draft.base_number,
                draft.part,
                draft.change_note,
                restored=draft,
                seen=drafts.Seen(draft.revision, drafts.new_page()),
            )
        # A fresh form knows of no draft (a waiting one holds the form until chosen).
        return _edit_page(
            page, page.content, page.head_number, part, "", draft=draft,
            seen=drafts.Seen("", drafts.new_page()),
            confirm_discard=bool(draft) and request.args.get("draft") == "discard",
        )  # fmt: skip

    base_number = base_number_from_form(request.form)
    content = content_from_form(request.form)
    change_note = request.form.get("change_note", "")
    if base_number is None:
        abort(400)
    if request.form.get("sent_before") == "yes":
        base_number = documents.base_of_words_sent_again(db, actor, document_id, base_number)
    terms = get_library().terms
    checking = request.form.get("action") == "check"
    try:
        if checking:
            findings = documents.check_wording(
                db, actor, document_id, base_number, content, terms, part, from_form=True
            )
            page = documents.open_document(db, actor, document_id)
            return _edit_page(
                page, typed_again(_kind(page), content), base_number, part, change_note,
                checked=findings,
            )  # fmt: skip
        result = documents.save_version(
            db, actor, document_id, base_number, content, change_note, terms, part,
            from_form=True, forget_draft=draft_seen(request.form) or True,
        )  # fmt: skip
    except ContentInvalid as err:
        # Checking the wording of a form with an answer to look at again says both at once.
        extra = {}
        if checking:
            extra["checked"] = documents.check_typed_wording(
                db, actor, document_id, base_number, draft_fields(request.form), terms
            )
        page = documents.open_document(db, actor, document_id)
        return _edit_page(
            page, typed_again(_kind(page), content), base_number, part, change_note, err.errors,
            status=422, **extra,
        )  # fmt: skip
    except Invalid as err:  # the form itself is wrong (an old page's version): keep the words
        page = documents.open_document(db, actor, document_id)
        errors = {ALL_CONTENT: str(err)}
        return _edit_page(page, typed_again(_kind(page), content), page.head_number, part,
                          change_note, errors, status=400)  # fmt: skip
    except Removed as removed:
        return removed_meanwhile(removed, request.form)
    except NotFound:
        return no_longer_yours(document_id, request.form)
    except Conflict as conflict:
        view = documents.conflict_view(db, actor, conflict)
        return render_template(
            "documents/conflict.html",
            view=view,
            doc=view.document,
            form=view.proposal,
            base_number=conflict.head_number,
            errors={},
            change_note=conflict.note,
            # Someone saving one part sees that part again, not the whole document (on a phone
            # a plan's whole form is many screens). Saving it puts the part on top of the
            # latest version, which is the proposal: their changes were only in that part.
            part=part if part in dict(view.document.sections) else "",
            seen=_seen_posted(),
        ), 409
    if result.saved:
        flash(f"Saved as version {result.number}.")
        # Not said again to the client once their own words are saved: offered as they wrote
        # and when they checked, keeping them was their choice.
        for finding in result.language if actor.role is not Role.CLIENT else ():
            flash(
                f"A suggestion about wording in “{finding.where}”: “{finding.found}” can feel "
                f"stigmatising to some people. You could write {finding.could_write}. "
                "Nothing has been changed."
            )
    elif result.number != base_number:
        flash(
            f"Those words are already in version {result.number}, the latest: nothing more was saved."
        )
    else:
        flash("Nothing had changed, so no new version was saved.")
    return redirect(url_for("documents.show", document_id=document_id))


@bp.post("/documents/<int:document_id>/put-back/<record_id>")
@login_required
def put_back(document_id: int, record_id: str):
    """The "Put it back" button beside an item someone took out, on the version it was shown
    on (`base_version`); "Put it back anyway" (`even_if_there`) on the page asking first,
    when something like it is in the document already."""
    base_number = request.form.get("base_version", type=whole_number)
    if base_number is None:
        abort(400)
    back = url_for("documents.show", document_id=document_id)
    try:
        done = documents.put_back(
            get_db(),
            current_user.actor,
            document_id,
            base_number,
            record_id,
            even_if_there=request.form.get("even_if_there") == "yes",
        )
    except documents.PutBackOvertaken as late:  # nothing of theirs to lose: said, and shown
        saved = late.saved
        who = "You" if saved.author_id == current_user.id else saved.author_name
        flash(
            f"{who} saved version {saved.number} after the version you were reading, so "
            "nothing was put back this time. This is the latest version: anything still "
            "taken out can be put back from here."
        )
        return redirect(back)
    except documents.LooksAlreadyThere as there:
        return render_template(
            "documents/put_back_check.html",
            document_id=document_id,
            record_id=record_id,
            base_number=base_number,
            there=there,
        ), 409
    except ContentInvalid as err:
        flash("It could not be put back: " + " ".join(err.errors.values()))
        return redirect(back)
    except Invalid as err:
        flash(str(err))
        return redirect(back)
    said = f"Put back: {done.what}."
    if not done.already:
        flash(f"{said} Saved as version {done.saved.number}.")
    elif not any(m.startswith(said) for _, m in session.get("_flashes", [])):
        # A second press (a double tap): the first one's message says it, if still to show;
        # else this is the one that does, as the success it is.
        flash(f"{said} It is in version {done.saved.number}.")
    return redirect(back)


def _kind(page):
    return kind_for(page.kind, page.template)


def _seen_posted() -> drafts.Seen:
    """A page given back after a POST (refused, checked, in conflict) is the same page carrying
    on: what it knew of the draft, as it posted it."""
    return draft_seen(request.form) or drafts.Seen("", drafts.new_page())


def _edit_page(
    page, form, base_number, part, change_note, errors=None, status=200, seen=None, **extra
):
    errors = errors or {}
    words = _kind(page).form_words() if errors else {}
    return render_template(
        "documents/edit.html",
        doc=page,
        form=form,
        base_number=base_number,
        part=part,
        part_title=dict(page.sections).get(part, ""),
        errors=errors,
        # Each message with the answer it is about: "Goals and steps, goal 1: what to achieve
        # — Please fill this in." (the message beside the field itself needs no such prefix).
        problems=[
            (name, in_summary(place(name, words), message)) for name, message in errors.items()
        ],
        change_note=change_note,
        seen=seen or _seen_posted(),
        **extra,
    ), status


def no_longer_yours(document_id: int, form: MultiDict, signing: bool = False):
    """A key worker whose client was handed over, or left the service, while they had the page
    open is told so, with what they wrote given back (their own words, nothing of the
    record's); anyone else gets "not found" as for any record not theirs."""
    fields = [] if signing else draft_fields(form)
    lost = documents.no_longer_yours(
        get_db(), current_user.actor, document_id, base_number_from_form(form), fields
    )
    if lost is None:
        raise NotFound()
    words = [
        (place(name, lost.form_words) or name, value)
        for name, value in lost.typed
        if is_writing(name, value)
    ]
    if not signing and (note := form.get("change_note", "").strip()):
        words.append(("What changed (the change note)", note))
    return render_template(
        "documents/no_longer_yours.html", lost=lost, words=words, signing=signing
    ), 403


def _blank(name: str, value: str) -> bool:
    """What a blank edit form already holds (an empty box, the review interval it offers):
    nothing anyone typed, so not given back as their words."""
    if not value.strip():
        return True
    return name.endswith("review_interval_weeks") and value.strip() == str(DEFAULT_REVIEW_WEEKS)


def removed_meanwhile(removed: Removed, form: MultiDict):
    """The document was removed (nothing had been saved in it) while this person had its edit
    page open: said, with what they wrote given back so it is not lost."""
    template = None
    if removed.template:  # named as the agreement's template names its parts, if still served
        template = get_library().templates.get(removed.template.get("id"))
    words = {}
    if removed.kind == "care_plan" or (removed.kind == "agreement" and template):
        words = kind_for(removed.kind, template).form_words()
    typed = [(place(name, words) or name, value) for name, value in draft_fields(form)
             if is_writing(name, value) and not _blank(name, value)]  # fmt: skip
    if note := form.get("change_note", "").strip():
        typed.append(("What changed (the change note)", note))
    return render_template("documents/removed_meanwhile.html", removed=removed, words=typed), 409


@bp.post("/documents/<int:document_id>/draft")
@login_required
def keep_draft(document_id: int):
    """Called by the edit page's script as the person types. A draft kept since on another
    tab or device, with other words, is not replaced: 409, said in plain words, for the page
    to stop keeping and say so (careplan/static/editing.js)."""
    form = request.form
    base_number = base_number_from_form(form)
    if base_number is None:
        abort(400)
    try:
        kept = drafts.keep(
            get_db(),
            current_user.actor,
            document_id,
            base_number,
            form.get("part", ""),
            draft_fields(form),
            form.get("change_note", ""),
            seen=draft_seen(form),
        )
    except drafts.DraftKeptElsewhere as elsewhere:
        return {
            "message": str(elsewhere),
            "latest": url_for("documents.edit", document_id=document_id, draft="restore"),
        }, 409
    except Removed as removed:  # the page stops keeping and says so (editing.js), words kept
        return {"message": f"{removed} {NOT_KEPT_REMOVED}"}, 409
    # `kept_said`: the time as every page says one (the service's clock, 24-hour), for the
    # page's "kept as a draft (14:05)" rather than the phone's own format.
    said = f"{service_time(kept.kept_at):%H:%M}"
    return {
        "kept_at": kept.kept_at.isoformat(),
        "kept_said": said,
        "revision": kept.revision,
        "changes": kept.changes,  # false: nothing changed, so no draft (the page says so)
    }


NOT_KEPT_REMOVED = (
    "What you type here is not being kept: it is still on this page, so copy anything you "
    "want to keep."
)


@dataclass(frozen=True)
class UnsavedEdit:
    """What was posted after the idle sign-out: the page to carry on from, and whether the
    words were kept (not if they would have replaced a draft kept since on another page)."""

    url: str
    kept: bool


def keep_unsaved_edit() -> UnsavedEdit | None:
    """When a save (or a draft) arrives after the idle sign-out, keep what was posted as a
    draft before signing the person out. None if there was nothing to keep."""
    if request.method != "POST" or request.endpoint not in (
        "documents.edit",
        "documents.keep_draft",
    ):
        return None
    document_id = request.view_args["document_id"]
    base_number = base_number_from_form(request.form)
    if base_number is None:
        return None
    try:
        drafts.keep(
            get_db(),
            current_user.actor,
            document_id,
            base_number,
            request.form.get("part", ""),
            draft_fields(request.form),
            request.form.get("change_note", ""),
            seen=draft_seen(request.form),
        )
    except drafts.DraftKeptElsewhere:
        return UnsavedEdit(url_for("documents.edit", document_id=document_id), kept=False)
    except (ServiceError, DomainError):
        return None
    return UnsavedEdit(url_for("documents.edit", document_id=document_id), kept=True)


@bp.post("/documents/<int:document_id>/draft/discard")
@login_required
def discard_draft(document_id: int):
    # The draft the page showed: not one kept since on another tab or device.
    shown = request.form.get("draft_revision")
    # Back to the part the page was editing, if it was one (an unknown part answers 404 there).
    part = request.args.get("part", "")
    back = url_for("documents.edit", document_id=document_id, part=part or None)
    if not drafts.discard(get_db(), current_user.actor, document_id, shown):
        flash(
            "Those changes were not thrown away: you changed them since in another tab or "
            "on another device. Here they are as they are now."
        )
        return redirect(back)
    flash("The unsaved changes were thrown away.")
    return redirect(back)


@bp.post("/documents/<int:document_id>/remove")
@login_required
def remove_empty(document_id: int):
    """A document nothing was saved in, removed by the person who started it."""
    # The draft the page said would go with it (or one it kept itself): not one typed since.
    shown = draft_seen(request.form)
    try:
        title, client_id = documents.remove_empty(get_db(), current_user.actor, document_id, shown)
    except Invalid as err:
        # Not theirs to remove, something saved meanwhile, or someone writing in it: said on
        # the document's page, where it stays, rather than on an error page of its own.
        return show_page(document_id, remove_refusal=str(err), status=400)
    flash(f"“{title}” was removed. Nothing had been saved in it.")
    return redirect(url_for("clients.records", client_id=client_id))


@bp.post("/language-check")
@login_required
def language_check():
    """Suggestions for one piece of writing, shown beside it while the person writes."""
    text = request.form.get("text", "")[:20000]
    return {
        "findings": [
            {"found": f.found, "could_write": f.could_write, "note": f.note}
            for f in check_text(get_library().terms, text)
        ]
    }
