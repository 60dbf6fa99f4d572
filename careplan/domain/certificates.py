"""When the service's sealing certificate needs renewing.

A PDF sealed after its certificate's end date does not check out as genuine, so a certificate
must be replaced before then; administrators are told in good time, and again, more urgently,
once it has run out.
"""

from __future__ import annotations

from datetime import date

RENEW_WITHIN_DAYS = 60


def renewal_notice(valid_until: date, today: date) -> tuple[str, bool] | None:
    """What to tell administrators about the certificate, and whether it is urgent (None
    while nothing needs doing)."""
    days = (valid_until - today).days
    if days < 0:
        return (
            f"The signing certificate ran out on {valid_until:%-d %B %Y}. PDFs sealed since "
            "then do not check out as genuine: replace it now.",
            True,
        )
    if days <= RENEW_WITHIN_DAYS:
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return (
            f"The signing certificate runs out on {valid_until:%-d %B %Y}, {when}. Replace it "
            "before then, and keep this one among the earlier certificates.",
            days <= 14,
        )
    return None
