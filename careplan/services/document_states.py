"""A document's states in SQL, each the same rule as its domain function, for the lists that
count, filter or sort them in the database (caseloads, the supervisors' dashboard)."""

from __future__ import annotations

from sqlalchemy import and_, or_

from ..db.models import Document

# Signed by nobody yet, or by one side: the latest version is not agreed and not declined.
UNSIGNED = ("draft", "awaiting_signature")


def stuck_on_passed_day(today):
    """domain.plan_dates.stuck_on_passed_day for the latest version, not yet agreed or
    declined: nobody can sign it any more. `today`: a date or a bound parameter."""
    return and_(Document.signoff_state.in_(UNSIGNED), Document.handed_over_until < today)


def not_stuck(today):
    """No decision's day in the latest version has passed (it may still be signed)."""
    return or_(Document.handed_over_until.is_(None), Document.handed_over_until >= today)
