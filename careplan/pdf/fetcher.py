"""The only way WeasyPrint may load anything: the app's own bundled stylesheet and fonts.

Every other URL (file://, http(s)://, data:, ftp:, relative paths, redirects) is refused without
being opened, and every request, allowed or not, is recorded so tests and logs can show what was
asked for.
"""

from __future__ import annotations

import mimetypes
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

from .model import FetchRecord

ASSET_DIR = Path(__file__).resolve().parent
STYLESHEET = ASSET_DIR / "pdf.css"
FONT_DIR = ASSET_DIR / "fonts"
FONT_SUFFIXES = {".ttf", ".otf", ".woff", ".woff2"}
MAX_LOGGED_URL = 300


class FetchRefused(PermissionError):
    """A resource outside the bundled assets was asked for; it was not opened."""


def bundled_assets() -> tuple[Path, ...]:
    fonts = sorted(p for p in FONT_DIR.iterdir() if p.suffix.lower() in FONT_SUFFIXES)
    return (STYLESHEET, *fonts)


@lru_cache(maxsize=1)
def _asset_bytes() -> dict[Path, bytes]:
    # Read once per process (the forkserver preloads this, so render processes share it).
    return {path.resolve(): path.read_bytes() for path in bundled_assets()}


def preload() -> None:
    _asset_bytes()


def _bundled_path(url: str) -> Path | None:
    """The bundled file a URL names, or None. Never opens anything."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    try:
        path = Path(url2pathname(unquote(parts.path))).resolve()
    except (OSError, ValueError, RuntimeError):
        return None
    return path if path in _asset_bytes() else None


class BundledAssetFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves bundled assets from memory and refuses the rest."""

    def __init__(self) -> None:
        # No protocols and no redirects, in case anything reached the parent class's opener.
        super().__init__(timeout=1, allowed_protocols=(), allow_redirects=False)
        self.log: list[FetchRecord] = []

    def fetch(self, url, headers=None):
        path = _bundled_path(url)
        self.log.append(FetchRecord(str(url)[:MAX_LOGGED_URL], path is not None))
        if path is None:
            raise FetchRefused(f"refused to fetch {str(url)[:80]!r}: not a bundled asset")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix.lower() in FONT_SUFFIXES:
            mime = "font/" + path.suffix.lower().lstrip(".")
        return URLFetcherResponse(path.as_uri(), _asset_bytes()[path], {"Content-Type": mime})

    def open(self, url, data=None, timeout=None):
        full_url = getattr(url, "full_url", url)
        return self.fetch(full_url)

    def __call__(self, url):
        return self.fetch(url)

    @property
    def refused(self) -> list[FetchRecord]:
        return [r for r in self.log if not r.allowed]
