"""The service's sealing certificates, as administrators see them: which one seals, until when,
the chain that vouches for it, and the earlier ones PDFs are still checked against. Read from
the files the configuration names; nothing here is stored in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .. import pdf
from ..domain.certificates import chain_renewal_notice, renewal_notice, unrelated_chain
from ..domain.local_time import service_day
from ..domain.roles import Role
from .actor import Actor
from .errors import NotFound


@dataclass(frozen=True)
class SealOverview:
    current: pdf.CertificateFacts | None
    earlier: list[pdf.CertificateFacts]
    chain: list[pdf.CertificateFacts]  # what vouches for the current one, put in every seal
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
    chain = [f for f in map(read, credentials.chain_paths) if f is not None]
    earlier = [f for f in map(read, credentials.earlier_cert_paths) if f is not None]
    notice, urgent = None, False
    if current is None:
        notice, urgent = (
            "The signing certificate cannot be read, so no PDF can be sealed or checked: "
            + "; ".join(problems),
            True,
        )
    else:
        problems.extend(
            f"{subject} does not vouch for the signing certificate: check "
            "CAREPLAN_PDF_SEAL_CHAIN_PATHS."
            for subject in unrelated_chain(
                (current.subject, current.issuer), [(c.subject, c.issuer) for c in chain]
            )
        )
        # The one that runs out first is the one to see to first.
        first = min([current, *chain], key=lambda c: c.valid_until)
        found = (
            renewal_notice(service_day(first.valid_until), today)
            if first is current
            else chain_renewal_notice(first.subject, service_day(first.valid_until), today)
        )
        if found:
            notice, urgent = found
    return SealOverview(
        current, earlier, chain, credentials.development, notice, urgent, tuple(problems)
    )
