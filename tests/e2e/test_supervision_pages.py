"""A supervisor audits review dates on a phone: filters, opens a record (which the client then
sees in their access log), and reads the charts; another team's clients never appear."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from careplan.db.models import Document
from careplan.domain.local_time import service_today
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests import factories

from .checks import check_phone_page, expect, sign_in
from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser_only]


@pytest.fixture
def teams(db):
    north, south = factories.Circle(), factories.Circle()
    late = factories.ClientFactory(display_name="Morgan Late-Review")
    factories.CaseloadLinkFactory(client_id=late.id, key_worker_id=north.key_worker.id)
    overdue = factories.make_plan(north.key_worker, late)
    for who in (late, north.key_worker):
        signoff.sign(db, actor_for(who), overdue, 1, "signed", "", factories.PASSWORD)
    with db.write() as s:
        s.execute(
            sa.update(Document)
            .where(Document.id == overdue)
            .values(next_review_on=service_today() - timedelta(days=9))
        )
    factories.make_plan(north.key_worker, north.client)
    factories.make_plan(south.key_worker, south.client)
    return north, south, late, overdue


def test_a_supervisor_filters_opens_a_record_and_reads_the_charts(live_server, new_phone, teams):
    north, south, late, overdue = teams
    page = new_phone()
    sign_in(page, live_server, north.supervisor)
    page.goto(f"{live_server}/supervision")
    check_phone_page(page, "review dates")
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table.list")).not_to_contain_text(south.client.display_name)

    page.get_by_label("State").select_option(label="review overdue")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(late.display_name)
    expect(rows.first).to_contain_text("9")  # days overdue
    check_phone_page(page, "review dates, filtered")

    rows.first.get_by_role("link", name="Care plan").click()
    expect(page).to_have_url(f"{live_server}/documents/{overdue}")

    page.goto(f"{live_server}/supervision")
    page.get_by_role("link", name="Charts").click()
    check_phone_page(page, "charts")
    expect(page.locator("svg").first).to_be_visible()
    # Wider than the phone, the months' chart opens on the latest ones, at its right-hand end.
    frame = page.locator(".chart-frame").first
    page.wait_for_function("document.querySelector('.chart-frame').scrollLeft > 0")
    assert frame.evaluate("f => f.scrollLeft + f.clientWidth >= f.scrollWidth - 1")
    expect(page.locator("table").first).to_contain_text("%")
    expect(page.locator("body")).to_contain_text(north.key_worker.display_name)

    client = new_phone()
    sign_in(client, live_server, late)
    client.get_by_role("link", name="Who has looked at my records").click()
    check_phone_page(client, "access log")
    expect(client.locator("main")).to_contain_text(north.supervisor.display_name)


def test_the_charts_captions_are_whole_on_a_phone(live_server, new_phone, teams):
    """The months' chart opens scrolled to its latest months; its caption (what "none" means)
    does not scroll with it, so none of it starts out of sight."""
    north, *_ = teams
    page = new_phone()
    sign_in(page, live_server, north.supervisor)
    page.goto(f"{live_server}/supervision/charts")
    page.wait_for_function("document.querySelector('.latest-last').scrollLeft > 0")
    captions = page.locator("figure.chart figcaption")
    expect(captions).to_have_count(2)
    expect(captions.first).to_contain_text("“none”: no reviews were due that month.")
    # On a phone each says the drawing slides sideways (nothing else showed that it does).
    expect(captions.first).to_contain_text(
        "On a narrow screen, slide the chart sideways to see all of it: it opens at the latest "
        "months."
    )
    expect(captions.nth(1).locator(".scroll-hint")).to_be_visible()
    for caption in captions.all():
        # Brought up the screen without scrolling anything sideways, as a reader would.
        caption.evaluate("c => scrollTo(0, c.getBoundingClientRect().top + scrollY - 100)")
        box = caption.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        expect(caption).to_be_in_viewport(ratio=1)
