"""Cells for files that people open in a spreadsheet (the supervisors' CSV export).

A spreadsheet runs a cell that starts with "=", "+", "-" or "@" as a formula, and some also
after a leading tab or carriage return, so a name such as "=HYPERLINK(...)" typed into an
account could run on a supervisor's computer. Such a cell gets a leading apostrophe, which
spreadsheets show as plain text (OWASP, "CSV Injection").
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: object) -> object:
    """`value` as it may go into a cell: text that would start a formula is made plain text.
    Numbers, dates and empty cells are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
