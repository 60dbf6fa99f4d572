"""Carrying a secret made by a POST to the page its redirect leads to, shown there once.

A form that makes a secret (an access token, backup codes) answers with a redirect, so a
reload of the page that shows the secret sends nothing again. The secret rides in the session
under a key of its own, listed by purpose, and never in the database: only the page that
collects its purpose takes it, so it is shown once, and a page loaded in between (in another
tab, say) neither shows nor drops it, as it would a flash message. The session is a signed
cookie that anyone holding it can read (a proxy's log, the browser's cookie store), so the
secret crosses it encrypted, under a key of its own for each purpose derived from the app's
secret key, and only for a few minutes. Carrying one drops every secret waiting longer than
that and keeps only the last few of a purpose, so secrets never collected do not pile up.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, session

# The session's key for them: {purpose name: [{"at": seconds, "secret": sealed, **plain}]}.
SESSION_KEY = "carried_secrets"
# Long enough for the redirect; a secret never collected is not shown days later.
CARRIED_SECONDS = 300
# Most secrets waiting for one purpose; a cookie past about 4 KB is dropped by the browser.
CARRIED_AT_MOST = 5


@dataclass(frozen=True)
class Purpose:
    """What a secret is carried for: its name in the session, and the HKDF `info` giving it a
    key of its own, so one purpose's sealed secret cannot be opened as another's."""

    name: str
    info: bytes


@dataclass(frozen=True)
class Collected:
    secret: str
    plain: dict  # what was carried beside the secret, unencrypted: nothing secret


def carry(purpose: Purpose, secret: str, **plain) -> None:
    """Puts `secret` in the session for its page, sealed; `plain` rides beside it readable,
    so it must hold nothing secret (an id, a flag)."""
    now = int(time.time())
    sealed = _sealer(purpose).encrypt(secret.encode()).decode()
    carried = {
        name: fresh
        for name, waiting in _carried().items()
        if (fresh := [one for one in waiting if now - one["at"] <= CARRIED_SECONDS])
    }
    waiting = [*carried.get(purpose.name, []), {**plain, "at": now, "secret": sealed}]
    carried[purpose.name] = waiting[-CARRIED_AT_MOST:]
    session[SESSION_KEY] = carried


def collect(purpose: Purpose) -> list[Collected]:
    """Every secret carried for `purpose` and not yet collected, oldest first: gone from the
    session once read (with any too old or unreadable), so the page shows them this once and
    a reload does not."""
    carried = _carried()
    if purpose.name not in carried:
        return []
    waiting = carried.pop(purpose.name)
    if carried:
        session[SESSION_KEY] = carried
    else:
        session.pop(SESSION_KEY)
    found = []
    for one in waiting:
        try:
            secret = _sealer(purpose).decrypt(one["secret"], ttl=CARRIED_SECONDS)
        except InvalidToken:  # left uncollected too long, or sealed under another key
            continue
        plain = {key: value for key, value in one.items() if key not in ("at", "secret")}
        found.append(Collected(secret.decode(), plain))
    return found


def _carried() -> dict[str, list[dict]]:
    """A copy: changed, it is put back whole, so the session knows to send a new cookie."""
    return dict(session.get(SESSION_KEY, {}))


def _sealer(purpose: Purpose) -> Fernet:
    key = HKDF(SHA256(), 32, salt=None, info=purpose.info)
    return Fernet(base64.urlsafe_b64encode(key.derive(current_app.secret_key.encode())))
