"""A client leaving the service: the caseload ends without a new key worker.

Their records stay theirs: the client keeps reading, downloading and (with an advocate they
invited) commenting. Nobody is reminded of their reviews or signatures any more, supervisors'
review-date lists no longer count them, and the former key worker no longer opens their records.
An administrator gives them a key worker again if they come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.models import (
    CaseloadLink,
    Notification,
    User,
    utcnow,
)
from ..domain.account_rules import called
from ..domain.caseload_rules import leaving_problem, validate_leaving_note
from ..domain.roles import Role
from ..domain.wording import possessive
from . import audit, handovers, reviews
from .actor import Actor
from .answered_messages import no_longer_theirs
from .errors import Invalid, NotFound
from .signoff import refresh_states_for_client


@dataclass(frozen=True)
class LeftService:
    """What the client reads on their own page after leaving."""

    on: datetime
    recorded_by: str
    note: str


def _problem(s, client: User, today: date, actor: Actor) -> str | None:
    """Why leaving cannot be recorded now (a handover waiting, a crisis plan in effect)."""
    from .contingencies import in_effect_for_client  # contingencies builds on documents

    waiting = handovers.waiting_handover(s, client.id)
    handover_to = waiting and s.scalar(
        select(User.display_name).where(User.id == waiting.to_worker_id)
    )
    return leaving_problem(
        called(client.display_name, client.preferred_name),
        handover_to,
        in_effect_for_client(s, client.id, today),
        may_end_it=actor.role is Role.KEY_WORKER,
    )


def record(db: Database, actor: Actor, client_id: int, note: str, today: date) -> None:
    """The client's key worker, or a supervisor of their team, records that the client has
    left the service, with a note the client reads."""
    note = validate_leaving_note(note)
    with db.write() as s:
        # Takes turns with handovers, signatures and crisis plans on the client's row.
        client = handovers.take_turns(s, client_id)
        if (
            client is None
            or client.role != Role.CLIENT.value
            or not handovers.may_change_key_worker(s, actor, client_id)
        ):
            raise NotFound()
        link = handovers.current_link(s, client_id)
        if link is None:
            raise NotFound()
        problem = _problem(s, client, today, actor)
        if problem:
            raise Invalid(problem)
        link.ended_at, link.ended_by_id, link.end_note = utcnow(), actor.id, note
        link.ended_in_team_id = s.scalar(select(User.team_id).where(User.id == link.key_worker_id))
        # A review left overdue stays on the supervisors' on-time chart, as never done.
        reviews.keep_overdue_with_holder(s, [client_id], link.key_worker_id, today)
        # Their messages about the client's records lead to pages no longer theirs: kept, but
        # no longer counted as new (as at a handover).
        no_longer_theirs(s, link.key_worker_id, client_id, link.ended_at)
        s.add(Notification(
            user_id=client_id,
            text=f"{actor.name} recorded that your time with the service has ended. You can "
                 "still read and download your plans and agreements here.",
            link="/",
        ))  # fmt: skip
        if link.key_worker_id != actor.id:
            # Recorded by a supervisor: the key worker hears it from the app too. No link: the
            # client's records are no longer theirs to open.
            name = called(client.display_name, client.preferred_name)
            s.add(Notification(
                user_id=link.key_worker_id,
                text=f"{actor.name} recorded that {name} has left the service. "
                     f"{possessive(name)} records are no longer on your caseload.",
            ))  # fmt: skip
        s.flush()
        # A draft waits for the client's signature only now: nobody holds the key worker's.
        refresh_states_for_client(s, client_id)
        reviews.reschedule_for_client(s, client_id, today)
        audit.record(
            s,
            actor,
            "caseload.end",
            "user",
            client_id,
            client_id=client_id,
            detail={"key_worker_id": link.key_worker_id},
        )


def left_service(s: Session, client_id: int) -> LeftService | None:
    """When and why the time with the service of a client who has no key worker now ended,
    if it did (a new client has not had one yet)."""
    row = s.execute(
        select(CaseloadLink.ended_at, CaseloadLink.end_note, User.display_name)
        .join(User, User.id == CaseloadLink.ended_by_id)
        .where(CaseloadLink.client_id == client_id, CaseloadLink.ended_by_id.is_not(None))
        .order_by(CaseloadLink.ended_at.desc(), CaseloadLink.id.desc())
        .limit(1)
    ).first()
    return LeftService(row[0], row[2], row[1] or "") if row else None


def time_ended(db: Database, client_id: int) -> LeftService | None:
    """For the client's own pages: when their time with the service ended, if it has (no key
    worker now, and one recorded that they left)."""
    with db.read() as s:
        if handovers.current_link(s, client_id) is not None:
            return None
        return left_service(s, client_id)


def check(db: Database, actor: Actor, client_id: int, today: date) -> tuple[str, str, str]:
    """The client's full name (their records' heading), the name they go by (what the form
    says) and why it cannot be recorded now ("" if it can), for the form, said before anything
    is typed; NotFound for anyone who may not record it."""
    with db.read() as s:
        client = s.get(User, client_id)
        if (
            client is None
            or client.role != Role.CLIENT.value
            or handovers.current_link(s, client_id) is None
            or not handovers.may_change_key_worker(s, actor, client_id)
        ):
            raise NotFound()
        name = called(client.display_name, client.preferred_name)
        return client.display_name, name, _problem(s, client, today, actor) or ""
