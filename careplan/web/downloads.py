"""How every download is named to the browser: one Content-Disposition for PDFs, FHIR files
and the client's archive."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# Characters file systems refuse, and control characters.
_REFUSED = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def ascii_name(filename: str) -> str:
    """The name for clients that read only `filename`: dashes as "-" and accents taken off
    ("Zoë – version 2" is "Zoe - version 2"), not dropped with the spaces around them left
    doubled ("My records  Dee  2026-12-07.zip")."""
    plain = filename.replace("–", "-").replace("—", "-")
    plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
    return " ".join(_REFUSED.sub("", plain).split()) or "download"


def as_download(response, filename: str):
    """Content-Disposition as RFC 6266 has it: the real name, UTF-8 and percent-encoded, in
    `filename*` (RFC 8187), and an ASCII `filename` for clients without it. The header is then
    plain ASCII, as a WSGI server must send it: gunicorn cannot encode "–" and answers 500."""
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=ascii_name(filename),
        **{"filename*": "UTF-8''" + quote(_REFUSED.sub("", filename), safe="!#$&+-.^_`|~")},
    )
    return response
