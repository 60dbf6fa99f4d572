"""How every download is named to the browser: one Content-Disposition for PDFs, FHIR files
and the client's archive."""

from __future__ import annotations

from urllib.parse import quote

from ..files import safe_file_name


def as_download(response, filename: str):
    """Content-Disposition as RFC 6266 has it: the real name, UTF-8 and percent-encoded, in
    `filename*` (RFC 8187), and an ASCII `filename` for clients without it. The header is then
    plain ASCII, as a WSGI server must send it: gunicorn cannot encode "–" and answers 500."""
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=safe_file_name(filename, ascii_only=True) or "download",
        **{"filename*": "UTF-8''" + quote(safe_file_name(filename), safe="!#$&+-.^_`|~")},
    )
    return response
