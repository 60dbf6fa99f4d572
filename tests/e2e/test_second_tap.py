"""A second tap on a slow phone sends nothing more (careplan/static/forms.js): the form is on
its way, and the person is not answered "You have already signed" after a signature that went
through."""

from __future__ import annotations

import pytest

from tests import factories

from .test_no_lost_work import _client_with_a_plan, _client_worker_and_plan, _slow_network

pytestmark = pytest.mark.e2e


def _posts_to(phone, ending: str) -> list[str]:
    sent: list[str] = []
    phone.on(
        "request",
        lambda r: sent.append(r.url) if r.method == "POST" and r.url.endswith(ending) else None,
    )
    return sent


def _tap_twice(phone, button) -> None:
    """Two taps 0.3 s apart where the button is, as a finger does: the second lands while the
    first's request is still on its way (Playwright's own click would wait for it)."""
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    phone.mouse.click(x, y)
    phone.wait_for_timeout(300)
    phone.mouse.click(x, y)


def test_a_second_tap_while_a_comment_is_on_its_way_sends_nothing(app, db, live_server, new_phone):
    phone, doc, _ = _client_worker_and_plan(new_phone, live_server)
    phone.goto(f"{live_server}/documents/{doc}")
    sent = _posts_to(phone, f"/documents/{doc}/comments")
    details = phone.locator("details", has_text="Comment on").first
    details.locator("summary").click()
    details.locator("textarea").fill("Mondays suit me.")
    slow = _slow_network(phone, 1500)
    _tap_twice(phone, details.locator("button[type=submit]"))
    phone.wait_for_url(f"**/documents/{doc}#comments-*", timeout=15000)
    slow.detach()
    assert len(sent) == 1, sent
    assert (
        "Your comment was added. Your key worker, their team's supervisors and any advocate you "
        "choose can read it."
    ) in phone.content()


def test_a_second_tap_on_confirm_signs_once_and_says_signed(app, db, live_server, new_phone):
    phone, doc = _client_with_a_plan(new_phone, live_server)
    phone.goto(f"{live_server}/documents/{doc}")
    sent = _posts_to(phone, f"/documents/{doc}/versions/1/sign")
    form = phone.locator("form.sign-form")
    form.locator("input[name=outcome][value=signed]").check()
    form.locator("input[name=password]").fill(factories.PASSWORD)
    slow = _slow_network(phone, 1500)
    _tap_twice(phone, form.locator("button[type=submit]"))
    phone.wait_for_url(f"**/documents/{doc}#sign-off", timeout=15000)
    slow.detach()
    assert len(sent) == 1, sent
    page = phone.content()
    assert "You signed version 1." in page and "already" not in page
