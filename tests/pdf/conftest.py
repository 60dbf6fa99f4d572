"""Fixtures for the PDF adapter tests. Renders are expensive (about half a second each), so
the documents that many tests read are rendered once per session."""

from __future__ import annotations

import pytest

from careplan.pdf import ensure_dev_certificate, render, seal_pdf

from .support import printable


@pytest.fixture(scope="session")
def seal_files(tmp_path_factory):
    return ensure_dev_certificate(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def agreed_doc():
    return printable()


@pytest.fixture(scope="session")
def agreed_render(agreed_doc):
    return render(agreed_doc)


@pytest.fixture(scope="session")
def sealed_pdf(agreed_render, seal_files):
    cert, key = seal_files
    return seal_pdf(agreed_render.pdf, cert, key)


@pytest.fixture(scope="session")
def draft_doc():
    return printable(draft=True, agreed_on=None)


@pytest.fixture(scope="session")
def draft_render(draft_doc):
    return render(draft_doc)
