from careplan.domain.idle_sessions import (
    recording_interval,
    seconds_left,
    timed_out,
    worth_recording,
)

IDLE = 15 * 60
EVERY = recording_interval(IDLE)


def test_the_time_is_recorded_at_most_every_fifteen_seconds_or_a_tenth_of_the_idle_time():
    assert EVERY == 15
    assert recording_interval(6) == 0.6


def test_a_session_used_within_the_idle_time_carries_on():
    assert not timed_out(1000.0, 1000.0 + IDLE, IDLE)
    assert not timed_out(None, 1000.0, IDLE)  # never recorded: just signed in


def test_nobody_is_signed_out_before_the_idle_time_since_their_last_request():
    # The last request came just before the next recording was due, so the session still
    # holds the earlier time: the idle time is counted from the request, not the record.
    recorded = 1000.0
    last_request = recorded + EVERY - 0.5
    assert not worth_recording(recorded, last_request, IDLE)
    assert not timed_out(recorded, last_request + IDLE, IDLE)


def test_a_session_left_longer_is_signed_out_at_most_one_interval_late():
    recorded = 1000.0
    assert timed_out(recorded, recorded + IDLE + EVERY + 0.1, IDLE)


def test_the_time_is_written_once_per_interval_not_on_every_request():
    assert worth_recording(None, 5.0, IDLE)
    assert not worth_recording(100.0, 100.0 + EVERY - 1, IDLE)
    assert worth_recording(100.0, 100.0 + EVERY, IDLE)


def test_the_page_is_told_when_the_server_will_sign_out():
    recorded = 1000.0
    assert seconds_left(recorded, recorded, IDLE) == IDLE + EVERY
    left = seconds_left(recorded, recorded + 100.5, IDLE)
    assert left == IDLE + EVERY - 101  # rounded down
    assert not timed_out(recorded, recorded + 100.5 + left, IDLE)
    assert timed_out(recorded, recorded + 100.5 + left + 1, IDLE)  # when the page gives up
    assert seconds_left(recorded, recorded + IDLE + 60, IDLE) == 0
