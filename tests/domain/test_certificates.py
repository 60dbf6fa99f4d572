"""When administrators are told to renew the signing certificate."""

from datetime import date, timedelta

from careplan.domain.certificates import RENEW_WITHIN_DAYS, renewal_notice

TODAY = date(2027, 3, 1)


def test_nothing_is_said_until_the_certificate_needs_renewing():
    assert renewal_notice(TODAY + timedelta(days=RENEW_WITHIN_DAYS + 1), TODAY) is None


def test_in_good_time_then_urgently_then_after_it_ran_out():
    text, urgent = renewal_notice(TODAY + timedelta(days=RENEW_WITHIN_DAYS), TODAY)
    assert "runs out on 30 April 2027, in 60 days" in text and not urgent
    text, urgent = renewal_notice(TODAY + timedelta(days=14), TODAY)
    assert "in 14 days" in text and urgent
    assert "today" in renewal_notice(TODAY, TODAY)[0]
    text, urgent = renewal_notice(TODAY - timedelta(days=1), TODAY)
    assert "ran out on 28 February 2027" in text and "replace it now" in text and urgent
