"""What a browser would send from the app's forms: the sign-in token, and the edit page's fields."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# The token every form of the app carries (the sign-in form's, before anything else).
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# What the page answering a save that came too late says (the acceptance tests check the
# page says it, so the load benchmark's count of conflicts cannot drift from the page).
CONFLICT_PAGE = "A newer version was saved while you were editing"


class DocumentForm(HTMLParser):
    """The fields a browser would send from the edit page's form, unchanged."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self._in, self._done = False, False
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._done:
            return
        if tag == "form" and "document-form" in (a.get("class") or ""):
            self._in = True
        if not self._in:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value") or "", "selected" in a))

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if not self._in or self._done:
            return
        if tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, "".join(self._text)))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = [v for v, s in self._options if s] or [v for v, _ in self._options[:1]]
            self.fields.extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "form":
            self._in, self._done = False, True
