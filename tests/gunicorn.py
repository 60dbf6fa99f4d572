"""The app served by gunicorn in its own process, as in production, against the test's
database and instance folder; and a browser over plain HTTP (urllib). Loaded as a pytest
plugin by tests/conftest.py: ask for `gunicorn_url`.

The Flask test client accepts response headers a real server cannot send (a file name with an
en dash in Content-Disposition made gunicorn answer 500), so downloads and state changes are
also tested through here.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from functools import partial
from http.client import HTTPConnection
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit
from urllib.request import HTTPCookieProcessor, HTTPHandler, Request, build_opener, urlopen

import pytest
from werkzeug.http import parse_options_header

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def gunicorn_env() -> dict:
    """More environment for the gunicorn of `gunicorn_url`: none unless a test module
    overrides this fixture, as tests/integration/test_sub_path_over_http.py does with
    SCRIPT_NAME to serve the app under a sub-path."""
    return {}


@pytest.fixture
def gunicorn_url(app, database_url, tmp_path, gunicorn_env):
    """gunicorn serving `wsgi:app` with the test's database and instance folder. The address
    is the server's (http://127.0.0.1:port): under a SCRIPT_NAME the app's pages are below it."""
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "CAREPLAN_ENV": "testing",
        "DATABASE_URL": database_url,
        "CAREPLAN_INSTANCE_PATH": app.instance_path,
        **gunicorn_env,
    }
    log.touch()
    pid = _gunicorn_zygote.start(
        ["--workers", "1", "--timeout", "120", "--bind", "127.0.0.1:0", "wsgi:app"], env, log
    )
    try:
        deadline = time.monotonic() + 60
        while not (match := LISTENING.search(log.read_text())):
            assert _gunicorn_zygote.ended(pid) is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield match.group(1)
    finally:
        _gunicorn_zygote.stop(pid)
    assert "Traceback" not in log.read_text(), log.read_text()


class _Zygote:
    """`python -m gunicorn ...`, forked from one process per test worker that has imported
    the app's modules already (tests/gunicorn_zygote.py): the same server, started without
    importing everything again."""

    def __init__(self):
        self.process: subprocess.Popen | None = None

    def _ask(self, request: dict) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.gunicorn_zygote"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, "the process starting gunicorn ended"
        return json.loads(answer)

    def start(self, args: list[str], env: dict, log: Path) -> int:
        return self._ask({"start": args, "cwd": str(ROOT), "env": env, "log": str(log)})["pid"]

    def ended(self, pid: int) -> int | None:
        return self._ask({"poll": pid})["status"]

    def stop(self, pid: int) -> None:
        """As Popen.terminate then wait(30), by the process that started it: only it knows
        whether the pid is still its child's."""
        self._ask({"stop": pid, "seconds": 30})

    def close(self) -> None:
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(30)


_gunicorn_zygote = _Zygote()


def pytest_sessionfinish(session, exitstatus):
    _gunicorn_zygote.close()


class Browser:
    """Cookies and forms over plain HTTP (urllib), as a browser sends them."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.cookies))

    def move_to(self, address: str) -> None:
        """From now on, connect from this loopback address (127.x.y.z), keeping the cookies:
        the same browser on another network, as a phone leaving Wi-Fi."""
        self.opener = build_opener(HTTPCookieProcessor(self.cookies), _FromAddress(address))

    def get(self, path: str):
        return self.opener.open(self.base + path, timeout=120)

    def post(self, path: str, form: dict, page: str, headers: dict | None = None):
        """Sends a form the way the page it came from would: with that page's CSRF token
        (and any `headers` a browser adds, such as Sec-Fetch-Site)."""
        data = urlencode({**form, "csrf_token": CSRF.search(page).group(1)}).encode()
        sent = Request(self.base + path, data, headers=headers or {})
        return self.opener.open(sent, timeout=60)

    def sign_in(self, user) -> None:
        form = {"email": user.email, "password": PASSWORD}
        landed = self.post("/login", form, self.get("/login").read().decode())
        assert "/login" not in landed.url, "sign-in failed"


class _FromAddress(HTTPHandler):
    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def http_open(self, req):
        return self.do_open(partial(HTTPConnection, source_address=(self.address, 0)), req)


def landed(response) -> tuple[str, str]:
    """Where a browser ends up after following the redirects, and the page it shows there."""
    return urlsplit(response.url).path, response.read().decode()


def given_back(page: str) -> dict[str, str]:
    """The words a page gives back to copy (errors/words_given_back.html, trouble.html), by
    the label naming where each was on the form."""
    pairs = re.findall(
        r'<label for="(given-back-\d+)">(.*?)</label><textarea id="\1"[^>]*>(.*?)</textarea>',
        page,
        re.S,
    )
    return {html.unescape(label): html.unescape(words) for _, label, words in pairs}


def refused(call) -> tuple[int, str]:
    """The status and page of a request the server refuses (urllib raises for a 4xx)."""
    with pytest.raises(HTTPError) as refusal:
        call()
    return refusal.value.code, refusal.value.read().decode()


def filename(response) -> str:
    """The name a browser saves the file as (`filename*` when given, RFC 6266)."""
    kind, options = parse_options_header(response.headers["Content-Disposition"])
    assert kind == "attachment"
    return options["filename"]


def api_call(base: str, method: str, path: str, token: str, body: dict | None = None):
    """One API request with a bearer token, as a program sends it: (status, headers, JSON),
    errors included."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = Request(base + path, data=data, headers=headers, method=method)
    try:
        with urlopen(request, timeout=60) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except HTTPError as err:
        return err.code, err.headers, json.loads(err.read())
