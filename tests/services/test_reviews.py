"""Review dates through the service layer: set on agreement, brought forward on request or
after a crisis, reset by a co-signed new version or a co-signed "reviewed, no changes"."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from careplan.db.models import (
    AuditEvent,
    Document,
    Notification,
    ReviewLog,
    ReviewRequest,
    User,
)
from careplan.domain import local_time
from careplan.domain.attention import Kind
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_day, time_zone
from careplan.domain.supervision import DashState, Filters
from careplan.extensions import LIBRARY_KEY
from careplan.services import (
    attention,
    caseloads,
    contingencies,
    documents,
    reviews,
    signoff,
    supervision,
)
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid, NotFound, ReadOnly
from tests.factories import PASSWORD, Circle, make_plan

NOW = datetime.now(UTC)
TODAY = service_day(NOW)


@pytest.fixture
def circle(app):
    return Circle()


def sign(db, user, doc, number):
    # Agreements here leave their key parts empty: signing says so on purpose.
    return signoff.sign(db, actor_for(user), doc, number, "signed", "", PASSWORD, True)


def agree(db, circle, doc, number=1):
    sign(db, circle.client, doc, number)
    return sign(db, circle.key_worker, doc, number)


def row(db, doc) -> Document:
    with db.read() as s:
        return s.get(Document, doc)


def panel(db, user, doc, today=TODAY):
    return reviews.review_panel(db, actor_for(user), doc, today)


def agreement(app, db, circle, template="smi_self_referral") -> int:
    library = app.extensions[LIBRARY_KEY].current()
    worker = actor_for(circle.key_worker)
    doc = documents.create_document(
        db, worker, circle.client.id, "agreement", template=library.templates[template]
    )
    raw = {"sections": {"contingencies": {"warning_signs": {"text": "I stop sleeping"}}}}
    documents.save_version(db, worker, doc, 0, raw, "first", library.terms)
    return doc


def edit_agreement(app, db, user, doc, text):
    library = app.extensions[LIBRARY_KEY].current()
    head = documents.open_document(db, actor_for(user), doc).head_number
    raw = {"sections": {"contingencies": {"warning_signs": {"text": text}}}}
    documents.save_version(db, actor_for(user), doc, head, raw, text, library.terms)


def edit(db, user, doc, text):
    page = documents.open_document(db, actor_for(user), doc)
    content = page.content
    content["what_matters"] = {"text": text}
    documents.save_version(db, actor_for(user), doc, page.head_number, content, text)


# --- the date ------------------------------------------------------------------------------------


def test_agreeing_sets_the_next_review_twelve_weeks_on_by_default(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    assert row(db, doc).next_review_on is None
    assert panel(db, circle.client, doc).next_review_on is None
    agree(db, circle, doc)
    d = row(db, doc)
    assert d.next_review_on == TODAY + timedelta(weeks=12)
    assert (d.next_review_reason, d.last_reviewed_on, d.review_cycle) == ("interval", TODAY, 1)
    seen = panel(db, circle.client, doc)
    assert (seen.next_review_on, seen.interval_weeks, seen.reason_label) == (
        TODAY + timedelta(weeks=12),
        12,
        "the regular review",
    )


def test_the_interval_comes_from_the_plan_or_the_agreement_template(app, db, circle):
    doc = documents.create_document(db, actor_for(circle.key_worker), circle.client.id)
    content = {"what_matters": {"text": "Short cycle"}, "review_interval_weeks": 4}
    documents.save_version(db, actor_for(circle.key_worker), doc, 0, content)
    agree(db, circle, doc)
    assert row(db, doc).next_review_on == TODAY + timedelta(weeks=4)

    other = Circle()
    pa = agreement(app, db, other)
    weeks = documents.open_document(db, actor_for(other.client), pa).content["terms"][
        "review_interval_weeks"
    ]
    agree(db, other, pa)
    assert row(db, pa).next_review_on == TODAY + timedelta(weeks=weeks)


def test_a_half_signed_draft_is_waiting_for_the_other_party(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.client, doc, 1)
    assert row(db, doc).awaiting_signature_since == TODAY
    with db.read() as s:
        assert reviews.waiting_for(s, s.get(Document, doc)) == {circle.key_worker.id}
    sign(db, circle.key_worker, doc, 1)
    assert row(db, doc).awaiting_signature_since is None


# --- earlier reviews -----------------------------------------------------------------------------


def test_either_party_can_ask_for_an_earlier_review_with_a_reason(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    with pytest.raises(Invalid, match="not been agreed"):
        reviews.request_earlier_review(
            db, actor_for(circle.client), doc, TODAY.isoformat(), "x", TODAY
        )
    agree(db, circle, doc)
    wanted = TODAY + timedelta(days=10)
    new = reviews.request_earlier_review(
        db, actor_for(circle.client), doc, wanted.isoformat(), "I have moved house", TODAY
    )
    assert new == wanted
    assert (row(db, doc).next_review_on, row(db, doc).next_review_reason) == (wanted, "earlier")
    # Everyone who can read it sees the date, who asked and why.
    for reader in (circle.client, circle.key_worker, circle.advocate, circle.supervisor):
        seen = panel(db, reader, doc)
        assert seen.next_review_on == wanted
        assert [(r.reason, r.due_on) for r in seen.requests] == [("I have moved house", wanted)]
        # The name and the role apart: each page says who they are to its reader.
        asked_by = seen.requests[0].asked_by
        assert (asked_by.name, asked_by.role) == (circle.client.display_name, "client")
    assert panel(db, circle.supervisor, doc).can_request is False
    assert panel(db, circle.key_worker, doc).can_request is True
    with db.read() as s:
        assert s.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1)) == (
            "review.request"
        )


def _messages(db, user) -> list[tuple[str, str]]:
    with db.read() as s:
        return [
            (n.text, n.link)
            for n in s.scalars(
                sa.select(Notification)
                .where(Notification.user_id == user.id)
                .order_by(Notification.id)
            )
        ]


def test_the_other_party_is_told_at_once_of_a_request_for_an_earlier_review(db, circle):
    """The key worker's message calls the client by the name they go by, as the document's
    pages do (it once gave their full name)."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = make_plan(circle.key_worker, circle.client)
    agree(db, circle, doc)
    before = {p.id: _messages(db, p) for p in (circle.client, circle.key_worker, circle.advocate)}
    wanted = TODAY + timedelta(days=1)
    reviews.request_earlier_review(
        db, actor_for(circle.client), doc, wanted.isoformat(), "Things changed at home", TODAY
    )
    new = _messages(db, circle.key_worker)[len(before[circle.key_worker.id]) :]
    assert new == [
        (
            "Al asked to review their care plan sooner, by "
            f"{local_time.long_date(wanted)}. Their reason is on it.",
            f"/documents/{doc}#review",
        )
    ]
    assert "Things changed at home" not in new[0][0]  # the reason stays on the document
    assert _messages(db, circle.client) == before[circle.client.id]  # not told what they did
    assert _messages(db, circle.advocate) == before[circle.advocate.id]

    reviews.request_earlier_review(
        db, actor_for(circle.key_worker), doc, TODAY.isoformat(), "Sooner still", TODAY
    )
    [told] = _messages(db, circle.client)[len(before[circle.client.id]) :]
    assert told[0].startswith(f"{circle.key_worker.display_name}, your key worker, asked to ")
    assert "review your care plan sooner, by " in told[0]


def test_only_the_two_parties_ask_and_strangers_see_nothing(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    agree(db, circle, doc)
    # Each is told what they can do instead, if anything: a supervisor cannot comment.
    for reader, said in (
        (circle.supervisor, "Only the client and their key worker arrange reviews."),
        (
            circle.advocate,
            "Only the client and their key worker arrange reviews. You can add a comment.",
        ),
    ):
        with pytest.raises(ReadOnly) as refused:
            reviews.request_earlier_review(
                db, actor_for(reader), doc, TODAY.isoformat(), "why", TODAY
            )
        assert str(refused.value) == said
    for stranger in (circle.admin, Circle().key_worker):
        with pytest.raises(NotFound):
            reviews.request_earlier_review(
                db, actor_for(stranger), doc, TODAY.isoformat(), "why", TODAY
            )
        with pytest.raises(NotFound):
            panel(db, stranger, doc)
    with pytest.raises(ContentInvalid) as err:
        later = (TODAY + timedelta(weeks=20)).isoformat()
        reviews.request_earlier_review(db, actor_for(circle.client), doc, later, "why", TODAY)
    assert "already" in err.value.errors["wanted_by"]


def test_a_cosigned_new_version_is_a_review_it_resets_the_date_and_answers_requests(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    agree(db, circle, doc)
    soon = TODAY + timedelta(days=5)
    reviews.request_earlier_review(
        db, actor_for(circle.key_worker), doc, soon.isoformat(), "Let us look again", TODAY
    )
    edit(db, circle.client, doc, "We talked it through")
    # A draft does not end the review: the agreed version and its date stay in force.
    assert row(db, doc).next_review_on == soon
    agree(db, circle, doc, 2)
    d = row(db, doc)
    assert (d.next_review_on, d.next_review_reason, d.review_cycle) == (
        TODAY + timedelta(weeks=12),
        "interval",
        2,
    )
    assert panel(db, circle.client, doc).requests == []
    with db.read() as s:
        assert s.scalar(sa.select(ReviewRequest.resolved_at)) is not None


# --- reviewed, no changes ----------------------------------------------------------------------


def test_reviewed_no_changes_needs_both_parties_and_resets_the_date(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    agree(db, circle, doc)
    later = NOW + timedelta(days=80)
    assert not reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD, later)
    d = row(db, doc)
    assert d.next_review_on == TODAY + timedelta(weeks=12)  # not yet: one of two
    assert d.awaiting_signature_since == service_day(later)
    seen = panel(db, circle.key_worker, doc)
    assert [c.name for c in seen.confirmations] == [circle.client.display_name]
    assert seen.can_confirm and not panel(db, circle.client, doc).can_confirm
    with db.read() as s:
        assert reviews.waiting_for(s, s.get(Document, doc)) == {circle.key_worker.id}

    assert reviews.confirm_no_changes(db, actor_for(circle.key_worker), doc, 1, PASSWORD, later)
    d = row(db, doc)
    assert d.next_review_on == service_day(later) + timedelta(weeks=12)
    assert (d.last_reviewed_on, d.review_cycle, d.awaiting_signature_since) == (
        service_day(later),
        2,
        None,
    )
    assert panel(db, circle.client, doc).confirmations == []  # a new cycle
    with db.read() as s:
        actions = s.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["review.confirm", "review.confirm", "review.completed"]
    with db.read() as s:  # logged for the on-time chart, under who held the client then
        logged = s.execute(
            sa.select(
                ReviewLog.due_on, ReviewLog.done_on, ReviewLog.key_worker_id, ReviewLog.team_id
            )
        )
        assert logged.all() == [
            (TODAY + timedelta(weeks=12), service_day(later), circle.key_worker.id, circle.team.id)
        ]


def test_a_confirmation_sent_from_a_form_open_since_the_review_was_done_counts_for_nothing(
    db, circle
):
    """A second tab's form, sent after the review it showed was done, counted towards the
    next review, months ahead, and with the other's confirmation completed that one too."""
    doc = make_plan(circle.key_worker, circle.client)
    agree(db, circle, doc)
    shown = panel(db, circle.client, doc).cycle
    for person in (circle.key_worker, circle.client):
        reviews.confirm_no_changes(db, actor_for(person), doc, 1, PASSWORD, cycle=shown)
    done = row(db, doc)
    with pytest.raises(Invalid, match="This review was done meanwhile, so nothing was confirmed"):
        reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD, cycle=shown)
    assert panel(db, circle.key_worker, doc).confirmations == []
    assert row(db, doc).review_cycle == done.review_cycle
    # The form shown now is for the review under way now.
    assert panel(db, circle.client, doc).cycle == done.review_cycle


def test_a_review_is_logged_on_the_service_s_own_day(db, circle, monkeypatch):
    # Tokyo is 9 hours ahead of UTC all year: 16:00 UTC on the review date is 01:00 the day
    # after there, so the review was a day late, and is logged so, not on the UTC day.
    monkeypatch.setattr(local_time, "_days_zone", time_zone("Asia/Tokyo"))
    doc = make_plan(circle.key_worker, circle.client)
    agree(db, circle, doc)
    due = row(db, doc).next_review_on
    held = datetime.combine(due, time(16, 0), UTC)
    for person in (circle.client, circle.key_worker):
        reviews.confirm_no_changes(db, actor_for(person), doc, 1, PASSWORD, held)
    d = row(db, doc)
    after = due + timedelta(days=1)
    assert (d.last_reviewed_on, d.next_review_on) == (after, after + timedelta(weeks=12))
    with db.read() as s:
        assert s.execute(sa.select(ReviewLog.due_on, ReviewLog.done_on)).all() == [(due, after)]


def test_reviewed_no_changes_is_checked_like_a_signature(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    with pytest.raises(Invalid, match="agreed version"):
        reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD)
    agree(db, circle, doc)
    with pytest.raises(ContentInvalid) as err:
        reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, "wrong password")
    assert "password" in err.value.errors
    reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD)
    with pytest.raises(Invalid, match="already"):
        reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD)
    with pytest.raises(ReadOnly):
        reviews.confirm_no_changes(db, actor_for(circle.advocate), doc, 1, PASSWORD)
    with pytest.raises(NotFound):
        reviews.confirm_no_changes(db, actor_for(Circle().client), doc, 1, PASSWORD)
    # Once a draft follows the agreed version, the review ends by signing the draft.
    edit(db, circle.key_worker, doc, "A change")
    with pytest.raises(Invalid):
        reviews.confirm_no_changes(db, actor_for(circle.key_worker), doc, 1, PASSWORD)


# --- after a crisis ------------------------------------------------------------------------------


def test_a_crisis_plan_coming_into_effect_schedules_a_review_after_it(app, db, circle):
    doc = agreement(app, db, circle)
    agree(db, circle, doc)
    window = row(db, doc).next_review_on  # the regular date
    ends = TODAY + timedelta(days=5)
    contingencies.start_contingency(
        db, actor_for(circle.client), doc, "Not sleeping", "Rang the team", ends.isoformat(), TODAY
    )
    days = documents.open_document(db, actor_for(circle.client), doc).content["terms"][
        "post_crisis_review_days"
    ]
    d = row(db, doc)
    assert (d.next_review_on, d.next_review_reason) == (ends + timedelta(days=days), "post_crisis")
    assert d.next_review_on < window
    seen = panel(db, circle.client, doc)
    assert seen.reason_label.startswith("to look back")

    # A review while the plan is still in effect does not answer the post-crisis review.
    edit_agreement(app, db, circle.key_worker, doc, "During the crisis")
    agree(db, circle, doc, 2)
    assert row(db, doc).next_review_reason == "post_crisis"

    # Ended early: the look-back comes sooner.
    due = contingencies.end_contingency(db, actor_for(circle.key_worker), doc, "Better", TODAY)
    assert row(db, doc).next_review_on == due == TODAY + timedelta(days=days)


def test_a_crisis_plan_on_an_agreement_never_agreed_still_gets_a_review(app, db, circle):
    doc = agreement(app, db, circle)
    ends = TODAY + timedelta(days=3)
    contingencies.start_contingency(
        db, actor_for(circle.key_worker), doc, "Unsettled", "", ends.isoformat(), TODAY
    )
    assert row(db, doc).next_review_reason == "post_crisis"


def test_a_review_after_a_crisis_on_an_agreement_never_agreed_shows_everywhere(app, db, circle):
    """Reminders and the calendar already counted it: the start pages, the plan cards, the
    caseload and the supervisors' dashboard show the same review, until both sign."""
    doc = agreement(app, db, circle)
    began = TODAY - timedelta(days=20)
    contingencies.start_contingency(
        db,
        actor_for(circle.key_worker),
        doc,
        "Unsettled",
        "",
        (began + timedelta(days=3)).isoformat(),
        began,
    )
    due = row(db, doc).next_review_on
    assert due < TODAY and row(db, doc).agreed_version is None

    def shown():
        client, worker, boss = (
            actor_for(p) for p in (circle.client, circle.key_worker, circle.supervisor)
        )
        homes = [attention.home(db, a, NOW).items for a in (client, worker, boss)]
        [card] = documents.client_records(db, client, circle.client.id).documents
        [person] = caseloads.people_for(db, worker)
        # (The client has no care plan, which is a row of its own.)
        [dash] = [
            r for r in supervision.dashboard(db, boss, Filters(), TODAY).rows
            if r.document_id == doc
        ]  # fmt: skip
        return (
            [[i.kind for i in items if i.kind is Kind.REVIEW] for items in homes],
            card.next_review_on,
            person.next_review,
            dash.state,
            dash.days_overdue,
        )

    assert shown() == (
        [[Kind.REVIEW]] * 3,
        due,
        due,
        DashState.OVERDUE,
        (TODAY - due).days,
    )
    agree(db, circle, doc)  # the crisis is over: agreeing answers the review after it
    assert row(db, doc).next_review_reason == "interval"
    assert shown()[0] == [[], [], []]


# --- every date, for whoever may see it ----------------------------------------------------------


def test_review_dates_are_listed_for_each_person_by_their_access(db, circle):
    mine = make_plan(circle.key_worker, circle.client)
    agree(db, circle, mine)
    other = Circle()
    theirs = make_plan(other.key_worker, other.client)
    agree(db, other, theirs)
    for person in (circle.client, circle.key_worker, circle.supervisor, circle.advocate):
        dates = reviews.review_dates_for(db, actor_for(person))
        assert [d.document_id for d in dates] == [mine], person.display_name
    assert reviews.review_dates_for(db, actor_for(circle.admin)) == []
