"""Rules for crisis alerts: their reminder kinds, when the supervisors are told, who sees and
answers them, and the service's numbers for urgent help."""

from datetime import UTC, datetime, timedelta

import pytest

from careplan.config import ConfigError, load_config
from careplan.domain.access import Access
from careplan.domain.crisis_alerts import (
    AlertKind,
    alert_access,
    alert_of,
    earliest_waiting,
    is_alert_kind,
    needs_escalation,
    parse_urgent_numbers,
    reminder_kind,
    respond_by,
    validate_response,
)
from careplan.domain.errors import ContentInvalid
from careplan.domain.roles import Role

AT = datetime(2027, 3, 2, 13, 30, tzinfo=UTC)


def test_an_alerts_reminders_have_kinds_of_their_own():
    assert reminder_kind(12) == "alert:12"
    assert reminder_kind(12, escalation=True) == "alert-escalation:12"
    assert alert_of("alert:12") == (12, False)
    assert alert_of("alert-escalation:12") == (12, True)
    for other in ("soon:14", "escalation", "sign:2", "overdue:1", "alert:", "alert:x"):
        assert alert_of(other) is None and not is_alert_kind(other)
    assert len(reminder_kind(2**31, escalation=True)) <= 30  # fits reminders.kind


def test_the_supervisors_are_told_when_nobody_answered_by_the_promised_time():
    due = respond_by(AT, timedelta(minutes=60))
    assert due == AT + timedelta(hours=1)
    assert not needs_escalation(due, due - timedelta(seconds=1), answered=False)
    assert needs_escalation(due, due, answered=False)
    assert not needs_escalation(due, due + timedelta(days=3), answered=True)
    with pytest.raises(ValueError):
        respond_by(AT, timedelta(0))


def test_a_response_says_something():
    assert validate_response("  I will phone you at 3pm. ") == "I will phone you at 3pm."
    for bad in ("", "   ", "x" * 2001):
        with pytest.raises(ContentInvalid):
            validate_response(bad)


HOLDS = Access(read=True, edit=True, comment=True, sign=True)
SUPERVISES = Access(read=True, read_is_logged=True)
ADVOCATE = Access(read=True, comment=True, read_is_logged=True)
NONE = Access()


@pytest.mark.parametrize(
    "role, records, colleague, involved, expected",
    [
        (Role.CLIENT, HOLDS, False, False, (True, False, False)),
        (Role.KEY_WORKER, HOLDS, False, False, (True, True, False)),
        (Role.SUPERVISOR, SUPERVISES, False, False, (True, True, True)),
        (Role.KEY_WORKER, NONE, True, True, (True, True, True)),  # a colleague, while asked
        (Role.KEY_WORKER, NONE, True, False, (False, False, False)),  # otherwise nothing
        (Role.KEY_WORKER, NONE, False, True, (False, False, False)),  # another team
        (Role.ADVOCATE, ADVOCATE, False, False, (True, False, True)),
        (Role.ADMIN, NONE, False, False, (False, False, False)),
    ],
)
def test_who_sees_and_answers_alerts(role, records, colleague, involved, expected):
    access = alert_access(role, records, colleague, involved)
    assert (access.see, access.respond, access.read_is_logged) == expected


def test_urgent_numbers_are_read_in_order_with_a_dialable_link():
    numbers = parse_urgent_numbers("Emergency services=999; Samaritans = 116 123;NHS 111=111")
    assert [(n.name, n.number, n.tel) for n in numbers] == [
        ("Emergency services", "999", "tel:999"),
        ("Samaritans", "116 123", "tel:116123"),
        ("NHS 111", "111", "tel:111"),
    ]
    assert parse_urgent_numbers("Line=+44 (0)20 7946-0000")[0].tel == "tel:+4402079460000"
    assert parse_urgent_numbers("") == ()
    for bad in ("999", "=999", "Help=call us", "Help=javascript:alert(1)"):
        with pytest.raises(ValueError):
            parse_urgent_numbers(bad)


def test_bad_crisis_settings_stop_the_app_with_the_setting_named(tmp_path):
    config = load_config(tmp_path, env={})
    assert config["URGENT_HELP_NUMBERS"] == "Emergency services=999"
    assert config["CRISIS_RESPONSE_MINUTES"] == 60
    with pytest.raises(ConfigError, match="CAREPLAN_URGENT_HELP_NUMBERS"):
        load_config(tmp_path, env={"CAREPLAN_URGENT_HELP_NUMBERS": "Help=call us"})
    with pytest.raises(ConfigError, match="CAREPLAN_CRISIS_RESPONSE_MINUTES"):
        load_config(tmp_path, env={"CAREPLAN_CRISIS_RESPONSE_MINUTES": "0"})


def test_the_earliest_request_of_a_kind_still_waiting_is_the_one_told_of():
    at = [datetime(2027, 3, 1, h, tzinfo=UTC) for h in range(4)]
    alerts = [
        (AlertKind.SELF_REFERRAL, at[0], True),  # answered
        (AlertKind.CONTINGENCY, at[1], False),
        (AlertKind.SELF_REFERRAL, at[3], False),
        (AlertKind.SELF_REFERRAL, at[2], False),
    ]
    assert earliest_waiting(AlertKind.SELF_REFERRAL, alerts) == at[2]
    assert earliest_waiting(AlertKind.CONTINGENCY, alerts) == at[1]
    assert earliest_waiting(AlertKind.SELF_REFERRAL, alerts[:2]) is None
