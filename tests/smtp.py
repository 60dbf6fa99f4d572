"""A real SMTP server for the tests (aiosmtpd on localhost), and an app configured to send
through it with the app's own SMTP mailer (smtplib, with login). Loaded as a pytest plugin by
tests/conftest.py, so any test can ask for `smtp_server` or `smtp_app`."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.notices import wait_for_account_notices

USER, SECRET = "careplan", "smtp-secret"


class Inbox:
    def __init__(self):
        self.envelopes = []
        self.logins = []
        self.on_accept = None  # called just before the server says the message is accepted

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        if self.on_accept is not None:
            self.on_accept()
        return "250 Message accepted for delivery"

    def messages(self):
        return [
            (e.rcpt_tos, email.message_from_bytes(e.content, policy=email.policy.default))
            for e in self.envelopes
        ]


def _authenticate(inbox):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (USER, SECRET)
        inbox.logins.append(ok)
        return AuthResult(success=ok)

    return check


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int | None = None, smtputf8: bool | None = None) -> tuple[Controller, Inbox]:
    """A mail server listening on `port` (a free one if not given); stop it when done.
    `smtputf8`: whether it offers SMTPUTF8 (addresses with letters outside ASCII), if not
    aiosmtpd's own default."""
    inbox = Inbox()
    offers = {} if smtputf8 is None else {"enable_SMTPUTF8": smtputf8}
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port or free_port(),
        authenticator=_authenticate(inbox),
        auth_require_tls=False,  # a test on the loopback; production uses STARTTLS or TLS
        **offers,
    )
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp_server():
    controller, inbox = start_server()
    yield controller, inbox
    # The app's own threads send account e-mails after the page has answered: they finish
    # against a server still listening, not one stopped halfway through their conversation.
    wait_for_account_notices()
    controller.stop()


@pytest.fixture
def smtp_app(app, smtp_server):
    controller, _ = smtp_server
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port,
        SMTP_USE_TLS=False,
        SMTP_USERNAME=USER,
        SMTP_PASSWORD=SECRET,
        SMTP_FROM="Reminders <reminders@example.org>",
        PUBLIC_BASE_URL="https://app.example.org",
    )
    return app
