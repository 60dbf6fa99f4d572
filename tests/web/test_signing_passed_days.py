"""A version whose decision was handed over until a day that has passed since it was saved:
the page says so up front, with a link to change it, instead of offering a signature that
would be refused; a signature sent anyway is refused with the same words, and nothing is
signed. Dates are counted from the service's day, as the pages count them."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest

from careplan.domain.local_time import long_date, service_today
from careplan.services import signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_agreement
from tests.web.test_home_pages import page as home_page
from tests.web.test_home_pages import section
from tests.web.test_plan_pages import _browser, _page, _post
from tests.web.test_signing_pages import _stored, _words


@pytest.fixture
def circle(app) -> Circle:
    return Circle()


def _agreement(circle: Circle) -> tuple[int, str]:
    """Saved ten days ago with a decision handed over until three days ago; and that day, in
    words."""
    until = service_today() - timedelta(days=3)
    sections = {
        "contingencies": {
            "warning_signs": {"text": "I stop sleeping."},
            "handed_over": [
                {"decision": "My money", "to_whom": "My sister", "until": until.isoformat()}
            ],
        }
    }
    saved = service_today() - timedelta(days=10)
    return make_agreement(circle.key_worker, circle.client, sections, today=saved), long_date(until)


def test_the_sign_form_says_the_day_has_passed_and_offers_only_to_decline(app, db, circle):
    doc, day = _agreement(circle)
    sign_url = f"/documents/{doc}/versions/1/sign"
    client = _browser(app, circle.client)
    page = _page(client.get(f"/documents/{doc}"))
    said = (
        f"In “When I am not well”, the decision “My money” was handed over to My sister until "
        f"{day}, and that day has passed."
    )
    warning = _words(page.html.split('id="passed-until"')[1].split("</div>")[0])
    assert "Version 1 cannot be signed as it is." in warning and said in warning
    edit = f"/documents/{doc}/edit?part=contingencies#sections-contingencies-handed_over-0-until"
    assert f'href="{edit}"' in page.html
    form = page.form(sign_url)
    assert "outcome" not in form.choices  # no "I agree and sign" to choose
    assert form.values()["outcome"] == "declined"
    assert "Decline to sign" in _words(page.html) and "I agree and sign" not in page.html
    # Nor asking an advocate to look "before you sign".
    assert f"/documents/{doc}/versions/1/ask-advocate" not in [f.action for f in page.forms]

    # A signature sent anyway (an old page, or by hand) is refused with the same words.
    for outcome in ("signed", "signed_with_comment"):
        forged = form.typed({"outcome": outcome, "comment": "", "password": PASSWORD})
        if outcome == "signed_with_comment":
            forged["comment"] = "Fine."
        refused = _page(_post(client, form, forged), 409)
        assert f"{said} Please change that day, or take the decision out, then sign. " in _words(
            refused.html
        )
        assert "Nothing was signed." in _words(refused.html)
    assert _stored(db, doc) == ([], ("draft", None))

    reason = form.typed({"comment": "That date has gone by.", "password": PASSWORD})
    assert _post(client, form, reason).status_code == 302
    assert _stored(db, doc) == ([(circle.client.id, "declined")], ("declined", None))
    # The same words cannot be signed, so they are not offered again: changing them is.
    page = _page(client.get(f"/documents/{doc}"))
    assert f"/documents/{doc}/versions/1/offer-again" not in [f.action for f in page.forms]
    assert said in _words(page.html) and f'href="{edit}"' in page.html


def test_a_key_worker_who_signed_first_is_told_what_to_do(app, db, circle):
    doc, day = _agreement(circle)
    signoff.sign(
        db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD, True,
        today=service_today() - timedelta(days=5),
    )  # fmt: skip
    words = _words(_browser(app, circle.key_worker).get(f"/documents/{doc}").get_data(True))
    assert "You signed version 1 on" in words
    assert "There is nothing more for you to do" not in words
    assert (
        "Version 1 cannot be signed as it is. In “When I am not well”, the decision “My money” "
        f"was handed over to My sister until {day}, and that day has passed. To go on, change "
        "that day, or take the decision out: Change “My money” in “When I am not well” That "
        "makes a new version, for both of you to sign. Signatures already given on version 1 "
        "stay on the record, but the new version needs them again."
    ) in words


def test_the_box_the_sign_form_links_to_says_its_day_has_passed(app, db, circle):
    """A day kept from the version being changed is not refused at a save (it holds up no
    other change), so the edit form says at the box that nobody can sign with it."""
    doc, _ = _agreement(circle)
    html = _browser(app, circle.client).get(f"/documents/{doc}/edit?part=contingencies")
    html = html.get_data(as_text=True)
    box = "sections-contingencies-handed_over-0-until"
    assert (
        f'<p class="hint" id="{box}-hint">That day has passed. Until it is changed, or this '
        "decision is taken out, nobody can sign this version.</p>"
    ) in html
    assert re.search(rf'id="{box}"[^>]*aria-describedby="{box}-hint"', html)
    # The empty box for a new decision says nothing of the kind.
    assert "sections-contingencies-handed_over-1-until-hint" not in html


def test_the_start_pages_say_it_needs_a_new_version_not_a_signature(app, db, circle):
    """The key worker signed while the day was ahead: neither start page asks for a
    signature the service would refuse; each says what to do instead, linked to the
    signatures, and the plan card and the caseload say it needs a new version."""
    doc, day = _agreement(circle)
    signoff.sign(
        db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD, True,
        today=service_today() - timedelta(days=5),
    )  # fmt: skip
    said = (
        f"can no longer be signed: a decision in it was handed over until {day}, and that "
        "day has passed."
    )
    html = home_page(app, circle.client)
    part = _words(section(html))
    assert "waiting for your signature" not in part
    assert part.startswith("What needs you now Version 1 of your partnership agreement")
    assert (
        f"{said} To sign it, a new version needs saving with a new day, or without that "
        "decision: you can change it yourself, or ask your key worker to."
    ) in part
    assert f'href="/documents/{doc}#sign-off"' in section(html)
    assert f"Version 1 {said} It needs a new version with a new day, or without that decision." in (
        _words(html)
    )
    caseload = home_page(app, circle.key_worker)
    worker = html_lib.unescape(_words(section(caseload)))
    name = circle.client.display_name
    assert f"Version 1 of {name}'s partnership agreement" in worker
    assert f"{said} Save a new version with a new day, or without that decision" in worker
    # Nor does the document's own page say it waits for a signature.
    document = _words(_browser(app, circle.client).get(f"/documents/{doc}").get_data(True))
    assert "Draft: it can no longer be signed, as a day in it has passed" in document
    assert "is waiting for" not in document and "Draft: waiting for" not in document
    # The client's row on the caseload counts it apart from those waiting to be signed.
    row = _words(caseload)
    assert (
        "1, 1 that can no longer be signed (a day in it has passed: it needs a new version)" in row
    )
    assert "waiting to be signed" not in row


def test_a_reader_who_cannot_change_it_is_told_who_can_by_name(app, db, circle):
    doc, _ = _agreement(circle)
    page = _page(_browser(app, circle.supervisor).get(f"/documents/{doc}"))
    warning = _words(page.html.split('id="passed-until"')[1].split("</div>")[0])
    client, worker = circle.client.display_name, circle.key_worker.display_name
    assert f"{client} and {worker} can change the day, or take the decision out" in warning


def test_a_decision_handed_over_until_a_day_passed_says_so_where_it_is_read(app, db, circle):
    """On the crisis page, read in a crisis, and on the document's: "Handed to My sister until
    <day>" with nothing more read as still in force."""
    doc, day = _agreement(circle)
    client = _browser(app, circle.client)
    for url in (f"/documents/{doc}/crisis-plan", f"/documents/{doc}"):
        page = _page(client.get(url)).html
        assert (
            f"Handed to <bdi>My sister</bdi> until {day} · <strong>that day has passed: it is no "
            "longer handed over</strong>" in page
        ), url
