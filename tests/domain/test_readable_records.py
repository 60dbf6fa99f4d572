"""The archive's file to read: each document in words, and who looked at the records."""

from __future__ import annotations

from datetime import UTC, datetime

from careplan.domain.documents import Field
from careplan.domain.readable_records import ReadableDocument, readable_records

AT = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)


def _about(**kw) -> dict:
    return {
        "kind": "Care plan",
        "title": "Care plan",
        "versions": 2,
        "agreed_version_in_force": 1,
        "next_review_on": "2027-03-01",
        "signatures": [],
        "comments": [],
        "sealed_pdfs": [{"version": 1, "file": None}],
        **kw,
    }


def test_a_document_reads_as_its_pages_say_it():
    latest = [
        Field("a", "Goals and steps, goal 1", "Find a flat", "Goals and steps"),
        Field("b", "Goals and steps, goal 1, step 1: by when", "2027-01-11", "Goals and steps"),
        Field("c", "Goals and steps, goal 1, step 1: status", "", "Goals and steps"),
        Field("d", "What matters to me", "", "What matters to me"),
    ]
    text = readable_records(
        "Alex", AT, [ReadableDocument(_about(), "documents/00001-care-plan", latest)], [], UTC
    )
    assert text.startswith("Your records: Alex\nMade on 3 December 2026, 14:05.\n")
    assert "2 versions saved. Version 1 is agreed and in force; version 2 is a draft." in text
    assert "Next review: 1 March 2027." in text
    # A signed copy not made yet is said to be on its way, not left out.
    assert "Signed copy of version 1: still being made when this archive was" in text
    # Each answer under its part, without the part's title again; dates in words; empty
    # answers left out, and a part with none says so.
    assert (
        "  Goals and steps\n    goal 1: Find a flat\n    goal 1, step 1: by when: 11 January 2027\n"
        in text
    )
    assert "status" not in text
    assert "  What matters to me\n    Nothing written.\n" in text
    assert "Nobody else has read, exported or downloaded them so far." in text


def test_a_latest_version_declined_is_not_called_a_draft():
    signatures = [{"name": "Alex", "role": "client", "version": 2, "outcome": "declined to sign",
                   "comment": "Not yet.", "at": AT, "how": "password", "fingerprint_signed": "x"}]  # fmt: skip
    text = readable_records(
        "Alex", AT, [ReadableDocument(_about(signatures=signatures), "d", [])], [], UTC
    )
    assert "Version 1 is agreed and in force; version 2 was declined." in text


def test_the_file_says_what_there_is_when_nothing_is_signed_or_saved():
    nothing = readable_records("Bea", AT, [], [], UTC)
    assert "No care plan or agreement is saved yet." in nothing
    assert "sealed PDFs" not in nothing
    agreement = _about(
        kind="Partnership agreement",
        title="Partnership agreement (with asking for a short stay)",
        agreed_version_in_force=None,
        sealed_pdfs=[],
    )
    text = readable_records("Bea", AT, [ReadableDocument(agreement, "documents/x")], [], UTC)
    assert "Nothing has been signed by both of you yet." in text and "sealed PDFs" not in text
    # Its title names its kind already: not said twice.
    assert "\nPartnership agreement (with asking for a short stay)\n" in text
    signed = _about(sealed_pdfs=[{"version": 1, "file": "signed-version-1.pdf"}])
    text = readable_records("Alex", AT, [ReadableDocument(signed, "documents/y")], [], UTC)
    assert "The signed copies are the sealed PDFs in the documents folder." in text
