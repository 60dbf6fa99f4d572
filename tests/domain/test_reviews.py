"""Review dates and the reminders they owe: plain dates in, plain answers out (no clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from careplan.domain.contingency import ContingencyPeriod
from careplan.domain.errors import ContentInvalid
from careplan.domain.reviews import (
    Audience,
    ClientChannel,
    OpenRequest,
    ReminderRules,
    ReviewReason,
    client_channels,
    days_late,
    interval_review_date,
    next_review,
    owed_for_review,
    owed_for_waiting,
    resolved_by_review,
    review_due_window,
    superseded,
    timing,
    validate_earlier_request,
)

DUE = date(2027, 3, 3)
RULES = ReminderRules()


def at(d: date, hour: int = 9) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def kinds(owed) -> list[str]:
    return [o.kind for o in owed]


# --- dates ---------------------------------------------------------------------------------------


def test_the_regular_review_is_the_interval_after_agreement():
    assert interval_review_date(date(2027, 1, 4), 12) == date(2027, 3, 29)
    assert interval_review_date(date(2027, 1, 4), 1) == date(2027, 1, 11)
    with pytest.raises(ValueError):
        interval_review_date(date(2027, 1, 4), 0)


def test_the_next_review_is_the_earliest_of_the_regular_date_and_open_requests():
    regular = date(2027, 3, 29)
    assert next_review(regular, []) == (regular, ReviewReason.INTERVAL)
    earlier = OpenRequest(1, ReviewReason.EARLIER, date(2027, 2, 10), at(date(2027, 2, 1)))
    crisis = OpenRequest(2, ReviewReason.POST_CRISIS, date(2027, 2, 20), at(date(2027, 2, 2)))
    assert next_review(regular, [crisis, earlier]) == (date(2027, 2, 10), ReviewReason.EARLIER)
    assert next_review(regular, [crisis]) == (date(2027, 2, 20), ReviewReason.POST_CRISIS)
    # A request later than the regular date does not push the review back.
    late = OpenRequest(3, ReviewReason.EARLIER, date(2027, 4, 1), at(date(2027, 2, 1)))
    assert next_review(regular, [late]) == (regular, ReviewReason.INTERVAL)
    # Never agreed, but a crisis plan was used: the post-crisis review is still due.
    assert next_review(None, [crisis]) == (date(2027, 2, 20), ReviewReason.POST_CRISIS)
    assert next_review(None, []) == (None, None)


def test_on_the_same_day_the_more_specific_reason_is_shown():
    same = OpenRequest(1, ReviewReason.POST_CRISIS, DUE, at(date(2027, 2, 1)))
    assert next_review(DUE, [same]) == (DUE, ReviewReason.POST_CRISIS)


def test_a_post_crisis_review_is_set_from_when_the_crisis_plan_stops():
    period = ContingencyPeriod(date(2027, 2, 1), date(2027, 2, 14), None, review_window_days=7)
    assert period.post_crisis_review_due(date(2027, 2, 2)) == date(2027, 2, 21)
    ended_early = ContingencyPeriod(date(2027, 2, 1), date(2027, 2, 14), date(2027, 2, 5), 7)
    assert ended_early.post_crisis_review_due(date(2027, 2, 6)) == date(2027, 2, 12)


def test_a_review_answers_the_requests_made_before_it_but_not_a_crisis_still_going_on():
    reviewed_at = at(date(2027, 2, 15))
    before = OpenRequest(1, ReviewReason.EARLIER, date(2027, 2, 20), at(date(2027, 2, 10)))
    after = OpenRequest(2, ReviewReason.EARLIER, date(2027, 2, 25), at(date(2027, 2, 16)))
    over = OpenRequest(3, ReviewReason.POST_CRISIS, date(2027, 2, 22), at(date(2027, 2, 1)))
    running = OpenRequest(
        4, ReviewReason.POST_CRISIS, date(2027, 3, 1), at(date(2027, 2, 12)), True
    )
    answered = resolved_by_review([before, after, over, running], reviewed_at)
    assert [r.id for r in answered] == [1, 3]


def test_an_earlier_review_needs_a_reason_and_a_date_before_the_next_review():
    today = date(2027, 2, 1)
    assert validate_earlier_request("2027-02-10", " Things changed ", today, DUE) == (
        date(2027, 2, 10),
        "Things changed",
    )
    with pytest.raises(ContentInvalid) as err:
        validate_earlier_request("", "", today, DUE)
    assert list(err.value.errors) == ["wanted_by", "reason"]  # as the form asks them
    # Said beside a date box, which shows dates the reader's own way: no "2027-03-01".
    assert err.value.errors["wanted_by"] == "Please give a whole date: day, month and year."
    with pytest.raises(ContentInvalid) as err:
        validate_earlier_request("31/02/2027", "why", today, DUE)
    assert err.value.errors["wanted_by"] == "Please give a real date, with day, month and year."
    with pytest.raises(ContentInvalid) as err:
        validate_earlier_request("2027-01-31", "why", today, DUE)
    assert "past" in err.value.errors["wanted_by"]
    with pytest.raises(ContentInvalid) as err:
        validate_earlier_request(DUE.isoformat(), "why", today, DUE)
    assert err.value.errors["wanted_by"] == (
        "The next review is already on Wednesday 3 March 2027, the day you chose. To review it "
        "sooner, choose a day before then."
    )
    with pytest.raises(ContentInvalid) as err:
        validate_earlier_request("2027-03-04", "why", today, DUE)
    assert "Wednesday 3 March 2027, before the day you chose." in err.value.errors["wanted_by"]
    # Today itself is allowed: "we need to talk now".
    assert validate_earlier_request(today.isoformat(), "now", today, DUE)[0] == today


# --- reminders owed ------------------------------------------------------------------------------


def test_nothing_is_owed_until_fourteen_days_before():
    assert owed_for_review(DUE, DUE - timedelta(days=15), RULES) == []


@pytest.mark.parametrize(
    "today, expected",
    [
        (DUE - timedelta(days=14), ["soon:14"]),
        (DUE - timedelta(days=7), ["soon:14"]),
        (DUE - timedelta(days=6), []),  # 14 days before is more than a week ago now
        (DUE - timedelta(days=2), ["soon:2"]),
        (DUE, ["today"]),
        (DUE + timedelta(days=5), ["today"]),
        (DUE + timedelta(days=7), ["overdue:1"]),
        (DUE + timedelta(days=13), ["overdue:1"]),
        (DUE + timedelta(days=14), ["overdue:2", "escalation"]),
        (DUE + timedelta(days=22), ["overdue:3", "escalation"]),
        (DUE + timedelta(days=400), ["overdue:57", "escalation"]),
    ],
    ids=lambda v: str(v),
)
def test_reminders_owed_follow_from_the_dates_not_from_the_day_the_sweep_runs(today, expected):
    """The latest reminder is owed from its day until the catch-up window (7 days) has
    passed, so a sweep on any day in between, for example after downtime, still finds it."""
    assert kinds(owed_for_review(DUE, today, RULES)) == expected


def test_each_reminder_is_owed_on_its_own_day():
    owed = {o.kind: o.owed_on for o in owed_for_review(DUE, DUE + timedelta(days=14), RULES)}
    assert owed == {"overdue:2": DUE + timedelta(days=14), "escalation": DUE + timedelta(days=14)}
    owed = owed_for_review(DUE, DUE + timedelta(days=3), RULES)
    assert [(o.kind, o.owed_on) for o in owed] == [("today", DUE)]


def test_escalation_goes_to_supervisors_and_is_never_too_late():
    owed = owed_for_review(DUE, DUE + timedelta(days=90), RULES)
    escalation = next(o for o in owed if o.kind == "escalation")
    assert escalation.audience is Audience.SUPERVISORS
    assert {o.audience for o in owed if o.kind != "escalation"} == {Audience.PARTIES}


def test_three_days_of_downtime_are_caught_up_once():
    """What fell due while nothing ran is owed on the day it runs again, once: reminders
    missed together would all read the same that day ("a day late"), so only the latest is
    owed, as a key worker's digest lists a review once however many reminders it gathered."""
    before = DUE - timedelta(days=3)
    after = DUE + timedelta(days=1)
    assert owed_for_review(DUE, before, RULES) == []  # "14 days before" is too old by now
    assert kinds(owed_for_review(DUE, after, RULES)) == ["today"]  # not "2 days before" too
    # Nothing ran for three weeks: one reminder for the parties, and the escalation.
    assert kinds(owed_for_review(DUE, DUE + timedelta(days=16), RULES)) == [
        "overdue:2",
        "escalation",
    ]


@pytest.mark.parametrize("catch_up", [0, 7, 30])
def test_the_parties_are_owed_at_most_one_reminder_about_a_review_on_any_day(catch_up):
    rules = ReminderRules(due_soon_days=(14, 2, 1), overdue_every_days=1, catch_up_days=catch_up)
    for shift in range(-30, 60):
        owed = owed_for_review(DUE, DUE + timedelta(days=shift), rules)
        assert len([o for o in owed if o.audience is Audience.PARTIES]) <= 1, shift
        assert len(owed_for_waiting(DUE, DUE + timedelta(days=shift), rules)) <= 1, shift


def test_a_review_brought_within_days_is_told_the_day_it_is_set():
    """Asked today for a review today: "today" it is. Asked for tomorrow, or for 10 days on,
    the "coming up" reminder that fell before the date existed is owed the day it was set:
    the other side heard of it first on the day itself, by e-mail."""
    assert kinds(owed_for_review(DUE, DUE, RULES, set_on=DUE)) == ["today"]
    asked = DUE - timedelta(days=1)  # asked yesterday for today
    [told] = owed_for_review(DUE, asked, RULES, set_on=asked)
    assert (told.kind, told.owed_on) == ("soon:2", asked)
    assert kinds(owed_for_review(DUE, asked + timedelta(days=1), RULES, set_on=asked)) == ["today"]
    asked = DUE - timedelta(days=10)
    [told] = owed_for_review(DUE, asked, RULES, set_on=asked)
    assert (told.kind, told.owed_on) == ("soon:14", asked)
    # Days later it is the same one (its unique key keeps it once), until the next is due.
    assert owed_for_review(DUE, asked + timedelta(days=3), RULES, set_on=asked) == [told]
    assert kinds(owed_for_review(DUE, DUE - timedelta(days=2), RULES, set_on=asked)) == ["soon:2"]
    # Set long ago and missed since (the senders down a fortnight): not sent late.
    asked = DUE - timedelta(days=13)
    assert owed_for_review(DUE, asked + timedelta(days=9), RULES, set_on=asked) == []


def test_a_later_reminder_about_the_same_date_supersedes_an_undelivered_one():
    assert not superseded("soon:14", DUE - timedelta(days=14), DUE, DUE - timedelta(days=3), RULES)
    assert superseded("soon:14", DUE - timedelta(days=14), DUE, DUE - timedelta(days=2), RULES)
    assert superseded("soon:2", DUE - timedelta(days=2), DUE, DUE + timedelta(days=1), RULES)
    assert not superseded("today", DUE, DUE, DUE + timedelta(days=6), RULES)
    assert not superseded(
        "escalation", DUE + timedelta(days=14), DUE, DUE + timedelta(days=40), RULES
    )
    since = date(2027, 2, 1)
    assert superseded("sign:2", since + timedelta(days=2), since, since + timedelta(days=7), RULES)
    assert not superseded(
        "sign:7", since + timedelta(days=7), since, since + timedelta(days=9), RULES
    )


def test_rules_are_configurable():
    rules = ReminderRules(
        due_soon_days=(7,), due_today=False, overdue_every_days=0, escalate_after_days=3
    )
    assert kinds(owed_for_review(DUE, DUE + timedelta(days=3), rules)) == ["escalation"]
    assert kinds(owed_for_review(DUE, DUE - timedelta(days=7), rules)) == ["soon:7"]
    assert review_due_window(DUE, rules) == DUE + timedelta(days=7)
    no_catch_up = ReminderRules(catch_up_days=0)
    assert kinds(owed_for_review(DUE, DUE, no_catch_up)) == ["today"]
    with pytest.raises(ValueError):
        ReminderRules(due_soon_days=(0,))
    with pytest.raises(ValueError):
        ReminderRules(overdue_every_days=-1)


def test_whoever_has_not_signed_is_reminded_two_and_seven_days_after():
    since = date(2027, 2, 1)
    assert owed_for_waiting(since, since + timedelta(days=1), RULES) == []
    owed = owed_for_waiting(since, since + timedelta(days=2), RULES)
    assert [(o.kind, o.owed_on, o.audience) for o in owed] == [
        ("sign:2", since + timedelta(days=2), Audience.WAITING)
    ]
    # Caught up together after downtime: one reminder, the latest.
    owed = owed_for_waiting(since, since + timedelta(days=7), RULES)
    assert [(o.kind, o.owed_on) for o in owed] == [("sign:7", since + timedelta(days=7))]
    assert kinds(owed_for_waiting(since, since + timedelta(days=30), RULES)) == []


def test_the_wording_follows_the_day_it_is_read():
    assert timing("soon:14", DUE, DUE - timedelta(days=14)).kind == "soon"
    # Caught up late: a "coming up" reminder read on the day says "today", never "coming up".
    assert timing("soon:14", DUE, DUE).kind == "today"
    assert timing("soon:2", DUE, DUE + timedelta(days=1)).kind == "overdue"
    late = timing("escalation", DUE, DUE + timedelta(days=14))
    assert (late.kind, late.days) == ("escalation", -14)
    assert timing("sign:2", date(2027, 2, 1), DUE).kind == "waiting"


def test_a_client_chooses_email_in_app_only_or_nothing():
    default = ClientChannel.EMAIL
    assert client_channels(None, default) == ("app", "email")
    assert client_channels("app", default) == ("app",)
    assert client_channels("none", default) == ()
    assert client_channels(None, ClientChannel.APP) == ("app",)
    assert client_channels("nonsense", ClientChannel.APP) == ("app",)


def test_the_reason_for_a_review_after_a_crisis_speaks_to_its_reader():
    """A key worker read "(to look back after the plan for when you are not well)"."""
    after = ReviewReason.POST_CRISIS
    assert after.label("Al", reader_is_client=True) == (
        "to look back after the plan for when you are not well"
    )
    assert after.label("Al", reader_is_client=False) == (
        "to look back after the plan for when Al is not well"
    )
    assert ReviewReason.INTERVAL.label("Al", reader_is_client=False) == "the regular review"


@pytest.mark.parametrize(
    ("due", "late"),
    [
        (None, 0),
        (DUE + timedelta(days=1), 0),
        (DUE, 0),  # due today is not late yet
        (DUE - timedelta(days=1), 1),
        (DUE - timedelta(days=26), 26),
    ],
)
def test_a_review_date_is_late_by_the_days_since_it_passed(due, late):
    assert days_late(due, DUE) == late
