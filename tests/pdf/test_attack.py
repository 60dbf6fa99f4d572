"""Attack suite: hostile text in every free-text field must be printed literally, fetch nothing,
run nothing, and render within its bounds. The renderer's second line of defence (the URL
fetcher) is also tested on its own, with the hostile HTML given to WeasyPrint unescaped."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

import pytest
from pypdf import PdfReader

from careplan.pdf import RenderFailed, RenderLimits, Section, SignatureLine, engine, render
from careplan.pdf.fetcher import ASSET_DIR
from careplan.pdf.sandbox import run_bounded

from .support import page_texts, printable, running, squash

LIMITS = RenderLimits(timeout_seconds=30, memory_bytes=1024 * 1024 * 1024)


class Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        body = b"body { display: none }" if self.path.endswith(".css") else b"GIF89a"
        self.send_response(200)
        self.send_header("Content-Type", "text/css" if self.path.endswith(".css") else "image/gif")
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    Recorder.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", Recorder.hits
    httpd.shutdown()
    httpd.server_close()


def payloads(base: str) -> list[str]:
    return [
        '<img src="file:///etc/passwd">',
        '<link rel=stylesheet href="file:///etc/passwd">',
        '<link rel=attachment href="file:///etc/passwd">',
        "http://169.254.169.254/latest/meta-data/",
        '<img src="http://169.254.169.254/latest/meta-data/iam">',
        f"@import url({base}/import.css);",
        f"<style>@import url({base}/style-import.css);</style>",
        f'<img src="{base}/redirect">',
        f'<link rel=stylesheet href="{base}/redirect.css">',
        '<img src="/dev/urandom"><img src="file:///dev/urandom">',
        '<div style="width:99999999999px;font-size:99999999px;margin:-9999999px">huge</div>',
        "<script>alert(1)</script>",
        "<style>*{display:none}</style>",
        f'<svg><image href="{base}/svg.png"/></svg><object data="file:///etc/passwd"></object>',
        f'<iframe src="{base}/frame"></iframe><base href="{base}/">',
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
        "{{ 7*7 }} {% raw %} ]]> <!-- </p></section></body></html><h1>Injected</h1>",
    ]


@pytest.fixture(scope="module")
def attack(server):
    base, hits = server
    text = "\n".join(payloads(base))
    at = datetime(2026, 11, 22, 14, 5, tzinfo=UTC)
    doc = printable(
        client_name=text,
        sections=[Section(text, [(text, text), ("", text)]), Section("Plain", [("Also", text)])],
        signatures=[
            SignatureLine(text, text, at, "signed with comment", text, text),
            SignatureLine(text, "Key worker", at, "declined", text),
        ],
        redisclosure_notice=text,
        verify_url=text,
    )
    started = time.monotonic()
    result = render(doc, LIMITS)
    return doc, result, time.monotonic() - started, hits


def test_nothing_is_fetched(attack):
    _, result, _, hits = attack
    assert hits == []
    assert result.refused_fetches == ()  # escaped text never even asks
    assert all(r.allowed and r.url.startswith(ASSET_DIR.as_uri()) for r in result.fetches)
    assert result.warnings == ()


def test_every_payload_is_printed_literally_in_every_field(attack, server):
    _, result, _, _ = attack
    text = squash("".join(page_texts(result.pdf)))
    for payload in payloads(server[0]):
        # Client name, section title, field label and text (twice), signer name, role and
        # method, two comments and the notice (on every page) and the verify address.
        assert text.count(squash(payload)) >= 10, payload
    assert "root:x:0:0" not in text


def test_nothing_is_embedded_or_executed(attack):
    _, result, _, _ = attack
    reader = PdfReader(BytesIO(result.pdf))
    assert reader.attachments == {}
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject", {})
        assert not any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values())
    raw = result.pdf
    for marker in (b"/JavaScript", b"/JS ", b"/EmbeddedFile", b"/Launch", b"/OpenAction"):
        assert marker not in raw
    # The only link is none at all: a verify address that is not http(s) is printed, not linked.
    assert not re.search(rb"/URI\s*\(", raw)


def test_the_attack_render_ends_within_its_bounds(attack):
    _, result, elapsed, _ = attack
    assert elapsed < LIMITS.timeout_seconds
    assert result.seconds < LIMITS.timeout_seconds


@pytest.mark.slow
def test_an_enormous_word_wraps_and_renders_within_bounds():
    word = "START" + "W" * 200_000 + "END"  # W: the widest letter, so the most lines
    doc = printable(sections=[Section("Long", [("Words", word)])])
    limits = RenderLimits()  # the default bounds (60 s): this is about 160 pages
    result = render(doc, limits)
    assert result.seconds < limits.timeout_seconds
    reader = PdfReader(BytesIO(result.pdf))
    assert len(reader.pages) > 20, "the word wraps onto many pages instead of running off one"
    assert "START" in reader.pages[1].extract_text()  # page 1 is the cover
    tail = "".join(reader.pages[i].extract_text() for i in range(-3, 0))
    assert "END" in squash(tail)


def test_unescaped_hostile_html_still_fetches_nothing(server):
    """Defence in depth: even if hostile markup reached WeasyPrint, the fetcher refuses it."""
    base, hits = server
    hits.clear()
    html = "<!DOCTYPE html><html><head>{}</head><body>{}</body></html>".format(
        f'<link rel=stylesheet href="{base}/head.css"><link rel=attachment href="file:///etc/passwd">'
        f"<style>@import url({base}/import.css); body {{ background: url({base}/bg.gif) }}"
        f"@font-face {{ font-family: x; src: url({base}/font.ttf) }} p {{ font-family: x }}</style>",
        # Without the payload that hides everything, so that every image would be laid out.
        # Without the payloads that hide everything (so every image would be laid out) or
        # that crash WeasyPrint's layout when given to it as real CSS.
        "".join(p for p in payloads(base) if "display:none" not in p and "huge" not in p)
        + "<p>text</p>",
    )
    result = run_bounded(engine.html_to_pdf, (html,), LIMITS)
    assert hits == []
    refused = [r.url for r in result.fetches if not r.allowed]
    allowed = [r.url for r in result.fetches if r.allowed]
    assert all(url.startswith(ASSET_DIR.as_uri()) for url in allowed)
    for expected in (
        f"{base}/head.css",
        "file:///etc/passwd",
        f"{base}/import.css",
        f"{base}/redirect",
        "file:///dev/urandom",
        "http://169.254.169.254/latest/meta-data/iam",
    ):
        assert expected in refused, expected
    reader = PdfReader(BytesIO(result.pdf))
    assert reader.attachments == {}
    assert "root:x:0:0" not in "".join(p.extract_text() for p in reader.pages)


def test_a_render_over_its_time_limit_is_killed(agreed_doc):
    started = time.monotonic()
    with pytest.raises(RenderFailed, match=r"took longer than 0\.05 s and was stopped") as info:
        render(agreed_doc, RenderLimits(timeout_seconds=0.05))
    assert time.monotonic() - started < 5
    pid = int(re.search(r"process (\d+)", str(info.value)).group(1))
    assert not running(pid)


def test_a_render_over_its_memory_limit_fails_cleanly(agreed_doc):
    with pytest.raises(RenderFailed, match="memory"):
        render(agreed_doc, RenderLimits(memory_bytes=32 * 1024 * 1024))


def test_too_much_text_is_refused_before_rendering(agreed_doc):
    started = time.monotonic()
    with pytest.raises(RenderFailed, match="more than the limit"):
        render(agreed_doc, RenderLimits(max_text_chars=100))
    assert time.monotonic() - started < 1
