"""One page of a longer list: which rows to fetch, and what the caller is told about the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from .numbers import MAX_WHOLE_NUMBER, whole_number_or_none

T = TypeVar("T")

PAGE_NUMBER = "a page number"

# Said on the page an address with a page number that is not one of the list's is sent on to.
FROM_THE_FIRST = "Pages are numbered from 1, so this is the first page."
PAST_THE_END = "That page is past the end of the list, so this is its last page."


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


def page_asked(raw: str | None) -> int:
    """The page an address's `page=` asks for, from 1: missing, not a number ("abc", "-3"),
    or 0 asks for the first; digits beyond the integer range ask for one past the end of
    any list, so they are shown its last page rather than its first."""
    if not raw or not raw.isascii() or not raw.isdigit():
        return 1
    number = whole_number_or_none(raw)
    return MAX_WHOLE_NUMBER if number is None else max(number, 1)


def last_page(total: int, per_page: int) -> int:
    """The last page of `total` rows: 1 for an empty list, which still has its one page."""
    return max(1, -(-total // per_page))


def nearest_page(asked: int, total: int, per_page: int) -> int:
    """The page shown for one asked for: itself, or the nearest there is."""
    return min(max(asked, 1), last_page(total, per_page))


def page_note(raw: str | None, shown: int) -> str | None:
    """What to say when `page=raw` was answered with page `shown`: nothing when it named
    that page ("2", or "02") or none ("page=" left empty, as a missing one), else whether it
    was past the end or no page number at all."""
    if not raw or whole_number_or_none(raw) == shown:
        return None
    return PAST_THE_END if page_asked(raw) > shown else FROM_THE_FIRST
