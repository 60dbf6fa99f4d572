"""The Message-ID of an e-mail kept in a row (a reminder, a daily summary, an account e-mail):
the same for every try of that row, so a resend is recognisable as one, and different for a
row of another database or another installation that happens to have the same number, so a
mail system that drops a Message-ID it has seen before never hides a real e-mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.headerregistry import HeaderRegistry

import pytest

from careplan.reminders.mail import row_message_id

SENDER = "Reminders <reminders@example.org>"
BASE_URL = "https://app.example.org"
WRITTEN = datetime(2027, 2, 17, 5, 0, 0, 123456, tzinfo=UTC)


def _id(kind="reminder", row=42, written=WRITTEN, sender=SENDER, base_url=BASE_URL) -> str:
    return row_message_id(kind, row, written, sender, base_url)


def test_the_same_row_always_has_the_same_message_id():
    assert _id() == _id()
    # However the database hands the moment back (PostgreSQL in the session's time zone).
    assert _id(written=WRITTEN.astimezone(timezone(timedelta(hours=2)))) == _id()
    assert _id().endswith("@example.org>")


def test_other_rows_have_other_message_ids():
    ids = {_id(row=n) for n in range(1, 200)}
    ids |= {_id(kind=k) for k in ("digest", "account")}
    assert len(ids) == 201


def test_the_same_number_in_a_database_made_again_has_another_message_id():
    assert _id(written=WRITTEN + timedelta(microseconds=1)) != _id()
    assert _id(written=WRITTEN + timedelta(days=30)) != _id()


def test_the_same_row_in_another_installation_has_another_message_id():
    """A test installation holding a copy of the same rows, mailing the same people."""
    assert _id(base_url="https://test.app.example.org") != _id()


@pytest.mark.parametrize(
    "sender, base_url, domain",
    [
        (SENDER, BASE_URL, "example.org"),
        ("reminders@bücher.example", BASE_URL, "xn--bcher-kva.example"),
        ("", "https://app.example.org:8443/care", "app.example.org"),
        ("", "", "localhost"),
    ],
)
def test_the_message_id_is_a_valid_msg_id(sender, base_url, domain):
    value = _id(row=2**62, sender=sender, base_url=base_url)
    header = HeaderRegistry()("Message-ID", value)
    assert header.defects == ()
    assert str(header) == value
    assert value.isascii() and " " not in value and len(value) <= 998
    assert re.fullmatch(r"<reminder-[0-9a-z.-]+@[0-9a-z.-]+>", value)
    assert value.endswith(f"@{domain}>")
