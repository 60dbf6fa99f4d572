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
