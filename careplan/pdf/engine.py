"""HTML -> PDF with WeasyPrint, inside the sandboxed process. Nothing here reads or writes the
database or the network; the only resources it can load are the bundled stylesheet and fonts."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .fetcher import STYLESHEET, BundledAssetFetcher
from .model import FetchRecord

MAX_WARNINGS = 50
# Tagged PDF: screen readers (phones included) can follow headings and reading order.
WRITE_OPTIONS = {"custom_metadata": True, "pdf_tags": True}


@dataclass(frozen=True)
class EngineResult:
    pdf: bytes
    fetches: tuple[FetchRecord, ...]
    warnings: tuple[str, ...]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < MAX_WARNINGS:
            self.messages.append(record.getMessage()[:300])


def html_to_pdf(html: str) -> EngineResult:
    """Render trusted template output (all content already escaped) with the bundled CSS."""
    logger = logging.getLogger("weasyprint")
    collect = _Collect()
    logger.addHandler(collect)
    previous_propagate, logger.propagate = logger.propagate, False
    try:
        fetcher = BundledAssetFetcher()
        fonts = FontConfiguration()
        stylesheet = CSS(url=STYLESHEET.as_uri(), url_fetcher=fetcher, font_config=fonts)
        # No base URL: a relative reference in the document cannot resolve to anything.
        document = HTML(string=html, base_url=None, url_fetcher=fetcher)
        pdf = document.write_pdf(stylesheets=[stylesheet], font_config=fonts, **WRITE_OPTIONS)
        return EngineResult(pdf, tuple(fetcher.log), tuple(collect.messages))
    finally:
        logger.removeHandler(collect)
        logger.propagate = previous_propagate
