"""The printable model, the HTML it becomes and the fetcher: fast, no WeasyPrint render."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.documents import Field
from careplan.pdf import (
    PrintableDocument,
    Section,
    SectionField,
    SignatureLine,
    UnsignedLine,
    pdf_filename,
    render_html,
)
from careplan.pdf.fetcher import STYLESHEET, BundledAssetFetcher, FetchRefused, bundled_assets
from careplan.pdf.model import Step, sections_from_fields, sections_from_kind
from careplan.pdf.template import PIECE, ZWSP, breakable, clean_text, pieces

from .support import printable

SPECIALISM_WORDS = ("drug", "alcohol", "methadone", "mental", "opioid", "addict", "substance")


def test_fields_are_grouped_into_sections_and_goals_come_first():
    sections = sections_from_fields(
        [
            Field("domain:housing", "Housing: in my own words", "Damp"),
            Field(
                "domain:activity", "Work, education and meaningful activity: in my own words", ""
            ),
            Field("goal:1", "Goal 1", "Move"),
            Field("step:1:text", "Goal 1, step 1", "Ring council"),
            Field("step:1:owner", "Goal 1, step 1: who", "The client"),
            Field("step:1:due", "Goal 1, step 1: by when", "2026-12-03"),
            Field("step:1:status", "Goal 1, step 1: status", "In progress"),
            Field("step:2:text", "Goal 1, step 2", "Write a letter"),
            Field("step:2:owner", "Goal 1, step 2: who", "The key worker"),
            Field("step:2:due", "Goal 1, step 2: by when", ""),
            Field("step:2:status", "Goal 1, step 2: status", "Not started"),
            Field("goal:2", "Goal 2", "Sleep"),
            Field("what_matters", "What matters to me", "My daughter"),
        ],
        client_name="Sam",
        key_worker_name="Kim",
    )
    # The person's goals first, then everything else in its own order.
    assert [s.title for s in sections] == [
        "Goals",
        "Housing",
        "Work, education and meaningful activity",
        "What matters to me",
    ]
    goals = sections[0]
    assert goals.fields == [] and [g.title for g in goals.goals] == ["Move", "Sleep"]
    # Steps are rows of what, who (by name), by when and how it is going: no "Step 1: who".
    assert goals.goals[0].steps == [
        Step("Ring council", "Sam", date(2026, 12, 3), "In progress"),
        Step("Write a letter", "Kim, key worker", None, "Not started"),
    ]
    assert goals.goals[1].steps == []
    assert sections[1].fields == [SectionField("In my own words", "Damp")]
    assert sections[3].fields == [SectionField("", "My daughter")]


def test_an_agreement_keeps_its_goals_in_their_section_and_puts_it_first():
    sections = sections_from_fields(
        [
            Field("talk.how", "How we communicate: How do we keep in touch?", "Text first"),
            Field("shared_goals.goals", "Our shared goals: What do we want to achieve?", ""),
        ]
    )
    assert [s.title for s in sections] == ["Our shared goals", "How we communicate"]
    assert sections[0].fields == [SectionField("What do we want to achieve?", "")]
    sections = sections_from_fields(
        [
            Field("talk.how", "How we communicate: How do we keep in touch?", "Text first"),
            Field("goal:9", "Our shared goals: Goal 1", "Keep my flat"),
        ]
    )
    assert [s.title for s in sections] == ["Our shared goals", "How we communicate"]
    assert [g.title for g in sections[0].goals] == ["Keep my flat"]


def test_section_accepts_plain_pairs():
    assert Section("Boundaries", [("My hours", "9 to 5")]).fields == [
        SectionField("My hours", "9 to 5")
    ]


def test_only_confirmed_empty_parts_are_said_to_be_blank_on_purpose():
    fields = [
        Field("support.contacts", "Support: Who should be contacted?", ""),
        Field("support.worries", "Support: How do I raise a worry?", ""),
    ]
    [section] = sections_from_fields(fields, blank_on_purpose=frozenset({"support.contacts"}))
    contacts, worries = section.fields
    agreed, draft = printable(), printable(draft=True, agreed_on=None)
    assert [agreed.blank_text(contacts), agreed.blank_text(worries)] == [
        "Left blank on purpose",
        "Left blank",
    ]
    assert draft.blank_text(contacts) == draft.blank_text(worries) == "Not filled in yet"


def test_kind_hook_is_used_when_present():
    from careplan.pdf import sections_from_kind

    class Kind:
        def pdf_sections(self, content):
            return [Section("Ours", [("a", content["x"])])]

        def fields(self, content):  # pragma: no cover - the hook wins
            raise AssertionError

    assert sections_from_kind(Kind(), {"x": "y"})[0].fields == [SectionField("a", "y")]


def test_title_and_filename_name_the_kind_version_and_date_only():
    doc = printable()
    assert doc.title == "Care plan, version 3 – 22 November 2026"
    assert pdf_filename(doc.title) == "Care plan, version 3 – 22 November 2026.pdf"
    assert pdf_filename(doc.title, ascii_only=True) == "Care plan, version 3 - 22 November 2026.pdf"
    agreement = printable(kind_label="Partnership agreement", agreed_on=date(2027, 1, 3))
    assert pdf_filename(agreement.title) == "Partnership agreement, version 3 – 3 January 2027.pdf"
    draft = printable(draft=True, agreed_on=None)
    assert draft.title == "Care plan, version 3 – draft"
    for text in (doc.title, draft.title, agreement.title):
        assert not any(word in text.lower() for word in SPECIALISM_WORDS)


def test_document_checks_its_inputs():
    with pytest.raises(ValueError, match="content_hash"):
        printable(content_hash="not-a-hash")
    with pytest.raises(ValueError, match="agreed_on"):
        printable(agreed_on=None)
    with pytest.raises(ValueError, match="short_code"):
        printable(short_code="<script>")
    with pytest.raises(ValueError, match="outcome"):
        SignatureLine("A", "Client", datetime.now(UTC), "maybe")
    # Sealed PDFs are made once everyone signed: "still to sign" is for drafts only.
    with pytest.raises(ValueError, match="nobody left to sign"):
        printable(not_signed_yet=[UnsignedLine("Kim Lee", "Key worker")])


def test_signature_outcomes_accept_spaces_or_underscores():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert SignatureLine("A", "Client", at, "signed with comment").outcome == "signed_with_comment"
    assert SignatureLine("A", "Client", at, "Declined").outcome_label == "Declined to sign"


def test_long_words_get_break_opportunities_and_controls_are_dropped():
    word = "x" * 100
    broken = breakable(f"short {word}")
    assert broken.replace(ZWSP, "") == f"short {word}"
    assert max(len(part) for part in broken.split(ZWSP)) <= 16 + len("short ")
    assert pieces("short") == ["short"]
    long = pieces(("word " * 3000 + "\n") * 2 + "y" * 25_000)
    assert all(len(piece) <= PIECE for piece in long) and len(long) >= 4
    assert "".join(long).replace(ZWSP, "").replace(" ", "").replace("\n", "") == (
        "word" * 6000 + "y" * 25_000
    )
    assert clean_text("a\x00b\x1bc\r\nd\ud800") == "abc\nd\ufffd"


def test_html_escapes_everything_and_names_no_resource():
    payload = '<img src="file:///etc/passwd"><script>alert(1)</script>{{ 7*7 }}'
    doc = printable(
        client_name=payload,
        sections=[Section(payload, [(payload, payload)])],
        redisclosure_notice=payload,
        signatures=[
            SignatureLine(payload, payload, datetime(2026, 1, 1, tzinfo=UTC), "declined", payload)
        ],
    )
    html = render_html(doc).replace(ZWSP, "")
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert "{{ 7*7 }}" in html  # data is never evaluated as a template
    for tag in ("<link", "<style", "<base", "<object", "<iframe", "<svg", "url("):
        assert tag not in html.lower()


def test_fetcher_serves_only_bundled_assets():
    fetcher = BundledAssetFetcher()
    for url in (
        "file:///etc/passwd",
        "file:///dev/urandom",
        "/dev/urandom",
        "http://169.254.169.254/latest/meta-data/",
        "https://example.org/x.css",
        "data:text/css,body{}",
        "ftp://127.0.0.1/x",
        "fonts/DejaVuSans.ttf",
        STYLESHEET.parent.as_uri() + "/../../etc/passwd",
        "file://evil.example/" + str(STYLESHEET),
    ):
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)
    for path in bundled_assets():
        response = fetcher.fetch(path.as_uri())
        assert response.read() == path.read_bytes()
    assert [r.allowed for r in fetcher.log] == [False] * 10 + [True] * len(bundled_assets())


def test_printable_document_has_every_field_in_the_brief():
    names = set(PrintableDocument.__dataclass_fields__)
    assert {
        "kind_label",
        "agreed_on",
        "client_name",
        "sections",
        "signatures",
        "content_hash",
        "version_number",
        "short_code",
        "draft",
        "redisclosure_notice",
        "verify_url",
    } <= names


def test_writing_in_a_right_to_left_script_is_laid_out_right_to_left():
    """The renderer does not work dir="auto" out itself: an Arabic or Hebrew paragraph gets
    dir="rtl" (its full stop at its end, on the left); anything else dir="auto"."""
    arabic, hebrew = "عائلتي هي الأهم بالنسبة لي.", "אני גר בהוסטל. רועש שם."
    doc = printable(
        sections=[
            Section("What matters to me", [SectionField("", arabic)]),
            Section("Housing", [SectionField("Mine", f"{hebrew}\n\nSecond, English.")]),
        ],
        signatures=[
            SignatureLine("سارة", "Client", datetime(2026, 1, 1, tzinfo=UTC), "declined", hebrew)
        ],
    )
    html = render_html(doc).replace(ZWSP, "")
    assert f'<p class="words" dir="rtl">{arabic}</p>' in html
    # A text's direction is its first letter's, as dir="auto" has it: all its paragraphs.
    assert f'<p class="words" dir="rtl">{hebrew}\n\nSecond, English.</p>' in html
    assert f'<p class="words comment" dir="rtl">{hebrew}</p>' in html  # the reason declined
    assert '<strong dir="auto">سارة</strong>' in html
    assert PrintableDocument.direction("123 – שלום") == "rtl"
    assert PrintableDocument.direction("Hi שלום") == "auto"


def test_attribution_names_people_by_name_and_role_as_anyone_reads_it():
    kim = {"id": 2, "name": "Kim Lee", "role": "key_worker"}
    sam = {"id": 1, "name": "Sam", "role": "client"}
    content = {
        "domains": {"housing": {"own_words": "Damp", "written_by": kim, "changed_by": kim}},
        "goals": [
            {
                "id": "g1",
                "title": "Move",
                "written_by": sam,
                "changed_by": kim,
                "steps": [
                    {
                        "id": "s1",
                        "text": "Ring",
                        "owner": {"kind": "client"},
                        "due": "",
                        "status": "not_started",
                        "written_by": kim,
                        "changed_by": kim,
                    }
                ],
            }
        ],
        "what_matters": {"text": "", "written_by": sam, "changed_by": sam},
    }
    sections = sections_from_kind(CARE_PLAN, content, "Sam Taylor", "Kim Lee")
    housing = next(s for s in sections if s.title == "Housing")
    assert housing.fields[0].by == "Written by Kim Lee, key worker"
    goal = sections[0].goals[0]
    assert goal.by == "Last changed by Kim Lee, key worker · first written by Sam Taylor, client"
    assert goal.steps[0].by == "Written by Kim Lee, key worker"
    matters = next(s for s in sections if s.title == "What matters to me")
    assert matters.fields[0].by == ""  # left blank: nothing to attribute, as on the page
    html = render_html(printable(sections=sections)).replace(ZWSP, "")
    assert '<p class="by" dir="auto">Written by Kim Lee, key worker</p>' in html


def test_a_care_team_member_says_who_listed_them_under_their_name_as_a_goal_does():
    kim = {"id": 2, "name": "Kim Lee", "role": "key_worker"}
    sam = {"id": 1, "name": "Sam", "role": "client"}
    member = {"id": "m1", "name": "Dr Patel", "role": "GP", "what_they_do": "Check-ups"}
    content = {
        "care_team": [
            {**member, "written_by": sam, "changed_by": kim},
            {**member, "id": "m2", "name": "Jo"},  # listed before members said so: nobody
        ]
    }
    sections = sections_from_kind(CARE_PLAN, content, "Sam Taylor", "Kim Lee")
    team = next(s for s in sections if s.title == "Care team")
    leads = [f for f in team.fields if f.lead]
    assert [(f.text, f.by) for f in leads] == [
        (
            "Dr Patel, GP",
            "Last changed by Kim Lee, key worker · first written by Sam Taylor, client",
        ),
        ("Jo, GP", ""),
    ]
    html = render_html(printable(sections=sections)).replace(ZWSP, "")
    assert re.search(
        r'<p class="words lead" dir="auto">Dr Patel, GP</p>\s*<p class="by" dir="auto">Last '
        r"changed by Kim Lee, key worker · first written by Sam Taylor, client</p>",
        html,
    ), html


def test_unlabelled_answers_are_not_bold_and_an_agreement_s_terms_are_labelled():
    sections = sections_from_fields(
        [
            Field("review.who", "Review: Who will review this agreement with me?", ""),
            Field("terms.review", "Review every (weeks)", "12"),
            Field("terms.self_referral", "Asking for a short stay myself", "up to 5 nights"),
            Field("team:1", "Care team member 1", "Dr Patel, GP"),
            Field("what_matters", "What matters to me", "My daughter"),
        ]
    )
    review, terms = sections[0], sections[1]
    assert review.title == "Review" and len(review.fields) == 1
    assert terms.title == "Agreed terms"
    assert terms.fields == [
        SectionField("How often we review", "Every 12 weeks"),
        SectionField("Asking for a short stay myself", "Up to 5 nights"),
    ]
    html = render_html(printable(sections=sections)).replace(ZWSP, "")
    assert '<p class="words lead" dir="auto">Dr Patel, GP</p>' in html
    assert '<p class="words" dir="auto">My daughter</p>' in html
