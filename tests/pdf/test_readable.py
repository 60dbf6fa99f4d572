"""A PDF to be proud of, read back with pypdf: the service named, a cover that gives nothing
away, the person's goals first, steps as rows, local dates, a check code kept whole."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from careplan.pdf import SignatureLine, render_pdf

from .support import SERVICE_CONTACT, SERVICE_NAME, care_plan_content, page_texts, printable
from .test_model import SPECIALISM_WORDS

LONG_CODE = "K7Q4-XM92-ABCD-EFGH-JKLM-NPQR-STUV-WXYZ"


@pytest.fixture(scope="module")
def pages():
    # Signed in summer, late in the evening UTC: the next day, an hour later, in London.
    doc = printable(
        content=care_plan_content(what_matters={"text": ""}),
        signatures=[
            SignatureLine(
                "Sam Taylor", "Client", datetime(2026, 7, 1, 23, 30, tzinfo=UTC), "signed"
            ),
        ],
        agreed_on=date(2026, 7, 2),
        short_code=LONG_CODE,
    )
    return page_texts(render_pdf(doc))


def test_the_service_is_named_on_the_cover_and_on_every_page(pages):
    cover = pages[0]
    assert SERVICE_NAME in cover and SERVICE_CONTACT in cover
    for text in pages:
        assert SERVICE_NAME in text


def test_the_cover_names_person_version_and_date_and_no_content(pages):
    cover = pages[0]
    assert "Care plan for Sam Taylor" in cover
    assert "Version 3, agreed 2 July 2026" in cover
    lowered = cover.lower()
    for word in SPECIALISM_WORDS + ("housing", "goals", "money", "safety", "hostel"):
        assert word not in lowered, word


def test_goals_come_first_and_steps_read_as_rows(pages):
    content = "\n".join(pages[1:])
    assert content.index("Find a flat near my sister") < content.index("Housing")
    assert content.index("Goals") < content.index("In my own words")
    assert "Register on the council housing list" in content
    # Who does it (by name), by when (in words) and how it is going, on one row.
    assert "Sam Taylor · by 1 December 2026 · not started" in content
    assert "Alex Morgan, key worker · by 5 December 2026 · in progress" in content
    for label in ("Step 1", "Step 2", ": who", "by when", ": status", "Me (the client)"):
        assert label not in content, label


def test_empty_parts_are_printed_as_left_blank_not_as_a_choice_nobody_made(pages):
    content = "\n".join(pages)
    assert "What matters to me\nLeft blank\n" in content
    assert "Legal\nIn my own words\nLeft blank\n" in content
    assert "on purpose" not in content  # a care plan's signers confirm no empty parts


def test_dates_are_local_and_never_utc_or_iso(pages):
    content = "\n".join(pages)
    assert "Signed on 2 July 2026, 00:30" in content
    assert "UTC" not in content
    assert "2026-07" not in content and "T23:30" not in content


def test_the_check_code_is_never_split_across_lines(pages):
    lines = [line for text in pages for line in text.splitlines()]
    holding = [line for line in lines if LONG_CODE in line]
    # Cover, the footer of every page, and the steps to check it.
    assert len(holding) >= len(pages) + 2
    for line in lines:
        if "K7Q4" in line or "WXYZ" in line:
            assert LONG_CODE in line, line


def test_the_care_team_and_the_review_read_as_sentences(pages):
    content = "\n".join(pages[1:])
    assert "Care team\nDr Priya Patel, GP\nWhat they do\nCheck-ups" in content
    assert "Review\nEvery 12 weeks" in content
    for form_label in ("Care team member 1", "(weeks)", "(GP)"):
        assert form_label not in content, form_label
