"""Sending e-mail: over SMTP (smtplib) when a host is configured, to the log when not.

A mailer opens one connection for a batch: `with mailer.connect() as send: send(message)`.
`send` returns only once the server has accepted the message (its reply to DATA), and raises
otherwise.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

log = logging.getLogger("careplan.mail")

Send = Callable[[EmailMessage], None]


class AddressNotAccepted(smtplib.SMTPException):
    """The mail server cannot take the recipient's address at all: no later try can succeed
    there, so the e-mail is given up at once (careplan.reminders.sender)."""


NOT_ASCII = (
    "The mail server does not accept this address: it has letters outside plain ASCII and "
    "the server does not offer SMTPUTF8."
)


class Mailer(Protocol):
    def connect(self) -> AbstractContextManager[Send]: ...


def build_message(
    sender: str, to: str, subject: str, body: str, message_id: str, stop_link: str = ""
) -> EmailMessage:
    """`stop_link`: the page where the person can stop e-mails like this one, offered by mail
    programs as their own "Unsubscribe" (RFC 2369), so that nobody has to mark a reminder as
    spam to be rid of it, which would send the service's other e-mails to spam too."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    # The same reminder always carries the same Message-ID, so if it is ever sent twice (see
    # careplan.reminders.sender) mail systems that de-duplicate show it once.
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    if stop_link:
        msg["List-Unsubscribe"] = f"<{stop_link}>"
    msg.set_content(body)
    return msg


def message_id(kind: str, unique: str, sender: str, base_url: str) -> str:
    """`<kind-unique@domain>`, the domain the sender's (else the app's); `unique` holds only
    what a msg-id may (letters, digits, `.`, `-`, `_`)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or urlsplit(base_url).hostname or ""
    try:
        domain = domain.encode("idna").decode("ascii")  # a msg-id is plain ASCII
    except UnicodeError:
        domain = ""
    if not domain or not all(c.isalnum() or c in ".-" for c in domain):
        domain = "localhost"
    return f"<{kind}-{unique}@{domain}>"


def row_message_id(kind: str, row_id: int, created_at: datetime, sender: str, base_url: str) -> str:
    """The Message-ID of the e-mail a row keeps: the same for every try of that row, so a
    resend is recognisable as one.

    The row's number alone repeats in a database made again and in another installation, and
    a mail system that drops a Message-ID it has already seen would hide a real e-mail. So a
    digest goes with it of when the row was written (a database made again writes its rows
    at other moments) and of the installation's address (another installation has its own,
    even one holding a copy of these rows). Both stay as they are for the row's lifetime, and
    the database needs nothing new."""
    written = created_at.astimezone(UTC).isoformat()  # whatever zone the database hands back
    identity = "\n".join((base_url.rstrip("/"), kind, str(row_id), written))
    digest = hashlib.sha256(identity.encode()).hexdigest()[:20]
    return message_id(kind, f"{row_id}.{digest}", sender, base_url)


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int = 587,
        use_tls: bool = True,
        use_ssl: bool = False,
        username: str = "",
        password: str = "",
        timeout: float = 30,
    ):
        self.host, self.port, self.use_tls, self.use_ssl = host, port, use_tls, use_ssl
        self.username, self.password, self.timeout = username, password, timeout

    @contextmanager
    def connect(self) -> Iterator[Send]:
        context = ssl.create_default_context()
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.use_tls and not self.use_ssl:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)

            def send(message: EmailMessage) -> None:
                # Raises unless the server accepted it for the (single) recipient.
                # smtplib sends an address with letters outside ASCII with the SMTPUTF8
                # option, which only a server that offers it accepts.
                to = [address for _, address in getaddresses(message.get_all("To", []))]
                if not smtp.has_extn("smtputf8") and not all(a.isascii() for a in to):
                    raise AddressNotAccepted(NOT_ASCII)
                smtp.send_message(message)

            yield send
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


class LogMailer:
    """No SMTP host configured: write each message to the log, so local runs show them.
    At WARNING, the level a process without logging set up (flask run, gunicorn) still
    prints: an e-mail that was not sent is worth seeing, and in a local run the link to
    choose a password is only there."""

    @contextmanager
    def connect(self) -> Iterator[Send]:
        def send(message: EmailMessage) -> None:
            log.warning(
                "E-mail (no SMTP host configured, so not sent)\nTo: %s\nSubject: %s\n\n%s",
                message["To"],
                message["Subject"],
                message.get_content(),
            )

        yield send


class OutboxFileMailer:
    """Appends each message as one JSON line to a file. For tests and local checks: each
    line is written with a single O_APPEND write, so several processes can share the file."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    @contextmanager
    def connect(self) -> Iterator[Send]:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:

            def send(message: EmailMessage) -> None:
                line = json.dumps(
                    {
                        "message_id": message["Message-ID"],
                        "to": message["To"],
                        "subject": message["Subject"],
                        "body": message.get_content(),
                        "pid": os.getpid(),
                    }
                )
                os.write(fd, (line + "\n").encode())

            yield send
        finally:
            os.close(fd)


def sends_email(config) -> bool:
    """Whether e-mails go to a mail server; without one they are written to the log (and
    administrators are told, see templates/admin/_mail_off.html)."""
    return bool(config.get("SMTP_HOST"))


def mailer_from_config(config) -> SmtpMailer | LogMailer:
    if not sends_email(config):
        return LogMailer()
    return SmtpMailer(
        config["SMTP_HOST"],
        int(config["SMTP_PORT"]),
        bool(config["SMTP_USE_TLS"]),
        bool(config["SMTP_USE_SSL"]),
        config.get("SMTP_USERNAME", ""),
        config.get("SMTP_PASSWORD", ""),
        float(config.get("SMTP_TIMEOUT_SECONDS", 30)),
    )
