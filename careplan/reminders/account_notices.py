"""Telling people about their own account, in the app and by e-mail: that signing in was
paused after wrong passwords, and that one of their backup codes was used.

Each notice is sent from a thread of its own, after the request that caused it was answered:
a pause's answer then takes no longer when the e-mail address typed belongs to an account (the
timing would tell who has one), and no answer ever waits for the mail server.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from ..db.engine import Database
from ..domain.local_time import DEFAULT_TIME_ZONE
from ..services import throttle
from . import account_mail, messages

log = logging.getLogger("careplan.reminders")

THREAD_NAME = "account-notice"


class AccountNotices:
    """One per app. The mail settings are read when a notice is sent, not when the app is
    built, so a changed setting applies to the next notice."""

    def __init__(self, db: Database, config):
        self.db = db
        self.config = config
        self._pending: list[threading.Thread] = []
        self._lock = threading.Lock()

    def paused(self, account: str, until: datetime) -> None:
        """The throttle's on_lockout: called once for each pause of an account."""
        self._start(self._tell_paused, account, until)

    def backup_code_used(self, email: str, left: int, at: datetime) -> None:
        """After one of the person's backup codes was used (the notice in the app is written
        with the use): an e-mail, so someone else using it does not wait to be noticed until
        the person next signs in."""
        self._start(self._tell_backup_code_used, email, left, at)

    def wait(self, timeout: float | None = None) -> None:
        """Until the notices started so far are written and sent (or have failed)."""
        with self._lock:
            pending = list(self._pending)
        for thread in pending:
            thread.join(timeout)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=THREAD_NAME)
        with self._lock:
            self._pending = [t for t in self._pending if t.is_alive()] + [thread]
        thread.start()

    @property
    def _base_url(self) -> str:
        return self.config["PUBLIC_BASE_URL"].rstrip("/")

    @property
    def _time_zone(self) -> str:
        return self.config.get("TIME_ZONE") or DEFAULT_TIME_ZONE

    def _tell_paused(self, account: str, until: datetime) -> None:
        try:
            notice = throttle.record_lockout(self.db, account, until, self._time_zone)
            if notice is None:
                return
            wording = throttle.lockout_wording(until, self._base_url, self._time_zone)
            email = messages.Email(wording.subject, wording.body)
            account_mail.send_now(
                self.config, notice.email, email, "lockout", notice.notification_id
            )
        except Exception:  # noqa: BLE001 - a lost notice must not go unnoticed, nor crash
            log.exception("Could not tell an account's owner that signing in was paused.")

    def _tell_backup_code_used(self, email: str, left: int, at: datetime) -> None:
        try:
            wording = account_mail.backup_code_used_email(
                left, f"{self._base_url}/me/account", at, self._time_zone
            )
            account_mail.send_now(self.config, email, wording, "backup-code")
        except Exception:  # noqa: BLE001 - the notice in the app is there; log the e-mail
            log.exception("Could not e-mail an account's owner that a backup code was used.")
