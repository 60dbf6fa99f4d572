"""One page of a longer list: which rows to fetch, and what the caller is told about the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from .numbers import number_problem

T = TypeVar("T")

PAGE_NUMBER = "a page number"
# Not "Please choose from the list." of a page number typed into an address either.
PAGE_NUMBER_PROBLEM = number_problem(PAGE_NUMBER)


@dataclass(frozen=True)
class Window:
    page: int  # from 1
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class Paged(Generic[T]):
    items: list[T]
    total: int  # rows in the whole list, not only this page
    window: Window

    @property
    def has_next(self) -> bool:
        return self.window.page * self.window.per_page < self.total
