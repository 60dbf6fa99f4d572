from datetime import date, timedelta

import pytest

from careplan.domain.errors import ContentInvalid
from careplan.domain.numbers import MAX_WHOLE_NUMBER
from careplan.domain.supervision import (
    DashState,
    Filters,
    bar_chart,
    dash_state,
    month_starts,
    on_time_share,
    parse_filters,
)

TODAY = date(2027, 5, 20)


@pytest.mark.parametrize(
    "signoff, agreed, head, review, expected",
    [
        ("draft", None, 1, None, DashState.NEVER_AGREED),
        ("nothing_written", None, 0, None, DashState.NEVER_AGREED),
        ("awaiting_signature", None, 1, None, DashState.AWAITING),
        ("declined", None, 2, None, DashState.DECLINED),
        ("agreed", 3, 3, date(2027, 8, 1), DashState.AGREED),
        ("agreed", 3, 3, date(2027, 6, 3), DashState.DUE_SOON),  # 14 days ahead
        ("agreed", 3, 3, date(2027, 6, 4), DashState.AGREED),
        ("agreed", 3, 3, date(2027, 5, 19), DashState.OVERDUE),
        ("draft", 3, 4, date(2027, 8, 1), DashState.DRAFT),
        ("awaiting_signature", 3, 4, date(2027, 8, 1), DashState.AWAITING),
        ("draft", 3, 4, date(2027, 5, 1), DashState.OVERDUE),  # an overdue review comes first
        # A review after a crisis, on an agreement never agreed, comes first too.
        ("draft", None, 1, date(2027, 5, 1), DashState.OVERDUE),
        ("awaiting_signature", None, 1, date(2027, 5, 25), DashState.DUE_SOON),
        ("declined", None, 1, date(2027, 8, 1), DashState.DECLINED),
    ],
)
def test_one_state_per_document(signoff, agreed, head, review, expected):
    assert dash_state(signoff, agreed, head, review, TODAY) is expected


def test_filters_are_checked_with_plain_messages():
    filters, errors = parse_filters(
        {
            "state": "lost",
            "due_from": "2027-06-01",
            "due_to": "2027-05-01",
            "sort": "x",
            "team": "a",
        }
    )
    assert set(errors) == {"state", "due_to", "sort", "team"}
    assert "neither date" in errors["due_to"]
    assert filters == Filters()  # every one refused: every one left at its default
    filters, errors = parse_filters({"state": "overdue", "team": "3", "page": "2"})
    assert (filters.state, filters.team_id, filters.page, errors) == (DashState.OVERDUE, 3, 2, {})


def test_a_refused_filter_is_ignored_and_the_valid_ones_kept():
    """A supervisor who chose their team and mistyped a date range still sees their team."""
    filters, errors = parse_filters(
        {
            "team": "3",
            "key_worker": "7",
            "state": "overdue",
            "due_from": "2027-06-01",
            "due_to": "2027-05-01",  # before its start: neither end is used
            "sort": "client",
            "page": "2",
        }
    )
    assert set(errors) == {"due_to"}
    assert filters == Filters(3, 7, DashState.OVERDUE, None, None, "client", 2)
    filters, errors = parse_filters(
        {"team": "3", "state": "nonsense", "due_from": "soon", "due_to": "2027-05-01"}
    )
    assert set(errors) == {"state", "due_from"}
    assert filters == Filters(team_id=3, due_to=date(2027, 5, 1))


def test_a_choice_refused_later_is_ignored_alone():
    """A team or key worker not the supervisor's is refused by the service; the page then
    leaves that one at "all" and keeps the rest."""
    asked = Filters(3, 7, DashState.OVERDUE, date(2027, 1, 1), None, "client", 2)
    with pytest.raises(ContentInvalid) as err:
        asked.check_choices({4: "East"}, {7: "Eve"})
    assert set(err.value.errors) == {"team"}
    assert asked.ignoring(err.value.errors) == Filters(
        None, 7, DashState.OVERDUE, date(2027, 1, 1), None, "client", 2
    )


def test_a_key_worker_with_a_team_they_are_not_in_is_refused_saying_whose_team_they_are_in():
    """It would list nobody, as "Nothing matches these filters"."""
    asked = Filters(3, 7)
    teams, workers = {3: "North team", 4: "East team"}, {7: "Eve", 8: "Kim"}
    with pytest.raises(ContentInvalid) as err:
        asked.check_choices(teams, workers, {7: 4, 8: 3})
    assert err.value.errors == {
        "key_worker": "Eve is in East team, not North team: choose East team or all your teams "
        "to see Eve's clients."
    }
    assert asked.ignoring(err.value.errors) == Filters(3, None)
    Filters(3, 8).check_choices(teams, workers, {7: 4, 8: 3})  # in their team: fine
    Filters(None, 7).check_choices(teams, workers, {7: 4, 8: 3})  # any team: fine


@pytest.mark.parametrize(
    "raw, page", [("-5", 1), ("0", 1), ("two", 1), ("99999999999999999999", MAX_WHOLE_NUMBER)]
)
def test_a_page_that_is_not_one_of_the_list_s_is_no_mistake_in_the_filters(raw, page):
    """The page shown is the nearest there is (the first, or past the end the last), as on
    every paged page, rather than the filters dropped for a page number."""
    filters, errors = parse_filters({"state": "overdue", "page": raw})
    assert (filters.state, filters.page, errors) == (DashState.OVERDUE, page, {})


def test_on_time_share_counts_missed_reviews_as_late_and_skips_future_ones():
    months = on_time_share(
        [
            (date(2027, 4, 10), True, 2),  # on time
            (date(2027, 4, 12), False, 1),  # late
            (date(2027, 4, 30), None, 1),  # never done: late
            (date(2027, 5, 25), None, 4),  # not yet due: left out
            (date(2025, 1, 1), True, 1),  # outside the 12 months
        ],
        TODAY,
    )
    assert (
        len(months) == 12 and months[-1][0] == date(2027, 5, 1) and months[0][0] == date(2026, 6, 1)
    )
    assert dict((m, (due, ok)) for m, due, ok in months)[date(2027, 4, 1)] == (4, 2)
    assert months[-1][1:] == (0, 0)


def test_month_starts_cross_the_year():
    assert month_starts(date(2027, 2, 14), 3) == [
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]


def test_bar_heights_are_in_proportion():
    chart = bar_chart("x", [("a", 50, "50%"), ("b", 100, "100%"), ("c", 0, "none")], axis_max=100)
    heights = [b.height for b in chart.bars]
    assert heights[1] == 2 * heights[0] and heights[2] == 0
    # Nothing to measure (None) has no bar, and does not upset the scale of the others.
    chart = bar_chart("x", [("a", 4, "4"), ("b", None, "none"), ("c", 2, "2")])
    assert [b.height for b in chart.bars] == [chart.height - 56, 0, (chart.height - 56) / 2]
    assert all(b.y + b.height == chart.height - 40 for b in chart.bars)


def test_the_filters_as_the_pages_links_give_them():
    used = Filters(
        team_id=3, state=DashState.OVERDUE, due_from=date(2027, 1, 1), sort="client", page=4
    )
    assert used.as_args() == {
        "team": "3", "state": "overdue", "due_from": "2027-01-01", "sort": "client"
    }  # fmt: skip
    assert used.as_args(page=5)["page"] == "5"
    assert Filters().as_args() == {}
    # What the page reads back is what it used.
    assert parse_filters(used.as_args(page=4)) == (used, {})


def test_a_version_waiting_past_a_decisions_day_needs_a_new_version_not_a_signature():
    yesterday, today = TODAY - timedelta(days=1), TODAY
    for agreed, head in ((None, 1), (3, 4)):
        state = dash_state("awaiting_signature", agreed, head, None, TODAY, yesterday)
        assert state is DashState.PASSED_DAY
        assert state.label == "cannot be signed: a day in it has passed, needs a new version"
        assert dash_state("awaiting_signature", agreed, head, None, TODAY, today) is (
            DashState.AWAITING
        )
    # Signed by nobody yet, a new draft or a document never agreed: nobody can sign it either.
    for agreed, head, otherwise in ((None, 1, DashState.NEVER_AGREED), (3, 4, DashState.DRAFT)):
        assert dash_state("draft", agreed, head, None, TODAY, yesterday) is DashState.PASSED_DAY
        assert dash_state("draft", agreed, head, None, TODAY, today) is otherwise
    # A review owed still comes first; an agreed version is agreed; a declined one declined.
    assert dash_state("awaiting_signature", 3, 4, yesterday, TODAY, yesterday) is (
        DashState.OVERDUE
    )
    assert dash_state("declined", 3, 4, None, TODAY, yesterday) is DashState.DECLINED
    assert dash_state("agreed", 3, 3, None, TODAY, yesterday) is DashState.AGREED
