"""Page numbers in an address: which page is asked for, which is shown, and what is said."""

from __future__ import annotations

import pytest

from careplan.domain.numbers import MAX_WHOLE_NUMBER
from careplan.domain.paging import (
    FROM_THE_FIRST,
    PAST_THE_END,
    last_page,
    nearest_page,
    page_asked,
    page_note,
)


@pytest.mark.parametrize(
    "raw, page",
    [
        (None, 1),
        ("", 1),
        ("1", 1),
        ("7", 7),
        ("007", 7),
        ("0", 1),
        ("-3", 1),
        ("abc", 1),
        ("2.5", 1),
        (" 2", 1),
        ("²", 1),  # str.isdigit() is true of it
        ("١٢", 1),  # int() reads it
        ("2147483647", MAX_WHOLE_NUMBER),
        # Past the integer range: past the end of any list, so its last page, not its first.
        ("2147483648", MAX_WHOLE_NUMBER),
        ("9" * 5000, MAX_WHOLE_NUMBER),
    ],
)
def test_the_page_an_address_asks_for(raw, page):
    assert page_asked(raw) == page


def test_the_page_shown_is_the_nearest_there_is():
    assert [last_page(total, 50) for total in (0, 1, 50, 51, 100, 101)] == [1, 1, 1, 2, 2, 3]
    assert nearest_page(2, 120, 50) == 2
    assert nearest_page(9, 120, 50) == 3
    assert nearest_page(MAX_WHOLE_NUMBER, 120, 50) == 3
    assert nearest_page(0, 120, 50) == 1
    assert nearest_page(2, 0, 50) == 1  # an empty list still has its one page


@pytest.mark.parametrize(
    "raw, shown, note",
    [
        (None, 1, None),  # no page asked for: the first, nothing to say
        ("", 1, None),
        ("1", 1, None),
        ("3", 3, None),
        ("03", 3, None),  # the same page, written another way
        ("0", 1, FROM_THE_FIRST),
        ("-3", 1, FROM_THE_FIRST),
        ("abc", 1, FROM_THE_FIRST),
        ("9", 3, PAST_THE_END),
        ("2", 1, PAST_THE_END),
        ("99999999999999999999", 3, PAST_THE_END),
    ],
)
def test_what_is_said_when_another_page_is_shown(raw, shown, note):
    assert page_note(raw, shown) == note
