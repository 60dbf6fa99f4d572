"""Messages in the app that something has since answered (a review done, a request for help
replied to) stop counting as new: they stay listed, but no longer say "New" nor count in "You
have N new messages" as if something still waited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db.models import Document, Notification, Reminder
from ..domain.addresses import record_in
from ..domain.crisis_alerts import is_alert_kind


def no_longer_theirs(
    s: Session, user_id: int, client_id: int, now: datetime, still_answers_alerts: bool = False
) -> None:
    """Someone's unread messages about this client's records, which they can no longer
    open (a key worker who handed the client over, an advocate stopped), are marked read in
    the caller's transaction: those about one of the client's documents, and those whose
    link leads into the records (a handover's, or one written without its document).
    `still_answers_alerts`: they are in the new key worker's team, so a request for help
    from the client is still theirs to answer, and its messages stay new."""
    documents = set(s.scalars(select(Document.id).where(Document.client_id == client_id)))
    rows = s.execute(
        select(Notification.id, Notification.document_id, Notification.link, Reminder.kind)
        .outerjoin(Reminder, Reminder.id == Notification.reminder_id)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ).all()

    def about_the_client(document_id: int | None, link: str) -> bool:
        if document_id is not None:
            return document_id in documents
        found = record_in(link or "")
        return found in {("clients", client_id)} or (
            found is not None and found[0] == "documents" and found[1] in documents
        )

    gone = [
        n
        for n, document_id, link, kind in rows
        if about_the_client(document_id, link)
        and not (still_answers_alerts and kind and is_alert_kind(kind))
    ]
    if gone:
        s.execute(update(Notification).where(Notification.id.in_(gone)).values(read_at=now))


def handover_answered(s: Session, client_id: int, user_ids: set[int], now: datetime) -> None:
    """A handover taken over or called off: what asked the workers in it to read and take
    over, or told them it had started, waits for nothing now (marked read, in the caller's
    transaction)."""
    s.execute(
        update(Notification)
        .where(
            Notification.user_id.in_(user_ids),
            Notification.read_at.is_(None),
            Notification.link == f"/clients/{client_id}#handover",
        )
        .values(read_at=now)
    )


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
