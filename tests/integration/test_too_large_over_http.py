"""A form too large for the service, sent to gunicorn as a browser sends it: the whole body
goes out before the answer is read. The sender must get the service's page saying what
happened, not a reset connection."""

from __future__ import annotations

from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest

from careplan.web.request_checks import DRAINED_AT_MOST

pytestmark = pytest.mark.slow


def _post_all_then_read(base: str, path: str, size: int, content_type: str) -> tuple[int, str]:
    """Sends every byte of a body of `size` bytes, then reads the answer, as a browser posting
    a form does; a reset connection fails the test with the error it gave."""
    parts = urlsplit(base)
    conn = HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        chunk = b"x" * (64 * 1024)
        sent = 0
        while sent < size:
            piece = chunk[: size - sent]
            conn.send(piece)
            sent += len(piece)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "content_type", "words"),
    [
        ("/login", "application/x-www-form-urlencoded", "more than this service takes at once"),
        ("/api/v1/clients", "application/json", "The request is too large."),
    ],
)
def test_a_body_too_large_is_read_and_answered_with_a_page_saying_so(
    gunicorn_url, path, content_type, words
):
    # Several times what the loopback's buffers hold: closed unread, this reset the
    # connection while the body was still being sent.
    size = 12 * 1024 * 1024
    assert size <= DRAINED_AT_MOST
    status, body = _post_all_then_read(gunicorn_url, path, size, content_type)
    assert status == 413
    assert words in body
