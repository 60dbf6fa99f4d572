from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CLIENT = "client"
    KEY_WORKER = "key_worker"
    SUPERVISOR = "supervisor"
    ADVOCATE = "advocate"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.CLIENT: "client",
    Role.KEY_WORKER: "key worker",
    Role.SUPERVISOR: "supervisor",
    Role.ADVOCATE: "advocate",
    Role.ADMIN: "administrator",
}


def own_records_of(user_id: int, role: Role) -> int | None:
    """The client whose records an event about this account belongs to: a client's own
    account events show in their records (their access log); nobody else's do."""
    return user_id if role is Role.CLIENT else None
