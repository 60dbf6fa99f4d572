"""Imported once by each render host (careplan.pdf._host) before it forks any job: WeasyPrint,
pyHanko, Fontconfig and the bundled assets are loaded here, and a page like a real document
(every font, running header and footer, page counters, signatures) is rendered, so Fontconfig,
Pango and WeasyPrint's own caches are filled in the host and every job forked from it starts
warm instead of filling them again. Rendering starts no threads, so the host stays safe to
fork."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime

from . import engine, fetcher, seal  # noqa: F401 - imported for their side effect of loading
from .model import PrintableDocument, Section, SectionField, SignatureLine
from .template import render_html

WARM_UP = PrintableDocument(
    kind_label="Partnership agreement",
    agreed_on=date(2026, 1, 1),
    client_name="Warm-up",
    sections=[
        Section(
            f"Section {n}",
            [SectionField("", "A lead line."), SectionField("A label", "Some words. " * 80, "By")],
        )
        for n in range(4)
    ],
    signatures=[
        SignatureLine("Warm-up", "Client", datetime(2026, 1, 1, tzinfo=UTC), "signed", "", "Pw")
    ],
    content_hash="0" * 64,
    version_number=1,
    short_code="WARM-UP",
    draft=False,
    redisclosure_notice="A notice.",
    verify_url="https://example.org/verify",
)

fetcher.preload()
# Warming up is an optimisation only; a failure here shows up in the first real render.
with contextlib.suppress(Exception):
    engine.html_to_pdf(render_html(WARM_UP))
