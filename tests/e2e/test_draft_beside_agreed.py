"""On a phone, a draft with many changes from the agreed version does not bury the document:
the agreed version beside the draft is a short list of the parts that differ, each opened
on a tap, and the document itself starts within the first screens."""

from __future__ import annotations

import pytest

from careplan.domain.care_plan import DOMAIN_KEYS
from careplan.services import documents, signoff
from careplan.services.accounts import actor_for
from tests import factories

from .checks import check_phone_page, expect, sign_in
from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORDS = "I told my key worker how this has been going, and what I would like to change next. "


@pytest.fixture
def busy_draft(db):
    """A plan agreed at version 1, and a draft that rewrote almost all of it: every life
    domain in the client's words, three goals of three steps, and the care team."""
    circle = factories.Circle()
    kim, alex = actor_for(circle.key_worker), actor_for(circle.client)
    doc = factories.make_plan(circle.key_worker, circle.client)
    for signer in (alex, kim):
        signoff.sign(db, signer, doc, 1, "signed", "", factories.PASSWORD)
    content = documents.open_document(db, alex, doc).content
    content["domains"] = {key: {"own_words": WORDS * 3} for key in DOMAIN_KEYS}
    content["goals"] = [
        {
            "title": f"Goal {g}: {WORDS}",
            "steps": [
                {"text": f"Step {s}: {WORDS}", "owner": {"kind": "client"}, "due": "2027-03-01"}
                for s in range(3)
            ],
        }
        for g in range(3)
    ]
    content["care_team"] = [{"name": "Dr Okafor", "role": "GP", "what_they_do": WORDS}]
    content["what_matters"] = {"text": WORDS * 2}
    documents.save_version(db, alex, doc, 1, content, "after our review")
    return circle, doc


def test_the_agreed_version_beside_a_busy_draft_leaves_the_document_near_the_top(
    live_server, new_phone, busy_draft, screenshots
):
    circle, doc = busy_draft
    page = new_phone()
    sign_in(page, live_server, circle.client)
    page.goto(f"{live_server}/documents/{doc}")
    panel = page.locator("section.side-by-side")
    expect(panel).to_be_visible()
    height = panel.bounding_box()["height"]
    print(f"side-by-side panel: {height:.0f} px high at {PHONE['width']}x{PHONE['height']}")
    page.screenshot(path=screenshots / "draft-beside-agreed.png", full_page=True)
    # The document's own first heading within the first three screens, not after pages of
    # comparison.
    heading = page.get_by_role("heading", name="My life, in my own words", exact=True)
    top = heading.bounding_box()["y"] + page.evaluate("window.scrollY")
    assert top < 3 * PHONE["height"], f"the document starts {top:.0f} px down"
    check_phone_page(page, "plan with a busy draft")
    # A part opened shows the agreed words beside the draft's.
    page.locator("section.side-by-side summary", has_text="What matters to me").click()
    expect(panel.get_by_text("Draft (version 2)").last).to_be_visible()
    check_phone_page(page, "plan with a busy draft, one part open")
