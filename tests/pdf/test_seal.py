"""The service's seal: valid on the file as produced, broken by any change to the file."""

from __future__ import annotations

import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from careplan.config import load_config
from careplan.pdf import (
    SealError,
    credentials_from_config,
    ensure_dev_certificate,
    seal_pdf,
    seal_with,
    verify_pdf,
    verify_pdf_isolated,
)
from careplan.pdf.seal import load_certificates
from tests.certificates import INTERMEDIATE, ROOT, SERVICE, issue_chain


def test_sealed_pdf_validates_against_the_configured_certificate(
    sealed_pdf, seal_files, agreed_doc
):
    cert, _ = seal_files
    result = verify_pdf(sealed_pdf, cert)
    assert result.valid and result.genuine
    assert result.intact and result.covers_whole_file and result.trusted
    assert result.content_hash == agreed_doc.content_hash
    assert result.short_code == agreed_doc.short_code
    assert result.version_number == 3
    assert result.agreed_on == agreed_doc.agreed_on
    assert result.kind_label == "Care plan"
    assert result.sealed_at is not None
    assert "careplan development seal" in result.signer


def test_seal_is_a_pades_certification_that_permits_no_changes(sealed_pdf):
    assert b"/SubFilter /ETSI.CAdES.detached" in sealed_pdf
    assert re.search(rb"/P 1\b", sealed_pdf), "DocMDP level 1: no changes permitted"
    # Still an ordinary PDF with all its pages and text.
    assert len(PdfReader(BytesIO(sealed_pdf)).pages) >= 2


def _positions(pdf: bytes) -> list[int]:
    """Bytes to flip: spread over the file, plus the seal's own bytes and its padding."""
    start = pdf.index(b"/Contents <") + len(b"/Contents <")
    end = pdf.index(b">", start)
    contents = pdf[start:end]
    padding = start + len(contents.rstrip(b"0")) + 10
    spread = [round(i * (len(pdf) - 1) / 23) for i in range(24)]
    return sorted({*spread, start, start + 100, padding, end - 1, end, len(pdf) - 1})


def test_flipping_any_single_byte_breaks_the_seal(sealed_pdf, seal_files):
    cert, _ = seal_files
    for position in _positions(sealed_pdf):
        altered = bytearray(sealed_pdf)
        altered[position] ^= 0x01  # the smallest possible change
        result = verify_pdf(bytes(altered), cert)
        assert not result.valid, f"byte {position} changed without breaking the seal"
        assert result.content_hash is None  # nothing is vouched for


def test_changing_the_case_of_a_hex_digit_in_the_seal_is_detected(sealed_pdf, seal_files):
    cert, _ = seal_files
    start = sealed_pdf.index(b"/Contents <") + len(b"/Contents <")
    letter = re.compile(rb"[A-F]").search(sealed_pdf, start).start()
    altered = bytearray(sealed_pdf)
    altered[letter] ^= 0x20  # 'A' -> 'a': the same value to a lax reader
    result = verify_pdf(bytes(altered), cert)
    assert not result.valid and result.intact


def test_an_incremental_update_breaks_the_seal(sealed_pdf, seal_files):
    cert, _ = seal_files
    writer = IncrementalPdfFileWriter(BytesIO(sealed_pdf))
    writer.set_info(
        generic.DictionaryObject({generic.NameObject("/Title"): generic.pdf_string("Altered")})
    )
    out = BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(sealed_pdf)
    result = verify_pdf(updated, cert)
    assert not result.valid
    assert result.intact and not result.covers_whole_file
    assert "added" in result.reason


def test_appending_bytes_breaks_the_seal(sealed_pdf, seal_files):
    cert, _ = seal_files
    result = verify_pdf(sealed_pdf + b"\n% appended\n", cert)
    assert not result.valid and not result.covers_whole_file


def test_a_seal_from_another_certificate_is_not_trusted(agreed_render, seal_files, tmp_path):
    other_cert, other_key = ensure_dev_certificate(tmp_path)
    sealed_elsewhere = seal_pdf(agreed_render.pdf, other_cert, other_key)
    assert verify_pdf(sealed_elsewhere, other_cert).valid
    result = verify_pdf(sealed_elsewhere, seal_files[0])
    assert not result.valid and result.intact and not result.trusted
    # Several certificates can be trusted at once, e.g. across a certificate change.
    assert verify_pdf(sealed_elsewhere, [seal_files[0], other_cert]).valid


@pytest.mark.parametrize(
    "junk", [b"", b"not a pdf", b"%PDF-1.7\n%%EOF", b"%PDF-1.7\n" + os.urandom(2000)]
)
def test_junk_is_reported_not_raised(junk, seal_files):
    result = verify_pdf(junk, seal_files[0])
    assert not result.valid and result.reason


def test_isolated_check_gives_the_same_answer(sealed_pdf, seal_files):
    cert, _ = seal_files
    assert verify_pdf_isolated(sealed_pdf, cert).valid
    assert not verify_pdf_isolated(sealed_pdf + b"x", cert).valid


def test_dev_certificate_is_made_once_with_a_private_key(tmp_path):
    with ThreadPoolExecutor(4) as pool:
        pairs = list(pool.map(lambda _: ensure_dev_certificate(tmp_path), range(4)))
    assert len(set(pairs)) == 1
    cert, key = pairs[0]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = cert.read_bytes()
    assert ensure_dev_certificate(tmp_path)[0].read_bytes() == first
    assert b"BEGIN CERTIFICATE" in first and b"PRIVATE KEY" in key.read_bytes()


def test_credentials_come_from_configuration(tmp_path, seal_files):
    cert, key = seal_files
    configured = credentials_from_config(
        {"ENV": "production", "PDF_SEAL_CERT_PATH": str(cert), "PDF_SEAL_KEY_PATH": str(key)},
        tmp_path,
    )
    assert (configured.cert_path, configured.key_path, configured.development) == (cert, key, False)
    with pytest.raises(SealError, match="PDF_SEAL_CERT_PATH"):
        credentials_from_config({"ENV": "production"}, tmp_path)
    with pytest.raises(SealError, match="both"):
        credentials_from_config({"PDF_SEAL_CERT_PATH": str(cert)}, tmp_path)
    dev = credentials_from_config({"ENV": "development"}, tmp_path)
    assert dev.development and dev.cert_path.is_relative_to(tmp_path)


def _reader_trusting(sealed: bytes, root) -> bool:
    """What a PDF reader that trusts only the authority's root makes of the seal."""
    signature = PdfFileReader(BytesIO(sealed)).embedded_signatures[0]
    context = ValidationContext(trust_roots=load_certificates(root), allow_fetching=False)
    status = validate_pdf_signature(signature, context)
    return status.bottom_line


def test_a_seal_carries_the_chain_the_configuration_names(agreed_render, tmp_path):
    """A certificate from an authority: every seal carries the certificates between it and the
    root, so a reader that trusts only the root can check it."""
    issued = issue_chain(tmp_path / "issued")
    config = load_config(
        tmp_path,
        env={
            "CAREPLAN_PDF_SEAL_CERT_PATH": str(issued.cert),
            "CAREPLAN_PDF_SEAL_KEY_PATH": str(issued.key),
            "CAREPLAN_PDF_SEAL_CHAIN_PATHS": os.pathsep.join(map(str, issued.chain)),
        },
    )
    credentials = credentials_from_config(config, tmp_path)
    assert credentials.chain_paths == tuple(issued.chain)
    sealed = seal_with(agreed_render.pdf, credentials)

    signature = PdfFileReader(BytesIO(sealed)).embedded_signatures[0]
    carried = {
        c.chosen.subject.native["common_name"] for c in signature.signed_data["certificates"]
    }
    assert carried == {SERVICE, INTERMEDIATE, ROOT}
    assert _reader_trusting(sealed, issued.root)
    result = verify_pdf(sealed, credentials.checked_against)
    assert result.valid and SERVICE in result.signer

    # Without the chain, the same reader cannot trace the seal to the root.
    alone = seal_pdf(agreed_render.pdf, issued.cert, issued.key)
    assert not _reader_trusting(alone, issued.root)
    assert verify_pdf(alone, issued.cert).valid  # the service itself still knows its own


def test_sealing_with_a_missing_key_fails_clearly(agreed_render, seal_files, tmp_path):
    with pytest.raises(SealError, match="could not load"):
        seal_pdf(agreed_render.pdf, seal_files[0], tmp_path / "missing.pem")
