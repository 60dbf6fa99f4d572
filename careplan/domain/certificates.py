"""When the service's sealing certificate, or one that vouches for it, needs renewing.

A PDF sealed after its certificate's end date does not check out as genuine, so a certificate
must be replaced before then; administrators are told in good time, and again, more urgently,
once it has run out. The certificates that issued it (its chain) run out too, and PDF readers
stop trusting seals made after that.
"""

from __future__ import annotations

from datetime import date

RENEW_WITHIN_DAYS = 60
URGENT_WITHIN_DAYS = 14


def renewal_notice(valid_until: date, today: date) -> tuple[str, bool] | None:
    """What to tell administrators about the certificate, and whether it is urgent (None
    while nothing needs doing)."""
    return _notice(
        "The signing certificate",
        valid_until,
        today,
        "PDFs sealed since then do not check out as genuine: replace it now.",
        "Replace it before then, and keep this one among the earlier certificates.",
    )


def chain_renewal_notice(subject: str, valid_until: date, today: date) -> tuple[str, bool] | None:
    """The same for a certificate of the chain that vouches for the signing certificate."""
    return _notice(
        f"The certificate that vouches for the signing certificate ({subject})",
        valid_until,
        today,
        "PDF readers do not trust seals made since then: get the new one from whoever issued it.",
        "Get the new one from whoever issued it before then.",
    )


def _notice(what: str, valid_until: date, today: date, after: str, before: str):
    days = (valid_until - today).days
    if days < 0:
        return f"{what} ran out on {valid_until:%-d %B %Y}. {after}", True
    if days <= RENEW_WITHIN_DAYS:
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return (
            f"{what} runs out on {valid_until:%-d %B %Y}, {when}. {before}",
            days <= URGENT_WITHIN_DAYS,
        )
    return None


def unrelated_chain(signing: tuple[str, str], chain: list[tuple[str, str]]) -> list[str]:
    """Subjects of the chain's certificates that are not on the way from the signing
    certificate to its root, given (subject, issuer) names: a file named by mistake."""
    wanted, on_the_way = signing[1], set()
    by_subject = dict(chain)
    while wanted in by_subject and wanted not in on_the_way:
        on_the_way.add(wanted)
        wanted = by_subject[wanted]
    return [subject for subject, _ in chain if subject not in on_the_way]
