"""Demo data for reviews and reminders: an agreed plan with an earlier review coming up, so
the scheduler started by scripts/run has something to remind people of straight away.

Call `seed_review_demo(db, password)` after careplan.demo.seed_demo has made its people and
plans. Safe to run more than once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..db.engine import Database
from ..db.models import Document, User
from ..domain.local_time import service_today
from ..services import reviews, signoff
from ..services.accounts import actor_for


def seed_review_demo(
    db: Database,
    password: str,
    client_email: str = "alex@demo.careplan",
    worker_email: str = "kim@demo.careplan",
) -> int | None:
    """Alex and Kim sign Alex's care plan; Kim asks to review it in two days. Returns the
    document, or None if the demo people or plan are not there."""
    with db.read() as s:
        alex = s.scalar(select(User).where(User.email == client_email))
        kim = s.scalar(select(User).where(User.email == worker_email))
        if alex is None or kim is None:
            return None
        doc = s.scalar(
            select(Document)
            .where(Document.client_id == alex.id, Document.head_number > 0)
            .order_by(Document.id)
        )
        if doc is None:
            return None
        if doc.next_review_on is not None:
            return doc.id  # done before
    for person in (alex, kim):
        signoff.sign(db, actor_for(person), doc.id, doc.head_number, "signed", "", password)
    today = service_today()
    reviews.request_earlier_review(
        db,
        actor_for(kim),
        doc.id,
        (today + timedelta(days=2)).isoformat(),
        "Let us check how the housing steps are going before the council's deadline.",
        today,
    )
    return doc.id
