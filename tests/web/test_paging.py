"""Every paged page answers a page number that is not one of its list's the same way: it sends
the browser on to the nearest page there is (the first for "abc", 0 or -3, the last for one
past the end), keeping the rest of the address, and says why there."""

from __future__ import annotations

from html import unescape

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent
from careplan.domain.paging import FROM_THE_FIRST, PAST_THE_END
from careplan.services import admin_accounts, supervision
from tests.conftest import login
from tests.factories import CaseloadLinkFactory, Circle, ClientFactory, make_plan
from tests.gunicorn import Browser, landed


@pytest.fixture
def circle(app):
    return Circle()


def _pages(circle, doc) -> dict:
    """Each paged page: who opens it, its address with a filter, and the filter's text."""
    return {
        "accounts": (circle.admin, "/admin/users?role=client", "role=client"),
        "history": (circle.supervisor, f"/documents/{doc}/history", ""),
        "dashboard": (circle.supervisor, "/supervision?sort=client", "sort=client"),
    }


def _text(response) -> str:
    return unescape(" ".join(response.get_data(as_text=True).split()))


@pytest.fixture
def three_pages(circle, monkeypatch):
    """Five clients of the circle's key worker, each with a plan: three pages of two."""
    for _ in range(4):
        person = ClientFactory()
        CaseloadLinkFactory(client_id=person.id, key_worker_id=circle.key_worker.id)
        make_plan(circle.key_worker, person)
    monkeypatch.setattr(admin_accounts, "PAGE_SIZE", 2)
    monkeypatch.setattr(supervision, "PAGE_SIZE", 2)
    return make_plan(circle.key_worker, circle.client, versions=2)


@pytest.mark.parametrize("page", ["accounts", "history", "dashboard"])
@pytest.mark.parametrize("raw", ["0", "-3", "abc", "1.5", "²"])
def test_a_page_number_that_is_none_sends_the_browser_to_the_first_page(
    app, circle, three_pages, page, raw
):
    who, address, kept = _pages(circle, three_pages)[page]
    web = login(app.test_client(), who)
    joiner = "&" if "?" in address else "?"
    response = web.get(f"{address}{joiner}page={raw}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{address}{joiner}page=1"
    shown = web.get(response.headers["Location"])
    assert shown.status_code == 200 and FROM_THE_FIRST in _text(shown)
    assert kept in response.headers["Location"]


@pytest.mark.parametrize("page, last", [("accounts", 3), ("history", 1), ("dashboard", 3)])
@pytest.mark.parametrize("raw", ["4", "9", "2147483647", "99999999999999999999"])
def test_a_page_past_the_end_sends_the_browser_to_the_last_page(
    app, circle, three_pages, page, last, raw
):
    who, address, _ = _pages(circle, three_pages)[page]
    web = login(app.test_client(), who)
    joiner = "&" if "?" in address else "?"
    response = web.get(f"{address}{joiner}page={raw}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{address}{joiner}page={last}"
    shown = web.get(response.headers["Location"])
    words = _text(shown)
    assert shown.status_code == 200 and PAST_THE_END in words
    if last > 1:
        assert "Previous page" in words and "Next page" not in words


@pytest.mark.parametrize("page", ["accounts", "history", "dashboard"])
def test_a_page_there_is_is_shown_where_it_was_asked_for(app, circle, three_pages, page):
    who, address, _ = _pages(circle, three_pages)[page]
    web = login(app.test_client(), who)
    joiner = "&" if "?" in address else "?"
    for raw in ("", "1", "01"):
        response = web.get(f"{address}{joiner}page={raw}")
        assert response.status_code == 200, raw
        words = _text(response)
        assert FROM_THE_FIRST not in words and PAST_THE_END not in words
    if page != "history":
        second = web.get(f"{address}{joiner}page=2")
        assert second.status_code == 200 and "Previous page" in _text(second)


def _history_reads(db, doc) -> int:
    with db.read() as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "read", AuditEvent.object_id == doc)
        )


def test_a_history_sent_on_to_another_page_is_logged_as_read_once(app, db, circle):
    """The client's access log holds the page their supervisor saw, not the one asked for."""
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    web = login(app.test_client(), circle.supervisor)
    for raw in ("abc", "0", "7"):
        before = _history_reads(db, doc)
        shown = web.get(f"/documents/{doc}/history?page={raw}", follow_redirects=True)
        assert shown.status_code == 200 and shown.request.args["page"] == "1"
        assert _history_reads(db, doc) == before + 1, raw


def test_over_http_a_page_past_the_end_lands_on_the_last(app, circle, gunicorn_url):
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    browser = Browser(gunicorn_url)
    browser.sign_in(circle.supervisor)
    response = browser.get(f"/documents/{doc}/history?page=3")
    path, page = landed(response)
    assert path == f"/documents/{doc}/history" and response.url.endswith("?page=1")
    assert PAST_THE_END in unescape(page)
    response = browser.get("/supervision?sort=client&page=abc")
    path, page = landed(response)
    assert path == "/supervision" and response.url.endswith("?sort=client&page=1")
    assert FROM_THE_FIRST in unescape(page)
