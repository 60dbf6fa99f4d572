"""PDF adapter: render a PrintableDocument safely, seal agreed versions, check sealed files.

doc = PrintableDocument(...)              # or build sections with sections_from_kind()
pdf = render_pdf(doc)                     # sandboxed WeasyPrint; RenderFailed on trouble
creds = credentials_from_config(app.config, app.instance_path)
sealed = seal_with(pdf, creds)            # agreed versions only
write_atomically(path, sealed)
verify_pdf(sealed, creds.cert_path).valid # True
"""

from __future__ import annotations

from ..files import write_atomically
from .model import (
    OUTCOMES,
    FetchRecord,
    PrintableDocument,
    Section,
    SectionField,
    SignatureLine,
    UnsignedLine,
    document_title,
    long_date,
    pdf_filename,
    sections_from_fields,
    sections_from_kind,
)
from .render import RenderResult, render, render_pdf
from .sandbox import RenderFailed, RenderLimits, warm_up
from .template import render_html

# pyHanko takes about 0.4 s to import: loaded when something first seals, checks or reads a
# certificate, not by every process that imports this package (each web worker does).
_SEAL_NAMES = frozenset(
    {
        "CertificateFacts",
        "SealCredentials",
        "SealError",
        "SealUnavailable",
        "VerifyResult",
        "certificate_facts",
        "credentials_from_config",
        "ensure_dev_certificate",
        "seal_pdf",
        "seal_with",
        "verify_pdf",
        "verify_pdf_isolated",
    }
)


def __getattr__(name: str):
    if name in _SEAL_NAMES:
        from . import seal

        return getattr(seal, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "OUTCOMES",
    "CertificateFacts",
    "FetchRecord",
    "PrintableDocument",
    "RenderFailed",
    "RenderLimits",
    "RenderResult",
    "SealCredentials",
    "SealError",
    "SealUnavailable",
    "Section",
    "SectionField",
    "SignatureLine",
    "UnsignedLine",
    "VerifyResult",
    "certificate_facts",
    "credentials_from_config",
    "document_title",
    "ensure_dev_certificate",
    "long_date",
    "pdf_filename",
    "render",
    "render_html",
    "render_pdf",
    "seal_pdf",
    "seal_with",
    "sections_from_fields",
    "sections_from_kind",
    "verify_pdf",
    "verify_pdf_isolated",
    "warm_up",
    "write_atomically",
]
