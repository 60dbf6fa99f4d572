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
