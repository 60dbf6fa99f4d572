"""Every kind of page, as each role reaches it on a phone, checked with axe-core (bundled in
axe-playwright-python, so nothing is fetched): no serious or critical violation anywhere.

One server and one browser for the whole walk, one page of each kind; a failure lists every
violation found on every page, with the elements concerned."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from careplan.db.models import AccountEmail, Document, Notification, User
from careplan.domain.local_time import service_today
from careplan.services import account_emails, contingencies, signoff
from careplan.services.accounts import actor_for
from careplan.services.crisis_alerts import AlertSettings
from tests import factories

from .checks import check_phone_page, sign_in

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # pragma: no cover - depends on the machine
    import os

    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("axe-playwright-python is not installed", allow_module_level=True)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser_only]

BLOCKING = ("serious", "critical")
# Moderate in axe-core, but a screen-reader user moving by landmarks cannot tell two apart.
ALSO_BLOCKING = ("landmark-unique",)

# axe-core no longer reports repeated ids (its duplicate-id rules are retired), yet an id
# repeated on a page makes a label or a heading name the wrong element, or a link reach it.
_REPEATED_IDS = """
() => {
  const seen = {};
  for (const el of document.querySelectorAll('[id]')) seen[el.id] = (seen[el.id] || 0) + 1;
  return Object.entries(seen).filter(([, n]) => n > 1).map(([id, n]) => `#${id} (${n} times)`);
}
"""

# axe-core does not look inside an SVG drawn as one image, so the charts' labels are measured
# here: each text's fill against the page behind it.
_SVG_TEXT_COLOURS = """
() => Array.from(document.querySelectorAll('svg text')).map(t => {
  let el = t.closest('svg'), bg = 'rgba(0, 0, 0, 0)';
  while (el && /rgba\\(.*, 0\\)|transparent/.test(bg)) {
    bg = getComputedStyle(el).backgroundColor; el = el.parentElement;
  }
  return [t.textContent.trim(), getComputedStyle(t).fill, bg];
})
"""


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(n) for n in re.findall(r"[\d.]+", css)[:3])


def _contrast(a: str, b: str) -> float:
    def luminance(rgb):
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    high, low = sorted((luminance(_rgb(a)), luminance(_rgb(b))), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture
def records(db):
    """A client with a plan waiting for their signature (two versions, so there is something
    to compare), an agreement whose crisis plan is in effect and review is overdue, and a
    message to read."""
    circle = factories.Circle()
    plan = factories.make_plan(circle.key_worker, circle.client, versions=2)
    signoff.sign(db, actor_for(circle.key_worker), plan, 2, "signed", "", factories.PASSWORD)
    agreement = factories.make_agreement(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        signoff.sign(
            db, actor_for(who), agreement, 1, "signed", "", factories.PASSWORD, confirm_blank=True
        )
    contingencies.start_contingency(
        db,
        actor_for(circle.client),
        agreement,
        "Not sleeping",
        "Called my sister",
        (service_today() + timedelta(days=5)).isoformat(),
        service_today(),
        AlertSettings(respond_within=timedelta(minutes=30)),
    )
    with db.write() as s:
        s.add(Notification(user_id=circle.client.id, text="Your plan changed.", link="/"))
        # Listed on the key worker's account page for the administrator.
        account_emails.queue(s, s.get(User, circle.key_worker.id), "password_changed")
        # Given up on: listed under "E-mails not sent", and the accounts page says so.
        account_emails.queue(s, s.get(User, circle.key_worker.id), "second_factor_on")
        s.flush()
        s.execute(
            sa.update(AccountEmail)
            .where(AccountEmail.kind == "second_factor_on")
            .values(status="failed", attempts=8, last_error="SMTPServerDisconnected")
        )
        # An overdue review, so the supervisor's charts draw their bars too.
        s.execute(
            sa.update(Document)
            .where(Document.id == agreement)
            .values(next_review_on=service_today() - timedelta(days=3))
        )
    return circle, plan, agreement


def _describe(name: str, violation: dict) -> str:
    nodes = "\n".join(
        f"      {', '.join(map(str, n.get('target', [])))}: {n.get('html', '')[:200]}\n"
        f"        {n.get('failureSummary', '').replace(chr(10), ' ')[:300]}"
        for n in violation.get("nodes", [])[:8]
    )
    return (
        f"  [{name}] {violation['id']} ({violation['impact']}): {violation['help']}\n"
        f"    {violation.get('helpUrl', '')}\n{nodes}"
    )


def test_every_page_kind_has_no_serious_accessibility_violation(live_server, new_phone, records):
    circle, plan, agreement = records
    client_id = circle.client.id
    walks = {
        None: [
            ("login", "/login"),
            ("verify", "/verify"),
            ("forgot password", "/forgot-password"),
        ],
        circle.client: [
            ("client home", "/"),
            ("sign form", f"/documents/{plan}"),
            ("edit", f"/documents/{plan}/edit"),
            ("edit one part", f"/documents/{plan}/edit?part=what_matters"),
            ("history", f"/documents/{plan}/history"),
            ("compare", f"/documents/{plan}/compare?older=1&newer=2"),
            ("older version", f"/documents/{plan}/versions/1"),
            ("agreement", f"/documents/{agreement}"),
            ("agreement crisis page", f"/documents/{agreement}/crisis-plan"),
            ("notifications", "/me/notifications"),
            ("reminder settings", "/me/reminders"),
            ("account", "/me/account"),
            ("second step setup", "/me/second-factor"),
            ("advocates", "/me/advocates"),
            ("access log", "/me/access-log"),
        ],
        circle.key_worker: [
            ("key worker home", "/"),
            ("client record", f"/clients/{client_id}"),
            ("handover form", f"/clients/{client_id}/handover"),
            ("crisis response", f"/documents/{agreement}/respond"),
        ],
        circle.supervisor: [
            ("supervisor home", "/"),
            ("supervisor dashboard", "/supervision"),
            ("supervisor charts", "/supervision/charts"),
            ("client record, read by a supervisor", f"/clients/{client_id}"),
        ],
        circle.advocate: [("advocate home", "/")],
        circle.admin: [
            ("accounts", "/admin/users"),
            ("new account", "/admin/users/new"),
            ("one account", f"/admin/users/{circle.key_worker.id}"),
            ("teams", "/admin/teams"),
            ("agreement templates", "/admin/templates"),
            ("signing certificate", "/admin/seal"),
            ("e-mails not sent", "/admin/emails"),
            ("scheduler", "/admin/scheduler"),
        ],
    }
    axe = Axe()
    found: list[str] = []
    checked = 0
    for user, pages in walks.items():
        page = new_phone()
        if user is not None:
            sign_in(page, live_server, user)
        for name, path in pages:
            response = page.goto(f"{live_server}{path}")
            assert response is not None and response.status == 200, (name, path)
            if name.endswith(" home") or name == "second step setup":
                check_phone_page(page, name)
            if name == "client home":  # the lines are checked too, not an empty list
                assert page.locator(".needs-you li").count() >= 4
            results = axe.run(page)
            checked += 1
            found += [_describe(name, v) for v in _blocking(results)]
            found += [f"  [{name}] the same id twice: {r}" for r in page.evaluate(_REPEATED_IDS)]
            found += [
                f"  [{name}] chart label {text!r}: contrast {_contrast(fill, bg):.1f} < 4.5"
                for text, fill, bg in page.evaluate(_SVG_TEXT_COLOURS)
                if _contrast(fill, bg) < 4.5
            ]
        page.context.close()
    assert checked == sum(len(pages) for pages in walks.values())
    assert not found, (
        "Accessibility violations (serious or critical, repeated landmarks or ids):\n"
        + "\n".join(found)
    )


def test_turning_the_second_step_on_on_a_phone_shows_codes_anyone_can_read(
    live_server, new_phone, records
):
    """The backup codes page shows codes only just after a form made them, so it is reached
    here as a person reaches it: the setup page's key, a code from it and the password, on a
    phone, and the redirect that follows."""
    circle, _, _ = records
    page = new_phone()
    sign_in(page, live_server, circle.key_worker)
    page.goto(f"{live_server}/me/second-factor")
    secret = page.locator('input[name="secret"]').get_attribute("value")
    page.get_by_label("The six-digit code the app shows now").fill(pyotp.TOTP(secret).now())
    page.get_by_label("Your password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Turn the second step on").click()
    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    assert page.locator(".backup-codes li").count() == 10
    check_phone_page(page, "backup codes")
    found = [_describe("backup codes", v) for v in _blocking(Axe().run(page))]
    # Printed, the page is the codes and whose they are, without the site's menu.
    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.get_by_text(f"For {circle.key_worker.email} at")).to_be_visible()
    expect(page.locator(".backup-codes li").first).to_be_visible()
    page.emulate_media(media="screen")
    page.get_by_role("link", name="I have kept them safe").click()
    expect(page.get_by_text("You have 10 backup codes left")).to_be_visible()
    check_phone_page(page, "account with the second step on")
    found += [_describe("account, step on", v) for v in _blocking(Axe().run(page))]
    found += [f"  the same id twice: {r}" for r in page.evaluate(_REPEATED_IDS)]
    page.context.close()
    assert not found, "Accessibility violations:\n" + "\n".join(found)


def test_a_refused_save_puts_the_focus_on_what_needs_another_look(live_server, new_phone, records):
    """As the signing, comment and handover forms do: the page that answers a refused save
    opens at its list of problems, focused, so the next Tab and a screen reader start there,
    not at the top of a long page. A save that works lands on what it did."""
    circle, plan, _ = records
    page = new_phone()
    sign_in(page, live_server, circle.key_worker)
    page.goto(f"{live_server}/documents/{plan}/edit")
    page.get_by_label("Review this plan every how many weeks?").fill("99")
    page.get_by_role("button", name="Save a new version").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Some answers need another look")
    expect(summary).to_be_focused()
    page.get_by_label("Review this plan every how many weeks?").fill("12")
    page.get_by_label("What matters most to you?").fill("Walking the dog.")
    page.get_by_role("button", name="Save a new version").click()
    expect(page).to_have_url(re.compile(rf"/documents/{plan}#confirmation$"))
    expect(page.get_by_text("Saved as version 3.")).to_be_visible()
    page.context.close()


def _blocking(results) -> list[dict]:
    return [
        v
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING or v["id"] in ALSO_BLOCKING
    ]


def test_a_refused_sign_in_puts_the_focus_on_what_went_wrong(live_server, new_phone, db):
    """The message was said (role=alert) but the focus stayed on the page itself, so a
    keyboard user started again from the top."""
    person = factories.ClientFactory()
    phone = new_phone()
    phone.goto(f"{live_server}/login")
    phone.get_by_label("E-mail address").fill(person.email)
    phone.get_by_label("Password").fill("not the password")
    phone.get_by_role("button", name="Sign in").click()
    message = phone.locator("#login-error")
    expect(message).to_contain_text("do not match an account")
    expect(message).to_be_focused()
    phone.keyboard.press("Tab")
    expect(phone.get_by_label("E-mail address")).to_be_focused()


def test_the_focus_ring_stands_out_3_to_1_on_white_and_on_a_warning(live_server, new_phone, db):
    """It was yellow alone: 1.8:1 on white, 1.6:1 on a warning's cream (WCAG asks 3:1)."""
    phone = new_phone()
    phone.goto(f"{live_server}/login")
    phone.get_by_label("E-mail address").focus()
    shadow = phone.get_by_label("E-mail address").evaluate("e => getComputedStyle(e).boxShadow")
    for background in ("rgb(255, 255, 255)", "rgb(255, 246, 220)"):  # white; .warning
        assert _contrast(shadow, background) >= 3, (shadow, background)
