"""Every page fits a phone screen, with long real-world text, and every control is labelled."""

from __future__ import annotations

import pytest

from careplan.services import documents, drafts, signoff
from careplan.services.accounts import actor_for
from tests import factories

from .checks import check_phone_page, expect, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser_only]

LONG_LINK = "https://www.example.org/housing/apply-for-social-housing-register/step-by-step-guide"
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis-and-more-without-any-spaces"
# A preferred name is one word of up to 100 letters; a name in the care team has no limit that
# keeps it short. Both once widened every page (the header) or the edit form (its legends).
LONG_PREFERRED_NAME = "Alexandrina" * 8  # 88 letters, no space
LONG_TEAM_NAME = "Dr " + "Z" * 150


@pytest.fixture
def plan(db):
    """A plan with two versions full of the long, unbroken text people really type: the first
    agreed, the second a draft."""
    client = factories.ClientFactory(
        display_name="Alexandra Montgomery-Fitzwilliam",
        email="alexandra.montgomery@example.org",
        preferred_name=LONG_PREFERRED_NAME,
    )
    worker = factories.KeyWorkerFactory(display_name="Kim Reid")
    factories.CaseloadLinkFactory(client_id=client.id, key_worker_id=worker.id)
    content = factories.plan_content(
        domains={
            "housing": {"own_words": f"The council said to read {LONG_LINK} first."},
            "money": {"own_words": f"My reference is {LONG_WORD}."},
        },
        goals=[
            {
                "title": "Find a flat near my daughter's school",
                "steps": [
                    {
                        "text": f"Fill in the form at {LONG_LINK}",
                        "owner": {"kind": "other", "name": "Citizens Advice Bureau"},
                        "due": "2027-01-15",
                    }
                ],
            }
        ],
        care_team=[
            {"name": "Dr Patel", "role": "GP", "what_they_do": f"Writes {LONG_WORD}"},
            {"name": LONG_TEAM_NAME, "role": "Pharmacist"},
        ],
    )
    kim, alex = actor_for(worker), actor_for(client)
    doc_id = documents.create_document(db, kim, client.id)
    documents.save_version(db, kim, doc_id, 0, content, LONG_LINK)
    # Version 1 agreed, version 2 a draft: the plan page shows the two side by side, and
    # Kim's words that Alex changed beside Alex's.
    for signer in (alex, kim):
        signoff.sign(db, signer, doc_id, 1, "signed", "", factories.PASSWORD)
    content = documents.open_document(db, alex, doc_id).content
    content["domains"]["housing"]["own_words"] = f"I rang them. {LONG_LINK} was no help."
    documents.save_version(db, alex, doc_id, 1, content, LONG_WORD)
    return client, worker, doc_id


def test_pages_fit_a_phone_and_every_control_is_labelled(
    live_server, new_phone, plan, screenshots, db
):
    client, worker, doc_id = plan
    page = new_phone()
    page.goto(f"{live_server}/login")
    page.screenshot(path=screenshots / "login.png")
    sign_in(page, live_server, client)  # checks the login page on the way
    check_phone_page(page, "my plans")
    page.screenshot(path=screenshots / "my-plans.png")

    pages = {
        "plan": f"/documents/{doc_id}",
        "older version": f"/documents/{doc_id}/versions/1",
        "edit": f"/documents/{doc_id}/edit",
        "history": f"/documents/{doc_id}/history",
        "compare": f"/documents/{doc_id}/compare?older=1&newer=2",
    }
    for name, path in pages.items():
        page.goto(live_server + path)
        check_phone_page(page, name)
        if name == "history":
            check_compare_targets(page)
        file_name = name.replace(" ", "-")
        page.screenshot(path=screenshots / f"{file_name}.png")
        if name == "plan":  # with its widest parts open
            expect(
                page.get_by_role("heading", name="The agreed version beside this draft")
            ).to_be_visible()
            page.locator("details.earlier summary").first.click()
            check_phone_page(page, "plan, with the words before a change open")
        if name in ("plan", "edit"):  # the pages people read and write the most
            page.screenshot(path=screenshots / f"{file_name}-full.png", full_page=True)

    # A version saved without a note shows no bare "Note:" in the folded-up history.
    alex = actor_for(client)
    unnoted = documents.create_document(db, alex, client.id)
    documents.save_version(db, alex, unnoted, 0, factories.plan_content(), "")
    page.goto(f"{live_server}/documents/{unnoted}/history")
    expect(page.locator('td[data-label="Note"]')).to_have_count(1)
    expect(page.locator('td[data-label="Note"]')).to_be_hidden()
    expect(page.locator('td[data-label="Saved by"]')).to_be_visible()

    # The key worker's lists are tables, which must fold up on a phone too; and the
    # partnership agreement form is the longest form there is. Kim left changes unsaved:
    # their row and "What needs you now" name the plan by Alex's long preferred name.
    drafts.keep(db, actor_for(worker), doc_id, 2, "", [("x", LONG_WORD)])
    kim = new_phone()
    sign_in(kim, live_server, worker)
    expect(kim.locator("table.list .unsaved")).to_contain_text("not saved yet")
    check_phone_page(kim, "caseload")
    kim.screenshot(path=screenshots / "caseload.png")
    kim.screenshot(path=screenshots / "caseload-full.png", full_page=True)
    # The caseload introduces the client: "<name>, known as <preferred name>".
    kim.get_by_role("link", name=f"{client.display_name}, known as").click()
    check_phone_page(kim, "client records")
    kim.get_by_role("button", name="Start the agreement").click()
    expect(kim.get_by_role("heading", level=1)).to_contain_text("agreement", ignore_case=True)
    check_phone_page(kim, "edit agreement")
    kim.screenshot(path=screenshots / "edit-agreement-full.png", full_page=True)


def check_compare_targets(page) -> None:
    """The history's from/to buttons: each at least 24 px square, inside a label 44 px high
    that a tap anywhere on chooses it (WCAG 2.5.8; 44 px as the other controls)."""
    radios = page.locator('input[type="radio"][name="older"], input[type="radio"][name="newer"]')
    assert radios.count() >= 4
    for n in range(radios.count()):
        radio = radios.nth(n)
        box = radio.bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24, box
        target = radio.locator("xpath=ancestor::label[1]").bounding_box()
        assert target["height"] >= 44 and target["width"] >= 44, target
    # A tap on the label's words, away from the button, chooses it.
    last = radios.nth(radios.count() - 1)
    label = last.locator("xpath=ancestor::label[1]")
    label.scroll_into_view_if_needed()
    box = label.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 4, box["y"] + box["height"] - 4)
    expect(last).to_be_checked()


def test_a_step_s_boxes_keep_most_of_the_width_with_text_twice_as_large(live_server, browser, db):
    """A 390 px phone with its text at 200% lays the page out in about 195 px. A step's boxes
    sit three frames deep, and the frames' sides left them 109 px: dates read "12/28/20"
    and "In progress" read "In progres"."""
    circle = factories.Circle()
    doc = factories.make_plan(circle.key_worker, circle.client)
    context = browser.new_context(viewport={"width": 195, "height": 844})
    try:
        page = context.new_page()
        sign_in(page, live_server, circle.client)
        page.goto(f"{live_server}/documents/{doc}/edit?part=goals")
        widths = page.evaluate(
            "() => [...document.querySelectorAll('fieldset.step :is(input, select, textarea)')]"
            ".filter(e => e.type !== 'hidden').map(e => e.getBoundingClientRect().width)"
        )
        assert widths and min(widths) >= 0.7 * 195, widths
        assert page.evaluate("document.documentElement.scrollWidth") <= 195
    finally:
        context.close()


def test_each_folded_section_opens_with_a_tap_as_big_as_a_button_s(live_server, new_phone, plan):
    """ "Comment on …" and "Ask for an earlier review" opened from a line 26 px high, and two
    folded sections in a row sat on each other: easy to open the wrong one."""
    client, _worker, doc = plan
    phone = new_phone()
    sign_in(phone, live_server, client)
    phone.goto(f"{live_server}/documents/{doc}")
    summaries = phone.locator("summary:visible")
    assert summaries.count() >= 3
    for n in range(summaries.count()):
        box = summaries.nth(n).bounding_box()
        assert box["height"] >= 44, (summaries.nth(n).inner_text(), box)
