"""The rendered PDF, read back with pypdf: content, signature page, page numbers, watermark."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from careplan.pdf import SealError, pdf_filename, seal_pdf, verify_pdf
from careplan.pdf.fetcher import ASSET_DIR

from .support import NOTICE, page_texts, squash
from .test_model import SPECIALISM_WORDS


@pytest.fixture(scope="module")
def agreed_pages(agreed_render):
    return page_texts(agreed_render.pdf)


def test_every_section_field_and_signer_is_in_the_pdf(agreed_doc, agreed_pages):
    text = squash("".join(agreed_pages))
    for section in agreed_doc.sections:
        assert squash(section.title) in text
        for field in section.fields:
            assert squash(field.label) in text
            assert squash(field.text or agreed_doc.blank_text(field)) in text
    for signature in agreed_doc.signatures:
        assert squash(signature.name) in text
        assert squash(signature.role) in text
        assert squash(signature.outcome_label) in text
        assert squash(signature.comment) in text
        assert squash(signature.method) in text
    assert squash(agreed_doc.client_name) in text


def test_signature_page_has_names_times_comments_and_the_hash(agreed_doc, agreed_pages):
    last = squash(agreed_pages[-1])
    assert squash("Signatures") in last
    assert agreed_doc.content_hash in last
    # Local time (22 November is winter time in London, so the same hour as UTC), no "UTC".
    assert squash("Signed with a comment on 22 November 2026, 14:05") in last
    assert "UTC" not in last
    assert squash("I agree, but I want to revisit the first goal in a month.") in last
    assert squash("Alex Morgan, Key worker") in last
    assert squash("How to check this document is genuine") in last
    assert squash(agreed_doc.verify_url) in last
    assert agreed_doc.short_code in last


def test_every_page_has_its_number_and_the_redisclosure_notice(agreed_pages):
    total = len(agreed_pages)
    assert total >= 2
    for number, page in enumerate(agreed_pages, start=1):
        assert f"Page {number} of {total}" in page
        assert squash(NOTICE) in squash(page)
        assert "DRAFT" not in page


def test_title_metadata_and_filename_do_not_name_the_specialism(agreed_doc, agreed_render):
    reader = PdfReader(BytesIO(agreed_render.pdf))
    meta = reader.metadata
    assert meta.title == "Care plan, version 3 – 22 November 2026"
    assert pdf_filename(agreed_doc.title) == "Care plan, version 3 – 22 November 2026.pdf"
    visible = " ".join(str(v) for v in meta.values()).lower()
    assert not any(word in visible for word in SPECIALISM_WORDS)
    assert meta["/careplancontentsha256"] == agreed_doc.content_hash
    assert meta["/careplanshortcode"] == agreed_doc.short_code
    assert meta["/careplanstatus"] == "agreed"
    width, height = (float(x) for x in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4


def test_only_bundled_assets_were_loaded(agreed_render):
    assert agreed_render.refused_fetches == ()
    assert agreed_render.warnings == ()
    assert agreed_render.fetches, "the bundled stylesheet and fonts are loaded through the fetcher"
    for record in agreed_render.fetches:
        assert record.allowed and record.url.startswith(ASSET_DIR.as_uri())


def test_draft_has_a_watermark_on_every_page_and_no_seal(draft_render, seal_files):
    pages = page_texts(draft_render.pdf)
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert "DRAFT" in page
        assert f"Page {number} of {len(pages)}" in page
    assert "version 3 – draft" in pages[0]
    assert "check code" not in " ".join(pages).lower()
    assert PdfReader(BytesIO(draft_render.pdf)).metadata["/careplanstatus"] == "draft"
    cert, key = seal_files
    with pytest.raises(SealError, match="draft"):
        seal_pdf(draft_render.pdf, cert, key)
    result = verify_pdf(draft_render.pdf, cert)
    assert not result.valid and "no seal" in result.reason


def test_render_times_are_reported(agreed_render, draft_render):
    for result in (agreed_render, draft_render):
        assert 0 < result.seconds < 30
        assert re.match(rb"%PDF-1\.\d", result.pdf[:8])
