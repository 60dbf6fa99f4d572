from __future__ import annotations

from dataclasses import dataclass

from ..domain.documents import Author
from ..domain.roles import Role


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
        """The client whose records an event about this person's own account belongs to: a
        client's own account events show in their records; nobody else's do."""
        return self.id if self.role is Role.CLIENT else None
