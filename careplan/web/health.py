"""For monitoring, without signing in (they name no person and no record):

- /health: the app answers and its database can be read (200), or not (503). For a load
  balancer: a web process whose database is gone should not be sent people.
- /health/scheduler: every job of the scheduler ran when it should (200), or which are late,
  failing or never ran (503). For an alert: reminders and sealed PDFs depend on it, and no
  page shows its absence (careplan.services.scheduled_jobs).
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import get_db
from ..reminders.scheduler import expected_jobs
from ..services import scheduled_jobs

bp = Blueprint("health", __name__)
log = logging.getLogger("careplan.health")


@bp.get("/health")
def app_health():
    try:
        scheduled_jobs.database_answers(get_db())
    except SQLAlchemyError:
        log.exception("Health check: the database cannot be read.")
        return jsonify(database="cannot be read"), 503
    return jsonify(database="ok")


@bp.get("/health/scheduler")
def scheduler_health():
    try:
        troubled = scheduled_jobs.not_running(get_db(), expected_jobs(current_app.config))
    except SQLAlchemyError:
        log.exception("Health check: the database cannot be read.")
        return jsonify(database="cannot be read"), 503
    if troubled:
        return jsonify(scheduler={v.name: v.state.value for v in troubled}), 503
    return jsonify(scheduler="ok")
