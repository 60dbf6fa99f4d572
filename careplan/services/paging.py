"""Fetching one page of a list query, with the count of the whole list, in the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..domain.paging import Paged, Window

T = TypeVar("T")


def page_of(
    s: Session, query: Select, window: Window, item: Callable[..., T], values: dict | None = None
) -> Paged[T]:
    """`query` must order its rows completely (a unique column last), so pages neither
    repeat nor skip a row; `item` makes one result from one row's columns; `values` are
    the query's bound parameters."""
    total = s.scalar(select(func.count()).select_from(query.order_by(None).subquery()), values)
    rows = s.execute(query.limit(window.per_page).offset(window.offset), values)
    return Paged([item(*row) for row in rows], total, window)
