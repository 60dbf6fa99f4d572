"""End-to-end fixtures: the real app behind a real HTTP server, driven by headless Chromium.

The browser is the system's Chromium (Debian package `chromium`; no browser is downloaded),
driven by the `playwright` package. Without them these tests are skipped locally, but in CI
(CI=true) a missing browser is a failure, so the suite cannot go green without them.

Set CAREPLAN_E2E_CHROMIUM to use another Chromium binary, and CAREPLAN_E2E_SCREENSHOTS to a
folder to keep the screenshots the tests take (otherwise they go to the test's tmp_path).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: end-to-end tests in a real browser (Chromium)")


def _chromium_path() -> str | None:
    wanted = os.environ.get("CAREPLAN_E2E_CHROMIUM")
    if wanted:
        return wanted if os.access(wanted, os.X_OK) else None
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the end-to-end browser is not available: {reason}", pytrace=False)
    pytest.skip(f"no browser for end-to-end tests: {reason}")


# Module scope, not session: Playwright's synchronous API keeps an asyncio loop running while it
# is open, and other tests in the same worker (the PDF seal uses asyncio.run) must not see it.
@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("the Python package 'playwright' is not installed (pip install playwright)")
    executable = _chromium_path()
    if executable is None:
        where = os.environ.get("CAREPLAN_E2E_CHROMIUM") or "/usr/bin/chromium or on PATH"
        _unavailable(
            f"no Chromium at {where} (apt-get install chromium, or run scripts/setup test as "
            "root; CAREPLAN_E2E_CHROMIUM may name another binary)"
        )
    manager = sync_playwright().start()
    try:
        try:
            browser = manager.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as err:
            _unavailable(f"Chromium at {executable} did not start: {err}")
        yield browser
        browser.close()
    finally:
        manager.stop()


@pytest.fixture
def live_server(app):
    """The app served over HTTP on a free local port, for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def new_phone(browser):
    """Open a fresh browser context (its own cookies, like another person's phone)."""
    contexts = []

    def open_phone(javascript: bool = True):
        context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            java_script_enabled=javascript,
            locale="en-GB",
            timezone_id="Europe/London",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_phone
    for context in contexts:
        context.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = os.environ.get("CAREPLAN_E2E_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
