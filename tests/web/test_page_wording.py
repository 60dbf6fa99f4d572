"""Words on pages that show documents and people: an empty earlier answer, a document's kind
in its history, and staff reading "you" for themselves."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from careplan.services import documents, signoff
from careplan.services.accounts import actor_for
from tests.conftest import login
from tests.factories import PASSWORD, Circle, make_agreement, make_plan


def _words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _agreed_then_drafted(db, circle: Circle) -> int:
    """A plan agreed at version 1, then a draft that writes an answer left empty in it."""
    doc = make_plan(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), doc, 1, "signed", "", PASSWORD)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    content["domains"]["money"] = {"own_words": "Universal Credit is late again."}
    documents.save_version(db, worker, doc, 1, content, "money")
    return doc


def test_an_answer_empty_in_the_agreed_version_reads_nothing_written(app, db):
    circle = Circle()
    doc = _agreed_then_drafted(db, circle)
    page = login(app.test_client(), circle.key_worker).get(f"/documents/{doc}")
    panel = re.search(r'<section class="side-by-side".*?</section>', page.get_data(True), re.S)
    said = _words(panel.group(0))
    assert "In force (version 1) Nothing written. Draft (version 2) Universal Credit" in said
    assert "Not there." not in said


def test_a_step_added_where_one_was_taken_out_is_not_said_to_be_empty_in_force(app, db):
    """The draft takes the agreed version's only step out and adds another: both are "Goal 1,
    step 1" as their own version numbers them. The new one is not in the agreed version; it
    said "Nothing written." of the agreed version's step 1, which had words."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    soon = (date.today() + timedelta(days=60)).isoformat()
    content = documents.open_document(db, worker, doc).content
    content["goals"] = [
        {
            "title": "Sleep",
            "steps": [{"text": "Walk", "owner": {"kind": "client"}, "due": soon}],
        }
    ]
    documents.save_version(db, worker, doc, 1, content, "goal")
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), doc, 2, "signed", "", PASSWORD)
    content = documents.open_document(db, worker, doc).content
    content["goals"][0]["steps"] = [
        {"text": "Read at night", "owner": {"kind": "client"}, "due": soon}
    ]
    documents.save_version(db, worker, doc, 2, content, "goals")
    page = login(app.test_client(), circle.key_worker).get(f"/documents/{doc}")
    panel = re.search(r'<section class="side-by-side".*?</section>', page.get_data(True), re.S)
    said = _words(panel.group(0))
    assert "Goal 1, step 1 In force (version 2) Walk Draft (version 3) Taken out." in said
    assert (
        "Goal 1, step 1 In force (version 2) Not in version 2: added in this draft. "
        "Draft (version 3) Read at night" in said
    )
    assert "Nothing written. Draft (version 3) Read at night" not in said


def test_the_history_says_what_kind_of_document_both_signed(app, db):
    circle = Circle()
    plan = make_plan(circle.key_worker, circle.client)
    agreement = make_agreement(circle.key_worker, circle.client)
    for doc in (plan, agreement):
        for who in (circle.client, circle.key_worker):
            signoff.sign(db, actor_for(who), doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    browser = login(app.test_client(), circle.client)
    said = _words(browser.get(f"/documents/{plan}/history").get_data(as_text=True))
    assert "completed the signing: both have signed the care plan (version 1)" in said
    said = _words(browser.get(f"/documents/{agreement}/history").get_data(as_text=True))
    assert "both have signed the partnership agreement (version 1)" in said
    assert "completed the agreement" not in said


def test_the_history_marks_the_versions_both_signed(app, db):
    """Every row read the same: the version agreed was not told from the drafts around it."""
    circle = Circle()
    doc = _agreed_then_drafted(db, circle)  # version 1 agreed, version 2 a draft
    worker = actor_for(circle.key_worker)
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), doc, 2, "signed", "", PASSWORD)
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "Seeing my daughter at weekends."}
    documents.save_version(db, worker, doc, 2, content, "weekends")
    html = login(app.test_client(), circle.client).get(f"/documents/{doc}/history")
    page = html.get_data(as_text=True)
    assert [_words(cell) for cell in re.findall(r"<tr>\s*<td>(.*?)</td>", page, re.S)] == [
        "Version 3",
        "Version 2 agreed, in force",
        "Version 1 agreed, since replaced",
    ]


def test_the_history_says_an_advocate_was_asked_in_words_every_reader_can_read(app, db):
    """It said "You asked their advocate to look" to the client who had asked theirs."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    signoff.ask_advocate_to_look(db, actor_for(circle.client), doc, 1)
    for reader, who in ((circle.client, "You"), (circle.key_worker, circle.client.display_name)):
        browser = login(app.test_client(), reader)
        said = _words(browser.get(f"/documents/{doc}/history").get_data(as_text=True))
        assert f"{who} asked an advocate to look at a version (version 1)" in said
        assert "their advocate" not in said


def test_a_key_worker_reads_you_for_themselves_on_the_client_page_and_caseload(app, db):
    circle = Circle()
    worker = login(app.test_client(), circle.key_worker)
    name = circle.key_worker.display_name
    said = _words(worker.get(f"/clients/{circle.client.id}").get_data(as_text=True))
    assert "Key worker: you" in said and f"Key worker: {name}" not in said
    listing = worker.get("/").get_data(as_text=True)
    cell = re.search(r'<td data-label="Key worker">([^<]*)</td>', listing).group(1)
    assert cell == "you"
    # Everyone else still reads the name.
    supervisor = login(app.test_client(), circle.supervisor)
    said = _words(supervisor.get(f"/clients/{circle.client.id}").get_data(as_text=True))
    assert f"Key worker: {name}" in said
    client = login(app.test_client(), circle.client)
    said = _words(client.get(f"/clients/{circle.client.id}").get_data(as_text=True))
    assert f"Your key worker: {name}" in said


def test_a_part_left_blank_on_purpose_reads_so_in_the_agreed_column(app, db):
    """The agreed version beside a draft said "Nothing written." of parts both signers had
    confirmed were left blank on purpose, where the page, the crisis page and the PDF say so."""
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    sections = content["sections"]
    sections["contingencies"]["contacts"] = [{"name": "Jo Bloggs", "role": "sister"}]
    sections["contingencies"]["self_referral_how"] = {"text": "Call the ward."}
    sections["contingencies"]["what_helps"] = {"text": "Quiet."}
    sections["shared_goals"]["goals"] = [{"title": "Sleep better", "steps": []}]
    documents.save_version(db, worker, doc, 1, content, "filled in")
    page = login(app.test_client(), circle.key_worker).get(f"/documents/{doc}")
    panel = re.search(r'<section class="side-by-side".*?</section>', page.get_data(True), re.S)
    said = _words(panel.group(0))
    on_purpose = "In force (version 1) Left blank on purpose. Draft (version 2)"
    assert f"Who should be contacted? {on_purpose} Jo Bloggs" in said
    assert f"How do I ask for a short stay myself, and who do I call? {on_purpose}" in said
    assert f"Goal 1 {on_purpose} Sleep better" in said
    # Nobody was asked to confirm this one: it was only not written.
    assert "What helps me? In force (version 1) Nothing written. Draft (version 2) Quiet." in said


def test_starting_a_second_care_plan_points_to_the_one_there_is_first(app, db):
    """A new care plan starts empty beside the one there is: someone who wants to change
    theirs may tap "Start a new care plan", so the page says where to change it."""
    circle = Circle()
    records = f"/clients/{circle.client.id}"
    hint = "already has a care plan. To change it, open it and choose Edit."
    client = login(app.test_client(), circle.client)
    make_agreement(circle.key_worker, circle.client)
    page = client.get(records).get_data(as_text=True)
    assert "already have a care plan" not in page  # an agreement is no care plan

    make_plan(circle.key_worker, circle.client)
    page = client.get(records).get_data(as_text=True)
    assert "You already have a care plan. To change it, open it and choose Edit." in page
    assert 'aria-describedby="new-plan-hint">Start a new care plan' in page
    worker = login(app.test_client(), circle.key_worker)
    said = worker.get(records).get_data(as_text=True)
    assert f"{circle.client.display_name} {hint}" in said


def test_an_incoming_key_worker_on_a_draft_is_pointed_to_the_version_in_force(app, db):
    """Opening the care plan from its card showed the draft, which does not count as reading
    it for the handover, and nothing on the page said so: 'not opened yet' stayed."""
    from careplan.services import handovers
    from tests.factories import KeyWorkerFactory

    circle = Circle()
    doc = _agreed_then_drafted(db, circle)
    new = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new.id, "Over to you")
    web = login(app.test_client(), new)
    said = _words(web.get(f"/documents/{doc}").get_data(as_text=True))
    assert (
        f"To take {circle.client.display_name} over, read the version in force: version 1, as "
        "agreed . This page shows a later draft." in said  # (a link ends before the stop)
    )
    assert not handovers.pending_for_client(db, actor_for(new), circle.client.id).to_read[0].opened
    web.get(f"/documents/{doc}/versions/1")
    assert handovers.pending_for_client(db, actor_for(new), circle.client.id).to_read[0].opened
    # The client's own key worker, who edits, is not told this.
    worker = login(app.test_client(), circle.key_worker)
    assert "read-agreed-to-take-over" not in worker.get(f"/documents/{doc}").get_data(True)


def test_the_history_says_when_a_review_was_due_and_how_late_it_was_done(app, db):
    """Once done, a review said only 'completed the review with no changes': whether it was
    on time, which an inspector asks of every client, was on no page about the client."""
    from careplan.db.models import Document
    from careplan.services import reviews

    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    for who in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(who), doc, 1, "signed", "", PASSWORD)
    with db.read() as s:
        due = s.get(Document, doc).next_review_on
    late = datetime.combine(due + timedelta(days=23), time(12), UTC)
    for who in (circle.client, circle.key_worker):
        reviews.confirm_no_changes(db, actor_for(who), doc, 1, PASSWORD, late)
    supervisor = login(app.test_client(), circle.supervisor)
    said = _words(supervisor.get(f"/documents/{doc}/history").get_data(as_text=True))
    assert (
        "completed the review with no changes, 23 days after it was due on "
        f"{due.day} {due:%B %Y} (version 1)" in said
    )
    with db.read() as s:
        due = s.get(Document, doc).next_review_on
    early = datetime.combine(due - timedelta(days=1), time(12), UTC)
    for who in (circle.client, circle.key_worker):
        reviews.confirm_no_changes(db, actor_for(who), doc, 1, PASSWORD, early)
    said = _words(supervisor.get(f"/documents/{doc}/history").get_data(as_text=True))
    assert f"completed the review with no changes, by the day it was due ({due.day} " in said
