"""The app's own attempt to send e-mails about people's accounts as soon as they are written
(careplan.services.account_emails), the notice that signing in was paused, and the link asked
for on the forgotten-password page.

Each runs in a thread of its own, after the request that caused it was answered: a pause's
answer, or the forgotten-password page's, then takes no longer when the e-mail address typed
belongs to an account (the timing would tell who has one), and no answer ever waits for the
mail server. What a thread cannot send stays in the database for the reminder senders to send
later; a link that could not be made or sent is asked for again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from ..db.engine import Database
from ..domain.local_time import DEFAULT_TIME_ZONE
from ..services import account_settings, throttle
from ..services.reminders import ReminderSettings
from .mail import mailer_from_config
from .sender import send_account_emails, worker_name

log = logging.getLogger("careplan.reminders")

THREAD_NAME = "account-notice"


class AccountNotices:
    """One per app. The settings are read when a notice is sent, not when the app is built,
    so a changed setting applies to the next notice."""

    def __init__(self, db: Database, config):
        self.db = db
        self.config = config
        self._pending: list[threading.Thread] = []
        self._lock = threading.Lock()

    def paused(self, account: str, until: datetime) -> None:
        """The throttle's on_lockout: called once for each pause of an account."""
        self._start(self._tell_paused, account, until)

    def reset_asked(
        self, email: str, ip: str, send_link: Callable[[account_settings.IssuedLink], None]
    ) -> None:
        """A new password asked for on the forgotten-password page: the account is looked
        up, and its link made and handed to `send_link`, after the page has answered."""
        self._start(self._reset, email, ip, send_link)

    def deliver_soon(self) -> None:
        """Send the account e-mails waiting now (called once a change that wrote one has
        committed)."""
        self._start(self._deliver)

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

    def _tell_paused(self, account: str, until: datetime) -> None:
        try:
            zone = self.config.get("TIME_ZONE") or DEFAULT_TIME_ZONE
            if not throttle.record_lockout(self.db, account, until, zone):
                return
        except Exception:  # noqa: BLE001 - a lost notice must not go unnoticed, nor crash
            log.exception("Could not record that signing in to an account was paused.")
            return
        self._deliver()

    def _reset(self, email: str, ip: str, send_link) -> None:
        try:
            link = account_settings.request_reset(self.db, email, ip)
            if link is not None:
                send_link(link)
        except Exception:  # noqa: BLE001 - the person was told to ask again if nothing comes
            log.exception("Could not make or send a link asked for to choose a password.")

    def _deliver(self) -> None:
        try:
            send_account_emails(
                self.db,
                ReminderSettings.from_config(self.config),
                mailer_from_config(self.config),
                self.config["SMTP_FROM"],
                worker=worker_name(),
            )
        except Exception:  # noqa: BLE001 - what was not sent is kept and sent later
            log.exception("Could not send the account e-mails waiting; they are sent later.")
