"""Who may do what with a client's records.

The service layer gathers the facts (is this the client, do they hold the caseload, ...);
this module decides. Anything not granted here is answered as "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .roles import Role


@dataclass(frozen=True)
class Relationship:
    """How an actor stands to one client."""

    is_the_client: bool = False
    holds_caseload: bool = False
    supervises_team: bool = False
    invited_as_advocate: bool = False
    # Taking the client over: reads before acting, and acknowledges before the handover completes.
    incoming_key_worker: bool = False


@dataclass(frozen=True)
class Access:
    read: bool = False
    edit: bool = False
    comment: bool = False
    sign: bool = False
    # Reads by anyone other than the client and their key worker are recorded,
    # and the client can see them.
    read_is_logged: bool = False

    @property
    def any(self) -> bool:
        return self.read


NO_ACCESS = Access()


def access_to_client(role: Role, rel: Relationship) -> Access:
    if role is Role.CLIENT and rel.is_the_client:
        return Access(read=True, edit=True, comment=True, sign=True)
    if role is Role.KEY_WORKER and rel.holds_caseload:
        return Access(read=True, edit=True, comment=True, sign=True)
    if role is Role.KEY_WORKER and rel.incoming_key_worker:
        return Access(read=True, read_is_logged=True)
    if role is Role.SUPERVISOR and rel.supervises_team:
        return Access(read=True, read_is_logged=True)
    if role is Role.ADVOCATE and rel.invited_as_advocate:
        return Access(read=True, comment=True, read_is_logged=True)
    # Admins manage accounts and templates, never clinical content.
    return NO_ACCESS


def as_listed(
    role: Role, reader_id: int, client_id: int, key_worker_id: int | None
) -> Relationship:
    """How someone stands to a client on a list of the clients they may see (services.access.
    clients_visible_to), from the row alone: the client, and who holds them now. A key worker's
    list holds their caseload and the clients being handed over to them; a supervisor's, their
    teams' clients; an advocate's, those who invited them."""
    holds = key_worker_id is not None and key_worker_id == reader_id
    return Relationship(
        is_the_client=role is Role.CLIENT and reader_id == client_id,
        holds_caseload=role is Role.KEY_WORKER and holds,
        supervises_team=role is Role.SUPERVISOR,
        invited_as_advocate=role is Role.ADVOCATE,
        incoming_key_worker=role is Role.KEY_WORKER and not holds,
    )


def unsaved_to_offer(access: Access, saved_at: datetime | None) -> datetime | None:
    """When someone last typed changes to a document they have not saved (their draft), if
    they are to be told and offered them back: only while they may edit it, as the edit page
    would refuse them (a draft left before a handover stays unoffered). The one rule for the
    document's page and every list that marks it."""
    return saved_at if saved_at is not None and access.edit else None
