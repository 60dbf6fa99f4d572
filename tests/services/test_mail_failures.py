"""Why an e-mail was not sent, said so that the advice fits: an address refused is corrected,
a mail server out of reach is waited for."""

from __future__ import annotations

import smtplib
import socket

import pytest

from careplan.domain import mail_failures
from careplan.reminders.account_mail import why_not_sent
from careplan.reminders.mail import NOT_ASCII, AddressNotAccepted


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            ConnectionRefusedError(111, "Connection refused"),
            "The mail server could not be reached (the connection was refused).",
        ),
        (
            TimeoutError("timed out"),
            "The mail server could not be reached (it did not answer in time).",
        ),
        (
            socket.gaierror(-2, "Name or service not known"),
            "The mail server could not be reached (its name could not be looked up).",
        ),
        (
            smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
            "The mail server could not be reached (it closed the connection).",
        ),
        (
            smtplib.SMTPRecipientsRefused({"a@b.org": (550, b"5.1.1 No such user")}),
            "The mail server refused the address (it answered 550: 5.1.1 No such user).",
        ),
        (AddressNotAccepted(NOT_ASCII), NOT_ASCII),
        (
            smtplib.SMTPDataError(554, b"Message rejected"),
            "The mail server did not take it (it answered 554: Message rejected).",
        ),
    ],
)
def test_a_failure_is_said_in_plain_words_with_no_system_error_number(error, said):
    assert why_not_sent(error) == said
    assert "Errno" not in said and "[" not in said


def test_only_a_refused_address_is_to_be_corrected():
    refused = why_not_sent(smtplib.SMTPRecipientsRefused({"a@b.org": (550, b"No such user")}))
    down = why_not_sent(ConnectionRefusedError(111, "Connection refused"))
    assert mail_failures.advice(refused) == "Correct the address, or send a new link."
    assert mail_failures.advice(NOT_ASCII) == "Correct the address, or send a new link."
    assert mail_failures.advice(down) == "Try again once it works."
    assert "address" not in mail_failures.advice(why_not_sent(smtplib.SMTPDataError(554, b"")))
