"""E-mails telling people about their own account, kept until the mail server has them; and
one telling an advocate that someone they support asked them to look at a version before
signing it (an advocate has no reminders, and would otherwise hear of it only on signing in).

The service that makes a change (a new password, the second step turned on or off, a backup
code used, signing in paused) writes its e-mail in the same transaction, so the e-mail exists
exactly when the change does; so does a request for a new password for a closed account (its
owner is told whom to ask). The app then sends it at once from a thread of its own
(careplan.reminders.account_notices); what that attempt cannot send, because the mail server
is down or the process is stopped, the reminder senders send later with the same claims,
leases and back-off as reminders (careplan.reminders.sender).

Links to choose a password are not kept here: they carry a secret that is stored only as a
hash, and someone waiting for one can ask again (careplan.reminders.account_mail.send_soon).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..db.models import AccountEmail, User, utcnow
from .reminders import ReminderSettings, claimable

log = logging.getLogger("careplan.reminders")

# detail: {"stayed_signed_in": true} when changed on the account page, whose session carries
# on; {"first": true} when it was the account's first password, chosen from a link the service
# sent after the welcome link
PASSWORD_CHANGED = "password_changed"
SECOND_FACTOR_ON = "second_factor_on"
SECOND_FACTOR_OFF = "second_factor_off"
# detail: {"left": how many are left}, and "step_off" or "new_codes": true when it turned the
# step off or made new codes (careplan.domain.second_factor.ENDS_EVERY_CODE)
BACKUP_CODE_USED = "backup_code_used"
SIGNING_IN_PAUSED = "signing_in_paused"  # detail: {"until": ISO 8601 moment, "role": theirs}
EMAIL_CHANGED = "email_changed"  # sent to the address the account had before
EMAIL_NOW_HERE = "email_now_here"  # and to the new one: this is where you sign in now
# A new password asked for on the sign-in page, for an account the service closed: no link,
# but whom to ask. detail: {"role": the account's role}
ACCOUNT_CLOSED = "account_closed"
# To an advocate: the client asked them to look first. detail: {"document_id": its id}
ASKED_TO_LOOK = "asked_to_look"

# Every kind, and what it is about as an administrator's page lists them.
ABOUT = {
    PASSWORD_CHANGED: "Their password was changed",
    SECOND_FACTOR_ON: "The second step when signing was turned on",
    SECOND_FACTOR_OFF: "The second step when signing was turned off",
    BACKUP_CODE_USED: "One of their backup codes was used",
    SIGNING_IN_PAUSED: "Signing in was paused after wrong passwords",
    EMAIL_CHANGED: "Their e-mail address was changed (told to the old address)",
    EMAIL_NOW_HERE: "Their e-mail address was changed (told to the new address)",
    ACCOUNT_CLOSED: "A new password was asked for while the account was closed",
    ASKED_TO_LOOK: "Someone they support asked them to look at a version before signing it",
}
KINDS = tuple(ABOUT)
FIRST_PASSWORD = "Their first password was chosen"  # PASSWORD_CHANGED with "first"
RECENT = 10


@dataclass(frozen=True)
class AccountEmailView:
    about: str
    to_address: str
    written_at: datetime
    status: str  # "pending", "sending", "sent" or "failed"
    attempts: int
    next_try: datetime  # while pending
    sent_at: datetime | None
    last_error: str


@dataclass(frozen=True)
class ClaimedAccountEmail:
    id: int
    to_address: str
    kind: str
    detail: dict
    created_at: datetime  # when the change was made, as the e-mail says


def queue(
    s: Session, user: User, kind: str, detail: dict | None = None, now: datetime | None = None
) -> None:
    """Write the e-mail in the caller's transaction, to the address `user` has now; it goes
    out once that commits."""
    if kind not in KINDS:
        raise ValueError(f"Unknown account e-mail: {kind}")
    now = now or utcnow()
    s.add(
        AccountEmail(
            recipient_id=user.id,
            to_address=user.email,
            kind=kind,
            detail=dict(detail or {}),
            created_at=now,
            not_before=now,
        )
    )


def recent_for(s: Session, user_id: int, limit: int = RECENT) -> list[AccountEmailView]:
    """The latest e-mails about one account, newest first: whether each was sent, is waiting
    to be tried again, or was given up on (an administrator's page shows them)."""
    rows = s.scalars(
        select(AccountEmail)
        .where(AccountEmail.recipient_id == user_id)
        .order_by(AccountEmail.id.desc())
        .limit(limit)
    )
    return [
        AccountEmailView(
            FIRST_PASSWORD if (r.detail or {}).get("first") else ABOUT.get(r.kind, r.kind),
            r.to_address,
            r.created_at,
            r.status,
            r.attempts,
            r.not_before,
            r.sent_at,
            r.last_error,
        )
        for r in rows
    ]


def send_soon(db: Database) -> None:
    """After a transaction that queued an e-mail committed: send it now, from the app's own
    thread (the reminder senders would otherwise take it at their next run)."""
    if db.account_notices is not None:
        db.account_notices.deliver_soon()


def claim(
    db: Database, settings: ReminderSettings, now: datetime, worker: str, limit: int = 20
) -> list[ClaimedAccountEmail]:
    """Oldest first, each with a lease (as reminders are claimed). One that has used all its
    attempts is given up: marked failed, and logged."""
    out = []
    with db.write() as s:
        rows = s.scalars(
            select(AccountEmail)
            .where(claimable(AccountEmail, now))
            .order_by(AccountEmail.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        for row in rows:
            if row.attempts >= settings.max_attempts:
                row.status, row.claimed_until = "failed", None
                log.error("Gave up sending account e-mail %s after %s tries.", row.id, row.attempts)
                continue
            row.status, row.claimed_by, row.claimed_until = "sending", worker, now + settings.lease
            row.attempts += 1
            out.append(
                ClaimedAccountEmail(
                    row.id, row.to_address, row.kind, dict(row.detail or {}), row.created_at
                )
            )
    return out
