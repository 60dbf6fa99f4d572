"""The crisis plan reaches a person, and an agreement is not signed with its crisis part empty
by accident: a client and their key worker, each on their own phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from careplan.domain.local_time import service_today
from tests import factories

from .checks import check_phone_page, expect, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WARNING_SIGNS = "I stop sleeping and stop answering my phone."
ANSWER = "I will phone you at 3pm, and I have told your sister."


@pytest.fixture
def people(app):
    app.config["URGENT_HELP_NUMBERS"] = "Emergency services=999; Samaritans=116 123"
    team = factories.TeamFactory(name="North team")
    client = factories.ClientFactory(display_name="Alex Morgan")
    worker = factories.KeyWorkerFactory(display_name="Kim Reid", team_id=team.id)
    factories.CaseloadLinkFactory(client_id=client.id, key_worker_id=worker.id)
    return client, worker


def agreement(people, contacts: list) -> int:
    client, worker = people
    return factories.make_agreement(
        worker,
        client,
        {
            "shared_goals": {"goals": [{"title": "Keep my flat", "steps": []}]},
            "boundaries": {"out_of_hours": [{"name": "Out-of-hours team"}]},
            "contingencies": {
                "warning_signs": {"text": WARNING_SIGNS},
                "what_helps": {"text": "A call from Kim."},
                "contacts": contacts,
                "self_referral_how": {"text": "I ring the ward."},
            },
        },
    )


def test_the_client_asks_for_help_and_the_key_worker_responds(live_server, new_phone, people):
    client, worker = people
    agreement(people, [{"name": "Jo Morgan", "role": "sister", "how_to_contact": "07700 900123"}])

    # Alex, unwell, puts the plan into effect from their phone.
    alex = new_phone()
    sign_in(alex, live_server, client)
    alex.get_by_role("link", name=re.compile("Partnership agreement")).click()
    alex.get_by_role("link", name="When I am not well", exact=True).click()
    check_phone_page(alex, "crisis plan")
    urgent = alex.get_by_role("link", name="Samaritans: 116 123")
    expect(urgent).to_have_attribute("href", "tel:116123")
    expect(alex.get_by_text(WARNING_SIGNS)).to_be_visible()  # what we agreed, repeated
    expect(alex.get_by_text("Jo Morgan")).to_be_visible()
    alex.get_by_label("What has been noticed?").fill("I have not slept for three nights.")
    alex.get_by_label("It ends on").fill((service_today() + timedelta(days=5)).isoformat())
    alex.get_by_role("button", name="Put the plan into effect").click()
    expect(alex.get_by_role("status")).to_contain_text(
        "Your key worker has been told. Below is who will respond, and by when"
    )
    expect(
        alex.get_by_text(
            re.compile(r"Kim Reid, your key worker, or someone else in North team will respond by")
        )
    ).to_be_visible()
    # Said to Alex: "you", not "the client".
    expect(
        alex.get_by_text(re.compile(r"^You put the plan for when you are not well into effect"))
    ).to_be_visible()
    check_phone_page(alex, "crisis plan in effect")

    # Kim sees it on their start page at once, and responds.
    kim = new_phone()
    sign_in(kim, live_server, worker)
    waiting = kim.get_by_role("region", name="Waiting for a response")
    expect(waiting).to_contain_text("put their plan for when they are not well into effect")
    check_phone_page(kim, "caseload with an alert")
    waiting.get_by_role("link", name="Respond to Alex Morgan").click()
    expect(kim.get_by_role("heading", level=1)).to_have_text("Alex Morgan asked for a reply")
    expect(kim.get_by_text(WARNING_SIGNS)).to_be_visible()
    check_phone_page(kim, "respond")
    kim.get_by_label("Your response (Alex Morgan reads this)").fill(ANSWER)
    kim.get_by_role("button", name="Send my response").click()
    expect(kim.get_by_role("status")).to_contain_text("Your response is recorded")
    kim.goto(live_server)
    expect(kim.get_by_role("heading", level=1)).to_have_text("My caseload")
    expect(kim.get_by_role("region", name="Waiting for a response")).to_have_count(0)

    # Alex sees who responded, when, and what they said.
    alex.reload()
    expect(alex.get_by_text(re.compile(r"Kim Reid, your key worker, responded on"))).to_be_visible()
    expect(alex.get_by_text(f"“{ANSWER}”")).to_be_visible()
    alex.goto(live_server)
    expect(alex.get_by_role("heading", name="Asking for help")).to_be_visible()
    expect(alex.get_by_text(f"“{ANSWER}”")).to_be_visible()
    check_phone_page(alex, "my plans with a response")


def test_signing_with_the_crisis_contacts_empty_asks_first(live_server, new_phone, people):
    client, _ = people
    doc = agreement(people, [])
    alex = new_phone()
    sign_in(alex, live_server, client)
    alex.goto(f"{live_server}/documents/{doc}")
    empty = alex.locator("#empty-parts")
    expect(empty).to_contain_text("Some important parts are empty")
    expect(empty.get_by_role("listitem")).to_have_text(
        ["When I am not well: Who should be contacted?"]
    )
    check_phone_page(alex, "sign with empty parts")

    # The button says what it does once the choice is made ("Confirm" read the same for
    # signing and declining).
    sign = alex.get_by_role("button", name="Sign version 1", exact=True)
    expect(sign).to_have_count(0)
    alex.get_by_label("I agree and sign", exact=True).check()
    alex.get_by_label("Type your password to confirm it is you").fill(factories.PASSWORD)
    sign.click()
    # The page that answers opens on the summary of what went wrong, on a phone too, where
    # the sign form itself is screens below the top; the summary links to the field.
    summary = alex.locator("#error-summary")
    expect(summary).to_contain_text("Nothing was signed: some important parts are empty")
    expect(summary).to_be_in_viewport()
    expect(alex.locator("#confirm_blank-error")).to_contain_text("Nothing was signed")
    summary.get_by_role("link").click()
    expect(alex.get_by_label("I am leaving these parts blank on purpose")).to_be_in_viewport()
    expect(alex.get_by_role("heading", name="Everything signed or declined")).to_have_count(0)
    check_phone_page(alex, "sign refused")

    alex.get_by_label("I am leaving these parts blank on purpose").check()
    alex.get_by_label("Type your password to confirm it is you").fill(factories.PASSWORD)
    sign.click()  # the choice given back with the page, and the button's words with it
    expect(alex.get_by_role("status")).to_have_text(
        "You signed version 1. It is agreed once the other person signs it too."
    )
