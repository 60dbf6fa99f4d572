"""What people are told: the app's own threads that tell people about their account
(careplan.reminders.account_notices), which a test lets finish before its mail server stops
and before the next test gets an empty database; and the newest message in the app."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from careplan.db.models import Notification
from careplan.reminders import account_notices


def newest_message(db, person) -> tuple[str, str]:
    """(text, link) of the latest message in the app to this person."""
    with db.read() as s:
        return tuple(
            s.execute(
                sa.select(Notification.text, Notification.link)
                .where(Notification.user_id == person.id)
                .order_by(Notification.id.desc())
                .limit(1)
            ).one()
        )


def wait_for_account_notices(timeout: float = 30.0) -> None:
    """Account e-mails are sent, and a pause of an account written down, by threads of their
    own (careplan.reminders.account_notices). One still writing when the next test empties the
    database would commit its rows, numbered before the sequences were reset, into that test's
    database, and the next row with that number would be refused; on SQLite, a connection it
    opened just before the file was replaced would show the next test the previous one's rows.
    So one still running after `timeout` fails the test that started it."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name == account_notices.THREAD_NAME:
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), f"an account notice still running after {timeout} s"
