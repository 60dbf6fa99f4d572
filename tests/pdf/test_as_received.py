"""PDFs read back as the person who downloads them reads them (pypdf): what a viewer shows of
the file itself, every date in words, and no heading left at the foot of a page without what
it heads."""

from __future__ import annotations

import tomllib
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from careplan.domain.agreement import AgreementKind, parse_template
from careplan.domain.canonical import content_hash
from careplan.pdf import render_pdf, sections_from_kind

from .support import care_plan_content, page_texts, printable

AGREEMENTS = Path(__file__).resolve().parents[2] / "agreements"


def _agreement_kind() -> AgreementKind:
    name = "smi_self_referral.toml"
    return AgreementKind(parse_template(name, tomllib.loads((AGREEMENTS / name).read_text())))


@pytest.fixture(scope="module")
def agreement_pdf() -> bytes:
    kind = _agreement_kind()
    content = kind.empty_content()
    content["sections"]["contingencies"]["handed_over"] = [
        {"id": "h", "decision": "My money", "to_whom": "Jo, my sister", "until": "2027-03-01"}
    ]
    content = kind.validate(content)
    doc = printable(
        content=content,
        kind_label="Partnership agreement",
        sections=sections_from_kind(kind, content, "Sam Taylor", "Alex Morgan"),
        content_hash=content_hash(content),
    )
    return render_pdf(doc)


def test_a_decision_handed_over_says_until_when_in_words(agreement_pdf):
    text = "\n".join(page_texts(agreement_pdf))
    assert "My money — handed to Jo, my sister until 1 March 2027" in text
    assert "2027-03-01" not in text


def test_a_care_team_member_s_name_stays_on_the_page_with_what_they_do():
    # Members of different lengths, so some page ends after one member's name: that name
    # must move over with what it heads, not stay behind at the foot of a page alone.
    team = [
        {
            "name": f"Member {n}",
            "role": "GP",
            "what_they_do": "Sees me every month. " * (1 + n % 4),
            "may_see": "Goals and steps." + " Letters." * (n % 3),
        }
        for n in range(1, 21)
    ]
    pages = page_texts(render_pdf(printable(content=care_plan_content(care_team=team))))
    seen = 0
    for text in pages:
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Member ") and line.endswith(", GP"):
                seen += 1
                assert lines[i + 1] == "What they do", (line, text)
    assert seen == 20


def test_who_listed_a_care_team_member_stays_under_their_name_with_what_they_do():
    # As above, each member saying who listed them (the client) and who changed them last
    # (their key worker): the line saying so stays between the name and what they do.
    sam = {"id": 1, "name": "Sam", "role": "client"}
    alex = {"id": 2, "name": "Alex Morgan", "role": "key_worker"}
    team = [
        {
            "name": f"Member {n}",
            "role": "GP",
            "what_they_do": "Sees me every month. " * (1 + n % 4),
            "may_see": "Goals and steps." + " Letters." * (n % 3),
        }
        for n in range(1, 21)
    ]
    content = care_plan_content(care_team=team)
    for member in content["care_team"]:
        member.update(written_by=sam, changed_by=alex)
    pages = page_texts(render_pdf(printable(content=content)))
    seen = 0
    said = "Last changed by Alex Morgan, key worker · first written by Sam Taylor, client"
    for text in pages:
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Member ") and line.endswith(", GP"):
                seen += 1
                assert lines[i + 1 : i + 3] == [said, "What they do"], (line, text)
    assert seen == 20


def test_the_file_names_the_client_and_key_worker_as_its_authors():
    meta = PdfReader(BytesIO(render_pdf(printable(key_worker_name="Alex Morgan")))).metadata
    assert meta.author == "Sam Taylor and Alex Morgan"
    assert meta.title == "Care plan, version 3 – 22 November 2026"
