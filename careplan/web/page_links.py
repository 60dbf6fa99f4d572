"""`url_for` in the pages, remembered once built.

A page builds the same links on every request (the menu, the stylesheet, a link to each of
50 versions), and Werkzeug's building of one cost about 5 microseconds, as much as naming a
person. Outside a request, or with an option such as `_external`, a relative endpoint
(".name", which depends on the request's blueprint) or a value that cannot be a key, the link
is built as Flask would, every time.
"""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, has_request_context, request


def install(app: Flask) -> None:
    build = app.url_for
    if any(app.url_default_functions.values()):
        return  # links that take defaults from the request cannot be remembered

    # Keyed by the prefix the app is mounted under too: that is all of the request a
    # relative link depends on (no subdomains or host matching here).
    @lru_cache(maxsize=4096)
    def remembered(script_root: str, endpoint: str, values: tuple) -> str:
        return build(endpoint, **{name: value for name, _, value in values})

    def page_url_for(endpoint: str, **values) -> str:
        if not has_request_context() or endpoint[:1] == "." or any(n[:1] == "_" for n in values):
            return build(endpoint, **values)
        # In the order given, as the query string follows it; the type is part of the key
        # too: 1 and True are equal, their links are not.
        key = tuple((name, type(value), value) for name, value in values.items())
        try:
            return remembered(request.script_root, endpoint, key)
        except TypeError:  # a value that cannot be a key (a list, say)
            return build(endpoint, **values)

    app.jinja_env.globals["url_for"] = page_url_for
