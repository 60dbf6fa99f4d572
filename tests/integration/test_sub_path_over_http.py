"""The app under a sub-path over real HTTP: gunicorn with SCRIPT_NAME=/careplan, as a proxy
passing https://trust.example.org/careplan/... on whole reaches it. A key worker and a client
go through every page they can reach: each of the app's links stays under /careplan and each
page answers; a comment saved through its form under the prefix reaches the client as a
message whose link, followed, opens the plan; and marking it read comes back under it."""

from __future__ import annotations

import html
import re
from urllib.error import HTTPError
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from careplan.db.models import Comment, Notification
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_agreement, make_plan
from tests.gunicorn import Browser, landed

pytestmark = pytest.mark.slow

PREFIX = "/careplan"
PUBLIC = "https://trust.example.org/careplan"
FOLLOWED = re.compile(r'(?:href|src)="(/[^"#]*)')
POSTED = re.compile(r'(?:action|data-[a-z-]+-url)="([^"#]*)')
# The sign-out form is not followed (it is a POST), and the calendar's webcal:// address is
# the public one (checked below).
PAGES_EACH = 120


@pytest.fixture
def gunicorn_env() -> dict:
    return {"SCRIPT_NAME": PREFIX, "CAREPLAN_PUBLIC_BASE_URL": PUBLIC}


def _crawl(browser: Browser, start: str) -> tuple[set[str], list]:
    """Every page reachable from `start` by the app's own links (up to PAGES_EACH): the
    pages seen, and each problem as (page, what)."""
    seen, todo, problems = set(), [start], []
    while todo and len(seen) < PAGES_EACH:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            response = browser.opener.open(browser.base.removesuffix(PREFIX) + path, timeout=120)
            body = response.read()
        except HTTPError as err:
            problems.append((path, err.code))
            continue
        if "html" not in response.headers.get("Content-Type", ""):
            continue
        page = body.decode()
        for link in FOLLOWED.findall(page):
            link = html.unescape(link)
            if not link.startswith(PREFIX + "/"):
                problems.append((path, f"link not under {PREFIX}: {link}"))
            elif link not in seen:
                todo.append(link)
        for target in POSTED.findall(page):
            if not html.unescape(target).startswith(PREFIX + "/"):
                problems.append((path, f"form or script address not under {PREFIX}: {target}"))
    return seen, problems


def test_a_key_worker_and_a_client_stay_under_the_sub_path(app, db, gunicorn_url):
    circle = Circle()
    plan = make_plan(circle.key_worker, circle.client, versions=2)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), plan, 2, "signed", "", PASSWORD)
    make_agreement(circle.key_worker, circle.client)
    base = gunicorn_url + PREFIX

    worker = Browser(base)
    worker.sign_in(circle.key_worker)
    # A state change through a form under the prefix: the key worker comments on the plan.
    page = worker.get(f"/documents/{plan}").read().decode()
    assert f'action="{PREFIX}/documents/{plan}/comments' in page
    section = re.search(r'name="section_key" value="([^"]+)"', page).group(1)
    comment = {"section_key": section, "version_number": "2", "body": "Shall we add the gym?"}
    path, page = landed(worker.post(f"/documents/{plan}/comments", comment, page))
    assert path == f"{PREFIX}/documents/{plan}" and "Shall we add the gym?" in page
    with db.read() as s:
        assert s.scalar(sa.select(Comment.body)) == "Shall we add the gym?"

    seen, problems = _crawl(worker, f"{PREFIX}/")
    assert problems == []
    assert {f"{PREFIX}/documents/{plan}/history", f"{PREFIX}/me/notifications"} <= seen

    client = Browser(base)
    client.sign_in(circle.client)
    page = client.get("/me/notifications").read().decode()
    assert f'href="{PREFIX}/documents/{plan}#comments-{section}"' in page
    path, _ = landed(client.get(f"/documents/{plan}"))
    assert path == f"{PREFIX}/documents/{plan}"
    path, page = landed(client.post("/me/notifications/read", {}, page))
    assert path == f"{PREFIX}/me/notifications"
    with db.read() as s:
        unread = sa.select(Notification.id).where(
            Notification.user_id == circle.client.id, Notification.read_at.is_(None)
        )
        assert s.scalars(unread).all() == []

    seen, problems = _crawl(client, f"{PREFIX}/")
    assert problems == []
    assert f"{PREFIX}/documents/{plan}" in seen and len(seen) > 10

    # The calendar address is the public one, its sub-path once.
    page = client.get("/me/reminders").read().decode()
    path, page = landed(client.post("/me/calendar", {"action": "new"}, page))
    assert f"{PUBLIC}/calendar.ics?key=" in html.unescape(page)
    assert f"{PREFIX}{PREFIX}" not in page
    # Signing out comes back to the sign-in page under the prefix, and asking for a page then
    # signs in to it.
    path, page = landed(client.post("/logout", {}, page))
    assert path == f"{PREFIX}/login"
    asked = client.get(f"/documents/{plan}")
    assert urlsplit(asked.url).path == f"{PREFIX}/login"
    assert f"next=%2Fcareplan%2Fdocuments%2F{plan}" in asked.url
