import pytest

from careplan.config import ConfigError, load_config


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
    env = {"CAREPLAN_ENV": "production", "SECRET_KEY": "x" * 40}
    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path, env=env)
    assert "CAREPLAN_PDF_SEAL_CERT_PATH" in str(refused.value)
    assert "CAREPLAN_PDF_SEAL_KEY_PATH" in str(refused.value)
    seal = _seal_env(tmp_path)
    missing = {**seal, "CAREPLAN_PDF_SEAL_KEY_PATH": str(tmp_path / "gone.pem")}
    with pytest.raises(ConfigError, match="CAREPLAN_PDF_SEAL_KEY_PATH.*gone.pem"):
        load_config(tmp_path, env={**env, **missing})
    assert load_config(tmp_path, env={**env, **seal})["PDF_SEAL_CERT_PATH"].endswith("cert.pem")


def test_a_certificate_without_its_key_is_refused_everywhere(tmp_path):
    half = {"CAREPLAN_PDF_SEAL_CERT_PATH": _seal_env(tmp_path)["CAREPLAN_PDF_SEAL_CERT_PATH"]}
    with pytest.raises(ConfigError, match="both"):
        load_config(tmp_path, env=half)


def test_production_refuses_debug(tmp_path):
    with pytest.raises(ConfigError, match="debug"):
        load_config(
            tmp_path,
            env={"CAREPLAN_ENV": "production", "SECRET_KEY": "x" * 40, "CAREPLAN_DEBUG": "1"},
        )


def test_bad_numbers_are_named(tmp_path):
    with pytest.raises(ConfigError, match="CAREPLAN_IDLE_TIMEOUT_MINUTES"):
        load_config(tmp_path, env={"CAREPLAN_IDLE_TIMEOUT_MINUTES": "soon"})


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
