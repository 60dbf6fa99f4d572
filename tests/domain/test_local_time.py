"""Dates and times are shown in the service's local zone, in words, the same everywhere."""

from datetime import UTC, date, datetime, timedelta

import pytest

from careplan.config import ConfigError, load_config
from careplan.domain import local_time
from careplan.domain.local_time import how_long, service_day, show, start_of_day, time_zone

LONDON = time_zone("Europe/London")
NEW_YORK = time_zone("America/New_York")


def test_winter_time_in_london_is_utc_and_summer_time_is_an_hour_ahead():
    assert show(datetime(2026, 12, 3, 14, 5, tzinfo=UTC), LONDON) == "3 December 2026, 14:05"
    assert show(datetime(2026, 7, 3, 14, 5, tzinfo=UTC), LONDON) == "3 July 2026, 15:05"


def test_the_clocks_changing_in_london():
    # 29 March 2026: 01:00 UTC is 01:00 GMT becoming 02:00 BST.
    assert show(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), LONDON) == "29 March 2026, 00:59"
    assert show(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), LONDON) == "29 March 2026, 02:00"
    # 25 October 2026: 01:00 UTC is 02:00 BST becoming 01:00 GMT; 01:30 happens twice.
    assert show(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), LONDON) == "25 October 2026, 01:30"
    assert show(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), LONDON) == "25 October 2026, 01:30"


def test_another_zone_shows_the_same_moment_differently():
    moment = datetime(2026, 12, 3, 2, 30, tzinfo=UTC)
    assert show(moment, LONDON) == "3 December 2026, 02:30"
    assert show(moment, NEW_YORK) == "2 December 2026, 21:30"
    # Only the day: the local day the moment fell on, not the UTC one.
    assert show(moment, NEW_YORK, date_only=True) == "2 December 2026"
    late = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert show(late, LONDON, date_only=True) == "1 July 2026"


def test_the_service_counts_its_own_days(monkeypatch):
    monkeypatch.setattr(local_time, "_days_zone", LONDON)
    # 23:30 UTC in summer is 00:30 the next day in London; in winter the days are UTC's.
    assert service_day(datetime(2026, 6, 3, 23, 30, tzinfo=UTC)) == date(2026, 6, 4)
    assert service_day(datetime(2026, 6, 3, 22, 59, tzinfo=UTC)) == date(2026, 6, 3)
    assert service_day(datetime(2026, 12, 3, 23, 30)) == date(2026, 12, 3)  # naive: UTC
    assert start_of_day(date(2026, 6, 4)) == datetime(2026, 6, 3, 23, 0, tzinfo=UTC)
    assert start_of_day(date(2026, 12, 4)) == datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    # The day the clocks go forward is 23 hours long, and each moment in it is on it.
    begins, ends = start_of_day(date(2026, 3, 29)), start_of_day(date(2026, 3, 30))
    assert ends - begins == timedelta(hours=23)
    assert service_day(begins) == service_day(ends - timedelta(microseconds=1)) == date(2026, 3, 29)
    monkeypatch.setattr(local_time, "_days_zone", NEW_YORK)
    assert service_day(datetime(2026, 12, 3, 2, 30, tzinfo=UTC)) == date(2026, 12, 2)


def test_the_app_counts_days_in_its_configured_zone(tmp_path, monkeypatch):
    from careplan import create_app

    monkeypatch.setattr(local_time, "_days_zone", LONDON)
    create_app(
        {"ENV": "testing", "TIME_ZONE": "America/New_York", "SECRET_KEY": "x" * 32},
        instance_path=tmp_path,
    )
    assert service_day(datetime(2026, 12, 3, 2, 30, tzinfo=UTC)) == date(2026, 12, 2)


def test_naive_moments_are_utc_and_dates_have_no_time():
    assert show(datetime(2026, 7, 3, 14, 5), LONDON) == "3 July 2026, 15:05"
    assert show(date(2026, 12, 3), NEW_YORK) == "3 December 2026"
    assert show("2026-12-03", LONDON) == "3 December 2026"
    assert show("2026-07-03T14:05:00+00:00", LONDON) == "3 July 2026, 15:05"
    assert show(None, LONDON) == "" and show("soon", LONDON) == "soon"


def test_nothing_shown_is_utc_or_iso():
    text = show(datetime(2026, 12, 3, 14, 5, tzinfo=UTC), LONDON)
    assert "UTC" not in text and "T14" not in text and "2026-12" not in text


@pytest.mark.parametrize("name", ["Europe/Londres", "", "   ", "../etc/passwd", "Europe/"])
def test_unknown_zones_are_refused(name):
    with pytest.raises(ValueError):
        time_zone(name)


def test_config_defaults_to_london_and_refuses_an_unknown_zone(tmp_path):
    assert load_config(tmp_path, env={})["TIME_ZONE"] == "Europe/London"
    assert load_config(tmp_path, env={"CAREPLAN_TIME_ZONE": "Europe/Paris"})["TIME_ZONE"] == (
        "Europe/Paris"
    )
    with pytest.raises(ConfigError, match="CAREPLAN_TIME_ZONE.*Europe/London.*Mars/Olympus"):
        load_config(tmp_path, env={"CAREPLAN_TIME_ZONE": "Mars/Olympus"})


def test_config_needs_a_service_name(tmp_path):
    config = load_config(tmp_path, env={})
    assert config["SERVICE_NAME"] and config["SERVICE_CONTACT"] == ""
    with pytest.raises(ConfigError, match="CAREPLAN_SERVICE_NAME"):
        load_config(tmp_path, env={"CAREPLAN_SERVICE_NAME": "  "})


@pytest.mark.parametrize(
    "span, words",
    [
        (timedelta(hours=1), "an hour"),
        (timedelta(days=7), "7 days"),
        (timedelta(days=1), "a day"),
        (timedelta(hours=36), "36 hours"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(seconds=1), "a second"),
    ],
)
def test_a_length_of_time_is_said_in_its_largest_whole_unit(span, words):
    assert how_long(span) == words
