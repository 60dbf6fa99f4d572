"""The supervisors' review-date audit: dashboard, charts and CSV export."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context
from flask_login import current_user, login_required

from ..domain.errors import ContentInvalid
from ..domain.local_time import service_today
from ..domain.supervision import SORTS, STATE_LABELS, DashState, parse_filters
from ..extensions import get_db, get_time_zone
from ..services import handovers, supervision
from .paging import to_first_page, to_page_shown

bp = Blueprint("supervision", __name__)


@bp.get("/supervision")
@login_required
def dashboard():
    if moved := to_first_page():
        return moved
    # A refused filter is ignored, and said beside its field; the others stay applied.
    filters, errors = parse_filters(request.args)
    try:
        board = supervision.dashboard(get_db(), current_user.actor, filters, service_today())
    except ContentInvalid as err:  # a team or key worker not theirs: all of theirs instead
        errors = {**errors, **err.errors}
        board = supervision.dashboard(
            get_db(), current_user.actor, filters.ignoring(err.errors), service_today()
        )
    if not errors and (moved := to_page_shown(board.filters.page)):
        return moved
    waiting = handovers.pending_for_supervisor(get_db(), current_user.actor)
    return render_template(
        "supervision/dashboard.html",
        board=board,
        errors=errors,
        states=STATE_LABELS,
        sorts=SORTS,
        overdue=DashState.OVERDUE,
        overdue_counted=supervision.OVERDUE_COUNTED,
        handovers=waiting,
        left=supervision.recently_left(get_db(), current_user.actor, service_today()),
        left_within=supervision.LEFT_WITHIN_DAYS,
    ), (422 if errors else 200)


@bp.get("/supervision/charts")
@login_required
def charts():
    on_time, overdue, month_rows, worker_rows = supervision.charts(
        get_db(), current_user.actor, service_today()
    )
    return render_template(
        "supervision/charts.html",
        on_time=on_time,
        overdue=overdue,
        month_rows=month_rows,
        worker_rows=worker_rows,
    )


@bp.get("/supervision/export.csv")
@login_required
def export():
    # A download is refused whole rather than half filtered: the page's own link never
    # carries a refused filter, so only an edited or old address meets this.
    filters, errors = parse_filters(request.args)
    if errors:
        raise ContentInvalid(errors)
    rows = supervision.export_csv(
        get_db(),
        current_user.actor,
        filters,
        service_today(),
        get_time_zone(),
        # Read away from the app, as e-mails are: links at the address people reach it at.
        base_url=current_app.config["PUBLIC_BASE_URL"],
    )
    response = Response(stream_with_context(rows), mimetype="text/csv")
    response.headers.set(
        "Content-Disposition", "attachment", filename=f"review-audit-{service_today()}.csv"
    )
    return response
