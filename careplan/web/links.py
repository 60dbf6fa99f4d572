"""The app's own links where the request says it is reached (careplan.domain.addresses):
under the sub-path it came in under, or CAREPLAN_PUBLIC_BASE_URL for what is read away from
the app."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.routing import MapAdapter

from ..domain.addresses import under, within


def on_site(path: str) -> str:
    """An app-relative link ("/documents/7", as notifications keep it) as the browser follows
    it: under the request's sub-path."""
    return under(request.script_root, path)


def back_on_site(target: str | None) -> str | None:
    """`next`, the page to return to after signing in, only if it is one of this app's pages
    under the request's sub-path: never another host, nor another application on this host."""
    if not target:
        return None
    path = within(request.script_root, target)
    return None if path is None else on_site(path)


def app_paths() -> MapAdapter:
    """Builds the app-relative path of an endpoint, in a request or out of one, for links
    that go out with CAREPLAN_PUBLIC_BASE_URL in front (url_for would add the request's
    sub-path, which that address already holds)."""
    return current_app.url_map.bind("localhost", script_name="/")


def public_url(config, path: str) -> str:
    """An app-relative path as people reach it from an e-mail or a calendar."""
    return under(config["PUBLIC_BASE_URL"], path)


class SessionUnderSubPath(SecureCookieSessionInterface):
    """The session cookie goes only to this app's addresses: under a sub-path, not to every
    other application the service runs on the same host."""

    def get_cookie_path(self, app: Flask) -> str:
        return app.config.get("SESSION_COOKIE_PATH") or request.script_root or "/"


def _where(prefix: str) -> str:
    return f"under {prefix}" if prefix else "at the host's root"


def warn_of_another_sub_path() -> None:
    """E-mails, the calendar feed and PDFs link to CAREPLAN_PUBLIC_BASE_URL, pages to where
    the request came in: when the two sub-paths differ, every link sent away from the app
    misses it, and nothing else would say so. Logged once per process for each pair."""
    here = request.script_root.rstrip("/")
    public = current_app.config["PUBLIC_BASE_URL"]
    seen = current_app.extensions["sub_paths_seen"]
    if (here, public) in seen:
        return
    seen.add((here, public))
    there = urlsplit(public).path.rstrip("/")
    if here != there:
        current_app.logger.warning(
            "Requests arrive %s but CAREPLAN_PUBLIC_BASE_URL (%s) is %s: links in e-mails, "
            "the calendar feed and PDFs will not reach the app. Set it to the address people "
            "use, sub-path included.",
            _where(here),
            public,
            _where(there),
        )


def install(app: Flask) -> None:
    app.session_interface = SessionUnderSubPath()
    app.add_template_filter(on_site)
    app.extensions["sub_paths_seen"] = set()
    app.before_request(warn_of_another_sub_path)
