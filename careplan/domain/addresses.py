"""Where the app's links point, at a host's root or under a sub-path such as
https://trust.example.org/careplan/.

The rule:

- A link the app keeps or passes around (a notification's, a reminder's, the page to go back
  to after signing in) is app-relative: "/documents/7", without the host or the sub-path, so
  what is stored stays right wherever the service is reached.
- Each place that shows or sends one adds, exactly once, with :func:`under`:
  on a page, in a redirect or in the API's answers, the sub-path the request came in under
  (Flask's `request.script_root`: gunicorn's SCRIPT_NAME, or a trusted proxy's
  X-Forwarded-Prefix; careplan.web.links); in anything read away from the app (e-mails,
  the calendar feed, PDFs, FHIR, the archive) CAREPLAN_PUBLIC_BASE_URL, the full address
  people reach, sub-path included (careplan.config).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def is_app_relative(path: str) -> bool:
    """A path within the app ("/documents/7?x=1"), never another host ("//x.org", "/\\x.org")
    or a scheme ("https:", "javascript:")."""
    return (
        path.startswith("/")
        and not path.startswith("//")
        and "\\" not in path
        and not any(ord(c) < 32 for c in path)
        and not urlsplit(path).netloc
    )


def under(base: str, path: str) -> str:
    """`path` (app-relative) where `base` says the app is: a sub-path ("/careplan"), nothing
    (the host's root) or a whole address ("https://trust.example.org/careplan"). A slash
    closing `base` is not doubled."""
    if not is_app_relative(path):
        raise ValueError(f"not a path within the app: {path!r}")
    return base.rstrip("/") + path


def within(prefix: str, path: str) -> str | None:
    """`path` as the app knows it, if it is one of the app's own addresses under `prefix`
    (the sub-path, or "" at the host's root): "/careplan/documents/7" -> "/documents/7".
    None for anything else: another host, or another application on the same host."""
    if not is_app_relative(path):
        return None
    prefix = prefix.rstrip("/")
    if not prefix:
        return path
    rest = path[len(prefix) :]
    if not path.startswith(prefix) or rest[:1] not in ("/", "?", ""):
        return None  # "/careplan-old/..." is another application, not this one's
    return rest if rest.startswith("/") else "/" + rest


_RECORDS = re.compile(r"/(clients|documents)/(\d+)(?=[/?#]|$)")


def record_in(path: str) -> tuple[str, int] | None:
    """The client's records an app-relative link leads into: ("clients", 4) for
    "/clients/4#handover", ("documents", 7) for "/documents/7/crisis-plan"; None for a link
    that is not about one client (the start page, one's own account)."""
    found = _RECORDS.match(path)
    return (found.group(1), int(found.group(2))) if found else None
