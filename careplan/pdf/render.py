"""PrintableDocument -> PDF bytes, bounded in time and memory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import FetchRecord, PrintableDocument
from .sandbox import RenderFailed, RenderLimits, run_bounded
from .template import render_html, text_size

if TYPE_CHECKING:
    from .engine import EngineResult


@dataclass(frozen=True)
class RenderResult:
    pdf: bytes
    fetches: tuple[FetchRecord, ...]  # every resource WeasyPrint asked for, allowed or refused
    warnings: tuple[str, ...]  # WeasyPrint's warnings, if any
    seconds: float  # wall-clock time including the sandboxed process

    @property
    def refused_fetches(self) -> tuple[FetchRecord, ...]:
        return tuple(f for f in self.fetches if not f.allowed)


def render(doc: PrintableDocument, limits: RenderLimits | None = None) -> RenderResult:
    """Render in a sandboxed process; raise RenderFailed if it cannot finish within limits."""
    limits = limits or RenderLimits()
    size = text_size(doc)
    if size > limits.max_text_chars:
        raise RenderFailed(
            f"document has {size} characters of text, more than the limit of "
            f"{limits.max_text_chars}"
        )
    started = time.monotonic()
    html = render_html(doc)
    result: EngineResult = run_bounded(_html_to_pdf, (html,), limits)
    return RenderResult(
        pdf=result.pdf,
        fetches=result.fetches,
        warnings=result.warnings,
        seconds=time.monotonic() - started,
    )


def _html_to_pdf(html: str) -> EngineResult:
    # Runs in a render host, which loaded WeasyPrint before forking; importing it here
    # rather than above keeps it out of every web and scheduler process.
    from .engine import html_to_pdf

    return html_to_pdf(html)


def render_pdf(doc: PrintableDocument, limits: RenderLimits | None = None) -> bytes:
    return render(doc, limits).pdf
