"""E-mails about a person's own account: a link to choose a password, "your password was
changed", "the second step when signing was turned on or off", "one of your backup codes was
used", "signing in is paused", "the address was changed", "the account is closed". Discreet
like every other e-mail (careplan.reminders.messages): they never say what kind of service
this is.

A link is sent at once, from a short-lived thread, so that asking for one answers in the same
time whether or not the address has an account; if sending fails the person can simply ask
again. The others are kept in the database until sent (careplan.services.account_emails) and
written here from what was kept (`account_email`).
"""

from __future__ import annotations

import logging
import smtplib
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from ..domain import mail_failures
from ..domain.addresses import under
from ..domain.local_time import DEFAULT_TIME_ZONE, show, time_zone
from ..domain.second_factor import ENDS_EVERY_CODE, backup_codes_left
from ..domain.tokens import new_token
from ..domain.wording import who_to_ask
from ..services import account_emails, throttle
from . import messages
from .mail import AddressNotAccepted, build_message, mailer_from_config, message_id

log = logging.getLogger("careplan.mail")


def password_link_email(
    purpose: str, link: str, expires: str, by_service: bool = False, role: str = ""
) -> messages.Email:
    """`by_service`: an administrator sent it, not the person asking on the sign-in page.
    `role`: whose account (a client's welcome says what the account is for)."""
    body = messages.render(
        "password_link_body.txt", purpose=purpose, link=link, expires=expires,
        by_service=by_service, to_client=role == "client",
    )  # fmt: skip
    return messages.Email(
        messages.render("password_link_subject.txt", purpose=purpose), body + "\n"
    )


def password_changed_email(
    link: str,
    when: datetime | None = None,
    zone: str = DEFAULT_TIME_ZONE,
    stayed_signed_in: bool = False,
    first: bool = False,
) -> messages.Email:
    """`stayed_signed_in`: changed on the account page, where that one session carries on;
    a password chosen through an e-mailed link leaves nobody signed in. `first`: the account
    had no password before (nobody was signed in)."""
    when = long_time(when or datetime.now(UTC), zone)
    body = messages.render(
        "password_changed_body.txt",
        when=when,
        link=link,
        stayed_signed_in=stayed_signed_in,
        first=first,
    )
    subject = messages.render("password_changed_subject.txt", first=first)
    return messages.Email(subject, body + "\n")


def second_factor_email(
    on: bool,
    link: str,
    when: datetime | None = None,
    zone: str = DEFAULT_TIME_ZONE,
    by_service: bool = False,
) -> messages.Email:
    """The second step when signing was turned on or off: by the person, or (`by_service`)
    turned off by an administrator of the service."""
    when = long_time(when or datetime.now(UTC), zone)
    return messages.Email(
        messages.render("second_factor_subject.txt", on=on),
        messages.render(
            "second_factor_body.txt", on=on, when=when, link=link, by_service=by_service
        )
        + "\n",
    )


def backup_code_used_email(
    left: int,
    link: str,
    when: datetime | None = None,
    zone: str = DEFAULT_TIME_ZONE,
    used_for: str | None = None,
) -> messages.Email:
    """One of the person's backup codes was used in place of their app's code (`used_for`:
    to do something that removes or replaces every code, as backup_codes_left says)."""
    when = long_time(when or datetime.now(UTC), zone)
    left_now = backup_codes_left(left, used_for)
    return messages.Email(
        messages.render("backup_code_used_subject.txt"),
        messages.render("backup_code_used_body.txt", when=when, left=left_now, link=link) + "\n",
    )


def email_changed_email(
    when: datetime | None = None, zone: str = DEFAULT_TIME_ZONE
) -> messages.Email:
    """To the address an account had before an administrator changed it (no link: that
    address no longer signs in)."""
    when = long_time(when or datetime.now(UTC), zone)
    return messages.Email(
        messages.render("email_changed_subject.txt"),
        messages.render("email_changed_body.txt", when=when) + "\n",
    )


def email_now_here_email(
    link: str, when: datetime | None = None, zone: str = DEFAULT_TIME_ZONE
) -> messages.Email:
    """To the address an administrator has just given an account: sign in with it now."""
    when = long_time(when or datetime.now(UTC), zone)
    return messages.Email(
        messages.render("email_now_here_subject.txt"),
        messages.render("email_now_here_body.txt", when=when, link=link) + "\n",
    )


def account_closed_email(
    role: str, when: datetime | None = None, zone: str = DEFAULT_TIME_ZONE
) -> messages.Email:
    """A new password was asked for on the sign-in page, but the service closed the account:
    no link, and whom to ask."""
    when = long_time(when or datetime.now(UTC), zone)
    return messages.Email(
        messages.render("account_closed_subject.txt"),
        messages.render("account_closed_body.txt", when=when, who=who_to_ask(role)) + "\n",
    )


def asked_to_look_email(
    link: str, when: datetime | None = None, zone: str = DEFAULT_TIME_ZONE
) -> messages.Email:
    """To an advocate: someone who chose them asked them to look at something before signing
    it. Who, and what, only once signed in."""
    when = long_time(when or datetime.now(UTC), zone)
    return messages.Email(
        messages.render("asked_to_look_subject.txt"),
        messages.render("asked_to_look_body.txt", when=when, link=link) + "\n",
    )


def account_email(
    kind: str, detail: dict, at: datetime, base_url: str, zone: str = DEFAULT_TIME_ZONE
) -> messages.Email:
    """The e-mail a kept account e-mail stands for (careplan.services.account_emails.KINDS),
    `at` being when the change was made."""
    account = under(base_url, "/me/account")
    if kind == account_emails.PASSWORD_CHANGED:
        stayed, first = bool(detail.get("stayed_signed_in")), bool(detail.get("first"))
        return password_changed_email(under(base_url, "/forgot-password"), at, zone, stayed, first)
    if kind in (account_emails.SECOND_FACTOR_ON, account_emails.SECOND_FACTOR_OFF):
        on = kind == account_emails.SECOND_FACTOR_ON
        return second_factor_email(on, account, at, zone, bool(detail.get("by_service")))
    if kind == account_emails.BACKUP_CODE_USED:
        used_for = next((use for use in ENDS_EVERY_CODE if detail.get(use)), None)
        return backup_code_used_email(int(detail["left"]), account, at, zone, used_for)
    if kind == account_emails.EMAIL_CHANGED:
        return email_changed_email(at, zone)
    if kind == account_emails.EMAIL_NOW_HERE:
        return email_now_here_email(under(base_url, "/login"), at, zone)
    if kind == account_emails.ASKED_TO_LOOK:
        return asked_to_look_email(under(base_url, f"/documents/{detail['document_id']}"), at, zone)
    if kind == account_emails.ACCOUNT_CLOSED:
        return account_closed_email(detail.get("role", ""), at, zone)
    if kind == account_emails.SIGNING_IN_PAUSED:
        until = datetime.fromisoformat(detail["until"])
        wording = throttle.lockout_wording(until, base_url, zone, detail.get("role"))
        return messages.Email(wording.subject, wording.body)
    raise ValueError(f"Unknown account e-mail: {kind}")


class Sending(threading.Thread):
    """One e-mail on its way; once done, `error` is why it was not sent (None if it was)."""

    error: str | None = None


def send_soon(
    config, to: str, email: messages.Email, not_sent: Callable[[str], None] | None = None
) -> Sending:
    """Send a link to choose a password from a background thread, once; returns the thread
    (tests, and an administrator's page, wait on it). Not kept if it fails: the link's secret
    is stored only as a hash; `not_sent(reason)` records that it failed, and why."""

    def run() -> None:
        sender = config["SMTP_FROM"]
        msg = build_message(
            sender,
            to,
            email.subject,
            email.body,
            message_id("account", _unique_number(), sender, config["PUBLIC_BASE_URL"]),
        )
        try:
            with mailer_from_config(config).connect() as send:
                send(msg)
        except (smtplib.SMTPException, OSError) as exc:
            thread.error = why_not_sent(exc)
            log.error("Could not send an account e-mail: %s (%r)", thread.error, exc)
            if not_sent is not None:
                try:
                    not_sent(thread.error)
                except Exception:  # the database out of reach too: the log line stays
                    log.exception("Could not record that an account e-mail was not sent.")

    thread = Sending(target=run, name="account-mail", daemon=True)
    thread.start()
    return thread


def _server_answer(code: object, said: object) -> str:
    if isinstance(said, bytes):
        said = said.decode("utf-8", "replace")
    said = " ".join(str(said or "").split())
    return f"it answered {code}: {said}" if said else f"it answered {code}" if code else ""


def why_not_sent(exc: BaseException) -> str:
    """The mail server's failure in plain words (mail_failures), with no system error
    numbers: out of reach, the address refused, or the e-mail not taken."""
    if isinstance(exc, AddressNotAccepted):
        return str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [_server_answer(*a) for a in exc.recipients.values()]
        return mail_failures.address_refused_by_server("; ".join(a for a in answers if a))
    if isinstance(exc, smtplib.SMTPConnectError):
        return mail_failures.unreachable(_server_answer(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return mail_failures.unreachable("it closed the connection")
    if isinstance(exc, smtplib.SMTPResponseException):
        return mail_failures.not_taken(_server_answer(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPException):
        return mail_failures.not_taken(" ".join(str(exc).split()))
    if isinstance(exc, socket.gaierror):
        return mail_failures.unreachable("its name could not be looked up")
    if isinstance(exc, ConnectionRefusedError):
        return mail_failures.unreachable("the connection was refused")
    if isinstance(exc, TimeoutError):
        return mail_failures.unreachable("it did not answer in time")
    return mail_failures.unreachable("the connection failed")


def _unique_number() -> str:
    return f"{datetime.now().strftime('%Y%m%d%H%M%S')}-{new_token()[:12]}"


def long_time(value: datetime, zone: str = DEFAULT_TIME_ZONE) -> str:
    """The moment in the service's local time, as the pages show it."""
    return show(value, time_zone(zone))
