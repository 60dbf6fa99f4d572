"""A client leaving the service: the caseload ends, their records stay theirs, nobody is
reminded about them any more, and nobody is left to answer a request for help that nobody
would see."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from careplan.db.models import (
    AuditEvent,
    CaseloadLink,
    Comment,
    ContingencyActivation,
    Document,
    Notification,
    Reminder,
    ReviewLog,
    SelfReferralRequest,
    User,
    utcnow,
)
from careplan.domain import local_time
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_day, service_today, start_of_day, time_zone
from careplan.domain.supervision import Filters
from careplan.services import (
    admin_accounts,
    comments,
    contingencies,
    crisis_alerts,
    documents,
    handovers,
    leaving,
    reminders,
    reviews,
    signoff,
    supervision,
)
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid, NotFound
from careplan.services.reminders import ReminderSettings
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    Circle,
    KeyWorkerFactory,
    NotificationFactory,
    make_agreement,
    make_plan,
)

TODAY = date(2027, 3, 1)
SETTINGS = ReminderSettings(base_url="https://app.example.org")


def at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, 9, tzinfo=UTC)


@pytest.fixture
def circle(app):
    return Circle()


def agreed(db, circle, doc: int, number: int = 1) -> None:
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, number, "signed", "", PASSWORD)


def due_on(db, doc: int, day: date) -> None:
    with db.write() as s:
        d = s.get(Document, doc)
        d.next_review_on = d.scheduled_review_on = day


def review_on(db, doc: int) -> date | None:
    with db.read() as s:
        return s.get(Document, doc).next_review_on


def links(db, client_id: int) -> list[CaseloadLink]:
    with db.read() as s:
        return list(
            s.scalars(
                sa.select(CaseloadLink)
                .where(CaseloadLink.client_id == client_id)
                .order_by(CaseloadLink.id)
            )
        )


def texts(db, user_id: int) -> list[str]:
    with db.read() as s:
        return list(s.scalars(sa.select(Notification.text).where(Notification.user_id == user_id)))


def count(db, model, *where) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_a_client_who_left_keeps_their_records_and_nobody_is_reminded_about_them(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    agreed(db, circle, doc)
    due = TODAY + timedelta(days=14)
    due_on(db, doc, due)
    assert reminders.sweep(db, SETTINGS, at(TODAY)).inserted > 0  # owed while in the service
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    board = supervision.dashboard(db, actor_for(circle.supervisor), Filters(), TODAY)
    assert [r.client_id for r in board.rows] == [circle.client.id]

    leaving.record(db, worker, circle.client.id, "  Finished treatment and moved away.  ", TODAY)

    [link] = links(db, circle.client.id)
    assert link.ended_at is not None and link.ended_by_id == circle.key_worker.id
    # No review is planned without a key worker: not on the client's pages or calendar either.
    assert review_on(db, doc) is None
    assert reviews.review_dates_for(db, client) == []
    assert reviews.review_panel(db, client, doc, TODAY).can_request is False
    with pytest.raises(Invalid, match="no key worker to review it with"):
        reviews.request_earlier_review(db, client, doc, TODAY.isoformat(), "Soon", TODAY)
    assert link.end_note == "Finished treatment and moved away."
    # The client still reads everything, and is told what happened and by whom.
    assert documents.open_document(db, client, doc).shown.number == 1
    records = documents.client_records(db, client, circle.client.id)
    assert records.key_worker_name == ""
    assert records.left.note == "Finished treatment and moved away."
    assert records.left.recorded_by == circle.key_worker.display_name
    assert any("your time with the service has ended" in t for t in texts(db, circle.client.id))
    # The former key worker and the team's supervisor no longer open the records.
    for staff in (worker, actor_for(circle.supervisor)):
        with pytest.raises(NotFound):
            documents.open_document(db, staff, doc)
    board = supervision.dashboard(db, actor_for(circle.supervisor), Filters(), TODAY)
    assert board.rows == []
    # Nothing new is owed through the review date and well past it, and what was waiting is
    # cancelled when a sender picks it up, not sent.
    for day in (due, due + timedelta(days=30)):
        assert reminders.sweep(db, SETTINGS, at(day)).inserted == 0
    claimed = reminders.claim(db, SETTINGS, at(due), "sender-1", limit=100)
    assert claimed.items == []
    reminders.build_digests(db, SETTINGS, at(due))  # the key worker's daily summary
    with db.read() as s:
        assert set(s.scalars(sa.select(Reminder.status))) == {"cancelled"}
    [event] = _events(db, "caseload.end")
    assert (event.client_id, event.actor_id) == (circle.client.id, circle.key_worker.id)


def test_the_advocate_reads_on_after_leaving_but_not_once_the_account_is_closed(db, circle):
    # The client still sees and can stop their advocate while their account is open; once it
    # is closed they can do neither, so the advocate's reading ends with it, by any address.
    doc = make_plan(circle.key_worker, circle.client)
    advocate, admin = actor_for(circle.advocate), actor_for(circle.admin)
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved away.", TODAY)
    assert documents.open_document(db, advocate, doc).shown.number == 1

    admin_accounts.set_active(db, admin, circle.client.id, False, "Asked to close it")

    with pytest.raises(NotFound):
        documents.open_document(db, advocate, doc)
    with pytest.raises(NotFound):
        documents.client_records(db, advocate, circle.client.id)
    with pytest.raises(NotFound):
        comments.add_comment(db, advocate, doc, "what_matters", 1, "Still here?")
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0
    admin_accounts.set_active(db, admin, circle.client.id, True)
    assert documents.open_document(db, advocate, doc).shown.number == 1


def _events(db, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_a_supervisor_may_record_it_and_the_key_worker_is_told(db, circle):
    """Of the client by the name they go by, as pages call them (once their full name)."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    leaving.record(db, actor_for(circle.supervisor), circle.client.id, "Moved away.", TODAY)
    assert (
        f"{circle.supervisor.display_name} recorded that Al has left the service. Al's records "
        "are no longer on your caseload."
    ) in texts(db, circle.key_worker.id)
    assert links(db, circle.client.id)[0].ended_by_id == circle.supervisor.id


def test_the_key_workers_messages_about_the_client_stop_counting_as_new(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    waiting = NotificationFactory(user_id=circle.key_worker.id, document_id=doc).id
    clients = NotificationFactory(user_id=circle.client.id, document_id=doc).id
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved away.", TODAY)
    with db.read() as s:
        assert s.get(Notification, waiting).read_at is not None
        assert s.get(Notification, clients).read_at is None  # still theirs to read


def test_the_form_and_what_it_says_call_the_client_by_the_name_they_go_by(app, db, circle):
    """As the client's other pages do (the form, its link and its messages gave their full
    name). The way back to their records keeps the full name those records are headed with."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    records, form = f"/clients/{circle.client.id}", f"/clients/{circle.client.id}/leaving"
    worker = login(app.test_client(), circle.key_worker)
    page = worker.get(records).text
    assert f'<a href="{form}">Record that Al has left the service</a>' in page
    page = worker.get(form).text
    assert "<title>Al has left the service" in page
    assert "<h1>Record that Al has left the service</h1>" in page
    assert "Use this when the work with Al has ended" in page
    assert "Al is on nobody's caseload" in page and "Al reads this note" in page
    assert f'<a href="{records}">{circle.client.display_name}</a>' in page
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, incoming.id, "Mondays.")
    refused = worker.post(form, data={"note": "Moved away.", "csrf_token": csrf_token(worker)})
    assert refused.status_code == 400
    assert f"Al is being handed over to {incoming.display_name}." in refused.text
    handovers.cancel(db, actor_for(circle.key_worker), circle.client.id)
    done = worker.post(
        form, data={"note": "Moved away.", "csrf_token": csrf_token(worker)}, follow_redirects=True
    )
    assert "Al has left the service and is no longer on a caseload." in done.text
    page = login(app.test_client(), circle.advocate).get(records).text  # still invited
    assert "<strong>Al left the service on " in page
    assert f"{circle.client.display_name} left" not in page + done.text


@pytest.mark.parametrize("who", ["client", "advocate", "admin", "other_worker"])
def test_nobody_else_may_record_it(db, circle, who):
    person = KeyWorkerFactory(team_id=circle.team.id) if who == "other_worker" else None
    person = person or getattr(circle, who)
    with pytest.raises(NotFound):
        leaving.check(db, actor_for(person), circle.client.id, TODAY)
    with pytest.raises(NotFound):
        leaving.record(db, actor_for(person), circle.client.id, "Moved away.", TODAY)
    assert links(db, circle.client.id)[0].ended_at is None


@pytest.mark.parametrize("note", ["", "   ", "x" * 2001])
def test_a_note_is_needed_and_kept_short(db, circle, note):
    with pytest.raises(ContentInvalid) as refused:
        leaving.record(db, actor_for(circle.key_worker), circle.client.id, note, TODAY)
    assert set(refused.value.errors) == {"note"}
    assert links(db, circle.client.id)[0].ended_at is None


def test_not_while_a_handover_waits(db, circle):
    new = KeyWorkerFactory(team_id=circle.team.id)
    worker = actor_for(circle.key_worker)
    handovers.start(db, worker, circle.client.id, new.id, "Collects on Mondays.")
    with pytest.raises(Invalid, match=f"being handed over to {new.display_name}"):
        leaving.record(db, worker, circle.client.id, "Moved away.", TODAY)
    assert links(db, circle.client.id)[0].ended_at is None
    assert _events(db, "caseload.end") == []
    handovers.cancel(db, worker, circle.client.id)
    leaving.record(db, worker, circle.client.id, "Moved away.", TODAY)


def test_not_while_the_crisis_plan_is_in_effect(db, circle):
    doc = make_agreement(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(db, worker, doc, "Not sleeping", "", ends, TODAY)
    with pytest.raises(Invalid, match="not well is in effect. End it first"):
        leaving.record(db, worker, circle.client.id, "Moved away.", TODAY)
    assert links(db, circle.client.id)[0].ended_at is None
    # A supervisor, who may not end it, is told who can.
    supervisor = actor_for(circle.supervisor)
    _, _, said = leaving.check(db, supervisor, circle.client.id, TODAY)
    assert "It has to be ended first, by" in said and "or their key worker" in said
    # Once it has run out, it no longer stands in the way.
    leaving.record(db, worker, circle.client.id, "Moved away.", TODAY + timedelta(days=4))


def test_after_leaving_asking_for_help_here_says_plainly_nobody_would_see_it(db, circle):
    doc = make_agreement(circle.key_worker, circle.client)
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved away.", TODAY)
    client = actor_for(circle.client)
    ends = (TODAY + timedelta(days=3)).isoformat()
    with pytest.raises(Invalid, match="Nobody at the service would see this"):
        contingencies.start_contingency(db, client, doc, "Not sleeping", "", ends, TODAY)
    with pytest.raises(Invalid, match="Nobody at the service would see this"):
        contingencies.request_self_referral(db, client, doc, "2", "", "", TODAY)
    assert count(db, ContingencyActivation) == 0 and count(db, SelfReferralRequest) == 0
    assert contingencies.crisis_record(db, client, doc, TODAY).nobody_to_respond is True


def test_recorded_once_and_then_gone_from_the_forms(db, circle):
    worker = actor_for(circle.key_worker)
    leaving.record(db, worker, circle.client.id, "Moved away.", TODAY)
    with pytest.raises(NotFound):
        leaving.record(db, worker, circle.client.id, "Again.", TODAY)
    with pytest.raises(NotFound):
        leaving.check(db, actor_for(circle.supervisor), circle.client.id, TODAY)
    assert len(_events(db, "caseload.end")) == 1


def test_coming_back_an_administrator_gives_a_key_worker_and_reminders_resume(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    agreed(db, circle, doc)
    due = TODAY + timedelta(days=14)
    due_on(db, doc, due)
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved away.", TODAY)
    assert reminders.sweep(db, SETTINGS, at(TODAY)).inserted == 0

    new = KeyWorkerFactory(team_id=circle.team.id)
    admin_accounts.give_key_worker(db, actor_for(circle.admin), circle.client.id, new.id)
    records = documents.client_records(db, actor_for(circle.client), circle.client.id)
    assert (records.key_worker_name, records.left) == (new.display_name, None)
    assert review_on(db, doc) == due
    with db.read() as s:
        recipients = set(
            s.scalars(sa.select(Reminder.recipient_id).where(Reminder.document_id == doc))
        )
    assert recipients == set()
    assert reminders.sweep(db, SETTINGS, at(TODAY)).inserted > 0
    with db.read() as s:
        recipients = set(
            s.scalars(sa.select(Reminder.recipient_id).where(Reminder.document_id == doc))
        )
    assert recipients == {circle.client.id, new.id}


def test_leaving_does_not_rewrite_the_supervisors_on_time_chart(db, circle):
    """A review held on time before the client left still counts; one left overdue counts as
    late, as it did while the client was on the caseload."""
    held, overdue = (make_plan(circle.key_worker, circle.client) for _ in range(2))
    for doc in (held, overdue):
        agreed(db, circle, doc)
    today = service_today()
    with db.write() as s:
        s.add(ReviewLog(document_id=held, client_id=circle.client.id,
                        due_on=today - timedelta(days=40), done_on=today - timedelta(days=41),
                        key_worker_id=circle.key_worker.id,
                        team_id=circle.team.id))  # fmt: skip
    due_on(db, overdue, today - timedelta(days=10))
    supervisor = actor_for(circle.supervisor)

    def chart() -> dict[str, str]:
        return {label: text for label, _, text in supervision.charts(db, supervisor, today)[2]}

    before = chart()
    # This month's figures end "so far" (supervision.charts).
    charted = [t.replace(" so far", "") for t in before.values()]
    assert sorted(t for t in charted if t != "no reviews due") in (
        ["0% (0 of 1)", "100% (1 of 1)"],  # in different months
        ["50% (1 of 2)"],  # the same month
    )
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved away.", today)
    assert chart() == before
    with db.read() as s:
        never = s.scalars(sa.select(ReviewLog).where(ReviewLog.done_on.is_(None))).all()
    assert [(r.document_id, r.due_on) for r in never] == [(overdue, today - timedelta(days=10))]


def test_a_review_left_overdue_is_one_review_however_often_they_leave_and_come_back(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    agreed(db, circle, doc)
    today = service_today()
    overdue = today - timedelta(days=10)
    due_on(db, doc, overdue)
    admin = actor_for(circle.admin)
    for _ in range(2):  # leaves, comes back, leaves again, comes back
        leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Left.", today)
        admin_accounts.give_key_worker(db, admin, circle.client.id, circle.key_worker.id)
    assert review_on(db, doc) == overdue  # still owed, as before they left

    def logged():
        with db.read() as s:
            return s.execute(
                sa.select(
                    ReviewLog.due_on, ReviewLog.done_on, ReviewLog.key_worker_id, ReviewLog.team_id
                )
            ).all()

    held_by = (circle.key_worker.id, circle.team.id)
    assert logged() == [(overdue, None, *held_by)]
    later = datetime.now(UTC)
    for person in (circle.client, circle.key_worker):
        reviews.confirm_no_changes(db, actor_for(person), doc, 1, PASSWORD, later)
    assert logged() == [(overdue, service_day(later), *held_by)]  # done, late: one row


def test_supervisors_see_who_left_their_teams_lately_and_not_why(app, db, circle):
    other = Circle()  # another team, with its own supervisor
    today = service_today()
    leaving.record(db, actor_for(circle.supervisor), circle.client.id, "Moved to Leeds.", today)
    leaving.record(db, actor_for(other.key_worker), other.client.id, "Finished.", today)
    [row] = supervision.recently_left(db, actor_for(circle.supervisor), today)
    assert (row.client_name, row.key_worker, row.recorded_by) == (
        circle.client.display_name,
        circle.key_worker.display_name,
        circle.supervisor.display_name,
    )
    assert service_day(row.left_at) == service_day(datetime.now(UTC))
    # The key worker moving team later does not take the client to the other team's list.
    worker = circle.key_worker
    admin_accounts.update_details(
        db, actor_for(circle.admin), worker.id, worker.display_name, worker.email, other.team.id
    )
    assert supervision.recently_left(db, actor_for(circle.supervisor), today) == [row]
    [theirs] = supervision.recently_left(db, actor_for(other.supervisor), today)
    assert theirs.client_name == other.client.display_name
    # Gone from the list after the window, or once back with a key worker.
    later = today + timedelta(days=supervision.LEFT_WITHIN_DAYS + 1)
    assert supervision.recently_left(db, actor_for(circle.supervisor), later) == []
    admin_accounts.give_key_worker(
        db, actor_for(circle.admin), other.client.id, other.key_worker.id
    )
    assert supervision.recently_left(db, actor_for(other.supervisor), today) == []

    page = login(app.test_client(), circle.supervisor).get("/supervision").get_data(as_text=True)
    assert "Left the service in the last 90 days (1)" in page
    assert circle.client.display_name in page and "Leeds" not in page
    # Said to the supervisor who recorded it: "recorded by you", as the handovers say.
    assert "caseload, recorded by you</li>" in page
    assert f"recorded by <bdi>{circle.supervisor.display_name}</bdi>" not in page


def test_the_ninety_days_are_the_service_s_days(db, circle, monkeypatch):
    # Tokyo's 1 March begins at 15:00 UTC on 28 February.
    monkeypatch.setattr(local_time, "_days_zone", time_zone("Asia/Tokyo"))
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved.", service_today())
    first_day = date(2027, 3, 1)
    today = first_day + timedelta(days=supervision.LEFT_WITHIN_DAYS)
    listed = []
    for left_at in (start_of_day(first_day), start_of_day(first_day) - timedelta(seconds=1)):
        with db.write() as s:
            s.execute(sa.update(CaseloadLink).values(ended_at=left_at))
        listed.append(len(supervision.recently_left(db, actor_for(circle.supervisor), today)))
    assert listed == [1, 0]


def test_after_leaving_the_crisis_page_promises_no_look_back_meeting(app, db, circle):
    """Leaving ends every review: the record of the crisis plan's use stays, without a
    meeting said to be due that nobody will hold."""
    doc = make_agreement(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(db, worker, doc, "Not sleeping", "", ends, TODAY)
    contingencies.end_contingency(db, worker, doc, "Sleeping again.", TODAY)
    client = login(app.test_client(), circle.client)
    assert "Look-back meeting due by" in client.get(f"/documents/{doc}/crisis-plan").text

    leaving.record(db, worker, circle.client.id, "Moved away.", TODAY)
    page = client.get(f"/documents/{doc}/crisis-plan").text
    assert "Not sleeping" in page and "Sleeping again." in page
    assert "Look-back meeting due by" not in page


def test_after_leaving_the_start_page_calls_whoever_responded_a_former_key_worker(app, db, circle):
    """The crisis page called the key worker who answered a request for help "your former key
    worker" once the client had left; the client's start page still said "your key worker"."""
    doc = make_agreement(circle.key_worker, circle.client)
    contingencies.request_self_referral(db, actor_for(circle.client), doc, "2", "", "", TODAY)
    worker = actor_for(circle.key_worker)
    crisis_alerts.respond(db, worker, doc, "I will phone you at 3pm.", utcnow())
    leaving.record(db, worker, circle.client.id, "Moved away.", service_today())
    client = login(app.test_client(), circle.client)
    said = f"{circle.key_worker.display_name}, your former key worker, responded on"
    assert said in client.get(f"/documents/{doc}/crisis-plan").text
    home = client.get("/", follow_redirects=True).text
    assert "I will phone you at 3pm." in home
    assert said in home


def test_the_leaving_form_says_why_it_cannot_be_recorded_before_anything_is_typed(app, db, circle):
    """During a handover the form was offered whole and refused only once sent."""
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    url = f"/clients/{circle.client.id}/leaving"
    worker = login(app.test_client(), circle.key_worker)
    assert 'id="problem"' not in worker.get(url).text
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, incoming.id, "Moving.")
    page = worker.get(url).text
    assert f"being handed over to {incoming.display_name}" in page and 'id="problem"' in page
    assert "Nothing was changed." not in page  # nothing was tried yet


def test_after_leaving_the_client_s_pages_do_not_speak_of_a_key_worker_they_do_not_have(
    app, db, circle
):
    """The reminders page said "No review dates yet. A date is set when a plan or agreement
    is signed by both people" of signed documents; the document and edit pages offered a new
    version "until you have both signed" and "for both of you to sign" to one person."""
    doc = make_plan(circle.key_worker, circle.client)
    agreed(db, circle, doc)
    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved away.", TODAY)
    browser = login(app.test_client(), circle.client)
    dates = browser.get("/me/reminders").get_data(as_text=True)
    assert "Your time with the service ended on " in dates
    assert "No review dates yet" not in dates
    page = browser.get(f"/documents/{doc}").get_data(as_text=True)
    assert "stays in force until you and a key worker have signed the new one." in page
    assert "You have no key worker at the moment" in page
    assert "Agreed by both of you" in page  # the two who signed it, as before
    edit = browser.get(f"/documents/{doc}/edit").get_data(as_text=True)
    assert "Saving makes a new version for you and a key worker to sign" in edit
    assert "both of you" not in edit
