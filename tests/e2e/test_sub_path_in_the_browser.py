"""The pages' scripts under a sub-path, in a real browser: gunicorn with SCRIPT_NAME=/careplan,
as a proxy passing https://trust.example.org/careplan/... on whole reaches it, and a key worker
on a phone with JavaScript on. The draft kept as they type, the wording check, "Stay signed in"
and the idle sign-out's trip to the sign-in page all build or follow an address in the
browser: each goes to /careplan/... and answers, and no request the browser makes leaves the
sub-path or answers 404, 405 or a server error. (tests/integration/test_sub_path_over_http.py
crawls the same app without scripts.)"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import factories

from .checks import check_phone_page, expect, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser_only]

PREFIX = "/careplan"
WORDS = "Being listened to, and my brother, who is an addict, coming to the meetings."
MORE = " Sunday dinners at my sister's."
# The server's default idle time (15 minutes, and up to 15 s more: careplan.domain.idle_sessions)
# with its warning in the last two minutes (careplan/static/idle.js): the page's clock is moved
# on, not waited for.
IDLE = 15 * 60
WARNED_AT = IDLE - 100
SIGNED_OUT_AT = IDLE + 30


@pytest.fixture
def gunicorn_env() -> dict:
    return {"SCRIPT_NAME": PREFIX, "CAREPLAN_PUBLIC_BASE_URL": "https://trust.example.org/careplan"}


def test_the_pages_scripts_stay_under_the_sub_path(app, gunicorn_url, new_phone):
    client = factories.ClientFactory(display_name="Alex Morgan")
    worker = factories.KeyWorkerFactory(display_name="Kim Reid")
    factories.CaseloadLinkFactory(client_id=client.id, key_worker_id=worker.id)
    doc = factories.make_plan(worker, client)
    base = gunicorn_url + PREFIX

    phone = new_phone()
    requested, answered, responses, failed, problems = [], [], [], [], []
    browsing = phone.context  # every request of this phone, whichever page or script sent it
    browsing.on("request", lambda r: requested.append(r.url))
    browsing.on("response", lambda r: answered.append((r.request.method, r.url, r.status)))
    browsing.on("response", lambda r: responses.append(r.request))
    browsing.on("requestfailed", lambda r: failed.append(r))
    phone.on("pageerror", lambda err: problems.append(str(err)))
    phone.on("console", lambda m: m.type == "error" and problems.append(m.text))
    phone.clock.install()  # time flows as usual until the test moves it on

    def sent(method: str, path: str) -> list[int]:
        return [s for m, url, s in answered if m == method and urlsplit(url).path == path]

    sign_in(phone, base, worker)
    expect(phone.get_by_role("heading", level=1)).to_have_text("My caseload")
    phone.get_by_role("link", name="Alex Morgan").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Alex Morgan")
    phone.goto(f"{base}/documents/{doc}")
    phone.get_by_role("link", name="Change this part: What matters to me").click()
    check_phone_page(phone, "edit one part under a sub-path")
    edit_page = phone.url
    assert urlsplit(edit_page).path == f"{PREFIX}/documents/{doc}/edit"

    # Typing: the wording check answers beside the field, and the draft is kept.
    field = phone.get_by_label("What matters most to you?")
    field.fill(WORDS)
    hint = phone.locator("#" + field.get_attribute("id") + "-wording")
    expect(hint).to_contain_text("“addict” can feel stigmatising to some people.")
    expect(phone.locator(".draft-status")).to_contain_text("Your changes are kept as a draft")
    assert sent("POST", f"{PREFIX}/language-check") == [200]
    assert sent("POST", f"{PREFIX}/documents/{doc}/draft") == [200]

    # Left alone: the warning comes two minutes before the sign-out, and "Stay signed in"
    # reaches the server under the sub-path. The idle script is deferred: on a busy machine a
    # page's words can show before it runs and sets its timers, so the clock is moved on only
    # once the page has loaded.
    phone.wait_for_load_state("load")
    phone.clock.fast_forward(WARNED_AT * 1000)
    warning = phone.get_by_role("alertdialog")
    expect(warning).to_contain_text("you will be signed out")
    with phone.expect_response(re.compile(r"/session/keep-alive$")) as kept_alive:
        phone.get_by_role("button", name="Stay signed in").click()
    assert urlsplit(kept_alive.value.url).path == f"{PREFIX}/session/keep-alive"
    assert kept_alive.value.status == 204
    expect(warning).to_be_hidden()

    # Back later: the draft waits, and carrying on with it then saving makes a version.
    phone.reload()
    expect(phone.locator("#draft-waiting")).to_contain_text("not saved yet")
    phone.get_by_role("link", name="Carry on with those changes").click()
    field = phone.get_by_label("What matters most to you?")
    expect(field).to_have_value(WORDS)
    field.fill(WORDS + MORE)
    expect(phone.locator(".draft-status")).to_contain_text("Your changes are kept as a draft")
    assert sent("POST", f"{PREFIX}/documents/{doc}/draft") == [200, 200]
    phone.get_by_role("button", name="Save a new version").click()
    expect(phone.get_by_text("Saved as version 2.")).to_be_visible()
    expect(phone.get_by_text(WORDS + MORE)).to_be_visible()
    assert urlsplit(phone.url).path == f"{PREFIX}/documents/{doc}"
    plan_page = phone.url

    # The idle sign-out: the server has ended the session (its cookie gone), and when the time
    # is up the page takes itself to the sign-in page under the sub-path, which brings the
    # key worker back to the plan.
    phone.context.clear_cookies()
    phone.wait_for_load_state("load")
    phone.clock.fast_forward(SIGNED_OUT_AT * 1000)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sign in")
    signed_out_at = urlsplit(phone.url)
    assert signed_out_at.path == f"{PREFIX}/login"
    assert parse_qs(signed_out_at.query)["next"] == [urlsplit(plan_page).path]
    phone.get_by_label("E-mail address").fill(worker.email)
    phone.get_by_label("Password").fill(factories.PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.get_by_text(WORDS + MORE)).to_be_visible()
    assert urlsplit(phone.url).path == f"{PREFIX}/documents/{doc}"

    # Every request the browser made stayed under the sub-path and answered.
    assert [url for url in requested if not url.startswith(base + "/")] == []
    assert [(m, url, s) for m, url, s in answered if s in (404, 405) or s >= 500] == []
    # A request still on its way as its page is left (a draft's answer whose body the page
    # never reads, the favicon on a loaded machine) is aborted by Chromium itself: where it
    # was going is checked above. Nothing else failed.
    assert [
        (r.method, r.url, r.failure)
        for r in failed
        if r not in responses and r.failure != "net::ERR_ABORTED"
    ] == []
    assert problems == []
    assert {urlsplit(url).path for _, url, _ in answered} >= {
        f"{PREFIX}/static/editing.js",
        f"{PREFIX}/static/idle.js",
        f"{PREFIX}/static/app.css",
        f"{PREFIX}/static/favicon.svg",
    }
