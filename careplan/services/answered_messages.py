"""Messages in the app that something has since answered (a review done, a request for help
replied to) stop counting as new: they stay listed, but no longer say "New" nor count in "You
have N new messages" as if something still waited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db.models import Document, Notification, Reminder
from ..domain.crisis_alerts import is_alert_kind


def no_longer_theirs(
    s: Session, user_id: int, client_id: int, now: datetime, still_answers_alerts: bool = False
) -> None:
    """Someone's unread messages about this client's documents, which they can no longer
    open (a key worker who handed the client over), are marked read in the caller's
    transaction. `still_answers_alerts`: they are in the new key worker's team, so a request
    for help from the client is still theirs to answer, and its messages stay new."""
    rows = s.execute(
        select(Notification.id, Reminder.kind)
        .outerjoin(Reminder, Reminder.id == Notification.reminder_id)
        .where(
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
            Notification.document_id.in_(
                select(Document.id).where(Document.client_id == client_id)
            ),
        )
    ).all()
    gone = [n for n, kind in rows if not (still_answers_alerts and kind and is_alert_kind(kind))]
    if gone:
        s.execute(update(Notification).where(Notification.id.in_(gone)).values(read_at=now))


def mark_answered(
    s: Session, document_id: int, about: Callable[[str, str | None], bool], now: datetime
) -> None:
    """The unread messages about this document that `about(link, kind)` picks (kind: the
    reminder's, for a reminder's message; None for any other) are marked read, in the
    caller's transaction."""
    rows = s.execute(
        select(Notification.id, Notification.link, Reminder.kind)
        .outerjoin(Reminder, Reminder.id == Notification.reminder_id)
        .where(Notification.document_id == document_id, Notification.read_at.is_(None))
    ).all()
    answered = [n for n, link, kind in rows if about(link, kind)]
    if answered:
        s.execute(update(Notification).where(Notification.id.in_(answered)).values(read_at=now))
