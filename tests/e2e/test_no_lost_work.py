"""Nothing written is lost on a phone: one part at a time, a draft kept while typing, a warning
before the idle sign-out, and the draft waiting after signing in again."""

from __future__ import annotations

import re
import time

import pytest

from tests import factories

from .checks import check_phone_page, expect, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser_only]

WORDS = "Walking the dog in the morning, and my sister's Sunday dinners."


def test_a_draft_survives_the_idle_sign_out(app, live_server, new_phone):
    app.config["IDLE_TIMEOUT_MINUTES"] = 0.1  # six seconds: the warning comes after four
    client = factories.ClientFactory(display_name="Alex Morgan")
    worker = factories.KeyWorkerFactory()
    factories.CaseloadLinkFactory(client_id=client.id, key_worker_id=worker.id)
    doc = factories.make_plan(worker, client)

    phone = new_phone()
    sign_in(phone, live_server, client)
    phone.goto(f"{live_server}/documents/{doc}")
    phone.get_by_role("link", name="Change this part: What matters to me").click()
    check_phone_page(phone, "edit one part")
    expect(phone.get_by_role("heading", name="Goals and steps")).to_have_count(0)

    phone.get_by_label("What matters most to you?").fill(WORDS)
    # The time as every page says one, 24-hour on the service's clock (it read "11:50 AM").
    expect(phone.locator(".draft-status")).to_contain_text(
        re.compile(r"Your changes are kept as a draft \(\d\d:\d\d\)\.")
    )

    warning = phone.get_by_role("alertdialog")
    expect(warning).to_contain_text("you will be signed out")
    stay = phone.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    phone.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    # Back in the box they were typing in, not at the top of the page.
    expect(phone.get_by_label("What matters most to you?")).to_be_focused()

    # Left alone again: the page takes itself off the screen and the server signs out.
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sign in", timeout=15_000)
    phone.get_by_label("E-mail address").fill(client.email)
    phone.get_by_label("Password").fill(factories.PASSWORD)
    app.config["IDLE_TIMEOUT_MINUTES"] = 15
    phone.get_by_role("button", name="Sign in").click()

    expect(phone).to_have_url(re.compile(rf"/documents/{doc}/edit"))
    expect(phone.locator("#draft-waiting")).to_contain_text("not saved yet")
    phone.get_by_role("link", name="Carry on with those changes").click()
    expect(phone.get_by_label("What matters most to you?")).to_have_value(WORDS)
    phone.get_by_role("button", name="Save a new version").click()
    expect(phone.get_by_text(WORDS)).to_be_visible()
    expect(phone.get_by_text("Saved as version 2.")).to_be_visible()


def test_typing_a_reason_keeps_the_session_and_leaving_it_signs_out(app, live_server, new_phone):
    """Typing on a form that keeps no draft (a reason for not signing) counted as idle: the
    warning took the focus from the box, and the sign-out took the words."""
    app.config["IDLE_TIMEOUT_MINUTES"] = 0.1  # six seconds: the warning comes after four
    phone, doc = _client_with_a_plan(new_phone, live_server)
    phone.goto(f"{live_server}/documents/{doc}")
    phone.get_by_label("I do not sign, and I say why").check()
    reason = phone.get_by_label(re.compile("Your comment or reason"))
    reason.click()
    said = "The grant step should be mine to do myself "
    for word in said.split(" ")[:-1]:  # one a second, ten seconds in all
        phone.keyboard.type(word + " ")
        phone.wait_for_timeout(1_000)
    expect(phone.get_by_role("alertdialog")).to_have_count(0)
    expect(reason).to_be_focused()
    expect(reason).to_have_value(said)
    # Nothing typed for longer than the idle time: warned that the words are not sent (in
    # seconds, as the warning comes less than a minute ahead), then signed out as before.
    warning = phone.get_by_role("alertdialog")
    expect(warning).to_contain_text("signed out in 2 seconds", timeout=10_000)
    expect(warning).to_contain_text("What you typed on this page is not sent yet")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sign in", timeout=15_000)
    app.config["IDLE_TIMEOUT_MINUTES"] = 15


def test_saving_straight_after_typing_leaves_no_draft_behind(app, db, live_server, new_phone):
    """Typed and saved within the three seconds before a draft is kept: leaving the page must
    not send a draft of what was just saved, which could land after the save and offer
    'changes not saved yet' that are saved."""
    from sqlalchemy import func, select

    from careplan.db.models import EditDraft

    phone, doc = _client_with_a_plan(new_phone, live_server)
    for round_ in range(3):
        phone.goto(f"{live_server}/documents/{doc}/edit?part=what_matters")
        phone.get_by_label("What matters most to you?").fill(f"{WORDS} ({round_})")
        phone.get_by_role("button", name="Save a new version").click()
        expect(phone.get_by_text(f"Saved as version {round_ + 2}.")).to_be_visible()
    phone.wait_for_timeout(500)  # anything sent as the page was left has landed by now
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(EditDraft)) == 0
    phone.goto(f"{live_server}/documents/{doc}/edit?part=what_matters")
    expect(phone.locator("#draft-waiting")).to_have_count(0)


def test_words_sent_straight_after_typing_and_refused_are_kept_as_a_draft(
    app, db, live_server, new_phone
):
    """Typed and sent within the three seconds before a draft is kept, then refused (here a
    change note too long): the page given back showed the words, but no draft held them, and
    leaving it lost them without a question."""
    from sqlalchemy import select

    from careplan.db.models import EditDraft

    phone, doc = _client_with_a_plan(new_phone, live_server)
    phone.goto(f"{live_server}/documents/{doc}/edit?part=what_matters")
    phone.get_by_label("What matters most to you?").fill(WORDS)
    phone.get_by_label("What did you change? (optional)").fill("x" * 1200)
    phone.get_by_role("button", name="Save a new version").click()
    expect(phone.get_by_text("to 1,000 characters or fewer").first).to_be_visible()
    expect(phone.locator(".draft-status")).to_contain_text("Your changes are kept as a draft")
    with db.read() as s:
        [fields] = s.scalars(select(EditDraft.fields).where(EditDraft.document_id == doc)).all()
    assert ["what_matters-text", WORDS] in [list(f) for f in fields]

    # Carried on from the next time, as any draft.
    phone.goto(f"{live_server}/documents/{doc}/edit")
    phone.get_by_role("link", name="Carry on with those changes").click()
    expect(phone.get_by_label("What matters most to you?")).to_have_value(WORDS)


def test_a_save_the_database_could_not_take_goes_again_from_the_page_it_left(
    app, live_server, new_phone, monkeypatch
):
    """The database out of reach at the moment of saving (held up by a lock, in
    tests/integration/test_trouble_over_http.py): the page that answers keeps the words, reads
    well on a phone, and its button saves them once the database is back."""
    from axe_playwright_python.sync_playwright import Axe
    from sqlalchemy.exc import OperationalError

    from careplan.services import documents

    from .test_accessibility import _blocking, _describe

    client = factories.ClientFactory(display_name="Alex Morgan")
    worker = factories.KeyWorkerFactory()
    factories.CaseloadLinkFactory(client_id=client.id, key_worker_id=worker.id)
    doc = factories.make_plan(worker, client)
    saving = documents.save_version

    def database_gone(*_args, **_kwargs):
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    phone = new_phone()
    sign_in(phone, live_server, client)
    phone.goto(f"{live_server}/documents/{doc}/edit?part=what_matters")
    phone.get_by_label("What matters most to you?").fill(WORDS)
    monkeypatch.setattr(documents, "save_version", database_gone)
    phone.get_by_role("button", name="Save a new version").click()

    expect(phone.get_by_role("heading", level=1)).to_have_text("Please try again in a minute")
    expect(phone.get_by_text("Nothing you sent has been saved yet")).to_be_visible()
    expect(phone.get_by_text(WORDS)).to_be_visible()
    check_phone_page(phone, "could not save")
    assert not [_describe("could not save", v) for v in _blocking(Axe().run(phone))]

    monkeypatch.setattr(documents, "save_version", saving)
    phone.get_by_role("button", name="Send it again").click()
    expect(phone.get_by_text("Saved as version 2.")).to_be_visible()
    expect(phone.get_by_text(WORDS)).to_be_visible()


def test_words_typed_before_the_pages_script_arrives_are_kept(app, gunicorn_url, new_phone):
    """On a slow connection the edit page shows before its script has run, and people start
    typing: what they typed then is kept as a draft and its wording checked all the same.
    Under gunicorn, as the service runs."""
    phone, doc = _client_with_a_plan(new_phone, gunicorn_url)
    phone.goto(f"{gunicorn_url}/documents/{doc}")
    slow = _slow_network(phone, 1500)
    phone.get_by_role("link", name="Change this part: What matters to me").click()
    field = phone.get_by_label("What matters most to you?")
    field.fill("My brother calls me an addict.")
    assert phone.evaluate("document.readyState") != "complete", "the script had already run"
    slow.send("Network.emulateNetworkConditions", _latency(0))

    expect(phone.locator(".draft-status")).to_contain_text("Your changes are kept as a draft")
    hint = phone.locator("#" + field.get_attribute("id") + "-wording")
    # To the client, of their own words: other words offered, the choice said to be theirs.
    expect(hint).to_contain_text("“addict”: some people prefer other words")
    expect(hint).to_contain_text("These are your words: keep them if they are right for you.")
    phone.goto(f"{gunicorn_url}/documents/{doc}/edit?part=what_matters")
    expect(phone.locator("#draft-waiting")).to_contain_text("not saved yet")
    # The boxes held until the person chooses look held (they looked as ever, and a tap on
    # one did nothing).
    held = phone.locator("fieldset.until-chosen textarea").first
    expect(held).to_be_disabled()
    assert held.evaluate("box => getComputedStyle(box).borderTopStyle") == "dashed"


def test_kept_changes_are_not_replaced_by_typing_on_a_fresh_page(app, db, gunicorn_url, new_phone):
    """One draft per person and document: typing on an edit page opened while earlier changes
    wait would replace them. The page holds its form until the person chooses."""
    phone, doc = _client_with_a_plan(new_phone, gunicorn_url)
    url = f"{gunicorn_url}/documents/{doc}/edit?part=what_matters"
    phone.goto(url)
    phone.get_by_label("What matters most to you?").fill(WORDS)
    expect(phone.locator(".draft-status")).to_contain_text("Your changes are kept as a draft")

    phone.goto(url)
    expect(phone.locator("#draft-waiting")).to_contain_text("Choose what to do with them")
    field = phone.get_by_label("What matters most to you?")
    expect(field).to_be_disabled()
    expect(phone.get_by_role("button", name="Save a new version")).to_be_disabled()
    check_phone_page(phone, "edit page holding its form for kept changes")
    # Said beside the greyed buttons too, many screens below the choice on a phone.
    choose = phone.locator("#choose-first")
    expect(choose).to_contain_text("Nothing here can be changed yet")
    choose.get_by_role("link").click()
    expect(phone.locator("#draft-waiting")).to_be_in_viewport()
    phone.get_by_role("link", name="Carry on with those changes").click()
    expect(field).to_have_value(WORDS)
    field.press("Control+End")
    field.press_sequentially(" And the garden.")
    expect(phone.locator(".draft-status")).to_contain_text("Your changes are kept as a draft")
    phone.goto(url)
    phone.get_by_role("link", name="Carry on with those changes").click()
    expect(field).to_have_value(WORDS + " And the garden.")


def test_words_typed_just_before_leaving_the_page_are_kept(app, db, gunicorn_url, new_phone):
    """The draft waits three seconds after the last key; leaving the page sooner sends it at
    once, and the browser must not drop it as the page goes (on a slow connection it is still
    on its way then)."""
    from sqlalchemy import select

    from careplan.db.models import EditDraft

    phone, doc = _client_with_a_plan(new_phone, gunicorn_url)
    phone.goto(f"{gunicorn_url}/documents/{doc}/edit?part=what_matters")
    _slow_network(phone, 800)
    typed = WORDS + " Café con leche — بيتي."  # sent form-encoded: any language survives
    phone.get_by_label("What matters most to you?").fill(typed)
    phone.goto(f"{gunicorn_url}/")  # a link followed at once

    def kept() -> list:
        with db.read() as s:
            return [dict(f for f in fields) for fields in s.scalars(select(EditDraft.fields))]

    for _ in range(50):
        if kept():
            break
        time.sleep(0.1)
    assert [d.get("what_matters-text") for d in kept()] == [typed]


def test_a_second_tab_does_not_replace_the_draft_of_the_first(app, db, gunicorn_url, new_phone):
    """The same person with the document open in two tabs (or on a phone and a laptop): what
    the first kept as a draft is not replaced by typing in the second, which says so beside
    its draft status, stops keeping drafts, and keeps its own words on the page."""
    from sqlalchemy import select

    from careplan.db.models import EditDraft

    first, doc = _client_with_a_plan(new_phone, gunicorn_url)
    url = f"{gunicorn_url}/documents/{doc}/edit?part=what_matters"
    first.goto(url)
    second = first.context.new_page()  # another tab, signed in as the same person
    second.clock.install()  # time flows as usual until the test moves it on
    second.goto(url)
    for tab in (first, second):
        tab.wait_for_load_state("load")  # the script is deferred
    sent = []
    second.on("request", lambda r: r.method == "POST" and "/draft" in r.url and sent.append(r))

    first.get_by_label("What matters most to you?").fill(WORDS)
    expect(first.locator(".draft-status")).to_contain_text("Your changes are kept as a draft")
    theirs = "Typed in the other tab, and never saved."
    field = second.get_by_label("What matters most to you?")
    field.fill(theirs)
    status = second.locator(".draft-status")
    expect(status).to_contain_text(
        "You have changed this document in another tab or on another device since. What you "
        "type here is not being kept as a draft: save it as a version, or open the latest draft."
    )
    check_phone_page(second, "edit page whose draft was kept in another tab")
    # No more drafts from this tab; its words stay on the page.
    field.press("Control+End")
    field.press_sequentially(" More.")
    second.wait_for_timeout(4_000)  # longer than the three seconds before a draft is kept
    assert len(sent) == 1
    expect(field).to_have_value(theirs + " More.")
    # Left alone, the warning before the idle sign-out says these words are not kept.
    second.clock.fast_forward(800 * 1000)  # of the 15 minutes: the warning comes 2 before
    warning = second.get_by_role("alertdialog")
    expect(warning).to_contain_text(
        "What you typed on this page is not kept as a draft: save it as a version now"
    )
    second.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    # Closing this tab asks first: no draft holds its words. Staying keeps them.
    assert _asked_on_closing(second) == ["beforeunload"]
    expect(field).to_have_value(theirs + " More.")

    def kept() -> str:
        with db.read() as s:
            [fields] = s.scalars(select(EditDraft.fields))
            return dict(fields)["what_matters-text"]

    assert kept() == WORDS
    # The first tab carries on keeping its draft.
    first.get_by_label("What matters most to you?").press_sequentially(" And the garden.")
    expect(first.locator(".draft-status")).to_contain_text("Your changes are kept as a draft")
    for _ in range(50):
        if kept() == WORDS + " And the garden.":
            break
        time.sleep(0.1)
    assert kept() == WORDS + " And the garden."

    # "Open the latest draft" opens it in a new tab, leaving this one as it is.
    with second.expect_popup() as opened:
        status.get_by_role("link", name="Open the latest draft (in a new tab)").click()
    latest = opened.value
    expect(latest.get_by_label("What matters most to you?")).to_have_value(
        WORDS + " And the garden."
    )
    expect(field).to_have_value(theirs + " More.")
    # Saved as a version from the second tab: the first tab's draft still waits.
    second.get_by_role("button", name="Save a new version").click()
    expect(second.get_by_text("Saved as version 2.")).to_be_visible()
    expect(second.get_by_text("You have changes that are not saved yet.")).to_be_visible()
    assert kept() == WORDS + " And the garden."
    # A tab whose words are kept as a draft closes without asking.
    first.get_by_label("What matters most to you?").press_sequentially(" Then tea.")
    expect(first.locator(".draft-status")).to_contain_text("Your changes are kept as a draft")
    assert _asked_on_closing(first) == []
    assert first.is_closed()


def test_a_save_after_signing_out_in_another_tab_gives_the_words_back(
    app, db, gunicorn_url, new_phone
):
    """Signed out in another tab: the first tab's form is from the ended session, so its save
    cannot be taken. The words come back on the page answered, to copy, which Chromium's
    Sec-Fetch-Site shows to be this site's own form."""
    first, doc = _client_with_a_plan(new_phone, gunicorn_url)
    first.goto(f"{gunicorn_url}/documents/{doc}/edit?part=what_matters")
    second = first.context.new_page()
    second.goto(f"{gunicorn_url}/")
    second.get_by_role("button", name="Sign out").click()
    expect(second.get_by_role("heading", level=1)).to_have_text("Sign in")

    first.get_by_label("What matters most to you?").fill(WORDS)
    first.get_by_role("button", name="Save a new version").click()
    expect(first.get_by_role("heading", level=1)).to_have_text(
        "You were signed out: nothing was saved"
    )
    expect(first.get_by_label("What matters to me")).to_have_value(WORDS)
    check_phone_page(first, "words given back")
    with first.expect_popup() as opened:
        first.get_by_role("link", name="Sign in again in a new tab").click()
    expect(opened.value.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(first.get_by_label("What matters to me")).to_have_value(WORDS)


def test_words_no_draft_holds_ask_before_leaving_but_not_the_idle_sign_out(
    app, gunicorn_url, new_phone
):
    """Words typed while the connection was down are on the page only: following a link asks
    first (the browser's "Leave site?"). The idle sign-out still takes the page off the
    screen without asking: someone else may pick the phone up."""
    phone, doc = _client_with_a_plan(new_phone, gunicorn_url)
    phone.clock.install()
    url = f"{gunicorn_url}/documents/{doc}/edit?part=what_matters"
    phone.goto(url)
    phone.wait_for_load_state("load")
    phone.context.set_offline(True)
    phone.get_by_label("What matters most to you?").fill(WORDS)
    phone.clock.fast_forward(4_000)  # past the three seconds before a draft is kept
    expect(phone.locator(".draft-status")).to_contain_text("No connection")
    phone.context.set_offline(False)

    asked = []
    phone.on("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    phone.locator("a.brand").click(no_wait_after=True)  # to the start page
    for _ in range(50):
        if asked:
            break
        phone.wait_for_timeout(100)
    assert asked == ["beforeunload"]
    expect(phone).to_have_url(url)
    expect(phone.get_by_label("What matters most to you?")).to_have_value(WORDS)

    phone.clock.fast_forward(16 * 60 * 1000)  # past the 15 minutes of the idle sign-out
    expect(phone).not_to_have_url(url, timeout=10_000)
    assert asked == ["beforeunload"]


def _asked_on_closing(tab) -> list[str]:
    """Closes the tab as a person would (its page asked first) and returns the dialogs it
    showed, each dismissed: a tab that asked stays open."""
    from playwright.sync_api import Error

    asked = []
    tab.on("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    tab.close(run_before_unload=True)
    for _ in range(50):
        if asked or tab.is_closed():
            break
        try:
            tab.wait_for_timeout(100)
        except Error:  # closed while waiting
            break
    return asked


def test_going_back_to_a_saved_form_does_not_undo_a_newer_version(app, db, gunicorn_url, new_phone):
    """Back to the edit page after saving, once the key worker has saved since: the browser
    puts back what the client typed there, on top of the newer version. Saved as typed on the
    newer version, it would quietly undo the key worker's change; it is shown beside it."""
    import copy

    from careplan.services import documents

    phone, doc, worker = _client_worker_and_plan(new_phone, gunicorn_url)
    phone.goto(f"{gunicorn_url}/documents/{doc}/edit?part=what_matters")
    phone.wait_for_load_state("load")
    field = phone.get_by_label("What matters most to you?")
    field.fill(WORDS)
    phone.get_by_role("button", name="Save a new version").click()
    expect(phone.get_by_text("Saved as version 2.")).to_be_visible()

    kim = factories.actor_for(worker)
    latest = documents.open_document(db, kim, doc)
    content = copy.deepcopy(latest.content)
    content["what_matters"]["text"] = "The key worker's newer words."
    documents.save_version(db, kim, doc, latest.head_number, content, "Kim's change")

    phone.go_back()
    phone.wait_for_load_state("load")
    expect(field).to_have_value(WORDS)  # put back by the browser: as sent, saved as version 2
    phone.get_by_label("What did you change? (optional)").fill("Back again")
    phone.get_by_role("button", name="Save a new version").click()
    expect(
        phone.get_by_role("heading", name="A newer version was saved while you were editing")
    ).to_be_visible()
    expect(phone.get_by_text("Kim's change")).to_be_visible()  # the version saved meanwhile
    # The words put back were already saved (version 2): not a change made again, so they
    # do not stand against the key worker's, and the form below holds theirs.
    expect(phone.get_by_text("You had not changed anything.")).to_be_visible()
    expect(phone.get_by_role("heading", name="You both changed the same part")).to_have_count(0)
    expect(field).to_have_value("The key worker's newer words.")
    assert documents.open_document(db, kim, doc).head_number == 3
    phone.get_by_role("button", name="Save a new version").click()
    expect(phone.get_by_text("Nothing had changed, so no new version was saved.")).to_be_visible()
    after = documents.open_document(db, kim, doc)
    assert after.head_number == 3
    assert after.content["what_matters"]["text"] == "The key worker's newer words."


def _client_with_a_plan(new_phone, base: str):
    """A client with a key worker and a plan, signed in on a phone: (the phone, the plan)."""
    phone, doc, _ = _client_worker_and_plan(new_phone, base)
    return phone, doc


def _client_worker_and_plan(new_phone, base: str):
    """The same, and the key worker."""
    client = factories.ClientFactory()
    worker = factories.KeyWorkerFactory()
    factories.CaseloadLinkFactory(client_id=client.id, key_worker_id=worker.id)
    doc = factories.make_plan(worker, client)
    phone = new_phone()
    sign_in(phone, base, client)
    return phone, doc, worker


def _slow_network(phone, ms: int):
    """Every request of this page takes `ms` longer (Chromium's own throttling); the session
    returned sets it again."""
    slow = phone.context.new_cdp_session(phone)
    slow.send("Network.enable")
    slow.send("Network.emulateNetworkConditions", _latency(ms))
    return slow


def _latency(ms: int) -> dict:
    return {"offline": False, "latency": ms, "downloadThroughput": -1, "uploadThroughput": -1}


def test_opening_an_edit_page_keeps_no_draft_of_what_nobody_typed(app, db, live_server, new_phone):
    """The script keeps what was typed before it arrived, comparing each field with the page
    as sent: a choice the browser made itself (the first option of a list with none marked)
    is not typing, and opening a page to read it must not leave "changes not saved yet"."""
    from sqlalchemy import func, select

    from careplan.db.models import EditDraft

    client = factories.ClientFactory()
    worker = factories.KeyWorkerFactory()
    factories.CaseloadLinkFactory(client_id=client.id, key_worker_id=worker.id)
    plan = factories.make_plan(worker, client, versions=2)
    agreement = factories.make_agreement(worker, client)
    phone = new_phone()
    drafts_sent = []
    phone.on(
        "request", lambda r: r.method == "POST" and "/draft" in r.url and drafts_sent.append(r)
    )
    sign_in(phone, live_server, worker)
    pages = [f"/documents/{plan}/edit", f"/documents/{agreement}/edit"]
    pages += [f"/documents/{plan}/edit?part={part}" for part in ("goals", "care_team", "domains")]
    for page in pages:
        phone.goto(live_server + page)
        expect(phone.locator("form.document-form")).to_be_visible()
    phone.goto(f"{live_server}/clients/{client.id}")
    phone.get_by_role("button", name="Start a new care plan").click()
    expect(phone.locator("form.document-form")).to_be_visible()
    phone.wait_for_timeout(4_000)  # longer than the three seconds before a draft is kept
    assert drafts_sent == []
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(EditDraft)) == 0


def test_the_idle_warning_counts_down_and_leaves_the_page_where_it_was(app, live_server, new_phone):
    """It said "in 20 seconds" until the sign-out came, and focusing its button scrolled a
    long page to its top, away from a comment being written at the bottom."""
    app.config["IDLE_TIMEOUT_MINUTES"] = 0.5  # warned ten seconds ahead
    try:
        phone, doc = _client_with_a_plan(new_phone, live_server)
        phone.goto(f"{live_server}/documents/{doc}")
        phone.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        at = phone.evaluate("window.scrollY")
        assert at > 500  # a long page, read at its foot
        warning = phone.get_by_role("alertdialog")
        expect(warning).to_contain_text("signed out in 10 seconds", timeout=30_000)
        expect(warning).to_contain_text(re.compile(r"signed out in [0-7] seconds?"), timeout=5_000)
        expect(warning).to_be_in_viewport()
        expect(phone.get_by_role("button", name="Stay signed in")).to_be_focused()
        assert phone.evaluate("window.scrollY") == at
        # Room below the page's end as tall as the warning: its last lines can be scrolled
        # into view above it.
        room, tall = phone.evaluate(
            "[parseFloat(getComputedStyle(document.body).paddingBottom),"
            " document.querySelector('.idle-warning').offsetHeight]"
        )
        assert room >= tall > 0
        phone.get_by_role("button", name="Stay signed in").click()
        expect(warning).to_be_hidden()
    finally:
        app.config["IDLE_TIMEOUT_MINUTES"] = 15


def test_an_empty_new_plan_sent_and_refused_leaves_no_draft_behind(app, db, live_server, new_phone):
    """Saved with nothing typed, the refusal's page kept the empty form as a draft: the start
    page said changes were not saved yet, and the next edit page was locked until the client
    chose what to do with changes they never made."""
    from sqlalchemy import func, select

    from careplan.db.models import EditDraft

    client = factories.ClientFactory()
    worker = factories.KeyWorkerFactory()
    factories.CaseloadLinkFactory(client_id=client.id, key_worker_id=worker.id)
    phone = new_phone()
    sign_in(phone, live_server, client)
    phone.goto(f"{live_server}/clients/{client.id}")
    phone.get_by_role("button", name="Start a new care plan").click()
    edit = re.search(r"/documents/\d+/edit", phone.url).group(0)
    phone.get_by_role("button", name="Save a new version").click()
    expect(phone.locator("#error-summary")).to_be_visible()
    expect(phone.locator(".draft-status")).to_contain_text("nothing to keep as a draft")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(EditDraft)) == 0
    phone.goto(f"{live_server}/")
    expect(phone.get_by_text("not saved yet")).to_have_count(0)
    phone.goto(live_server + edit)
    expect(phone.locator("form.document-form")).to_be_visible()
    expect(phone.locator("#draft-waiting")).to_have_count(0)
