from __future__ import annotations

from dataclasses import dataclass

from ..domain.attribution import Author
from ..domain.roles import Role, own_records_of


@dataclass(frozen=True)
class Actor:
    """Who is asking, and from where: passed to every service call."""

    id: int
    role: Role
    name: str
    ip: str = ""

    @property
    def author(self) -> Author:
        return Author(self.id, self.name, self.role.value)

    @property
    def own_client_id(self) -> int | None:
        """The client whose records an event about this person's own account belongs to."""
        return own_records_of(self.id, self.role)
