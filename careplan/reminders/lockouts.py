"""Telling an account's owner that sign-in was paused: in the app and by e-mail.

The notice is written and sent in a thread of its own, after the attempt that caused the
pause was answered, so that answer takes no longer when the e-mail address typed belongs to
an account (the timing would tell who has one) and never waits for the mail server.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from ..db.engine import Database
from ..domain.local_time import DEFAULT_TIME_ZONE
from ..services import throttle
from .mail import Mailer, build_message, mailer_from_config, message_id

log = logging.getLogger("careplan.reminders")


class LockoutNotices:
    """Throttle.on_lockout for an app: called once for each pause of an account."""

    def __init__(self, db: Database, config, mailer: Mailer | None = None):
        self.db = db
        self.mailer = mailer or mailer_from_config(config)
        self.sender = config["SMTP_FROM"]
        self.base_url = config["PUBLIC_BASE_URL"].rstrip("/")
        self.time_zone = config.get("TIME_ZONE") or DEFAULT_TIME_ZONE
        self._pending: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __call__(self, account: str, until: datetime) -> None:
        thread = threading.Thread(target=self.tell, args=(account, until), name="lockout")
        with self._lock:
            self._pending = [t for t in self._pending if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until the notices started so far are written and sent (or have failed)."""
        with self._lock:
            pending = list(self._pending)
        for thread in pending:
            thread.join(timeout)

    def tell(self, account: str, until: datetime) -> None:
        try:
            notice = throttle.record_lockout(self.db, account, until, self.time_zone)
            if notice is None:
                return
            wording = throttle.lockout_wording(until, self.base_url, self.time_zone)
            message = build_message(
                self.sender,
                notice.email,
                wording.subject,
                wording.body,
                message_id("lockout", notice.notification_id, self.sender, self.base_url),
            )
            with self.mailer.connect() as send:
                send(message)
        except Exception:  # noqa: BLE001 - a lost notice must not go unnoticed, nor crash
            log.exception("Could not tell an account's owner that signing in was paused.")
