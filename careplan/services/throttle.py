"""Pausing attempts that come too fast: wrong passwords per account and per address, and
checks at /verify per address.

The counters live in a `limits` storage shared by every app process: the database
(careplan.db.rate_limits), or Redis when CAREPLAN_RATELIMIT_STORAGE_URL is set. Each app
installs a Throttle on its database when it starts (careplan.app); services find it on the
database they are given, so every caller of a password check is held to the same limits.

Only keyed hashes of what is counted are stored: never an e-mail address as typed (people
sometimes type their password into that box), nor an IP address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select

from .. import config as settings
from ..db import rate_limits
from ..db.engine import Database, in_brief
from ..db.models import Notification, User
from ..domain.addresses import under
from ..domain.local_time import DEFAULT_TIME_ZONE, local, show, time_zone
from ..domain.wording import who_to_ask
from . import account_emails, audit
from .errors import ServiceError

log = logging.getLogger(__name__)

PASSWORDS_PAUSED = (
    "There have been too many attempts with a wrong password for this account, or from "
    "this connection, so trying again is paused for a while."
)
TOKENS_PAUSED = (
    "There have been too many attempts with a wrong password or access token from this "
    "connection, so trying again is paused for a while."
)
CHECKS_PAUSED = "There have been a lot of checks from this connection, so checking is paused."
LINKS_PAUSED = (
    "A lot of links to choose a password have been asked for from this connection, so asking "
    "is paused."
)
DRAFTS_PAUSED = (
    "A lot of draft PDFs have been made for you in the last few minutes, so making more is "
    "paused. Reading the document on its page is not."
)


class TooManyAttempts(ServiceError):
    """Refused before anything was checked: the message says when to try again."""

    def __init__(self, paused: str, retry_after: float, zone: str = DEFAULT_TIME_ZONE):
        self.retry_after = max(1, math.ceil(retry_after))
        minutes = max(1, math.ceil(self.retry_after / 60))
        at = local(datetime.fromtimestamp(time.time() + self.retry_after, UTC), time_zone(zone))
        super().__init__(
            f"{paused} Please try again in {minutes} minute{'s' if minutes != 1 else ''} "
            f"(after {at:%H:%M}). Nothing has been changed."
        )


@dataclass(frozen=True)
class Limits:
    password_per_account: RateLimitItem
    password_per_address: RateLimitItem
    verify_per_address: RateLimitItem
    draft_pdf_per_account: RateLimitItem
    reset_per_address: RateLimitItem

    @classmethod
    def from_config(cls, config) -> Limits:
        return cls(
            parse(config["RATELIMIT_PASSWORD_PER_ACCOUNT"]),
            parse(config["RATELIMIT_PASSWORD_PER_ADDRESS"]),
            parse(config["RATELIMIT_VERIFY_PER_ADDRESS"]),
            parse(config["RATELIMIT_DRAFT_PDF_PER_ACCOUNT"]),
            parse(config["RATELIMIT_RESET_PER_ADDRESS"]),
        )


# Told the account (its e-mail address) and until when, once for each pause.
OnLockout = Callable[[str, datetime], None]


def storage_for(config, db: Database) -> Storage:
    """Redis when CAREPLAN_RATELIMIT_STORAGE_URL names one, else the app's own database."""
    url = config.get("RATELIMIT_STORAGE_URL") or ""
    if url:
        return storage_from_string(url, wrap_exceptions=True)
    return storage_from_string(f"{rate_limits.SCHEME}://", wrap_exceptions=True, database=db)


class Throttle:
    def __init__(
        self,
        storage: Storage,
        limits: Limits,
        secret: str | bytes = b"",
        on_lockout: OnLockout | None = None,
        zone: str = DEFAULT_TIME_ZONE,
    ):
        self.zone = zone  # the times in its messages are local
        self.storage = storage
        self.limits = limits
        self.on_lockout = on_lockout
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._windows = FixedWindowRateLimiter(storage)
        self._outage = OutageLog()

    @classmethod
    def from_config(cls, config, db: Database, on_lockout: OnLockout | None = None) -> Throttle:
        return cls(
            storage_for(config, db),
            Limits.from_config(config),
            config["SECRET_KEY"],
            on_lockout,
            config.get("TIME_ZONE") or DEFAULT_TIME_ZONE,
        )

    # --- passwords: signing in, signing, confirming a review ------------------------------

    def before_password_check(self, account: str, address: str) -> None:
        """Raises TooManyAttempts while the account or the address is paused, so even the
        right password is not tried then (or guessing could go on)."""
        for item, key in self._password_keys(account, address):
            if not self._safely(lambda i=item, k=key: self._windows.test(i, *k), True):
                raise TooManyAttempts(PASSWORDS_PAUSED, self._ends_in(item, key), self.zone)

    def password_refused(self, account: str, address: str) -> None:
        (per_account, account_key), (per_address, address_key) = self._password_keys(
            account, address
        )
        count = self._safely(
            lambda: self.storage.incr(per_account.key_for(*account_key), per_account.get_expiry()),
            0,
        )
        self._safely(
            lambda: self.storage.incr(per_address.key_for(*address_key), per_address.get_expiry()),
            0,
        )
        # Increments are atomic, so exactly one refusal, in whichever process, reaches the
        # limit: the account's owner is told once for each pause, not once for each attempt.
        if count == per_account.amount and self.on_lockout is not None:
            until = time.time() + self._ends_in(per_account, account_key)
            self.on_lockout(account, datetime.fromtimestamp(until, UTC))

    def password_accepted(self, account: str) -> None:
        """The right password starts the account's count afresh (not the address's)."""
        item, key = self._password_keys(account, "")[0]
        counted = item.key_for(*key)
        # Most sign-ins follow no mistake: read first, so they write nothing.
        if self._safely(lambda: self.storage.get(counted), 0):
            self._safely(lambda: self.storage.clear(counted), None)

    # --- API tokens -------------------------------------------------------------------------

    def before_token_check(self, address: str) -> None:
        """A wrong API token counts as a wrong password from its address (no account is known
        for it): guessing tokens and guessing passwords share one allowance."""
        item, key = self._password_keys("", address)[1]
        if not self._safely(lambda: self._windows.test(item, *key), True):
            raise TooManyAttempts(TOKENS_PAUSED, self._ends_in(item, key))

    def token_refused(self, address: str) -> None:
        item, key = self._password_keys("", address)[1]
        self._safely(lambda: self.storage.incr(item.key_for(*key), item.get_expiry()), 0)

    # --- /verify ----------------------------------------------------------------------------

    def verify_attempt(self, address: str) -> None:
        item = self.limits.verify_per_address
        key = self._identity("verify-address", _network(address))
        if not self._safely(lambda: self._windows.hit(item, *key), True):
            raise TooManyAttempts(CHECKS_PAUSED, self._ends_in(item, key), self.zone)

    def reset_attempt(self, address: str) -> None:
        """A link asked for on the forgotten-password page, which anyone can fill in: per
        address, so one connection cannot send every account its links (each account also
        gets at most a few an hour: careplan.services.account_settings). Counted the same
        whatever address was typed, so a pause tells nothing about who has an account."""
        item = self.limits.reset_per_address
        key = self._identity("reset-address", _network(address))
        if not self._safely(lambda: self._windows.hit(item, *key), True):
            raise TooManyAttempts(LINKS_PAUSED, self._ends_in(item, key), self.zone)

    def draft_pdf_attempt(self, account_id: int) -> None:
        """Each draft PDF is rendered when asked: a limit per account keeps one reader from
        taking the render processes from everyone else."""
        item = self.limits.draft_pdf_per_account
        key = self._identity("draft-pdf-account", str(account_id))
        if not self._safely(lambda: self._windows.hit(item, *key), True):
            raise TooManyAttempts(DRAFTS_PAUSED, self._ends_in(item, key), self.zone)

    # --- keys -------------------------------------------------------------------------------

    def _password_keys(self, account: str, address: str):
        return (
            (self.limits.password_per_account, self._identity("password-account", account)),
            (
                self.limits.password_per_address,
                self._identity("password-address", _network(address)),
            ),
        )

    def _identity(self, scope: str, value: str) -> tuple[str, str, str]:
        digest = hmac.new(self._secret, f"{scope}\0{value}".encode(), hashlib.sha256)
        return ("careplan", scope, digest.hexdigest()[:32])

    def _ends_in(self, item: RateLimitItem, key: tuple) -> float:
        ends = self._safely(lambda: self.storage.get_expiry(item.key_for(*key)), None)
        return max(1.0, (ends or time.time() + item.get_expiry()) - time.time())

    def _safely(self, call, fallback):
        """Counters that cannot be reached must not stop people signing in: the pause is
        skipped and the failure logged for whoever runs the service."""
        try:
            return call()
        except StorageError as err:
            self._outage.failed(err.storage_error)
            return fallback


class OutageLog:
    """While the counters are out of reach, one line a minute saying why and how many checks
    failed since the last line, not a traceback for each check: a sign-in makes three or
    four, and an outage can last hours."""

    EVERY_SECONDS = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._next_at: float | None = None
        self._unlogged = 0
        self._lock = threading.Lock()

    def failed(self, err: BaseException) -> None:
        with self._lock:
            now = self.clock()
            if self._next_at is not None and now < self._next_at:
                self._unlogged += 1
                return
            since, self._unlogged = self._unlogged, 0
            self._next_at = now + self.EVERY_SECONDS
        checks = "check" if since == 1 else "checks"
        more = f" ({since} more {checks} failed since the last message)" if since else ""
        log.error(
            "The rate-limit counters cannot be reached; not pausing anyone%s: %s",
            more,
            in_brief(err),
        )


def _network(address: str) -> str:
    """An IPv6 address counts by its /64 network: one connection usually has all of it."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# --- which throttle a database has --------------------------------------------------------


def install(db: Database, throttle: Throttle) -> None:
    db.throttle = throttle


def throttle_for(db: Database) -> Throttle:
    """The throttle the app installed for this database. A database no app has installed
    one for (a script using the services directly) gets the default limits, counted in the
    database itself, with nobody told of a pause."""
    if db.throttle is None:
        defaults = Limits(*(parse(rate) for rate in settings.RATE_LIMITS.values()))
        db.throttle = Throttle(storage_for({}, db), defaults)
    return db.throttle


# --- telling the account's owner -----------------------------------------------------------


@dataclass(frozen=True)
class LockoutWording:
    in_app: str
    subject: str
    body: str


def lockout_wording(
    until: datetime, base_url: str, zone: str = DEFAULT_TIME_ZONE, role: str | None = None
) -> LockoutWording:
    """Discreet, like the reminders: it never says what the account is for. `role`: the
    account's, for whom to tell (a client their key worker; staff an administrator)."""
    when = show(until, time_zone(zone))
    what = (
        "A wrong password was typed for your account several times, so signing in and "
        f"password checks for it are paused until {when}."
    )
    advice = (
        "If that was you, you can try again after that time. If it was not you, please tell "
        f"{who_to_ask(role)}."
    )
    return LockoutWording(
        in_app=f"{what} {advice}",
        subject="Signing in to your account is paused for a while",
        body=f"Hello,\n\n{what}\n\n{advice}\n\nTo sign in after that time:\n"
        f"{under(base_url, '/login')}\n",
    )


def record_lockout(
    db: Database, account: str, until: datetime, zone: str = DEFAULT_TIME_ZONE
) -> bool:
    """A notification in the app for the owner of `account`, its e-mail (kept until sent) and
    an audit event. False when no active account has this e-mail address (nothing is recorded
    about addresses typed)."""
    with db.write() as s:
        user = s.scalar(select(User).where(User.email == account, User.active.is_(True)))
        if user is None:
            return False
        s.add(
            Notification(
                user_id=user.id,
                text=lockout_wording(until, "", zone, user.role).in_app,
                link="/me/notifications",
            )
        )
        audit.record(
            s, None, "account.lockout", "user", user.id, detail={"until": until.isoformat()}
        )
        account_emails.queue(
            s,
            user,
            account_emails.SIGNING_IN_PAUSED,
            {"until": until.isoformat(), "role": user.role},
        )
        return True
