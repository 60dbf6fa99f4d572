"""Certificates as a service gets them from an authority: a root, an intermediate it issued,
and the service's sealing certificate issued by the intermediate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from careplan.domain.local_time import service_day, start_of_day

SERVICE = "Riverside service seal"
INTERMEDIATE = "Example Trust CA"
ROOT = "Example Trust Root"


@dataclass(frozen=True)
class IssuedSeal:
    cert: Path  # the service's sealing certificate
    key: Path
    intermediate: Path
    root: Path

    @property
    def chain(self) -> list[Path]:
        return [self.intermediate, self.root]


def issue_chain(folder: Path, days_left: int = 365, intermediate_days_left: int = 3650):
    """Write the three certificates and the service's key (PEM) into `folder`."""
    root_key, intermediate_key, key = (ec.generate_private_key(ec.SECP256R1()) for _ in "abc")
    root = _issue(ROOT, root_key, ROOT, root_key, 7300, ca=True)
    intermediate = _issue(
        INTERMEDIATE, intermediate_key, ROOT, root_key, intermediate_days_left, ca=True
    )
    cert = _issue(SERVICE, key, INTERMEDIATE, intermediate_key, days_left, ca=False)
    folder.mkdir(parents=True, exist_ok=True)
    paths = IssuedSeal(
        folder / "cert.pem", folder / "key.pem", folder / "intermediate.pem", folder / "root.pem"
    )
    for path, certificate in ((paths.cert, cert), (paths.intermediate, intermediate)):
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths.root.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _issue(subject, key, issuer, issuer_key, days_left: int, ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    usage = {name: False for name in _KEY_USAGES}
    usage.update(
        {"key_cert_sign": True, "crl_sign": True}
        if ca
        else {"digital_signature": True, "content_commitment": True}
    )
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=300))
        # The end of the service's day `days_left` from today, as the app counts days: "now +
        # N days and an hour" fell on the day after between 23:00 and midnight.
        .not_valid_after(
            start_of_day(service_day(now) + timedelta(days=days_left + 1)) - timedelta(seconds=1)
        )
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
        .sign(issuer_key, hashes.SHA256())
    )


_KEY_USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
