"""The crisis page, as the client and key worker read it on their phones: nothing unagreed is
presented as agreed, a refused form says so where it is seen, and contacts can be rung."""

from __future__ import annotations

import html as markup
import re
import time
from datetime import timedelta

import pytest

from careplan.db.models import User, utcnow
from careplan.domain.local_time import long_date, service_today
from careplan.services import (
    contingencies,
    crisis_alerts,
    documents,
    handovers,
    leaving,
    signoff,
)
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    AdvocateFactory,
    AdvocateInvitationFactory,
    Circle,
    KeyWorkerFactory,
    make_agreement,
)

TODAY = service_today()


@pytest.fixture
def circle(app) -> Circle:
    return Circle()


def _declined(db, circle) -> int:
    """An agreement whose only version the key worker signed and the client declined."""
    doc = make_agreement(circle.key_worker, circle.client)  # proposes up to 5 nights
    signoff.sign(db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD, True)
    signoff.sign(db, actor_for(circle.client), doc, 1, "declined", "Not yet", PASSWORD)
    return doc


def _summary(page: str) -> str:
    match = re.search(r'<div class="error" role="alert" id="error-summary".*?</div>', page, re.S)
    assert match, "no error summary at the top of the page"
    return match.group()


def test_a_declined_agreement_gives_no_agreed_stay_on_the_page_or_in_the_answer(app, db, circle):
    doc = _declined(db, circle)
    browser = login(app.test_client(), circle.client)
    page = browser.get(f"/documents/{doc}/crisis-plan").get_data(as_text=True)
    assert "Nothing is agreed by both of you yet" in page
    assert "The agreement says" not in page and "up to 5 nights" not in page
    assert "no agreed right to a short stay" in page and "You can still ask" in page
    assert "What we agreed" not in page and "What is written so far (not agreed yet)" in page

    # Someone in crisis can always ask: the request is taken, as a request.
    sent = browser.post(
        f"/documents/{doc}/self-referral",
        data={
            "nights": "3",
            "last_discharge_on": "",
            "note": "",
            "csrf_token": csrf_token(browser),
        },
    )
    assert sent.status_code == 302
    page = browser.get(f"/documents/{doc}/crisis-plan").get_data(as_text=True)
    assert "Nothing is agreed by both of you yet, so this is a request, not an agreed stay." in page
    assert "It has gone to the team." in page
    assert "within the agreed terms" not in page.lower()
    assert "outside the agreed terms" not in page.lower()
    assert "A request (nothing was agreed yet)" in page

    # Once both sign a version, its terms are stated and requests checked against them.
    client = actor_for(circle.client)
    content = documents.open_document(db, client, doc).content
    content["sections"]["contingencies"]["what_helps"] = {"text": "A call from my sister."}
    documents.save_version(db, client, doc, 1, content, "Talked it through")
    for who in (client, actor_for(circle.key_worker)):
        signoff.sign(db, who, doc, 2, "signed", "", PASSWORD, confirm_blank=True)
    page = browser.get(f"/documents/{doc}/crisis-plan").get_data(as_text=True)
    assert "The agreement says: up to 5 nights" in page and "no agreed right" not in page
    assert "What we agreed" in page
    browser.post(
        f"/documents/{doc}/self-referral", data={"nights": "3", "csrf_token": csrf_token(browser)}
    )
    page = browser.get(f"/documents/{doc}/crisis-plan").get_data(as_text=True)
    assert "This request is within the agreed terms." in page


def test_starting_the_plan_already_in_effect_is_said_at_the_top_and_gives_back_the_words(
    app, db, circle
):
    """The key worker had the page open from before the client started the plan."""
    doc = make_agreement(circle.key_worker, circle.client)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(
        db, actor_for(circle.client), doc, "Not sleeping", "", ends, TODAY
    )
    browser = login(app.test_client(), circle.key_worker)
    typed = {
        "observed": 'Alex rang, very low.\nSister <Jo> is with "him".',
        "actions_taken": "Called Jo.",
        "ends_on": ends,
    }
    refused = browser.post(
        f"/documents/{doc}/crisis-plan/start", data=typed | {"csrf_token": csrf_token(browser)}
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    summary = _summary(page)
    assert "already in effect" in summary and 'href="#observed"' in summary
    assert page.index("error-summary") < page.index("The plan is in effect now")
    # Ending it is folded away: one tap must not end what was just started.
    folded = re.search(
        r"<details>\s*<summary>End the plan before [^<]+</summary>.*?</details>", page, re.S
    )
    assert folded and "End the plan now</button>" in folded.group()
    kept = re.search(r'<section[^>]*id="kept".*?</section>', page, re.S).group()
    given_back = {
        name: markup.unescape(words)
        for name, words in re.findall(
            r'<textarea id="(\w+)"[^>]*readonly[^>]*>(.*?)</textarea>', kept, re.S
        )
    }
    assert given_back == typed
    assert "<Jo>" not in kept  # escaped, as everything typed


def test_a_start_form_with_a_mistake_says_the_plan_is_not_in_effect_at_the_top(app, db, circle):
    doc = make_agreement(circle.key_worker, circle.client)
    browser = login(app.test_client(), circle.client)
    refused = browser.post(
        f"/documents/{doc}/crisis-plan/start",
        data={"observed": "", "ends_on": TODAY.isoformat(), "csrf_token": csrf_token(browser)},
    )
    assert refused.status_code == 422
    summary = _summary(refused.get_data(as_text=True))
    assert "The plan is not in effect yet, and nobody has been told." in summary
    assert (
        '<a href="#observed">What has been noticed? — Please say what was noticed.</a>' in summary
    )


def test_nothing_agreed_yet_the_start_form_does_not_speak_of_agreed_actions_or_limits(
    app, db, circle
):
    """The plan can be put into effect before anything is agreed: its form asks about the
    actions in the plan, and a too-long stay is measured against what is written so far."""
    doc = _declined(db, circle)
    browser = login(app.test_client(), circle.client)
    page = browser.get(f"/documents/{doc}/crisis-plan").get_data(as_text=True)
    assert "Nothing is agreed by both of you yet." in page
    assert "Which of the actions in the plan have been taken?" in page
    assert "agreed actions" not in page
    refused = browser.post(
        f"/documents/{doc}/crisis-plan/start",
        data={
            "observed": "Not sleeping.",
            "ends_on": (TODAY + timedelta(days=300)).isoformat(),
            "csrf_token": csrf_token(browser),
        },
    )
    assert refused.status_code == 422
    said = markup.unescape(_summary(refused.get_data(as_text=True)))
    assert "What is written so far says this lasts at most" in said
    assert "The agreement says" not in said


def test_contacts_phone_numbers_are_tap_to_call_and_everything_else_stays_text(app, db, circle):
    doc = make_agreement(
        circle.key_worker,
        circle.client,
        {
            "boundaries": {
                "out_of_hours": [{"name": "Out-of-hours team", "how_to_contact": "0161 496 0000"}]
            },
            "contingencies": {
                "warning_signs": {"text": "I stop sleeping."},
                "contacts": [
                    {
                        "name": "Jo Morgan",
                        "role": "sister",
                        "how_to_contact": "<b>Evenings</b> 07700 900123, flat 12",
                    }
                ],
            },
        },
    )
    browser = login(app.test_client(), circle.client)
    for path in (f"/documents/{doc}/crisis-plan", f"/documents/{doc}"):
        page = browser.get(path).get_data(as_text=True)
        assert 'How: <a href="tel:01614960000">0161 496 0000</a>' in page, path
        assert (
            'How: &lt;b&gt;Evenings&lt;/b&gt; <a href="tel:07700900123">07700 900123</a>, flat 12'
            in page
        ), path


def test_administrators_see_an_alert_email_still_being_tried_after_the_usual_tries(app, db, circle):
    import sqlalchemy as sa

    from careplan.db.models import Reminder

    doc = make_agreement(circle.key_worker, circle.client)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(db, actor_for(circle.client), doc, "Not sleeping", "", ends,
                                    TODAY)  # fmt: skip
    app.config["REMINDER_MAX_ATTEMPTS"] = 3
    with db.write() as s:  # tried three times while the mail server was down
        s.execute(
            sa.update(Reminder)
            .where(Reminder.channel == "email", Reminder.kind.startswith("alert:"))
            .values(attempts=3, last_error="OSError: Connection refused")
        )
    admin = login(app.test_client(), circle.admin)
    assert "1 e-mail could not be sent" in admin.get("/admin/users").get_data(as_text=True)
    page = admin.get("/admin/emails").get_data(as_text=True)
    assert "A crisis alert, still being tried every minute" in page
    assert circle.key_worker.email in page and "Connection refused" in page
    assert "Not sleeping" not in page  # never what the client wrote


def test_the_reply_page_asks_only_while_a_request_waits_and_speaks_to_the_client(app, db, circle):
    """It once read "<client> asked for a reply" above "Nothing is waiting for a response now",
    and spoke of the client in the third person on their own page."""
    doc = make_agreement(circle.key_worker, circle.client)
    name = circle.client.display_name
    client = login(app.test_client(), circle.client)
    worker = login(app.test_client(), circle.key_worker)

    def h1(browser) -> str:
        page = browser.get(f"/documents/{doc}/respond").get_data(as_text=True)
        return markup.unescape(re.search(r"<h1>(.*?)</h1>", page, re.S).group(1)), page

    heading, page = h1(client)
    assert heading == "Your requests for help" and "asked for a reply" not in page
    assert "Nothing is waiting for a response now." in page
    assert "for when you are not well" in page and f"for when {name} is" not in page
    heading, page = h1(worker)
    assert heading == f"Requests for help from {name}" and "asked for a reply" not in page

    client.post(
        f"/documents/{doc}/self-referral", data={"nights": "3", "csrf_token": csrf_token(client)}
    )
    heading, page = h1(client)
    assert heading == "You asked for a reply"
    assert "Your request is waiting for a reply." in page and f"{name} is waiting" not in page
    heading, page = h1(worker)
    assert heading == f"{name} asked for a reply" and f"{name} is waiting." in page


def test_the_reply_page_calls_the_client_by_the_name_they_go_by_and_its_reader_you(app, db, circle):
    """It named the client by their full name where every other page uses the name they go
    by, and told their key worker "Kim, the key worker, or someone else will respond"."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = make_agreement(circle.key_worker, circle.client)
    client = login(app.test_client(), circle.client)
    client.post(
        f"/documents/{doc}/self-referral", data={"nights": "3", "csrf_token": csrf_token(client)}
    )
    full, worker = circle.client.display_name, circle.key_worker.display_name
    team = circle.team.name

    def words(person) -> str:
        html = login(app.test_client(), person).get(f"/documents/{doc}/respond").get_data(True)
        html = html[html.index("<main") :]  # not the signed-in name above it
        return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", html)).split())

    page = words(circle.key_worker)
    assert "Al asked for a reply" in page and "Al is waiting." in page
    assert "Your response (Al reads this)" in page and "for when Al is not well" in page
    assert "Al asked for a short stay on" in page
    assert f"You or someone else in {team} will respond by" in page
    assert worker not in page and full not in page
    page = words(circle.supervisor)
    assert f"{worker}, Al's key worker, or someone else in {team} will respond by" in page
    assert "Al can see that you opened this page." in page and full not in page
    page = words(circle.client)
    assert f"{worker}, your key worker, or someone else in {team} will respond by" in page
    assert "You asked for a short stay on" in page


def test_an_empty_response_is_said_at_the_top_where_the_form_lands(app, db, circle):
    """The only message was beside the box, a screen below where the refused form landed;
    every other form of the crisis pages says it at the top too."""
    doc = make_agreement(circle.key_worker, circle.client)
    contingencies.request_self_referral(db, actor_for(circle.client), doc, "2", "", "", TODAY)
    worker = login(app.test_client(), circle.key_worker)
    page = worker.get(f"/documents/{doc}/respond").get_data(as_text=True)
    assert f'action="/documents/{doc}/responses#error-summary"' in page
    response = worker.post(
        f"/documents/{doc}/responses", data={"note": "  ", "csrf_token": csrf_token(worker)}
    )
    assert response.status_code == 422
    summary = _summary(response.get_data(as_text=True))
    assert "Your response was not sent yet. Please look again at:" in summary
    assert '<a href="#note">Your response — Please say what you are doing' in summary
    assert crisis_alerts.alert_page(db, actor_for(circle.key_worker), doc, utcnow()).waiting


def test_a_response_sent_after_another_is_refused_with_its_words_given_back(app, db, circle):
    """From a second tab, or a colleague a moment later: a bare 'That did not work' page,
    without the words typed or the response that was sent first."""
    doc = make_agreement(circle.key_worker, circle.client)
    contingencies.request_self_referral(db, actor_for(circle.client), doc, "2", "", "", TODAY)
    colleague = KeyWorkerFactory(team_id=circle.team.id)
    worker = login(app.test_client(), circle.key_worker)
    token = csrf_token(worker)
    crisis_alerts.respond(db, actor_for(colleague), doc, "Ringing you at 2pm.", utcnow())
    late = worker.post(
        f"/documents/{doc}/responses", data={"note": "I'll come round at 4", "csrf_token": token}
    )
    assert late.status_code == 409
    page = _words(late.get_data(as_text=True))
    assert "Someone has already responded. Nothing else is waiting." in page
    assert "What you wrote was not sent: “I'll come round at 4”" in page
    assert "Ringing you at 2pm." in page  # what was sent first, and by whom


def test_the_reply_page_says_who_wrote_each_part_by_the_name_they_go_by(app, db, circle):
    """'Written by Dana Newby' on the reply page, where every other page says 'Dee'."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = make_agreement(circle.key_worker, circle.client)
    client = actor_for(circle.client)
    content = documents.open_document(db, client, doc).content
    content["sections"]["contingencies"]["what_helps"] = {"text": "Quiet, and my sister."}
    documents.save_version(db, client, doc, 1, content, "what helps")
    contingencies.request_self_referral(db, client, doc, "2", "", "", TODAY)
    html = login(app.test_client(), circle.key_worker).get(f"/documents/{doc}/respond")
    page = _words(html.get_data(as_text=True))
    assert "Written by Al" in page and circle.client.display_name not in page


def test_the_reply_page_names_the_key_worker_who_wrote_a_part_as_former_after_a_handover(
    app, db, circle
):
    """It said "Written by Kim, Al's key worker" to everyone answering after Kim handed Al
    over: in a crisis, the worker to ring is the one who holds Al now."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = make_agreement(circle.key_worker, circle.client)
    newcomer = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, newcomer.id, "Over.")
    handovers.acknowledge(db, actor_for(newcomer), circle.client.id)
    contingencies.request_self_referral(db, actor_for(circle.client), doc, "2", "", "", TODAY)
    kim = circle.key_worker.display_name
    for person in (newcomer, circle.supervisor):
        page = _words(login(app.test_client(), person).get(f"/documents/{doc}/respond").text)
        assert f"Written by {kim}, Al's former key worker" in page
        assert f"{kim}, Al's key worker" not in page
    page = _words(login(app.test_client(), circle.client).get(f"/documents/{doc}/respond").text)
    assert f"Written by {kim}, your former key worker" in page


def test_a_new_request_is_not_read_as_answered_by_an_earlier_reply(app, db, circle):
    """Under 'Who will respond' the new request and one answered earlier were one block: the
    earlier reply read as the answer to the new one."""
    doc = make_agreement(circle.key_worker, circle.client)
    client = actor_for(circle.client)
    contingencies.request_self_referral(db, client, doc, "2", "", "", TODAY)
    crisis_alerts.respond(db, actor_for(circle.key_worker), doc, "Ringing you.", utcnow())
    contingencies.request_self_referral(db, client, doc, "3", "", "", TODAY)
    page = _words(
        login(app.test_client(), circle.client).get(f"/documents/{doc}/crisis-plan").get_data(True)
    )
    section = page[page.index("Who will respond") :]
    assert section.index("will respond by") < section.index("Answered earlier")
    assert section.index("Answered earlier") < section.index("“Ringing you.”")


def test_a_colleague_who_answered_for_the_key_worker_is_never_called_a_former_one(app, db, circle):
    """A key worker of the team who answered a request for help was "your former key worker"
    on the crisis page, the reply page and the client's start page, though the client was
    never theirs; the client's own key worker becomes a former one only once they no longer
    hold them."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    colleague = KeyWorkerFactory(team_id=circle.team.id)
    doc = make_agreement(circle.key_worker, circle.client)
    client = actor_for(circle.client)
    contingencies.request_self_referral(db, client, doc, "2", "", "", TODAY)
    crisis_alerts.respond(db, actor_for(colleague), doc, "I will phone you at 3pm.", utcnow())
    contingencies.request_self_referral(db, client, doc, "3", "", "", TODAY)
    crisis_alerts.respond(db, actor_for(circle.key_worker), doc, "On my way.", utcnow())
    sam, kim = colleague.display_name, circle.key_worker.display_name

    def words(person, url) -> str:
        browser = login(app.test_client(), person)
        html = browser.get(url, follow_redirects=True).get_data(as_text=True)
        html = html[html.index("<main") :]  # not the signed-in name above it
        return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", html)).split())

    pages = (f"/documents/{doc}/crisis-plan", f"/documents/{doc}/respond", "/")
    for url in pages:
        page = words(circle.client, url)
        assert f"{sam}, a key worker, responded on" in page, url
        assert f"{kim}, your key worker, responded on" in page, url
        assert "former" not in page, url
    for person in (circle.key_worker, circle.supervisor):
        page = words(person, f"/documents/{doc}/respond")
        assert f"{sam}, a key worker, responded on" in page and "former" not in page

    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved.", TODAY)
    for url in pages:
        page = words(circle.client, url)
        assert f"{sam}, a key worker, responded on" in page, url
        assert f"{kim}, your former key worker, responded on" in page, url


def test_the_start_page_asks_staff_to_respond_to_the_client_by_the_name_they_go_by(app, db, circle):
    """ "Respond to <full name>", where the reply page it leads to says "Al asked for a reply"."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = make_agreement(circle.key_worker, circle.client)
    contingencies.request_self_referral(db, actor_for(circle.client), doc, "2", "", "", TODAY)
    page = login(app.test_client(), circle.key_worker).get("/").get_data(as_text=True)
    page = markup.unescape(page)
    assert page.count("Respond to Al: they asked for a short stay of 2 nights on") == 1
    assert re.search(r">Respond to Al</a>", page)  # waiting for a response
    assert f"Respond to {circle.client.display_name}" not in page


def _words(html: str) -> str:
    html = html[html.index("<main") :]
    return " ".join(markup.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _agreed_for(db, circle) -> int:
    doc = make_agreement(circle.key_worker, circle.client)  # up to 5 nights, 14 days apart
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    return doc


def test_the_reply_page_shows_every_field_the_client_asked_beside_the_box(app, db, circle):
    """It said only "<client> asked for a short admission on … Respond by …": in a crisis
    the key worker could answer without reading what was asked."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = _agreed_for(db, circle)
    client = login(app.test_client(), circle.client)
    last = TODAY - timedelta(days=30)
    sent = client.post(
        f"/documents/{doc}/self-referral",
        data={
            "nights": "3",
            "last_discharge_on": last.isoformat(),
            "note": "Voices are back & I can't sleep.",
            "csrf_token": csrf_token(client),
        },
    )
    # Lands at the message saying it was sent, not at the error summary the form points to.
    assert sent.status_code == 302 and sent.location.endswith("/crisis-plan#confirmation")
    page = client.get(sent.location).get_data(as_text=True)
    assert 'id="confirmation"' in page and "within the agreed terms" in page
    words = _words(page)
    assert "night(s)" not in words and "3 nights is within the agreed 5 nights." in words
    assert "How many nights? 3 nights" in words  # on the card under "Who will respond"

    worker = login(app.test_client(), circle.key_worker)
    page = _words(worker.get(f"/documents/{doc}/respond").get_data(as_text=True))
    beside = page[page.index("What Al asked") : page.index("Send my response")]
    assert "How many nights? 3 nights" in beside
    assert f"When did the last stay end? {long_date(last)}" in beside
    assert "Anything else? “Voices are back & I can't sleep.”" in beside
    assert (
        "Against the agreed terms, when it was sent Within them. 3 nights is within the agreed "
        "5 nights. The last stay ended" in beside
    )
    start = _words(worker.get("/").get_data(as_text=True))
    assert "For 3 nights. “Voices are back & I can't sleep.”" in start


def test_asking_again_while_a_request_waits_is_taken_and_said_before_and_after(app, db, circle):
    doc = _agreed_for(db, circle)
    client = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/crisis-plan"
    assert "still waiting" not in client.get(url).get_data(as_text=True)

    def ask(nights: str, note: str):
        form = {"nights": nights, "last_discharge_on": "", "note": note}
        sent = client.post(
            f"/documents/{doc}/self-referral", data={**form, "csrf_token": csrf_token(client)}
        )
        assert sent.status_code == 302
        return _words(client.get(sent.location).get_data(as_text=True))

    page = ask("2", "")
    assert "An earlier request" not in page
    # The request just sent is not called "earlier" (it read as another one).
    assert "Your earlier request" not in page
    since = re.search(r"Your request for a short stay, sent on ([^,]+, \d\d:\d\d)", page)
    assert since, "not told before asking again"
    assert "is still waiting for a reply. Your key worker has been told. You can still ask" in page
    page = ask("4", "Nobody has rung.")
    assert (
        f"An earlier request, sent on {since[1]}, is still waiting for a reply. "
        "Your key worker has been told about both."
    ) in page
    assert "How many nights? 4 nights" in page and "“Nobody has rung.”" in page

    worker = login(app.test_client(), circle.key_worker)
    for reply_or_start in (f"/documents/{doc}/respond", "/"):
        page = _words(worker.get(reply_or_start).get_data(as_text=True))
        assert page.count(f"Sent again while an earlier request, sent on {since[1]}") == 1


def test_a_plan_ended_early_is_not_shown_as_running_where_it_was_asked_for(app, db, circle):
    """After "End the plan now", the client's start page and the top of the crisis page still read
    "… put the plan … into effect … It ends on <date>", with nothing saying it had ended."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = _agreed_for(db, circle)
    worker = login(app.test_client(), circle.key_worker)
    ends = TODAY + timedelta(days=14)
    started = worker.post(
        f"/documents/{doc}/crisis-plan/start",
        data={"observed": "Low", "ends_on": ends.isoformat(), "csrf_token": csrf_token(worker)},
    )
    assert started.status_code == 302
    ended = worker.post(
        f"/documents/{doc}/crisis-plan/end",
        data={"end_note": "Feeling steadier.", "csrf_token": csrf_token(worker)},
    )
    assert ended.status_code == 302
    kim = circle.key_worker.display_name
    client = login(app.test_client(), circle.client)
    crisis, respond = f"/documents/{doc}/crisis-plan", f"/documents/{doc}/respond"
    for browser, who, urls in (
        (client, f"{kim}, your key worker,", ("/", crisis, respond)),
        (worker, "You", (crisis, respond)),
    ):
        for url in urls:
            page = _words(browser.get(url, follow_redirects=True).get_data(as_text=True))
            assert "into effect on" in page, url
            assert f"It ends on {long_date(ends)}" not in page, url
            assert f"It is no longer in effect {who} ended it on {long_date(TODAY)}" in page, url
            assert f"It was to end on {long_date(ends)}." in page, url
            assert "Noted as it ended “Feeling steadier.”" in page, url


def test_a_plan_the_client_started_and_the_key_worker_ended_says_so_in_their_list(app, db, circle):
    doc = _agreed_for(db, circle)
    client = actor_for(circle.client)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(db, client, doc, "Not sleeping", "", ends, TODAY)
    contingencies.end_contingency(db, actor_for(circle.key_worker), doc, "", TODAY)
    page = _words(login(app.test_client(), circle.key_worker).get("/").get_data(as_text=True))
    assert f"Noticed: “Not sleeping” You ended it on {long_date(TODAY)}" in page


def test_the_crisis_plan_is_the_client_s_by_their_name_and_yours_only_to_the_client(
    app, db, circle
):
    """The key worker read "Next review: … (to look back after the plan for when you are not
    well)" and "You put the plan for when the client is not well into effect"; an advocate
    "… for when the client is not well"."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = _agreed_for(db, circle)
    worker = actor_for(circle.key_worker)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(db, worker, doc, "Not sleeping", "", ends, TODAY)
    contingencies.end_contingency(db, worker, doc, "", TODAY)
    pages = {
        "document": f"/documents/{doc}",
        "reminders": "/me/reminders",
        "crisis": f"/documents/{doc}/crisis-plan",
        "history": f"/documents/{doc}/history",
    }

    def read(person) -> dict[str, str]:
        browser = login(app.test_client(), person)
        return {k: _words(browser.get(url).get_data(as_text=True)) for k, url in pages.items()}

    kim = read(circle.key_worker)
    assert "(to look back after the plan for when Al is not well)" in kim["document"]
    assert "(to look back after the plan for when Al is not well)" in kim["reminders"]
    assert "You put the plan for when Al is not well into effect on" in kim["crisis"]
    assert "You put the plan for when Al is not well into effect" in kim["history"]
    assert "You ended the plan for when Al is not well" in kim["history"]
    for page in kim.values():
        assert "when you are not well" not in page and "the client is not well" not in page

    worker_name = circle.key_worker.display_name
    advocate = read(circle.advocate)
    assert (
        f"{worker_name}, Al's key worker, put the plan for when Al is not well into effect on"
        in advocate["crisis"]
    )
    assert "(to look back after the plan for when Al is not well)" in advocate["document"]
    for key in ("document", "crisis", "history"):
        assert "when you are not well" not in advocate[key], key
        assert "the client is not well" not in advocate[key], key

    al = read(circle.client)
    assert "(to look back after the plan for when you are not well)" in al["document"]
    assert "(to look back after the plan for when you are not well)" in al["reminders"]
    assert "key worker, ended the plan for when you are not well" in al["history"]
    for page in al.values():
        assert "when Al is not well" not in page and "the client is not well" not in page


def test_whoever_cannot_ask_for_a_short_stay_is_told_who_can_not_you_can(app, db, circle):
    """An advocate read "You can still ask: your request goes to the team" with no form to
    ask with: only the client and their key worker send a request."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = _declined(db, circle)
    url = f"/documents/{doc}/crisis-plan"

    def said(person) -> str:
        page = login(app.test_client(), person).get(url).get_data(as_text=True)
        words = _words(page)
        return words[words.index("Nothing is agreed by both") :]

    for reader in (circle.advocate, circle.supervisor):
        words = said(reader)
        assert "Al can still ask: the request goes to the team, and someone will respond." in words
        assert "You can still ask" not in words and "your request" not in words
    assert "You can still ask: your request goes to the team" in said(circle.client)
    # The key worker sends one too, and answers it themselves: not "it goes to the team".
    words = said(circle.key_worker)
    assert (
        "You can still record a request with Al: as their key worker, you respond to it yourself."
        in words
    )
    assert "You can still ask" not in words and "goes to the team" not in words


def test_a_request_before_anything_was_agreed_reads_plainly_to_an_advocate(app, db, circle):
    """An advocate read "Nothing was agreed by both of you yet" (they sign nothing), "Nothing
    was agreed yet: a request", and "Al is waiting. Whoever responds first is shown..." on a
    page where they cannot respond."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = _declined(db, circle)
    contingencies.request_self_referral(db, actor_for(circle.client), doc, "3", "", "", TODAY)
    words = _words(
        login(app.test_client(), circle.advocate)
        .get(f"/documents/{doc}/respond")
        .get_data(as_text=True)
    )
    assert (
        "Al is waiting for a response from the people asked below. You can read what Al asked "
        "and who responds, but not respond here." in words
    )
    assert "Whoever responds first" not in words and "Send my response" not in words
    assert "None yet: nothing in this agreement had been agreed, so it is a request" in words
    # Nor does an agreement the advocate is not party to read as theirs ("What we agreed").
    agreed = _agreed_for(db, circle)
    crisis = login(app.test_client(), circle.advocate).get(f"/documents/{agreed}/crisis-plan")
    assert "What was agreed" in _words(crisis.get_data(as_text=True))
    assert "What we agreed" not in crisis.get_data(as_text=True)
    assert "both of you" not in words
    # To whoever responds, as before.
    worker = _words(
        login(app.test_client(), circle.key_worker)
        .get(f"/documents/{doc}/respond")
        .get_data(as_text=True)
    )
    assert "Al is waiting. Whoever responds first is shown to everyone who was asked" in worker


def test_the_client_s_start_page_says_what_each_request_waiting_asked(app, db, circle):
    """The plan put into effect and two requests for a short stay read as three identical
    lines: "You asked for help on … will respond by …"."""
    doc = _agreed_for(db, circle)
    client = actor_for(circle.client)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(db, client, doc, "Not sleeping", "", ends, TODAY)
    contingencies.request_self_referral(db, client, doc, "3", "", "", TODAY)
    contingencies.request_self_referral(db, client, doc, "1", "", "Tonight.", TODAY)
    browser = login(app.test_client(), circle.client)
    page = _words(browser.get("/", follow_redirects=True).get_data(as_text=True))
    needs = page[page.index("What needs you now") : page.index("Your key worker:")]
    assert "You asked for help" not in needs
    for asked in (
        "You put the plan for when you are not well into effect on",
        "You asked for a short stay of 3 nights on",
        "You asked for a short stay of 1 night on",
    ):
        assert needs.count(asked) == 1, asked
    # One outside the agreed terms (up to 5 nights) says so, to both.
    contingencies.request_self_referral(db, client, doc, "9", "", "", TODAY)
    outside = "asked for a short stay of 9 nights (outside the agreed terms) on"
    page = _words(browser.get("/", follow_redirects=True).get_data(as_text=True))
    assert f"You {outside}" in page
    worker = login(app.test_client(), circle.key_worker).get("/").get_data(as_text=True)
    assert f"they {outside}" in _words(worker)
    assert "For 9 nights (outside the agreed terms)." in _words(worker)  # the card of what waits


def test_a_part_both_confirmed_blank_reads_as_the_signed_pdf_says_it(app, db, circle):
    """The crisis page said "Nobody listed yet" of out-of-hours contacts both signers had
    confirmed were left blank on purpose, where the signed PDF says "Left blank on purpose"."""
    doc = make_agreement(circle.key_worker, circle.client)
    url = f"/documents/{doc}/crisis-plan"
    browser = login(app.test_client(), circle.client)
    draft = _words(browser.get(url).get_data(as_text=True))
    # Not agreed: an empty part is only not written yet.
    assert "Who can I contact out of hours? Nobody listed yet." in draft
    assert "on purpose" not in draft
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    agreed = _words(browser.get(url).get_data(as_text=True))
    assert "Who can I contact out of hours? Left blank on purpose." in agreed
    assert "Who should be contacted? Left blank on purpose." in agreed
    # A part nobody was asked to confirm is not said to be blank on purpose.
    assert "What helps me? Nothing written yet." in agreed


def test_each_message_in_the_summary_names_the_answer_it_is_about(app, db, circle):
    """The summary at the top said "The end date cannot be in the past." and "The date cannot
    be in the past." (asking for an earlier review) without saying which answer it meant."""
    doc = _agreed_for(db, circle)
    browser = login(app.test_client(), circle.client)
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    refused = browser.post(
        f"/documents/{doc}/crisis-plan/start",
        data={"observed": "Low", "ends_on": yesterday, "csrf_token": csrf_token(browser)},
    )
    assert refused.status_code == 422
    summary = markup.unescape(_summary(refused.get_data(as_text=True)))
    assert '<a href="#ends_on">It ends on — The end date cannot be in the past.</a>' in summary

    refused = browser.post(
        f"/documents/{doc}/self-referral",
        data={"nights": "0", "last_discharge_on": "2999-01-01", "csrf_token": csrf_token(browser)},
    )
    summary = markup.unescape(_summary(refused.get_data(as_text=True)))
    assert '<a href="#nights">How many nights? — Please give the number of nights' in summary
    assert (
        '<a href="#last_discharge_on">When did the last stay end? — The day the last stay '
        "ended cannot be in the future.</a>"
    ) in summary

    refused = browser.post(
        f"/documents/{doc}/review-request",
        data={"wanted_by": yesterday, "reason": "", "csrf_token": csrf_token(browser)},
    )
    assert refused.status_code == 422
    summary = markup.unescape(_summary(refused.get_data(as_text=True)))
    assert '<a href="#wanted_by">Review it by — The date cannot be in the past.</a>' in summary
    assert '<a href="#reason">Why? — Please say why you would like to review it sooner.</a>' in (
        summary
    )


def test_the_short_stay_heading_is_in_the_client_s_voice_only_to_the_client(app, db, circle):
    """Everyone read "Asking for a short admission myself", in the client's voice: the key
    worker, an advocate and a supervisor too."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    url = f"/documents/{_agreed_for(db, circle)}/crisis-plan"

    def headings(person) -> list[str]:
        page = login(app.test_client(), person).get(url).get_data(as_text=True)
        return re.findall(r"<h2>([^<]*asking for a short [^<]*)</h2>", page, re.IGNORECASE)

    assert headings(circle.client) == ["Asking for a short stay myself"]
    for reader in (circle.key_worker, circle.advocate, circle.supervisor):
        assert headings(reader) == ["Al asking for a short stay"], reader.role


def test_the_app_calls_it_a_short_stay_everywhere_it_speaks(app, db, circle):
    """The crisis page said "short admission" and "short stay" of the same request; so did
    the shipped template's question and name, on every page of an agreement made from it."""
    doc = _agreed_for(db, circle)
    client = login(app.test_client(), circle.client)
    form = {"nights": "2", "last_discharge_on": "", "note": ""}
    sent = client.post(
        f"/documents/{doc}/self-referral", data={**form, "csrf_token": csrf_token(client)}
    )
    assert sent.status_code == 302
    for person in (circle.client, circle.key_worker):
        web = login(app.test_client(), person)
        for path in ("/crisis-plan", "", "/edit", "/respond"):
            if path == "/respond" and person is circle.client:
                continue
            page = _words(web.get(f"/documents/{doc}{path}").get_data(as_text=True))
            assert "admission" not in page.lower(), (person.role, path)
    page = _words(client.get(f"/documents/{doc}/crisis-plan").get_data(as_text=True))
    assert "Asking for a short stay myself" in page
    assert "Your request for a short stay, sent on" in page
    assert "You asked for a short stay on" in page
    page = _words(client.get(f"/documents/{doc}").get_data(as_text=True))
    assert "I can ask for a short stay myself: up to 5 nights" in page


def test_staff_who_put_the_plan_into_effect_are_told_it_is_the_client_s(app, db, circle):
    """A key worker who started it read "The plan for when you are not well is now in
    effect", as if they were the one unwell."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = _agreed_for(db, circle)
    worker = login(app.test_client(), circle.key_worker)
    ends = (TODAY + timedelta(days=3)).isoformat()
    started = worker.post(
        f"/documents/{doc}/crisis-plan/start",
        data={"observed": "Low", "ends_on": ends, "csrf_token": csrf_token(worker)},
        follow_redirects=True,
    )
    page = _words(started.get_data(as_text=True))
    assert "The plan for when Al is not well is now in effect." in page
    assert "Everyone on this agreement can see it." in page
    assert "when you are not well" not in page
    # The urgent numbers too: for the client's danger, not the reader's.
    assert "If Al is in danger or cannot keep safe, call now:" in page
    assert "If you are in danger" not in page
    client = login(app.test_client(), circle.client)
    own = _words(client.get(f"/documents/{doc}/crisis-plan").get_data(as_text=True))
    assert "If you are in danger or cannot keep yourself safe, call now:" in own


def test_the_client_s_records_link_to_their_plan_for_when_they_are_not_well(app, db, circle):
    """The link read "What we agreed for when I am not well", whether anything was agreed
    or not."""
    doc = _agreed_for(db, circle)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(db, actor_for(circle.client), doc, "Low", "", ends, TODAY)
    records = f"/clients/{circle.client.id}"
    own = _words(login(app.test_client(), circle.client).get(records).get_data(as_text=True))
    assert "Open the plan for when you are not well" in own
    assert "What we agreed" not in own


def test_with_no_key_worker_the_page_says_there_is_nobody_to_tell_to_each_reader(app, db, circle):
    """The client who left reads that there is nobody at the service to tell, and where help
    is now; no form is there for "this" to mean. Their advocate reads it of the client."""
    advocate = AdvocateFactory()
    AdvocateInvitationFactory(client_id=circle.client.id, advocate_id=advocate.id)
    doc = make_agreement(circle.key_worker, circle.client)
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved away.", TODAY)
    url = f"/documents/{doc}/crisis-plan"
    page = login(app.test_client(), circle.client).get(url).get_data(as_text=True)
    assert markup.unescape(contingencies.NOBODY_TO_TELL) in markup.unescape(page)
    assert "would see this" not in page and "Put the plan into effect" not in page
    read = login(app.test_client(), advocate).get(url).get_data(as_text=True)
    assert (
        f"{circle.client.display_name} has no key worker here at the moment, so nobody at the "
        "service would be told if they asked for help here."
    ) in markup.unescape(read)
    assert "you do not have a key worker" not in read


def test_the_start_form_offers_the_longest_end_and_keeps_a_date_typed(app, db, circle):
    """Someone unwell need not work out a date: "It ends on" holds the longest the agreement
    allows, and either of them can end it sooner. A refused form shows what was sent."""
    doc = make_agreement(circle.key_worker, circle.client)
    browser = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/crisis-plan"
    page = browser.get(url).get_data(as_text=True)
    [offered] = re.findall(r'<input[^>]*id="ends_on"[^>]*>', page)
    max_days = contingencies.crisis_record(db, actor_for(circle.client), doc, TODAY).max_days
    assert max_days > 0
    assert f'value="{(TODAY + timedelta(days=max_days)).isoformat()}"' in offered
    assert "Either of you can end it sooner." in page
    refused = browser.post(
        f"{url}/start",
        data={"observed": "", "ends_on": "", "csrf_token": csrf_token(browser)},
    )
    [kept] = re.findall(r'<input[^>]*id="ends_on"[^>]*>', refused.get_data(as_text=True))
    assert 'value=""' in kept or "value=" not in kept


def test_a_plan_the_client_put_into_effect_is_said_with_them_as_its_subject(app, db, circle):
    """ "Respond to Al: put the plan for when Al is not well into effect" read as an order to
    do it, and the reply page named the client twice in one sentence."""
    doc = make_agreement(circle.key_worker, circle.client)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(db, actor_for(circle.client), doc, "Not sleeping", "", ends,
                                    TODAY)  # fmt: skip
    worker = login(app.test_client(), circle.key_worker)
    home = _words(worker.get("/").get_data(as_text=True))
    assert ": they put their plan for when they are not well into effect on" in home
    reply = _words(worker.get(f"/documents/{doc}/respond").get_data(as_text=True))
    assert "put their plan for when they are not well into effect on" in reply
    client = login(app.test_client(), circle.client)
    own = _words(client.get(f"/clients/{circle.client.id}").get_data(as_text=True))
    assert "You put the plan for when you are not well into effect on" in own


def test_the_history_keeps_what_was_said_in_answer_to_a_request_for_help(app, db, circle):
    """The history said only 'responded to the request for a reply', not what was said."""
    doc = make_agreement(circle.key_worker, circle.client)
    contingencies.request_self_referral(db, actor_for(circle.client), doc, "2", "", "", TODAY)
    crisis_alerts.respond(db, actor_for(circle.key_worker), doc, "Ringing you at 2pm.", utcnow())
    for reader in (circle.supervisor, circle.client):
        html = login(app.test_client(), reader).get(f"/documents/{doc}/history")
        page = _words(html.get_data(as_text=True))
        said = page[page.index("responded to the request for a reply") :]
        assert said.index("“Ringing you at 2pm.”") < 80


def test_a_late_request_tells_a_supervisor_reading_it_that_it_is_theirs_to_see_to(app, db, circle):
    """The supervisor read "Their supervisor has been told and will make sure someone does."
    of themselves."""
    doc = _agreed_for(db, circle)
    contingencies.request_self_referral(
        db,
        actor_for(circle.client),
        doc,
        "2",
        "",
        "",
        TODAY,
        crisis_alerts.AlertSettings(respond_within=timedelta(milliseconds=1)),
    )
    time.sleep(0.01)  # late by the time anyone reads it
    url = f"/documents/{doc}/respond"
    said = _words(login(app.test_client(), circle.supervisor).get(url).get_data(as_text=True))
    assert "Their supervisors, you among them, have been told: please make sure someone does." in (
        said
    )
    worker = _words(login(app.test_client(), circle.key_worker).get(url).get_data(as_text=True))
    assert "Their supervisor has been told and will make sure someone does." in worker
