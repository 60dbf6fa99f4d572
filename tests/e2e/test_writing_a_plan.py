"""A key worker and their client write a care plan together, each on their own phone."""

from __future__ import annotations

import re

import pytest

from tests import factories

from .checks import Page, check_phone_page, expect, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIRST_WORDS = "I am staying at my sister's place and it is crowded."
SECOND_WORDS = "I am staying at my sister's place and it is quiet now."


@pytest.fixture
def people(app):
    client = factories.ClientFactory(display_name="Alex Morgan")
    worker = factories.KeyWorkerFactory(display_name="Kim Reid")
    factories.CaseloadLinkFactory(client_id=client.id, key_worker_id=worker.id)
    return client, worker


def save(page: Page, note: str) -> None:
    page.get_by_label("What did you change? (optional)").fill(note)
    page.get_by_role("button", name="Save a new version").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_key_worker_and_client_write_a_plan_together(live_server, new_phone, people, javascript):
    client, worker = people

    # 1. The key worker starts the plan on their phone.
    kim = new_phone(javascript=javascript)
    if not javascript:  # make sure scripts really are off in this browser
        kim.set_content("<p>off</p><script>document.querySelector('p').textContent='on'</script>")
        expect(kim.locator("p")).to_have_text("off")
    sign_in(kim, live_server, worker)
    expect(kim.get_by_role("heading", level=1)).to_have_text("My caseload")
    check_phone_page(kim, "caseload")
    kim.get_by_role("link", name="Alex Morgan").click()
    expect(kim.get_by_role("heading", level=1)).to_have_text("Alex Morgan")
    check_phone_page(kim, "client records")
    kim.get_by_role("button", name="Start a new care plan").click()

    expect(kim.get_by_role("heading", level=1)).to_contain_text("Care plan")
    check_phone_page(kim, "edit (new plan)")
    housing = kim.get_by_label("Housing", exact=True)
    if javascript:
        # While she writes, a stigmatising word gets a gentle suggestion beside the field,
        # checked by the server (the editor's script posts it with the form's CSRF token).
        housing.press_sequentially("My brother calls me an addict.")
        hint = kim.locator("#" + housing.get_attribute("id") + "-wording")
        expect(hint).to_have_text(
            "“addict” can feel stigmatising to some people. You could write “person who uses "
            "drugs”. Describe the person first, not the drug use."
        )
        expect(hint).to_have_attribute("role", "status")  # read out by a screen reader
        check_phone_page(kim, "edit (wording hint)")
    housing.fill(FIRST_WORDS)
    goal = kim.get_by_role("group", name="A new goal")
    goal.get_by_label("What do you want to achieve?").fill("Get my own flat")
    step = goal.get_by_role("group", name="Step").first
    step.get_by_label("What is the step?").fill("Ring the council housing team")
    # Kim chooses Alex, named as such: the form speaks to its reader, without role labels.
    step.get_by_label("Who will do it?").select_option(label="Alex Morgan")
    step.get_by_label("By when?").fill("2027-03-01")
    save(kim, "First draft from our meeting")

    expect(kim.get_by_role("status")).to_have_text("Saved as version 1.")
    check_phone_page(kim, "plan")
    expect(kim.get_by_text(FIRST_WORDS)).to_be_visible()
    expect(kim.get_by_role("heading", name="Goal 1: Get my own flat")).to_be_visible()
    expect(kim.get_by_text("Ring the council housing team")).to_be_visible()
    expect(kim.get_by_text("by 1 March 2027")).to_be_visible()  # a step reads as a row

    # 2. The client, on their own phone, changes their words and sees what changed.
    alex = new_phone(javascript=javascript)
    sign_in(alex, live_server, client)
    expect(alex.get_by_role("heading", level=1)).to_have_text("My plans")
    # Kim's version is waiting for Alex: the start page says so first.
    expect(alex.get_by_role("link", name="Version 1 of your care plan is waiting")).to_be_visible()
    alex.get_by_role("link", name="Care plan", exact=True).click()
    expect(alex.get_by_text(FIRST_WORDS)).to_be_visible()
    alex.get_by_role("navigation", name="This document").get_by_role("link", name="Edit").click()
    check_phone_page(alex, "edit")
    housing = alex.get_by_label("Housing", exact=True)
    expect(housing).to_have_value(FIRST_WORDS)
    housing.fill(SECOND_WORDS)
    save(alex, "Things are better at home")

    expect(alex.get_by_role("status")).to_have_text("Saved as version 2.")
    expect(alex.get_by_text(SECOND_WORDS)).to_be_visible()
    # The page speaks to Alex: the part they changed was last changed by "you".
    expect(alex.get_by_text(re.compile(r"Last changed by you"))).to_be_visible()

    alex.get_by_role("link", name="History").click()
    check_phone_page(alex, "history", strict_labels=False)
    alex.get_by_role("button", name="Show what changed").click()
    expect(alex.get_by_role("heading", level=2)).to_have_text(
        "What changed from version 1 to version 2"
    )
    check_phone_page(alex, "compare")
    change = alex.locator("li.change").filter(has_text="Housing")
    expect(change.locator("del")).to_have_text(re.compile(r"^\s*crowded\.\s*$"))
    expect(change.locator("ins")).to_have_text(re.compile(r"^\s*quiet now\.\s*$"))
    expect(change.locator(".diff")).to_contain_text("I am staying at my sister's place")
    for mark in ("ins", "del"):
        background = change.locator(mark).evaluate("el => getComputedStyle(el).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent"), f"{mark} not highlighted"

    # The key worker sees the client's version too: one shared record.
    kim.reload()
    expect(kim.get_by_text(SECOND_WORDS)).to_be_visible()
