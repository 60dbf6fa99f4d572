"""The service's digital seal on agreed PDFs (PAdES, pyHanko) and checking it.

A sealed PDF is *genuine* only when all of these hold: exactly one signature; it verifies
cryptographically over its byte range; its certificate is the configured one (or chains to
it); the byte range covers the whole file (nothing appended, no incremental update); and the
signature value itself is stored byte for byte as pyHanko wrote it. So changing any single
byte of the file, or appending anything, makes it not genuine.

No network is used: no timestamp server, no certificate or revocation fetching.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import parser as asn1_parser
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from ..files import private_folder, write_atomically
from ..paths import path_list
from .sandbox import RenderLimits, run_bounded

SEAL_FIELD = "ServiceSeal"
SEAL_REASON = "Sealed by the service: this is the agreed version, unchanged since it was sealed."
DEV_DIR = "pdf-seal"
DEV_CERT = "dev-seal-cert.pem"
DEV_KEY = "dev-seal-key.pem"
DEV_VALIDITY_DAYS = 5 * 365
SEAL_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"})
META_PREFIX = "/careplan"


class SealError(RuntimeError):
    """The PDF could not be sealed (bad key, certificate or configuration, or a draft)."""


class SealUnavailable(SealError):
    """The service's own certificate cannot be read, so no PDF can be checked against it."""


@dataclass(frozen=True)
class SealCredentials:
    cert_path: Path
    key_path: Path
    key_passphrase: bytes | None = None
    chain_paths: tuple[Path, ...] = ()
    development: bool = False
    # Certificates the service sealed with before this one: PDFs sealed with them still check
    # out as genuine after the certificate is replaced.
    earlier_cert_paths: tuple[Path, ...] = ()

    @property
    def checked_against(self) -> list[Path]:
        """Every certificate a seal of this service may have been made with."""
        return [self.cert_path, *self.earlier_cert_paths]


@dataclass(frozen=True)
class VerifyResult:
    valid: bool  # genuine: sealed by this service and not changed in any way since
    intact: bool  # the signed bytes hash to what was signed
    covers_whole_file: bool  # nothing added after sealing
    trusted: bool  # sealed with the configured certificate
    reason: str  # one sentence for people; never contains document content
    # What the file says it is; only filled in when valid.
    content_hash: str | None = None
    short_code: str | None = None
    version_number: int | None = None
    agreed_on: date | None = None
    kind_label: str | None = None
    sealed_at: datetime | None = None
    signer: str | None = None

    @property
    def genuine(self) -> bool:
        return self.valid


# --- certificates ---------------------------------------------------------------------------


def ensure_dev_certificate(instance_path: Path | str) -> tuple[Path, Path]:
    """Return (cert_path, key_path) of the development seal, creating it on first use.

    A self-signed RSA-3072 certificate and its unencrypted key (mode 0600) in
    ``<instance>/pdf-seal/``. A lock makes concurrent first runs create exactly one pair.
    Never use this in production: configure PDF_SEAL_CERT_PATH and PDF_SEAL_KEY_PATH.
    """
    folder = Path(instance_path) / DEV_DIR
    private_folder(folder)
    cert_path, key_path = folder / DEV_CERT, folder / DEV_KEY
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (cert_path.exists() and key_path.exists()):
            cert_pem, key_pem = _make_self_signed()
            write_atomically(key_path, key_pem, mode=0o600)
            write_atomically(cert_path, cert_pem, mode=0o644)
    return cert_path, key_path


def _make_self_signed() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "careplan development seal"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "careplan (development only)"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=DEV_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def credentials_from_config(
    config: Mapping[str, Any], instance_path: Path | str
) -> SealCredentials:
    """The seal to use: PDF_SEAL_CERT_PATH / PDF_SEAL_KEY_PATH (optionally
    PDF_SEAL_KEY_PASSPHRASE and PDF_SEAL_CHAIN_PATHS), or, outside production, the
    development certificate in the instance folder; with PDF_SEAL_EARLIER_CERT_PATHS, the
    certificates it replaced. Lists of files are separated by os.pathsep."""
    cert, key = config.get("PDF_SEAL_CERT_PATH"), config.get("PDF_SEAL_KEY_PATH")
    earlier = tuple(Path(p) for p in path_list(config.get("PDF_SEAL_EARLIER_CERT_PATHS")))
    if cert or key:
        if not (cert and key):
            raise SealError("Set both PDF_SEAL_CERT_PATH and PDF_SEAL_KEY_PATH.")
        passphrase = config.get("PDF_SEAL_KEY_PASSPHRASE") or None
        return SealCredentials(
            Path(cert),
            Path(key),
            passphrase.encode() if isinstance(passphrase, str) else passphrase,
            tuple(Path(p) for p in path_list(config.get("PDF_SEAL_CHAIN_PATHS"))),
            earlier_cert_paths=earlier,
        )
    if str(config.get("ENV", "development")).lower() == "production":
        raise SealError(
            "No seal configured: set PDF_SEAL_CERT_PATH and PDF_SEAL_KEY_PATH in production."
        )
    cert_path, key_path = ensure_dev_certificate(instance_path)
    return SealCredentials(cert_path, key_path, development=True, earlier_cert_paths=earlier)


@dataclass(frozen=True)
class CertificateFacts:
    """What an administrator needs to know of a certificate, read from its file."""

    path: Path
    subject: str
    issuer: str
    valid_from: datetime
    valid_until: datetime
    sha256: str  # of the certificate (DER), as certificate viewers show it

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer


def certificate_facts(path: Path | str) -> CertificateFacts:
    """The facts of a PEM or DER certificate file; SealUnavailable if it cannot be read."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    try:
        data = Path(path).read_bytes()
        cert = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except Exception as exc:  # noqa: BLE001 - OSError, or any parse error of the file
        raise SealUnavailable(
            f"the certificate {path} cannot be read ({type(exc).__name__})"
        ) from exc
    return CertificateFacts(
        Path(path),
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
        cert.fingerprint(hashes.SHA256()).hex(":").upper(),
    )


# --- sealing --------------------------------------------------------------------------------


def seal_pdf(
    pdf_bytes: bytes,
    cert_path: Path | str,
    key_path: Path | str,
    *,
    key_passphrase: bytes | None = None,
    chain_paths: Sequence[Path | str] = (),
) -> bytes:
    """Add the service's PAdES (B-B) certification signature; no later change is permitted.

    Refuses drafts: a draft must never carry the seal.
    """
    credentials = SealCredentials(
        Path(cert_path), Path(key_path), key_passphrase, tuple(Path(p) for p in chain_paths)
    )
    return seal_with(pdf_bytes, credentials)


def seal_with(pdf_bytes: bytes, credentials: SealCredentials) -> bytes:
    try:
        # One parse: the writer's reader also tells whether this is an agreed version.
        writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes))
        info = _info(writer.prev)
    except Exception as exc:
        raise SealError(f"not a readable PDF: {type(exc).__name__}") from exc
    if info.get("status") != "agreed":
        raise SealError("only agreed versions are sealed; this PDF is a draft or not ours")
    out = signers.sign_pdf(writer, SEAL_METADATA, signer=_signer(credentials))
    return out.getvalue()


SEAL_METADATA = signers.PdfSignatureMetadata(
    field_name=SEAL_FIELD,
    md_algorithm="sha256",
    subfilter=fields.SigSeedSubFilter.PADES,
    certify=True,
    docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    reason=SEAL_REASON,
)


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner parses and checks its private key again for every signature it
    makes (twice per seal: once to size the signature, once to sign), which costs more than
    rendering a short document. This one keeps the parsed key."""

    def __init__(self, loaded: signers.SimpleSigner):
        super().__init__(
            signing_cert=loaded.signing_cert,
            signing_key=loaded.signing_key,
            cert_registry=loaded.cert_registry,
            signature_mechanism=loaded.signature_mechanism,
        )
        self._key = serialization.load_der_private_key(loaded.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        try:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        except ValueError:
            return super().sign_raw(data, digest_algorithm)
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hash_algo)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hash_algo))
        return super().sign_raw(data, digest_algorithm)  # rarer key types: pyHanko's own way


_signers: dict[tuple, signers.Signer] = {}
_signers_lock = threading.Lock()


def _signer(credentials: SealCredentials) -> signers.Signer:
    """The signer for these credentials, loaded once per process. Replacing the key or
    certificate file (a new modification time or size) loads it again."""
    paths = (credentials.key_path, credentials.cert_path, *credentials.chain_paths)
    try:
        stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in map(Path, paths))
    except OSError as exc:
        raise SealError(f"could not load the seal certificate or key: {exc}") from exc
    cache_key = (stamp, credentials.key_passphrase)
    with _signers_lock:
        signer = _signers.get(cache_key)
        if signer is None:
            signer = _load_signer(credentials)
            _signers.clear()  # only the current seal is ever used
            _signers[cache_key] = signer
        return signer


def _load_signer(credentials: SealCredentials) -> signers.Signer:
    try:
        loaded = signers.SimpleSigner.load(
            key_file=str(credentials.key_path),
            cert_file=str(credentials.cert_path),
            ca_chain_files=[str(p) for p in credentials.chain_paths] or None,
            key_passphrase=credentials.key_passphrase,
        )
        if loaded is None:
            raise SealError("could not load the seal certificate or key")
        return _LoadedKeySigner(loaded)
    except SealError:
        raise
    except Exception as exc:
        raise SealError(f"could not load the seal certificate or key: {exc}") from exc


# --- checking -------------------------------------------------------------------------------


def verify_pdf(pdf_bytes: bytes, cert_path: Path | str | Sequence[Path | str]) -> VerifyResult:
    """Is this file a genuine, unaltered PDF sealed with the given certificate(s)?

    Give several certificates to keep accepting PDFs sealed before a certificate was replaced.
    Never raises for a bad file; the answer says what is wrong without revealing content.
    """
    roots = load_certificates(cert_path)

    def no(reason: str, **kw) -> VerifyResult:
        flags = {"intact": False, "covers_whole_file": False, "trusted": False}
        flags.update(kw)
        return VerifyResult(valid=False, reason=reason, **flags)

    try:
        reader = PdfFileReader(BytesIO(pdf_bytes))
        signatures = reader.embedded_signatures
    except Exception:
        return no("This file is not a readable PDF, or it has been damaged.")
    if not signatures:
        return no("This file has no seal from the service. Drafts are never sealed.")
    if len(signatures) != 1:
        return no("This file has more than one signature, so it is not as the service sealed it.")
    sig = signatures[0]
    try:
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = validate_pdf_signature(sig, context, key_usage_settings=SEAL_KEY_USAGE)
    except Exception:
        return no("The seal in this file could not be read; the file has been altered.")

    intact = bool(status.intact and status.valid)
    trusted = bool(status.trusted)
    covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    flags = {"intact": intact, "covers_whole_file": covers, "trusted": trusted}
    if not intact:
        return no("The file has been changed since it was sealed.", **flags)
    if not covers:
        return no("Something was added to the file after it was sealed.", **flags)
    if not _signature_bytes_canonical(pdf_bytes, sig):
        return no("The seal itself has been tampered with.", **flags)
    if not trusted:
        return no("The seal was not made with this service's certificate.", **flags)
    if not status.bottom_line:
        return no("The seal is not valid for this file.", **flags)

    info = _info(reader)
    if info.get("status") != "agreed" or not info.get("contentsha256"):
        return no("This sealed file is not an agreed document from this service.", **flags)
    return VerifyResult(
        valid=True,
        reason="Genuine: sealed by the service and not changed since.",
        content_hash=info.get("contentsha256"),
        short_code=info.get("shortcode"),
        version_number=_int_or_none(info.get("version")),
        agreed_on=_date_or_none(info.get("agreedon")),
        kind_label=info.get("kind"),
        sealed_at=status.signer_reported_dt,
        signer=status.signing_cert.subject.human_friendly if status.signing_cert else None,
        **flags,
    )


def verify_pdf_isolated(
    pdf_bytes: bytes,
    cert_path: Path | str | Sequence[Path | str],
    limits: RenderLimits | None = None,
) -> VerifyResult:
    """verify_pdf in a bounded throwaway process: for files uploaded by anyone."""
    paths = [cert_path] if isinstance(cert_path, str | Path) else list(cert_path)
    load_certificates(paths)  # here, so a missing certificate is told apart from a bad file
    limits = limits or RenderLimits(timeout_seconds=20, memory_bytes=768 * 1024 * 1024)
    return run_bounded(verify_pdf, (pdf_bytes, [str(p) for p in paths]), limits, what="PDF check")


def load_certificates(cert_path: Path | str | Sequence[Path | str]) -> list:
    """The service's certificate(s) to check seals against, or SealUnavailable naming the
    file that could not be read (deleted, unreadable, or not a certificate)."""
    paths = [cert_path] if isinstance(cert_path, str | Path) else list(cert_path)
    certificates = []
    for path in paths:
        try:
            certificates.append(load_cert_from_pemder(str(path)))
        except Exception as exc:  # noqa: BLE001 - OSError, or any parse error of the file
            raise SealUnavailable(
                f"the sealing certificate {path} cannot be read ({type(exc).__name__})"
            ) from exc
    return certificates


def _signature_bytes_canonical(pdf_bytes: bytes, sig) -> bool:
    """The excluded /Contents gap must hold exactly the signature pyHanko wrote, zero-padded.

    Readers ignore padding after the DER signature and accept either hex case, so without this
    check a few bytes of the file could change without breaking the seal.
    """
    try:
        start, first_len, second_start, _ = (int(x) for x in sig.byte_range)
        gap = pdf_bytes[start + first_len : second_start]
        raw = sig.pkcs7_content
        _, _, _, header, contents, trailer = asn1_parser.parse(raw, strict=False)
        der_len = len(header) + len(contents) + len(trailer)
    except Exception:
        return False
    if raw[der_len:].strip(b"\x00"):
        return False
    return gap == b"<" + raw.hex().upper().encode("ascii") + b">"


def _info(reader: PdfFileReader) -> dict[str, str]:
    """Our metadata from the document information dictionary, keys without the prefix."""
    try:
        info = reader.trailer["/Info"]
    except KeyError:
        return {}
    out = {}
    for key, value in info.items():
        if str(key).startswith(META_PREFIX):
            out[str(key)[len(META_PREFIX) :]] = str(value)
    return out


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _date_or_none(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
