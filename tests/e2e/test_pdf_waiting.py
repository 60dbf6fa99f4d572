"""The page waiting for a signed PDF, in a real browser: it asks in the background whether
the PDF is made and reloads only then, into the download. It reloaded itself every three
seconds, which put a keyboard or screen reader user back at the top each time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from careplan.services import pdfs, signoff
from careplan.services.accounts import actor_for
from tests import factories

from .checks import expect, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser_only]


def test_the_waiting_page_keeps_its_place_and_turns_into_the_download(
    app, db, live_server, new_phone
):
    circle = factories.Circle()
    doc = factories.make_plan(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), doc, 1, "signed", "", factories.PASSWORD)
    phone = new_phone()
    sign_in(phone, live_server, circle.client)
    phone.goto(f"{live_server}/documents/{doc}/versions/1/signed.pdf")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your PDF is being prepared")
    back = phone.get_by_role("link", name="Back to the document")
    back.focus()
    asked = []
    phone.on("request", lambda r: r.url.endswith("/signed.pdf/state") and asked.append(r))
    phone.wait_for_timeout(7_000)  # two of the page's checks
    assert len(asked) >= 2
    assert phone.evaluate("document.activeElement.textContent") == "Back to the document"

    settings = pdfs.PdfSettings.from_config(app.config, app.instance_path)
    with phone.expect_download(timeout=15_000) as downloading, ThreadPoolExecutor(1) as other:
        # In a thread of its own: the seal runs an event loop, and Playwright's is running here.
        assert other.submit(pdfs.run_pending, db, settings).result() == 1
    download = downloading.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as made:
        assert made.read(5) == b"%PDF-"
    # The page stays (a download does not replace it): it says the PDF is ready.
    expect(phone.locator("#pdf-preparing")).to_have_text(
        "Your PDF is ready. It is downloading now."
    )
    expect(phone.locator("#check-again")).to_have_text("Download it again")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your PDF is ready")
