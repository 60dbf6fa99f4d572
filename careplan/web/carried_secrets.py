"""Carrying a secret made by a POST to the page its redirect leads to, shown there once.

A form that makes a secret (an access token, backup codes) answers with a redirect, so a
reload of the page that shows the secret sends nothing again. The secret rides in the session
as a flash message: popped by the page that collects it, so shown once, and never in the
database. The session is a signed cookie that anyone holding it can read (a proxy's log, the
browser's cookie store), so the secret crosses it encrypted, under a key of its own for each
purpose derived from the app's secret key, and only for a few minutes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, flash, get_flashed_messages

# base.html shows no flash message of a category starting so: a secret is shown by its own
# page, nowhere else.
CATEGORY_PREFIX = "carried:"
# Long enough for the redirect; a secret never collected is not shown days later.
CARRIED_SECONDS = 300


@dataclass(frozen=True)
class Purpose:
    """What a secret is carried for: its flash category, and the HKDF `info` giving it a key
    of its own, so one purpose's sealed secret cannot be opened as another's."""

    name: str
    info: bytes

    @property
    def category(self) -> str:
        return CATEGORY_PREFIX + self.name


@dataclass(frozen=True)
class Collected:
    secret: str
    plain: dict  # what was carried beside the secret, unencrypted: nothing secret


def carry(purpose: Purpose, secret: str, **plain) -> None:
    """Puts `secret` in the session for the next page, sealed; `plain` rides beside it
    readable, so it must hold nothing secret (an id, a flag)."""
    sealed = _sealer(purpose).encrypt(secret.encode()).decode()
    flash({**plain, "secret": sealed}, purpose.category)


def collect(purpose: Purpose) -> list[Collected]:
    """Every secret carried for `purpose` and not yet collected, oldest first: gone from the
    session once read, so the page shows them this once and a reload does not."""
    found = []
    for carried in get_flashed_messages(category_filter=[purpose.category]):
        try:
            secret = _sealer(purpose).decrypt(carried["secret"], ttl=CARRIED_SECONDS)
        except InvalidToken:  # left uncollected too long, or sealed under another key
            continue
        plain = {key: value for key, value in carried.items() if key != "secret"}
        found.append(Collected(secret.decode(), plain))
    return found


def _sealer(purpose: Purpose) -> Fernet:
    key = HKDF(SHA256(), 32, salt=None, info=purpose.info)
    return Fernet(base64.urlsafe_b64encode(key.derive(current_app.secret_key.encode())))
