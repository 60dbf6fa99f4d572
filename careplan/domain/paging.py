"""One page of a longer list: which rows to fetch, and what the caller is told about the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from .numbers import MAX_WHOLE_NUMBER

T = TypeVar("T")

# For a page number that is not one (-5, "abc", 99999999999): true whatever was given, where
# "Not a valid integer." is not true of -5, nor "Please choose from the list." of anything typed.
PAGE_NUMBER_PROBLEM = f"Please give a page number from 1 to {MAX_WHOLE_NUMBER:,}."


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
