"""Each start page opens with what needs the person now, one linked line per item, or one line
saying nothing does; plan cards say what state each document is in."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string

from careplan.db.models import Document, Notification, User
from careplan.domain.attention import Item, Kind, Place
from careplan.services import accounts, documents, drafts, handovers, signoff
from careplan.services.accounts import actor_for
from tests.conftest import login
from tests.factories import (
    PASSWORD,
    CaseloadLinkFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    NotificationFactory,
    make_agreement,
    make_plan,
)


def section(html: str) -> str:
    found = re.search(r'<section aria-labelledby="h-needs-you".*?</section>', html, re.S)
    assert found, html[:2000]
    return found.group(0)


def page(app, user, url="/") -> str:
    response = login(app.test_client(), user).get(url, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_when_nothing_waits_each_home_says_so_in_one_line(app, db):
    circle = Circle()
    make_plan(circle.key_worker, circle.client)  # the worker's own draft waits for the client
    for who in (Circle().client, circle.key_worker, circle.supervisor):
        part = section(page(app, who))
        assert "What needs you now" in part and "Nothing needs you right now." in part
        assert "<li" not in part


def test_the_client_home_links_to_the_signature_waiting_and_shows_the_card_state(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    signoff.sign(db, actor_for(circle.key_worker), doc, 2, "signed", "", PASSWORD)
    html = page(app, circle.client)
    part = section(html)
    assert f'href="/documents/{doc}#sign-off"' in part
    assert "Version 2 of your care plan is waiting for your signature" in part
    # It comes before everything else on the page, after the heading.
    assert html.index("h-needs-you") < html.index('class="cards"')
    assert "Version 2 is waiting for a signature: yours." in html


def _card(html: str, doc: int) -> str:
    found = re.search(rf'<li>\s*<a href="/documents/{doc}">.*?</li>', html, re.S)
    assert found, html
    return found.group(0)


def test_the_plan_cards_mark_the_readers_own_unsaved_changes_and_link_to_carry_on(app, db):
    circle = Circle()
    mine, theirs, neither = (make_plan(circle.key_worker, circle.client) for _ in range(3))
    drafts.keep(db, actor_for(circle.client), mine, 1, "", [("what_matters-text", "unsure")])
    drafts.keep(db, actor_for(circle.key_worker), theirs, 1, "", [("what_matters-text", "x")])
    carry_on = 'href="/documents/{}/edit?draft=restore">Carry on with your changes'
    # The client's start page ("My plans") and the key worker's page of the client: each
    # sees only their own draft marked.
    for who, own in ((circle.client, mine), (circle.key_worker, theirs)):
        html = page(app, who, f"/clients/{circle.client.id}")
        for doc in (mine, theirs, neither):
            card = _card(html, doc)
            if doc == own:
                assert "Your changes are not saved yet (you last typed on " in card
                assert carry_on.format(doc) in card
            else:
                assert "not saved yet" not in card and "draft=restore" not in card
    # Nobody else who reads the list sees anyone's draft.
    html = page(app, circle.supervisor, f"/clients/{circle.client.id}")
    assert "not saved yet" not in html and "draft=restore" not in html


def test_the_key_worker_home_lists_each_client_waiting_for_their_signature(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    part = section(page(app, circle.key_worker))
    assert f'href="/documents/{doc}#sign-off"' in part
    assert circle.client.display_name in part
    assert "Nothing needs you" not in part


def test_the_supervisor_and_the_new_worker_see_the_handover(app, db):
    circle = Circle()
    agreed = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), agreed, 1, "signed", "", PASSWORD)
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, incoming.id, "Moving.")
    link = f'href="/clients/{circle.client.id}#handover"'
    assert link in section(page(app, circle.supervisor))
    part = section(page(app, incoming))
    assert link in part and "over to you" in part
    client_part = section(page(app, circle.client))
    assert link in client_part and "Your key worker is changing" in client_part
    # The worker handing over sees it wait: the client is theirs until it is taken over.
    outgoing = section(page(app, circle.key_worker))
    name = incoming.display_name
    assert link in outgoing and f"for {name} to take over. Until then" in outgoing
    assert 'id="handover"' in page(app, circle.key_worker, f"/clients/{circle.client.id}")
    # The reading is the new worker's: said so to anyone else (it read as the client's task).
    own = page(app, circle.client, f"/clients/{circle.client.id}")
    assert f"Agreed documents {incoming.display_name} reads first:" in own
    assert "Agreed documents to read first:" not in own
    # Before the button, which cannot be pressed yet: what to do first.
    records = page(app, incoming, f"/clients/{circle.client.id}")
    assert "Agreed documents to read first:" in records
    said = records.index("To take over, first open each agreed document above.")
    button = records.index(' disabled aria-describedby="before-taking-over">I have read')
    assert said < button and 'id="before-taking-over"' in records


def test_the_handovers_waiting_list_names_the_client_as_the_caseload_list_does(app, db):
    """With how they like to be called beside their full name (it gave the full name only)."""
    circle = Circle()
    with db.write() as s:
        client = s.get(User, circle.client.id)
        client.preferred_name, client.pronouns = "Al", "they/them"
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, incoming.id, "Moving.")
    html = page(app, circle.supervisor)
    waiting = re.search(r"<h2>Handovers waiting</h2>.*?</ul>", html, re.S).group(0)
    introduced = f"{circle.client.display_name}, known as Al, they/them"
    assert f'<a href="/clients/{circle.client.id}">{introduced}</a>: from ' in waiting
    row = re.search(r"<tr>\s*<td data-label=\"Name\">.*?</tr>", html, re.S).group(0)
    assert f">{introduced}</a>" in row  # the caseload list, below


def test_nobody_else_sees_the_clients_list_of_what_waits(app, db):
    """A worker looking at the client's records sees the cards, not the client's own list."""
    circle = Circle()
    make_plan(circle.key_worker, circle.client)
    html = page(app, circle.key_worker, f"/clients/{circle.client.id}")
    assert "h-needs-you" not in html and "Version 1 is waiting for signatures: " in html


def test_each_kind_of_line_links_to_where_it_is_dealt_with(app):
    expected = {
        Place.SIGN: "/documents/5#sign-off",
        Place.REVIEW: "/documents/5#review",
        Place.CRISIS_PLAN: "/documents/5/crisis-plan",
        Place.RESPOND: "/documents/5/respond",
        Place.HANDOVER: "/clients/9#handover",
        Place.MESSAGES: "/me/notifications",
        Place.OVERDUE_REVIEWS: "/supervision?state=overdue",
        Place.CARRY_ON: "/documents/5/edit?draft=restore",
    }
    assert set(expected) == set(Place)
    with app.test_request_context():
        for place, url in expected.items():
            html = render_template_string(
                '{% import "home/_needs_you.html" as a with context %}{{ a.needs_you(items) }}',
                items=[Item(Kind.REVIEW, "Do this.", place, document_id=5, client_id=9)],
            )
            assert f'<a href="{url}">Do this.</a>' in html, (place, html)


def test_each_client_row_shows_the_next_review_how_many_wait_to_be_signed_and_declined(app, db):
    circle = Circle()
    agreed = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), agreed, 1, "signed", "", PASSWORD)
    waiting = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), waiting, 1, "signed", "", PASSWORD)
    make_plan(circle.key_worker, circle.client)  # a draft nobody has signed waits too
    declined = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), declined, 1, "declined", "Not yet.", PASSWORD)
    with db.read() as s:
        review = s.get(Document, agreed).next_review_on
    assert review is not None
    html = page(app, circle.key_worker)
    row = re.search(r"<tr>\s*<td data-label=\"Name\">.*?</tr>", html, re.S).group(0)
    assert "4, 2 waiting to be signed, 1 declined" in row
    assert f"{review.day} {review:%B %Y}" in row


def test_a_handover_with_nobody_to_hand_to_says_who_can_help(app, db):
    circle = Circle()
    url = f"/clients/{circle.client.id}/handover"
    words = " ".join(page(app, circle.key_worker, url).split())
    assert "There is no other key worker in your team" in words
    assert "A supervisor of your team can hand" in words and "<select" not in words
    words = " ".join(page(app, circle.supervisor, url).split())
    assert "There is no other key worker in the teams you supervise." in words
    assert "An administrator can add a key worker" in words
    # Once there is someone, the form is there instead.
    KeyWorkerFactory(team_id=circle.team.id)
    html = page(app, circle.key_worker, url)
    assert 'id="to_worker_id"' in html and "There is no other key worker" not in html


@pytest.mark.parametrize("role", ["client", "key_worker", "supervisor", "admin"])
def test_each_link_of_the_main_menu_opens_a_page_headed_with_its_words(app, db, role):
    """ "Messages" once opened a page headed "My reminders", and "Reminders" one headed "How I
    get reminders": a menu's words are what the person then looks for on the page."""
    circle = Circle()
    browser = login(app.test_client(), getattr(circle, role))
    html = browser.get("/", follow_redirects=True).get_data(as_text=True)
    menu = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    links = re.findall(r'<a href="([^"]+)">([^<(]+)', menu)
    assert len(links) >= 3
    for href, words in links:
        page = browser.get(href).get_data(as_text=True)
        heading = re.search(r"<h1>([^<]+)</h1>", page).group(1)
        assert words.strip().lower() in heading.lower(), (href, words, heading)


def test_the_reminders_page_is_named_for_what_it_holds_and_points_to_the_messages(app, db):
    circle = Circle()
    client = page(app, circle.client, "/me/reminders")
    assert "<h1>How I get reminders</h1>" in client
    assert 'Each reminder is also in <a href="/me/notifications">my messages</a>.' in client
    # The choices say where in-app reminders appear: the messages, not this page of dates.
    assert "By e-mail, and in my messages here" in client
    assert "Only in my messages here, when I sign in" in client
    assert "reminders page here" not in client
    advocate = page(app, circle.advocate, "/me/reminders")  # nobody reminds an advocate
    assert "<h1>Review dates</h1>" in advocate and "<title>Review dates" in advocate
    assert ">Review dates</a>" in advocate and "How I get reminders" not in advocate


def test_the_review_dates_say_whose_plan_by_the_name_the_client_goes_by(app, db):
    """As the plan's own page does ("Care plan for Al"); the list gave their full name."""
    circle = Circle()
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    agreed = make_plan(circle.key_worker, circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), agreed, 1, "signed", "", PASSWORD)
    for person in (circle.key_worker, circle.supervisor, circle.advocate):
        dates = page(app, person, "/me/reminders")
        assert "</strong></a>: Care plan for Al <span" in dates, person.display_name
        assert circle.client.display_name not in dates


def test_a_browser_asking_for_favicon_ico_is_sent_to_the_icon(app, db):
    """It answered 404, which browsers log as an error on a page naming no icon."""
    browser = app.test_client()  # not signed in: the icon is for any page
    asked = browser.get("/favicon.ico")
    assert asked.status_code == 301 and asked.headers["Location"] == "/static/favicon.svg"
    icon = browser.get(asked.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    icon.close()


def _row(html: str, client_id: int) -> str:
    found = re.search(
        rf'<tr>\s*<td data-label="Name"><a href="/clients/{client_id}">.*?</tr>', html, re.S
    )
    assert found, html
    return found.group(0)


def test_the_caseload_and_what_needs_you_name_the_workers_own_unsaved_changes(app, db):
    circle = Circle()
    mine, theirs = (make_plan(circle.key_worker, circle.client) for _ in range(2))
    other = Circle(team=circle.team)  # a colleague's client, with the colleague's draft
    elsewhere = make_plan(other.key_worker, other.client)
    drafts.keep(db, actor_for(circle.key_worker), mine, 1, "", [("what_matters-text", "x")])
    drafts.keep(db, actor_for(circle.client), theirs, 1, "", [("what_matters-text", "y")])
    drafts.keep(db, actor_for(other.key_worker), elsewhere, 1, "", [("what_matters-text", "z")])
    name = circle.client.display_name
    html = page(app, circle.key_worker)
    carry_on = f'href="/documents/{mine}/edit?draft=restore">Carry on with your changes'
    row = _row(html, circle.client.id)
    assert f"Your changes to {name}&#39;s care plan are not saved yet (you last typed on " in row
    assert carry_on + f'<span class="visually-hidden"> to {name}&#39;s care plan</span>' in row
    assert row.count("not saved yet") == 1  # not the client's own draft
    part = section(html)
    assert f"{carry_on.split('>')[0]}>Your changes to {name}&#39;s care plan are not saved" in part
    assert part.count("not saved yet") == 1
    assert f"/documents/{theirs}/edit" not in html and f"/documents/{elsewhere}/" not in html
    # The client is offered their own, never the worker's.
    html = page(app, circle.client)
    assert f'href="/documents/{theirs}/edit?draft=restore">Your changes to your care plan' in html
    assert f"/documents/{mine}/edit" not in html
    # Nobody else sees anyone's: the colleague, the supervisor of both, the advocate.
    html = page(app, other.key_worker)
    assert html.count("not saved yet") == 2  # their own, in their row and in the list
    assert f"/documents/{mine}/edit" not in html and f"/documents/{theirs}/edit" not in html
    for who in (circle.supervisor, circle.advocate):
        html = page(app, who)
        assert "not saved yet" not in html and "draft=restore" not in html, who.role


def test_the_supervisor_s_start_page_says_what_they_may_change(app, db):
    """It said "You can read these records but not change them" to people who hand clients
    over from a client's page."""
    circle = Circle()
    words = " ".join(page(app, circle.supervisor).split())
    assert "You can read these records, but not write in them or sign them." in words
    assert (
        "You can respond to a request for help, hand a client over to another key worker, and "
        "record that someone has left the service." in words
    )
    assert "not change them" not in words
    # The page's title is its heading (it was the advocate's, "People who invited me").
    assert "<title>My teams&#39; clients" in page(app, circle.supervisor)
    assert "<title>My caseload" in page(app, circle.key_worker)
    assert "<title>People who invited me" in page(app, circle.advocate)


def test_taking_over_a_client_with_nothing_agreed_does_not_say_it_was_read(app, db):
    """With no agreed documents, the only button had the new worker state "I have read the
    agreed documents", a record of something that was not so."""
    circle = Circle()
    make_plan(circle.key_worker, circle.client)  # a draft: nothing agreed to read
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, incoming.id, "Moving.")
    records = page(app, incoming, f"/clients/{circle.client.id}")
    assert "Take over: there are no agreed documents to read</button>" in records
    assert "I have read the agreed documents" not in records


def test_an_advocate_stopped_is_not_left_with_nobody_yet_nor_a_request_still_new(app, db):
    """An advocate whose one client stopped their access read "There is nobody here yet" as
    never having been asked, under a message asking them to look at a version, still New."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    asked = NotificationFactory(user_id=circle.advocate.id, document_id=doc).id
    accounts.revoke_advocate(db, actor_for(circle.client), circle.advocate.id)
    with db.read() as s:  # what they were asked to look at no longer waits for them
        assert s.get(Notification, asked).read_at is not None
    page = " ".join(
        login(app.test_client(), circle.advocate).get("/").get_data(as_text=True).split()
    )
    assert "Nobody has you as their advocate at the moment." in page
    assert "nobody here yet" not in page
    worker = login(app.test_client(), KeyWorkerFactory(team_id=circle.team.id))
    assert "Nobody is on your caseload at the moment." in worker.get("/").get_data(as_text=True)


def test_a_handover_with_nothing_agreed_to_read_says_so_on_the_supervisor_s_page(app, db):
    """It said "0 of 0 agreed documents opened."."""
    circle = Circle()
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, incoming.id, "Cover.")
    words = " ".join(re.sub(r"<[^>]+>", " ", page(app, circle.supervisor)).split())
    assert "Nothing agreed to read first." in words and "0 of 0" not in words


def test_an_advocate_s_links_to_the_review_dates_page_say_what_it_is_to_them(app, db):
    """Advocates are not reminded: "How I get reminders" opened a page headed "Review dates"."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for url in ("/me/notifications", f"/documents/{doc}"):
        html = page(app, circle.advocate, url)
        assert "Review dates, and my calendar" in html and "How I get reminders" not in html, url
    assert "How I get reminders, and my calendar" in page(app, circle.client, "/me/notifications")


def test_a_long_caseload_has_a_box_to_find_someone_by_any_name_they_go_by(app, db):
    circle = Circle()
    clients = [ClientFactory(display_name=f"Person {n:02}") for n in range(10)]
    clients.append(ClientFactory(display_name="Zoë Baker", preferred_name="Bee"))
    for client in clients:
        CaseloadLinkFactory(client_id=client.id, key_worker_id=circle.key_worker.id)
    everyone = page(app, circle.key_worker)
    assert 'role="search"' in everyone and everyone.count('data-label="Name"') == 12

    found = page(app, circle.key_worker, "/?q=+zoe++BAK")
    assert found.count('data-label="Name"') == 1 and "Zoë Baker" in found
    assert "1 of 12 people has “<bdi>zoe BAK</bdi>” in their name." in " ".join(found.split())
    assert 'value="zoe BAK"' in found
    assert "Zoë Baker" in page(app, circle.key_worker, "/?q=bee")

    # A supervisor finds them too; nobody found says so, not "nobody on your caseload".
    assert "Zoë Baker" in page(app, circle.supervisor, "/?q=baker")
    nobody = " ".join(page(app, circle.key_worker, "/?q=" + "x" * 5000).split())
    assert f"Nobody here has “<bdi>{'x' * 200}</bdi>” in their name." in nobody
    assert 'data-label="Name"' not in nobody and "Nobody is on your caseload" not in nobody
    assert 'href="/">Show everyone</a>' in nobody


def test_a_short_caseload_has_no_box_to_find_someone(app, db):
    circle = Circle()
    assert 'role="search"' not in page(app, circle.key_worker)


def test_the_caseload_counts_a_document_started_with_nothing_saved_as_the_clients_list_does(
    app, db
):
    """ "Documents 0" on the key worker's caseload, where the client's list said "Kim started
    it; nothing is saved in it yet"."""
    circle = Circle()
    documents.create_document(db, actor_for(circle.key_worker), circle.client.id, "care_plan")
    page = login(app.test_client(), circle.key_worker).get("/").get_data(as_text=True)
    cell = re.search(r'<td data-label="Documents">(.*?)</td>', page, re.S).group(1)
    assert cell.startswith("0 (1 more started, with nothing saved in it yet)"), cell
    # Not to a supervisor: nothing there to account for.
    board = login(app.test_client(), circle.supervisor).get("/").get_data(as_text=True)
    assert "more started" not in board


def test_a_key_worker_s_caseload_says_which_clients_have_no_care_plan_yet(app, db):
    """The supervisors' dashboard listed them as having no care plan yet, while their key
    worker's caseload showed only "0" or "1" (an agreement)."""
    circle = Circle()
    make_plan(circle.key_worker, circle.client)
    new = ClientFactory(display_name="Chris New")
    with_agreement = ClientFactory(display_name="Fay Agreement")
    for person in (new, with_agreement):
        CaseloadLinkFactory(client_id=person.id, key_worker_id=circle.key_worker.id)
    make_agreement(circle.key_worker, with_agreement)
    html = page(app, circle.key_worker)
    rows = {
        m.group(1): " ".join(re.sub(r"<[^>]+>", " ", m.group(2)).split())
        for m in re.finditer(r">([^<]+)</a></td>.*?data-label=\"Documents\">(.*?)</td>", html, re.S)
    }
    assert rows["Chris New"] == "0, no care plan yet"
    assert rows["Fay Agreement"] == "1, 1 waiting to be signed, no care plan yet"
    assert "no care plan" not in rows[circle.client.display_name]
