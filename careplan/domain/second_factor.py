"""The optional second step when signing: a six-digit code from an authenticator app (TOTP,
RFC 6238, as pyotp computes it).

Plain functions of a secret, a code and a moment, so every rule is tested without a clock.

- A code is accepted in its own 30-second step and the steps either side of it, because a
  phone's clock and the server's drift apart a little and people type slowly.
- A code is used once: each accepted step must come after the last one accepted, so a code
  seen over someone's shoulder cannot sign a second time.
- Backup codes, given when the step is turned on, stand in for the app's code once each, for
  someone whose phone is lost, broken or out of charge. They are ten letters and digits
  (about 50 bits, and wrong ones count with wrong passwords), kept only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from datetime import datetime

import pyotp

from .errors import ContentInvalid

STEP_SECONDS = 30
DRIFT_STEPS = 1  # steps accepted either side of the current one
SECRET_LENGTH = 32  # base32 characters: 160 bits, as RFC 4226 recommends

_SECRET = re.compile(r"^[A-Z2-7]{32}$")
METHOD_PASSWORD = "password re-entered"
METHOD_WITH_CODE = "password re-entered and a code from their authenticator app"
METHOD_WITH_BACKUP_CODE = "password re-entered and one of their backup codes"


def method_said(method: str, *, to_signer: bool) -> str:
    """How a signature was confirmed (kept in the third person, as the PDF says it), said to
    the reader: "your authenticator app" to the person who signed."""
    return method.replace(" their ", " your ") if to_signer else method


BACKUP_CODES = 10
# Lower-case letters and digits without the ones read as each other (0/o, 1/l/i).
_BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_BACKUP_LENGTH = 10


def new_secret() -> str:
    return pyotp.random_base32(SECRET_LENGTH)


def is_secret(value: str) -> bool:
    return bool(_SECRET.match(value or ""))


def setup_uri(secret: str, account: str, issuer: str) -> str:
    """What the app reads from the QR code: otpauth://totp/...; the app lists the account
    under `issuer`. That is the service's address, as in every e-mail, never a name that says
    what kind of service it is: anyone may glance at a phone."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def clean_code(raw: str | None, field: str = "code") -> str:
    """Six digits, whatever spaces or dashes were typed between them; otherwise a plain message
    on `field`."""
    # Digits typed on an Arabic, Devanagari or full-width keyboard are the same digits.
    code = "".join(
        str(unicodedata.decimal(c)) if unicodedata.decimal(c, None) is not None else c
        for c in re.sub(r"[\s-]", "", raw or "")
    )
    if not code:
        raise ContentInvalid({field: "Please type the six-digit code your app shows now."})
    if not re.fullmatch(r"[0-9]{6}", code):
        raise ContentInvalid(
            {field: "The code is six digits, like 123 456, or a backup code, like abcde-fghjk."}
        )
    return code


def new_backup_codes() -> list[str]:
    """A fresh set, in two groups of five for reading and writing down."""
    codes = []
    for _ in range(BACKUP_CODES):
        code = "".join(secrets.choice(_BACKUP_ALPHABET) for _ in range(_BACKUP_LENGTH))
        codes.append(f"{code[:5]}-{code[5:]}")
    return codes


def backup_code(raw: str | None) -> str | None:
    """The backup code typed (any case, spaces or dashes anywhere), or None if what was typed
    cannot be one; a six-digit code from the app never can."""
    typed = re.sub(r"[\s-]", "", raw or "").lower()
    if len(typed) == _BACKUP_LENGTH and all(c in _BACKUP_ALPHABET for c in typed):
        return typed
    return None


def backup_hash(code: str) -> str:
    """What is kept of a backup code. A plain hash is enough: the codes are random, not
    chosen by people, so there is no list of likely ones to try."""
    return hashlib.sha256(backup_code(code).encode()).hexdigest()


def step_of(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def accepted_step(secret: str, code: str, at: datetime, last_used: int | None) -> int | None:
    """The step `code` belongs to, if it is right at `at` (one step either way) and comes
    after the last one accepted (`last_used`); otherwise None."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now = step_of(at)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if last_used is not None and step <= last_used:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# What a backup code was used for, where that removes or replaces every code, so how many
# are left says nothing (each is also the key marking it in a kept e-mail's detail).
TURNS_STEP_OFF = "step_off"
MAKES_NEW_CODES = "new_codes"
ENDS_EVERY_CODE = (TURNS_STEP_OFF, MAKES_NEW_CODES)


def backup_codes_left(left: int, used_for: str | None = None) -> str:
    """How many backup codes the person has left, and what to do about it. `used_for`: one of
    ENDS_EVERY_CODE when the code was used for that (otherwise None)."""
    if used_for == TURNS_STEP_OFF:
        return "It turned the second step off, which removes all your backup codes."
    if used_for == MAKES_NEW_CODES:
        return "It made new backup codes, which replace all your old ones."
    if left == 0:
        return "That was your last one: make new ones on your account page."
    if left <= 3:
        return f"You have {left} left: make new ones on your account page soon."
    return f"You have {left} left."


def backup_code_used_wording(left: int, used_for: str | None = None) -> str:
    """What the person is told in the app when one of their backup codes was used."""
    return (
        "One of your backup codes was used to confirm it was you. "
        f"{backup_codes_left(left, used_for)} If it was not you, change your password now and "
        "tell the service."
    )
