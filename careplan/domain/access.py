"""Who may do what with a client's records.

The service layer gathers the facts (is this the client, do they hold the caseload, ...);
this module decides. Anything not granted here is answered as "not found".
"""

from __future__ import annotations

from dataclasses import dataclass

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
