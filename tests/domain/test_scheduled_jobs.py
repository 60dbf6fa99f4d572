"""When a scheduler job counts as late, failing or never run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from careplan.domain.scheduled_jobs import JobState, allowed_gap, every_in_words, job_state

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
FIVE_SECONDS, HOURLY = timedelta(seconds=5), timedelta(hours=1)


def test_a_job_is_late_after_three_missed_runs_and_never_within_ten_minutes():
    assert allowed_gap(FIVE_SECONDS) == timedelta(minutes=10, seconds=5)
    assert allowed_gap(HOURLY) == timedelta(hours=3)
    gap = allowed_gap(HOURLY)
    assert job_state(HOURLY, NOW - gap, None, NOW) is JobState.OK
    assert job_state(HOURLY, NOW - gap - timedelta(seconds=1), None, NOW) is JobState.LATE


def test_never_ran_failing_and_recovered():
    assert job_state(FIVE_SECONDS, None, None, NOW) is JobState.NEVER_RAN
    assert job_state(FIVE_SECONDS, None, NOW, NOW) is JobState.FAILING
    earlier = NOW - timedelta(seconds=30)
    assert job_state(FIVE_SECONDS, earlier, NOW, NOW) is JobState.FAILING
    assert job_state(FIVE_SECONDS, NOW, earlier, NOW) is JobState.OK  # ran well since


@pytest.mark.parametrize(
    "seconds, words",
    [
        (1, "every second"),
        (5, "every 5 seconds"),
        (60, "every minute"),
        (90, "every 90 seconds"),
        (300, "every 5 minutes"),
        (3600, "every hour"),
        (6 * 3600, "every 6 hours"),
    ],
)
def test_how_often_in_words(seconds, words):
    assert every_in_words(timedelta(seconds=seconds)) == words
