import os
import re

import pytest

from careplan.config import ConfigError, load_config
from careplan.paths import PROJECT_ROOT


def test_local_secret_is_generated_once_into_the_instance_folder(tmp_path):
    first = load_config(tmp_path, env={})
    second = load_config(tmp_path, env={})
    assert len(first["SECRET_KEY"]) >= 32 and first["SECRET_KEY"] == second["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first["DATABASE_URL"].startswith("sqlite:///") and first["IDLE_TIMEOUT_MINUTES"] == 15


def _seal_env(tmp_path) -> dict:
    """Production needs the service's sealing certificate and key; any readable files do here."""
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("PEM")
    return {
        "CAREPLAN_PDF_SEAL_CERT_PATH": str(tmp_path / "cert.pem"),
        "CAREPLAN_PDF_SEAL_KEY_PATH": str(tmp_path / "key.pem"),
        # Not a seal file, but production needs it as well (test_production_needs_its_address).
        "CAREPLAN_PUBLIC_BASE_URL": "https://plans.example.org",
    }


def test_production_requires_a_strong_secret(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path, env={"CAREPLAN_ENV": "production"})
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(tmp_path, env={"CAREPLAN_ENV": "production", "SECRET_KEY": "changeme"})
    ok = load_config(
        tmp_path,
        env={"CAREPLAN_ENV": "production", "SECRET_KEY": "x" * 40, **_seal_env(tmp_path)},
    )
    assert ok["SESSION_COOKIE_SECURE"] is True


def test_production_requires_a_readable_sealing_certificate(tmp_path):
    env = {
        "CAREPLAN_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "CAREPLAN_PUBLIC_BASE_URL": "https://plans.example.org",
    }
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path, env=env)
    assert "CAREPLAN_PDF_SEAL_CERT_PATH" in str(refused.value)
    assert "CAREPLAN_PDF_SEAL_KEY_PATH" in str(refused.value)
    seal = _seal_env(tmp_path)
    missing = {**seal, "CAREPLAN_PDF_SEAL_KEY_PATH": str(tmp_path / "gone.pem")}
    with pytest.raises(ConfigError, match="CAREPLAN_PDF_SEAL_KEY_PATH.*gone.pem"):
        load_config(tmp_path, env={**env, **missing})
    assert load_config(tmp_path, env={**env, **seal})["PDF_SEAL_CERT_PATH"].endswith("cert.pem")


@pytest.mark.parametrize("name", ["PDF_SEAL_EARLIER_CERT_PATHS", "PDF_SEAL_CHAIN_PATHS"])
def test_production_requires_every_listed_certificate_to_be_readable(tmp_path, name):
    env = {"CAREPLAN_ENV": "production", "SECRET_KEY": "x" * 40, **_seal_env(tmp_path)}
    (tmp_path / "2025.pem").write_text("PEM")
    listed = os.pathsep.join([str(tmp_path / "2025.pem"), str(tmp_path / "2024.pem")])
    with pytest.raises(ConfigError, match=f"CAREPLAN_{name}.*2024.pem"):
        load_config(tmp_path, env={**env, f"CAREPLAN_{name}": listed})
    (tmp_path / "2024.pem").write_text("PEM")
    config = load_config(tmp_path, env={**env, f"CAREPLAN_{name}": listed})
    assert config[name] == listed


def test_a_certificate_without_its_key_is_refused_everywhere(tmp_path):
    half = {"CAREPLAN_PDF_SEAL_CERT_PATH": _seal_env(tmp_path)["CAREPLAN_PDF_SEAL_CERT_PATH"]}
    with pytest.raises(ConfigError, match="both"):
        load_config(tmp_path, env=half)


def test_production_needs_its_address(tmp_path):
    env = {"CAREPLAN_ENV": "production", "SECRET_KEY": "x" * 40, **_seal_env(tmp_path)}
    del env["CAREPLAN_PUBLIC_BASE_URL"]
    with pytest.raises(ConfigError, match="production needs CAREPLAN_PUBLIC_BASE_URL"):
        load_config(tmp_path, env=env)
    address = {**env, "CAREPLAN_PUBLIC_BASE_URL": "https://plans.example.org/"}
    assert load_config(tmp_path, env=address)["PUBLIC_BASE_URL"] == "https://plans.example.org"
    # Elsewhere the local address is still the default.
    assert load_config(tmp_path, env={})["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"


def test_production_refuses_debug(tmp_path):
    with pytest.raises(ConfigError, match="debug"):
        load_config(
            tmp_path,
            env={"CAREPLAN_ENV": "production", "SECRET_KEY": "x" * 40, "CAREPLAN_DEBUG": "1"},
        )


def test_bad_numbers_are_named(tmp_path):
    with pytest.raises(ConfigError, match="CAREPLAN_IDLE_TIMEOUT_MINUTES"):
        load_config(tmp_path, env={"CAREPLAN_IDLE_TIMEOUT_MINUTES": "soon"})


@pytest.mark.parametrize(
    "env, named",
    [
        ({"CAREPLAN_REMINDER_LEASE_SECONDS": "45"}, "CAREPLAN_REMINDER_LEASE_SECONDS"),
        ({"CAREPLAN_REMINDER_LEASE_SECONDS": "0"}, "CAREPLAN_REMINDER_LEASE_SECONDS"),
        (
            {"CAREPLAN_REMINDER_LEASE_SECONDS": "90", "CAREPLAN_SMTP_TIMEOUT_SECONDS": "60"},
            "CAREPLAN_REMINDER_LEASE_SECONDS",
        ),
        ({"CAREPLAN_SMTP_TIMEOUT_SECONDS": "0"}, "CAREPLAN_SMTP_TIMEOUT_SECONDS"),
        ({"CAREPLAN_REMINDER_SEND_SECONDS": "0"}, "CAREPLAN_REMINDER_SEND_SECONDS"),
        ({"CAREPLAN_REMINDER_SWEEP_SECONDS": "-1"}, "CAREPLAN_REMINDER_SWEEP_SECONDS"),
        ({"CAREPLAN_REMINDER_MAX_ATTEMPTS": "0"}, "CAREPLAN_REMINDER_MAX_ATTEMPTS"),
    ],
)
def test_reminder_timings_that_cannot_work_are_refused_by_name(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        load_config(tmp_path, env=env)


def test_the_reminder_hour_is_on_the_service_s_clock_and_the_utc_setting_is_refused(tmp_path):
    assert load_config(tmp_path, env={})["REMINDER_HOUR"] == 7
    assert load_config(tmp_path, env={"CAREPLAN_REMINDER_HOUR": "8"})["REMINDER_HOUR"] == 8
    assert load_config(tmp_path, env={})["REMINDER_LAST_HOUR"] == 21
    assert (
        load_config(tmp_path, env={"CAREPLAN_REMINDER_LAST_HOUR": "24"})["REMINDER_LAST_HOUR"] == 24
    )
    # The old setting meant an hour in UTC: refused by name, so no summary quietly moves.
    with pytest.raises(ConfigError, match="set CAREPLAN_REMINDER_HOUR instead"):
        load_config(tmp_path, env={"CAREPLAN_REMINDER_DIGEST_HOUR_UTC": "7"})


@pytest.mark.parametrize(
    "setting, named",
    [
        ({"REMINDER_HOUR": 24}, "CAREPLAN_REMINDER_HOUR must be from 0 to 23"),
        (
            {"REMINDER_CLIENT_DEFAULT": "pigeon"},
            "CAREPLAN_REMINDER_CLIENT_DEFAULT must be one of email, app, none, got 'pigeon'",
        ),
        ({"REMINDER_DUE_SOON_DAYS": (14, 0)}, "'due soon' reminders are at least one day"),
    ],
)
def test_the_app_does_not_start_with_reminder_settings_it_cannot_use(tmp_path, setting, named):
    from careplan import create_app

    with pytest.raises(ConfigError, match=named):
        create_app({"ENV": "testing", **setting}, instance_path=tmp_path)


@pytest.mark.parametrize("sender", ["Reminders, North <r@example.org>", "nobody", ""])
def test_a_sender_that_is_not_one_address_is_refused(tmp_path, sender):
    with pytest.raises(ConfigError, match="CAREPLAN_SMTP_FROM must be one e-mail address"):
        load_config(tmp_path, env={"CAREPLAN_SMTP_FROM": sender})
    quoted = load_config(tmp_path, env={"CAREPLAN_SMTP_FROM": '"Reminders, North" <r@x.org>'})
    assert quoted["SMTP_FROM"] == '"Reminders, North" <r@x.org>'


@pytest.mark.parametrize("sender", ["Rappels <rappels@santé.example>", "José <josé@example.org>"])
def test_a_sender_address_outside_ascii_is_refused_and_a_name_outside_it_is_not(tmp_path, sender):
    with pytest.raises(ConfigError, match="address must be plain ASCII"):
        load_config(tmp_path, env={"CAREPLAN_SMTP_FROM": sender})
    named = load_config(tmp_path, env={"CAREPLAN_SMTP_FROM": "Rappels Santé <r@xn--sant-dpa.fr>"})
    assert named["SMTP_FROM"] == "Rappels Santé <r@xn--sant-dpa.fr>"


def test_the_shortest_reminder_timings_allowed_load(tmp_path):
    config = load_config(
        tmp_path,
        env={"CAREPLAN_REMINDER_LEASE_SECONDS": "60", "CAREPLAN_SMTP_TIMEOUT_SECONDS": "30"},
    )
    assert config["REMINDER_LEASE_SECONDS"] == 60


def test_links_follow_the_port_the_app_is_served_on(tmp_path):
    assert load_config(tmp_path, env={})["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert load_config(tmp_path, env={"PORT": "8123"})["PUBLIC_BASE_URL"] == "http://127.0.0.1:8123"
    explicit = {"PORT": "8123", "CAREPLAN_PUBLIC_BASE_URL": "https://careplan.example.org"}
    assert load_config(tmp_path, env=explicit)["PUBLIC_BASE_URL"] == "https://careplan.example.org"
    for bad in ("http", "0", "70000"):
        with pytest.raises(ConfigError, match="PORT"):
            load_config(tmp_path, env={"PORT": bad})


def test_the_public_address_may_name_a_sub_path_and_is_kept_without_a_closing_slash(tmp_path):
    """Links are that address plus "/documents/7" (careplan.domain.addresses): a closing
    slash would double, and a query or something not a web address would break every link."""
    given = {"CAREPLAN_PUBLIC_BASE_URL": "https://trust.example.org/careplan/"}
    assert (
        load_config(tmp_path, env=given)["PUBLIC_BASE_URL"] == "https://trust.example.org/careplan"
    )
    for bad in (
        "trust.example.org/careplan",
        "ftp://x.org",
        "https://x.org/careplan?a=1",
        "https://",
    ):
        with pytest.raises(ConfigError, match="CAREPLAN_PUBLIC_BASE_URL"):
            load_config(tmp_path, env={"CAREPLAN_PUBLIC_BASE_URL": bad})


def test_the_readme_states_the_mail_defaults_the_app_uses(tmp_path):
    """STARTTLS is on unless switched off: an operator reads that in the settings table."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `CAREPLAN_(SMTP_[A-Z_]+)` \| `([^`]*)` \|", readme, re.M))
    config = load_config(tmp_path, env={})
    assert rows == {
        "SMTP_PORT": str(config["SMTP_PORT"]),
        "SMTP_USE_TLS": "1" if config["SMTP_USE_TLS"] else "0",
        "SMTP_USE_SSL": "1" if config["SMTP_USE_SSL"] else "0",
        "SMTP_FROM": config["SMTP_FROM"],
        "SMTP_TIMEOUT_SECONDS": str(config["SMTP_TIMEOUT_SECONDS"]),
    }


def test_rate_limits_are_checked_and_lifted_only_for_tests(tmp_path):
    from careplan.config import RATE_LIMITS, TESTING_RATE_LIMIT

    with pytest.raises(ConfigError, match="CAREPLAN_RATELIMIT_PASSWORD_PER_ACCOUNT"):
        load_config(tmp_path, env={"CAREPLAN_RATELIMIT_PASSWORD_PER_ACCOUNT": "lots"})
    development = load_config(tmp_path, env={})
    assert {name: development[name] for name in RATE_LIMITS} == RATE_LIMITS
    testing = load_config(tmp_path, env={"CAREPLAN_ENV": "testing"})
    assert {testing[name] for name in RATE_LIMITS} == {TESTING_RATE_LIMIT}
    chosen = load_config(tmp_path, env={"CAREPLAN_RATELIMIT_VERIFY_PER_ADDRESS": "5 per hour"})
    assert chosen["RATELIMIT_VERIFY_PER_ADDRESS"] == "5 per hour"


def test_one_lock_wait_for_both_databases_and_the_sqlite_only_setting_is_refused(tmp_path):
    assert load_config(tmp_path, env={})["LOCK_WAIT_MS"] == 20_000
    assert load_config(tmp_path, env={"CAREPLAN_LOCK_WAIT_MS": "5000"})["LOCK_WAIT_MS"] == 5000
    # 0 would mean "never wait" to SQLite and "wait for ever" to PostgreSQL.
    with pytest.raises(ConfigError, match="CAREPLAN_LOCK_WAIT_MS must be at least 1, got 0"):
        load_config(tmp_path, env={"CAREPLAN_LOCK_WAIT_MS": "0"})
    with pytest.raises(ConfigError, match="set CAREPLAN_LOCK_WAIT_MS"):
        load_config(tmp_path, env={"CAREPLAN_SQLITE_BUSY_TIMEOUT_MS": "30000"})
