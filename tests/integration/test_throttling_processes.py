"""Two real app processes (gunicorn, on two ports) share one database: wrong passwords typed
through either count together, the pause holds in both, and the account's owner gets one
e-mail over a real SMTP conversation. Run with the counters in the database (SQLite or
PostgreSQL, whichever the suite runs on) and in Redis.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from limits import parse

from careplan.config import RATE_LIMITS
from careplan.db.models import Notification
from careplan.reminders.messages import indiscretions
from tests.factories import PASSWORD, ClientFactory

aiosmtpd = pytest.importorskip("aiosmtpd", reason="the test extra installs aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("CAREPLAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PER_ACCOUNT = parse(RATE_LIMITS["RATELIMIT_PASSWORD_PER_ACCOUNT"]).amount
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.arrived.set()
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


def _redis_or_skip() -> str:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no Redis to test with
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Redis is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return REDIS_URL


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself is the answer to look at


class Server:
    """One gunicorn process serving wsgi:app, as in production, on a port of its own."""

    def __init__(self, name: str, env: dict, tmp_path: Path):
        self.port = _free_port()
        self.log = tmp_path / f"{name}.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "1",
                # A busy machine may take a while to import the app in the worker.
                "--timeout",
                "180",
                # Not the one control socket that every gunicorn on the machine would share.
                "--no-control-socket",
                "--bind",
                f"127.0.0.1:{self.port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirects()
        )

    def wait_until_up(self, timeout: float = 180) -> None:
        """Until the worker answers a page (the port opens before the app is imported)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/login",
                    timeout=max(1, deadline - time.monotonic()),
                ) as page:
                    if page.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    log = self.log.read_text()[-3000:]
                    raise AssertionError(f"gunicorn not up:\n{log}") from None
                time.sleep(0.05)

    def sign_in(self, email: str, password: str) -> tuple[int, str, dict]:
        with self.opener.open(f"http://127.0.0.1:{self.port}/login", timeout=60) as page:
            token = CSRF.search(page.read().decode()).group(1)
        body = urllib.parse.urlencode(
            {"email": email, "password": password, "csrf_token": token}
        ).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/login", data=body)
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status, answer.read().decode(), dict(answer.headers)
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read().decode(), dict(answer.headers)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def servers(database_url, tmp_path, smtp):
    started = []

    def start(storage_url: str = "") -> tuple[Server, Server]:
        port, _ = smtp
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CAREPLAN_")},
            # Development: the production limits, without production's HTTPS-only cookies.
            "CAREPLAN_ENV": "development",
            "SECRET_KEY": secrets.token_urlsafe(48),  # shared, as every worker's must be
            "DATABASE_URL": database_url,
            "CAREPLAN_INSTANCE_PATH": str(tmp_path / "instance"),
            "CAREPLAN_ARGON2_TIME_COST": "1",
            "CAREPLAN_ARGON2_MEMORY_KIB": "1024",
            "CAREPLAN_SMTP_HOST": "127.0.0.1",
            "CAREPLAN_SMTP_PORT": str(port),
            "CAREPLAN_SMTP_USE_TLS": "0",
            "CAREPLAN_RATELIMIT_STORAGE_URL": storage_url,
        }
        pair = (Server("a", env, tmp_path), Server("b", env, tmp_path))
        started.extend(pair)
        for server in pair:
            server.wait_until_up()
        return pair

    yield start
    for server in started:
        server.stop()


@pytest.mark.parametrize("storage", ["database", "redis"])
def test_attempts_through_either_process_count_together(app, db, servers, smtp, storage):
    url = _redis_or_skip() if storage == "redis" else ""
    person = ClientFactory()
    a, b = servers(url)
    _, inbox = smtp

    for n in range(PER_ACCOUNT):
        status, _, _ = (a, b)[n % 2].sign_in(person.email, "not the password")
        assert status == 401, n

    for server in (a, b):
        status, page, headers = server.sign_in(person.email, PASSWORD)
        assert status == 429
        assert "too many attempts with a wrong password" in page
        assert "Please try again in" in page and 0 < int(headers["Retry-After"]) <= 15 * 60

    # One e-mail to the owner, whichever process made the last refusal.
    assert inbox.arrived.wait(60), "no e-mail about the pause arrived"
    (mail,) = inbox.messages
    assert mail["To"] == person.email
    assert mail["Subject"] == "Signing in to your account is paused for a while"
    body = mail.get_content()
    assert "paused until" in body and indiscretions(mail["Subject"] + body) == []
    with db.read() as s:
        notices = s.scalars(
            sa.select(Notification.text).where(Notification.user_id == person.id)
        ).all()
    assert len(notices) == 1

    # Someone else, through either process, is not affected.
    other = ClientFactory()
    assert a.sign_in(other.email, PASSWORD)[0] == 302
    assert b.sign_in(other.email, PASSWORD)[0] == 302
    assert len(inbox.messages) == 1
