"""The rules of "what needs you now" and of a plan card's state, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from careplan.domain.attention import (
    AlertFacts,
    DocumentFacts,
    HandoverFacts,
    Kind,
    Place,
    card_state,
    needs_you_now,
    waiting_for_signature,
)
from careplan.domain.crisis_alerts import AlertKind
from careplan.domain.roles import Role

TODAY = date(2026, 3, 10)
CLIENT, WORKER, OTHER = 1, 2, 3


def doc(**kw) -> DocumentFacts:
    values = dict(
        document_id=7,
        client_id=CLIENT,
        client_name="Chris",
        title="Care plan",
        signoff_state="agreed",
        head_number=2,
        agreed_version=2,
        next_review_on=TODAY + timedelta(weeks=12),
        key_worker_id=WORKER,
        key_worker_name="Kim",
        client_signed_head=True,
        worker_signed_head=True,
        agreed_at=datetime(2026, 3, 1, 9),
    )
    values.update(kw)
    return DocumentFacts(**values)


def test_an_agreed_document_far_from_its_review_waits_for_nobody():
    for role, who in ((Role.CLIENT, CLIENT), (Role.KEY_WORKER, WORKER)):
        assert needs_you_now(role, who, TODAY, [doc()]) == []


def test_review_lines_count_days_and_name_the_client_for_the_worker():
    late = doc(next_review_on=TODAY - timedelta(days=1))
    [mine] = needs_you_now(Role.CLIENT, CLIENT, TODAY, [late])
    assert mine.text == (
        "Your care plan: the review is overdue. It was due on 9 March 2026, 1 day ago."
    )
    [theirs] = needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [doc(next_review_on=TODAY)])
    assert theirs.text == "Chris's care plan: the review is due today."
    # Another worker does not hold the caseload.
    assert needs_you_now(Role.KEY_WORKER, OTHER, TODAY, [late]) == []
    # Not agreed yet: no review date, no review line.
    never = doc(agreed_version=None, signoff_state="draft", next_review_on=None)
    assert needs_you_now(Role.CLIENT, CLIENT, TODAY, [never]) == []


def test_a_review_after_a_crisis_is_owed_even_when_nothing_was_agreed():
    """The crisis plan of an agreement not yet signed was put into effect: the review after
    it has a date, and it is as due as any other."""
    after_crisis = doc(
        agreed_version=None, signoff_state="draft", next_review_on=TODAY - timedelta(days=2)
    )
    for role, who in ((Role.CLIENT, CLIENT), (Role.KEY_WORKER, WORKER)):
        [item] = needs_you_now(role, who, TODAY, [after_crisis])
        assert item.kind is Kind.REVIEW and item.urgent and "overdue" in item.text


def test_the_most_pressing_come_first():
    at = datetime(2026, 3, 10, 12)
    items = needs_you_now(
        Role.KEY_WORKER,
        WORKER,
        TODAY,
        [doc(signoff_state="awaiting_signature", worker_signed_head=False, head_number=3)],
        [HandoverFacts(5, "Dee", "Lee", "Kim", WORKER, at)],
        [AlertFacts(9, "Chris", "Kim", at, at + timedelta(minutes=30), late=False)],
        unread_messages=3,
    )
    assert [i.kind for i in items] == [Kind.ALERT, Kind.HANDOVER, Kind.SIGNATURE, Kind.MESSAGES]


def test_a_draft_nobody_signed_waits_for_the_other_side_not_for_whoever_saved_it():
    draft = dict(signoff_state="draft", head_number=3, client_signed_head=False,
                 worker_signed_head=False)  # fmt: skip
    by_worker, by_client = doc(**draft, head_saved_by=WORKER), doc(**draft, head_saved_by=CLIENT)
    assert waiting_for_signature(by_worker, Role.CLIENT, CLIENT)
    assert not waiting_for_signature(by_worker, Role.KEY_WORKER, WORKER)
    assert waiting_for_signature(by_client, Role.KEY_WORKER, WORKER)
    assert not waiting_for_signature(by_client, Role.CLIENT, CLIENT)
    # Saved by someone else (a supervisor, an earlier key worker): both sides are asked.
    by_other = doc(**draft, head_saved_by=OTHER)
    assert waiting_for_signature(by_other, Role.CLIENT, CLIENT)
    assert waiting_for_signature(by_other, Role.KEY_WORKER, WORKER)
    [item] = needs_you_now(Role.CLIENT, CLIENT, TODAY, [by_worker])
    assert item.text == (
        "Version 3 of your care plan is waiting for your signature: read it and sign, or say "
        "why not."
    )
    assert card_state(by_worker, CLIENT).startswith(
        "Version 3 is waiting for signatures: yours and Kim's."
    )


def test_a_client_with_no_key_worker_is_not_asked_to_sign_what_nobody_can_sign_with_them():
    # The client left the service: a version their old key worker proposed waits for the
    # next key worker, and the card says so; their start page does not ask them to sign.
    left = doc(signoff_state="draft", head_number=3, client_signed_head=False,
               worker_signed_head=False, head_saved_by=OTHER, key_worker_id=None,
               key_worker_name="")  # fmt: skip
    assert not waiting_for_signature(left, Role.CLIENT, CLIENT)
    assert needs_you_now(Role.CLIENT, CLIENT, TODAY, [left]) == []
    assert card_state(left, CLIENT).startswith(
        "Version 3 is waiting for signatures: yours and a key worker's."
    )


def test_card_states():
    assert (
        card_state(doc(head_number=0, agreed_version=None), CLIENT) == "Started, nothing saved yet."
    )
    # Started by one of the two, the other is told who.
    by_kim = doc(head_number=0, agreed_version=None, started_by=WORKER)
    assert card_state(by_kim, WORKER) == "You started it; nothing is saved in it yet."
    assert card_state(by_kim, CLIENT) == "Kim started it; nothing is saved in it yet."
    by_chris = doc(head_number=0, agreed_version=None, started_by=CLIENT)
    assert card_state(by_chris, WORKER) == "Chris started it; nothing is saved in it yet."
    by_former = doc(head_number=0, agreed_version=None, started_by=OTHER)
    assert (
        card_state(by_former, CLIENT)
        == "A former key worker started it; nothing is saved in it yet."
    )
    assert card_state(doc(), CLIENT) == "Agreed on 1 March 2026."
    waiting = doc(
        signoff_state="awaiting_signature",
        head_number=3,
        client_signed_head=False,
        worker_signed_head=False,
    )
    assert card_state(waiting, WORKER) == (
        "Version 3 is waiting for signatures: Chris's and yours. Version 2 stays in force, "
        "agreed on 1 March 2026."
    )
    declined = doc(signoff_state="declined", head_number=3, agreed_version=None)
    assert card_state(declined, CLIENT) == "Version 3 was declined. Open it to see why."


def test_times_and_days_are_the_service_s_local_ones():
    london = ZoneInfo("Europe/London")
    # 23:30 UTC on 31 May is 00:30 on 1 June in London (summer time).
    raised = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)
    alert = AlertFacts(9, "Chris", "Kim", raised, raised + timedelta(minutes=30), late=False)
    [line] = needs_you_now(Role.KEY_WORKER, WORKER, date(2026, 6, 1), alerts=[alert], zone=london)
    assert line.text == (
        "Respond to Chris: they asked for help on 1 June 2026, 00:30, respond by 1 June 2026, "
        "01:00."
    )
    assert "UTC" not in line.text
    agreed = doc(agreed_at=datetime(2026, 5, 31, 23, 30))  # stored naive, in UTC
    assert card_state(agreed, CLIENT, london) == "Agreed on 1 June 2026."
    assert card_state(agreed, CLIENT) == "Agreed on 31 May 2026."


def test_ones_own_unsaved_changes_are_a_line_that_links_to_carry_on():
    typed = datetime(2026, 3, 9, 14, 5)  # stored naive, in UTC
    [mine] = needs_you_now(Role.CLIENT, CLIENT, TODAY, [doc(unsaved_at=typed)])
    assert (mine.kind, mine.place, mine.document_id) == (Kind.UNSAVED, Place.CARRY_ON, 7)
    assert mine.text == (
        "Your changes to your care plan are not saved yet (you last typed on 9 March 2026, "
        "14:05). Carry on with your changes."
    )
    assert not mine.urgent
    [theirs] = needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [doc(unsaved_at=typed)])
    assert theirs.text.startswith("Your changes to Chris's care plan are not saved yet (")
    # A worker who does not hold the client now is offered nothing (the services offer it
    # only while one may edit: careplan.domain.access.unsaved_to_offer).
    assert needs_you_now(Role.KEY_WORKER, OTHER, TODAY, [doc(unsaved_at=typed)]) == []


def test_unsaved_changes_come_after_what_others_wait_on_the_latest_typed_first():
    at = datetime(2026, 3, 10, 12)
    earlier, later = at - timedelta(days=3), at - timedelta(hours=1)
    items = needs_you_now(
        Role.KEY_WORKER,
        WORKER,
        TODAY,
        [
            doc(document_id=1, unsaved_at=earlier),
            doc(document_id=2, unsaved_at=later, next_review_on=TODAY - timedelta(days=1)),
            doc(document_id=3, signoff_state="awaiting_signature", worker_signed_head=False),
        ],
        [HandoverFacts(5, "Dee", "Lee", "Kim", WORKER, at)],
        unread_messages=1,
    )
    assert [(i.kind, i.document_id) for i in items] == [
        (Kind.HANDOVER, None),
        (Kind.SIGNATURE, 3),
        (Kind.REVIEW, 2),
        (Kind.UNSAVED, 2),
        (Kind.UNSAVED, 1),
        (Kind.MESSAGES, None),
    ]


def test_unsaved_changes_are_told_in_the_service_s_local_time():
    typed = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)
    [line] = needs_you_now(
        Role.CLIENT,
        CLIENT,
        date(2026, 6, 1),
        [doc(unsaved_at=typed, next_review_on=None)],
        zone=ZoneInfo("Europe/London"),
    )
    assert "(you last typed on 1 June 2026, 00:30)" in line.text


def test_each_request_for_help_waiting_says_what_it_asked():
    """The plan put into effect and two requests for a short stay read as three identical
    lines: "You asked for help on … Kim or their team will respond by …"."""
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    by = at + timedelta(minutes=30)
    alerts = [
        AlertFacts(9, "Chris", "Kim", at, by, False, AlertKind.CONTINGENCY),
        AlertFacts(9, "Chris", "Kim", at, by, False, AlertKind.SELF_REFERRAL, nights=3),
        AlertFacts(9, "Chris", "Kim", at, by, False, AlertKind.SELF_REFERRAL, nights=1),
    ]
    lines = [i.text for i in needs_you_now(Role.CLIENT, CLIENT, TODAY, alerts=alerts)]
    after = " on 10 March 2026, 12:00. Kim or their team will respond by 10 March 2026, 12:30."
    assert lines == [
        "You put the plan for when you are not well into effect" + after,
        "You asked for a short stay of 3 nights" + after,
        "You asked for a short stay of 1 night" + after,
    ]
    lines = [i.text for i in needs_you_now(Role.KEY_WORKER, WORKER, TODAY, alerts=alerts)]
    after = " on 10 March 2026, 12:00, respond by 10 March 2026, 12:30."
    assert lines == [
        # With "they": without a subject, "put the plan … into effect" read as an order.
        "Respond to Chris: they put their plan for when they are not well into effect" + after,
        "Respond to Chris: they asked for a short stay of 3 nights" + after,
        "Respond to Chris: they asked for a short stay of 1 night" + after,
    ]
    # Asked outside the agreed terms: said where the responder first reads it.
    outside = AlertFacts(
        9, "Chris", "Kim", at, by, False, AlertKind.SELF_REFERRAL, nights=7, outside_terms=True
    )
    [line] = needs_you_now(Role.KEY_WORKER, WORKER, TODAY, alerts=[outside])
    assert line.text.startswith(
        "Respond to Chris: they asked for a short stay of 7 nights (outside the agreed terms) on"
    )


def test_a_decline_is_for_the_other_side_with_who_which_version_and_why():
    declined = doc(
        signoff_state="declined",
        head_number=3,
        agreed_version=2,
        client_signed_head=True,
        client_declined="Not yet, I want to talk about it.",
    )
    [item] = needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [declined])
    assert (item.kind, item.place, item.document_id) == (Kind.DECLINED, Place.SIGN, 7)
    assert item.text == (
        "Chris declined to sign version 3 of their care plan, saying: “Not yet, I want to talk "
        "about it.” Talk it over, and change it if something needs to change."
    )
    # The client said it: nothing waits for them; nobody else holds the document.
    assert needs_you_now(Role.CLIENT, CLIENT, TODAY, [declined]) == []
    assert needs_you_now(Role.KEY_WORKER, OTHER, TODAY, [declined]) == []
    for role in (Role.SUPERVISOR, Role.ADVOCATE):
        assert needs_you_now(role, OTHER, TODAY, [declined]) == []
    # Once a new version is saved, it is a signature to give again, not a decline.
    saved = doc(signoff_state="draft", head_number=4, agreed_version=2, head_saved_by=WORKER)
    assert needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [saved]) == []


def test_a_key_workers_decline_is_for_the_client_and_a_long_reason_is_shortened():
    why = "I cannot promise that. " * 20
    declined = doc(
        signoff_state="declined",
        worker_declined=why,
        client_signed_head=True,
        worker_signed_head=True,
    )
    [item] = needs_you_now(Role.CLIENT, CLIENT, TODAY, [declined])
    assert item.kind is Kind.DECLINED
    assert item.text.startswith("Kim declined to sign version 2 of your care plan, saying: “I")
    assert "…”" in item.text and len(item.text) < 300
    assert needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [declined]) == []
    # Both declined: each has said no, so nothing waits on either from the other.
    both = doc(signoff_state="declined", worker_declined="No.", client_declined="No.")
    assert needs_you_now(Role.CLIENT, CLIENT, TODAY, [both]) == []
    assert needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [both]) == []
    # With no key worker (the client left the service), nobody is there to talk it over.
    gone = doc(signoff_state="declined", worker_declined="No.", key_worker_id=None)
    assert needs_you_now(Role.CLIENT, CLIENT, TODAY, [gone]) == []


def test_a_review_half_confirmed_waits_for_the_other_side_however_far_off_it_is():
    far = doc(client_confirmed_review=True)
    [item] = needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [far])
    assert (item.kind, item.place, item.document_id) == (Kind.REVIEW, Place.REVIEW, 7)
    assert item.text == (
        "Chris confirmed the review of their care plan with no changes. If you agree, confirm "
        "it too: the review is done once you both have. If something should change, edit it "
        "instead."
    )
    assert not item.urgent
    assert needs_you_now(Role.CLIENT, CLIENT, TODAY, [far]) == []
    assert needs_you_now(Role.ADVOCATE, OTHER, TODAY, [far]) == []
    [item] = needs_you_now(Role.CLIENT, CLIENT, TODAY, [doc(worker_confirmed_review=True)])
    assert item.text.startswith("Kim confirmed the review of your care plan with no changes")
    # Both confirmed (the next cycle has begun) or neither: nothing about it.
    both = doc(client_confirmed_review=True, worker_confirmed_review=True)
    assert needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [both]) == []


def test_a_half_confirmed_review_that_is_overdue_is_one_urgent_line():
    late = doc(client_confirmed_review=True, next_review_on=TODAY - timedelta(days=2))
    [item] = needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [late])
    assert item.kind is Kind.REVIEW and item.urgent
    assert item.text == (
        "Chris confirmed the review of their care plan with no changes. If you agree, confirm "
        "it too: the review is done once you both have. If something should change, edit it "
        "instead. Chris's care plan: the review is overdue. "
        "It was due on 8 March 2026, 2 days ago."
    )


def test_a_review_due_no_longer_needs_whoever_has_confirmed_it():
    """Confirmed "no changes" with a review due in two days (or overdue): that person had
    still been told the review was due, as if they had done nothing."""
    for due in (TODAY + timedelta(days=2), TODAY - timedelta(days=3)):
        by_client = doc(client_confirmed_review=True, next_review_on=due)
        assert needs_you_now(Role.CLIENT, CLIENT, TODAY, [by_client]) == []
        [item] = needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [by_client])
        assert item.text.startswith("Chris confirmed the review of their care plan")
        assert "Chris's care plan: the review is" in item.text
        by_worker = doc(worker_confirmed_review=True, next_review_on=due)
        assert needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [by_worker]) == []
        [item] = needs_you_now(Role.CLIENT, CLIENT, TODAY, [by_worker])
        assert "Your care plan: the review is" in item.text


def test_an_advocate_asked_to_look_is_told_until_the_client_has_answered():
    """The request was only a message among the advocate's others: "What needs you now" said
    nothing of it."""
    asked = doc(signoff_state="awaiting_signature", head_number=3, client_signed_head=False,
                advocate_asked=True)  # fmt: skip
    [item] = needs_you_now(Role.ADVOCATE, OTHER, TODAY, [asked])
    assert (item.kind, item.place, item.document_id) == (Kind.ASKED_TO_LOOK, Place.SIGN, 7)
    assert item.text == (
        "Chris asked you to look at version 3 of their care plan before they sign it."
    )
    assert not item.urgent
    # Signed or declined by the client, agreed, or not asked: nothing.
    for done in (
        doc(signoff_state="awaiting_signature", head_number=3, advocate_asked=True),
        doc(advocate_asked=True),
        doc(signoff_state="draft", client_signed_head=False),
    ):
        assert needs_you_now(Role.ADVOCATE, OTHER, TODAY, [done]) == []
    # Nobody else is told it as theirs.
    assert all(i.kind is not Kind.ASKED_TO_LOOK
               for i in needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [asked]))  # fmt: skip


def test_a_version_nobody_can_sign_any_more_asks_for_a_new_version_not_a_signature():
    """A decision in the latest version was handed over until a day now passed: nobody can
    sign it, so neither the one asked to sign nor the one who signed already is told it
    waits for a signature. Either of them may change it."""
    stuck = doc(title="Partnership agreement", signoff_state="awaiting_signature",
                head_number=3, worker_signed_head=True, client_signed_head=False,
                handed_over_until=TODAY - timedelta(days=1))  # fmt: skip
    said = (
        "can no longer be signed: a decision in it was handed over until 9 March 2026, and "
        "that day has passed."
    )
    [client] = needs_you_now(Role.CLIENT, CLIENT, TODAY, [stuck])
    assert (client.kind, client.place) == (Kind.SIGNATURE, Place.SIGN)
    assert client.text == (
        f"Version 3 of your partnership agreement {said} To sign it, a new version needs "
        "saving with a new day, or without that decision: you can change it yourself, or ask "
        "your key worker to."
    )
    [worker] = needs_you_now(Role.KEY_WORKER, WORKER, TODAY, [stuck])
    assert worker.text == (
        f"Version 3 of Chris's partnership agreement {said} Save a new version with a new "
        "day, or without that decision, then both of you can sign it."
    )
    assert needs_you_now(Role.KEY_WORKER, OTHER, TODAY, [stuck]) == []
    assert card_state(stuck, CLIENT, today=TODAY) == (
        f"Version 3 {said} It needs a new version with a new day, or without that decision. "
        "Version 2 stays in force, agreed on 1 March 2026."
    )
    # On the day itself it still waits for a signature.
    [on_the_day] = needs_you_now(Role.CLIENT, CLIENT, TODAY - timedelta(days=1), [stuck])
    assert "is waiting for your signature" in on_the_day.text


def test_the_worker_handing_over_sees_it_wait_until_it_is_taken_over():
    at = datetime(2026, 3, 7, 9, tzinfo=UTC)
    handover = HandoverFacts(5, "Dee", "Kim", "Lee", OTHER, at, from_worker_id=WORKER)
    [item] = needs_you_now(Role.KEY_WORKER, WORKER, TODAY, handovers=[handover])
    assert (item.kind, item.place, item.client_id) == (Kind.HANDOVER, Place.HANDOVER, 5)
    assert item.text == (
        "Dee: waiting since 7 March 2026 for Lee to take over. Until then Dee is still yours."
    )
    # Another key worker of the team is told nothing of it.
    assert needs_you_now(Role.KEY_WORKER, 9, TODAY, handovers=[handover]) == []
