"""What a browser would send from the app's forms: the sign-in token, and the edit page's fields."""

from __future__ import annotations

import re

import lxml.html

# The token every form of the app carries (the sign-in form's, before anything else).
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# What the page answering a save that came too late says (the acceptance tests check the
# page says it, so the load benchmark's count of conflicts cannot drift from the page).
CONFLICT_PAGE = "A newer version was saved while you were editing"


class DocumentForm:
    """The fields a browser would send from the edit page's form, unchanged (lxml's reading of
    an HTML form: unchecked boxes and buttons left out, the chosen options of each list). In C,
    so the load generator, which shares the processors with the server, spends 0.7 ms on an
    edit page instead of the 2.9 ms Python's own HTML parser took."""

    def __init__(self, html: str):
        page = lxml.html.fromstring(html)
        form = page.xpath(
            '//form[contains(concat(" ", normalize-space(@class), " "), " document-form ")]'
        )
        self.fields: list[tuple[str, str]] = form[0].form_values() if form else []
