"""The service's sealing certificates, as administrators see them: which one seals, until when,
and the earlier ones PDFs are still checked against. Read from the files the configuration
names; nothing here is stored in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .. import pdf
from ..domain.certificates import renewal_notice
from ..domain.roles import Role
from .actor import Actor
from .errors import NotFound


@dataclass(frozen=True)
class SealOverview:
    current: pdf.CertificateFacts | None
    earlier: list[pdf.CertificateFacts]
    development: bool  # the self-made certificate outside production
    notice: str | None  # what needs doing, if anything
    urgent: bool = False
    problems: tuple[str, ...] = ()  # files that cannot be read


def overview(admin: Actor, credentials: pdf.SealCredentials, today: date) -> SealOverview:
    """Administrators only: anyone else is told there is no such page."""
    if admin.role is not Role.ADMIN:
        raise NotFound()
    problems: list[str] = []

    def read(path) -> pdf.CertificateFacts | None:
        try:
            return pdf.certificate_facts(path)
        except pdf.SealUnavailable as exc:
            problems.append(str(exc))
            return None

    current = read(credentials.cert_path)
    earlier = [f for f in map(read, credentials.earlier_cert_paths) if f is not None]
    notice, urgent = None, False
    if current is None:
        notice, urgent = (
            "The signing certificate cannot be read, so no PDF can be sealed or checked: "
            + "; ".join(problems),
            True,
        )
    elif found := renewal_notice(current.valid_until.date(), today):
        notice, urgent = found
    return SealOverview(current, earlier, credentials.development, notice, urgent, tuple(problems))
