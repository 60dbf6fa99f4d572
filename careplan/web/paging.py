"""A page number in an address that is not one of the list's.

Every paged page shows only pages there are: an address whose page= is no page number
("abc", 0, -3) is sent on to the first page, one past the end to the last (the service
reading the list says which that is), with a word on why. So the address, the pager and
what is shown agree, and a link copied from there is to the page that was seen.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import flash, redirect, request

from ..domain.paging import page_asked, page_note


def asked_page() -> int:
    return page_asked(request.args.get("page"))


def to_first_page():
    """Page 1 is always there: an address whose page= is no page number ("abc", 0, -3) is
    sent on to it before the list is read, so a read that is logged is logged once, for
    the page that is seen."""
    return to_page_shown(1) if asked_page() == 1 else None


def to_page_shown(shown: int):
    """A redirect to this address with page=`shown`, if it asked for another; else None
    ("02" names page 2 as well as "2" does)."""
    note = page_note(request.args.get("page"), shown)
    if note is None:  # it names the page shown
        return None
    flash(note)
    query = [(name, value) for name, value in request.args.items(multi=True) if name != "page"]
    query.append(("page", str(shown)))
    # Not 301: the last page today is not the last page next month.
    return redirect(f"{request.script_root}{request.path}?{urlencode(query)}")
