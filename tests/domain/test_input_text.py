"""Text that arrives from outside: numbers, nested field names, spreadsheet cells."""

from __future__ import annotations

import pytest

from careplan.domain.errors import ContentInvalid
from careplan.domain.nested import MAX_DEPTH, unflatten
from careplan.domain.numbers import (
    MAX_WHOLE_NUMBER,
    number_problem,
    whole_number,
    whole_number_or_none,
)
from careplan.domain.spreadsheet import text_cell


@pytest.mark.parametrize(
    "raw, number", [("0", 0), ("7", 7), ("0012", 12), ("2147483647", 2**31 - 1)]
)
def test_whole_numbers_in_ascii_digits_within_the_database_range(raw, number):
    assert whole_number(raw) == number == whole_number_or_none(raw)


@pytest.mark.parametrize(
    "raw",
    ["", "2147483648", "9223372036854775808", "9" * 5000, "²", "١٢", "-1", "+3", " 7", "1_0", "1.0",
     None, 12],
)  # fmt: skip
def test_anything_else_is_not_a_whole_number(raw):
    assert whole_number_or_none(raw) is None
    with pytest.raises(ValueError):
        whole_number(raw)
    assert MAX_WHOLE_NUMBER == 2**31 - 1


def test_a_number_refused_is_told_which_numbers_there_are():
    assert number_problem("a page number") == "Please give a page number from 1 to 2,147,483,647."
    assert number_problem("a count", 100) == "Please give a count from 1 to 100."
    # A version an edit was based on may be 0: nothing saved yet.
    assert number_problem("a version number", least=0) == (
        "Please give a version number from 0 to 2,147,483,647."
    )


def test_list_positions_are_ascii_digits_only():
    assert unflatten([("goals-0-title", "a"), ("goals-1-title", "b")]) == {
        "goals": [{"title": "a"}, {"title": "b"}]
    }
    # "²" passes str.isdigit() but is no position: it stays a key.
    assert unflatten([("goals-²-title", "a")]) == {"goals": {"²": {"title": "a"}}}


def test_field_names_nested_beyond_any_form_are_refused():
    name = "-".join(["x"] * MAX_DEPTH)
    nested = unflatten([(name, "v")])
    for _ in range(MAX_DEPTH - 1):
        nested = nested["x"]
    assert nested == {"x": "v"}
    for depth in (MAX_DEPTH + 1, 5000):
        with pytest.raises(ContentInvalid):
            unflatten([("-".join(["x"] * depth), "v")])


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_that_would_start_a_formula_become_text(start):
    assert text_cell(start + "1+1") == "'" + start + "1+1"


@pytest.mark.parametrize("value", ["Sam Lee", "", "a=b", 20, None, "'quoted"])
def test_other_cells_are_left_alone(value):
    assert text_cell(value) == value


def test_leaf_texts_are_the_values_a_form_shows_for_stored_content():
    from careplan.domain.nested import leaf_texts

    content = {
        "goals": [{"title": " Find a flat ", "steps": [{"due": "2027-01-15", "done": False}]}],
        "terms": {"nights": 5, "enabled": True, "note": None},
    }
    assert leaf_texts(content) == {"Find a flat", "2027-01-15", "no", "5", "yes"}
    assert leaf_texts({}) == set()
