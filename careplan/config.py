"""Settings from environment variables, with safe defaults for local use.

Production (CAREPLAN_ENV=production) refuses to start without a strong secret key or with
debug switched on, so a misconfigured deployment fails loudly instead of running insecurely.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .paths import PROJECT_ROOT

INSECURE_SECRETS = {"", "dev", "secret", "changeme", "change-me", "development", "please-change"}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The configuration would be unsafe or unusable; the message says what to set."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _local_secret(instance_path: Path) -> str:
    """A random key kept in the instance folder, so local sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Write-then-rename so two processes starting together never read half a key.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(key)
    os.chmod(tmp, 0o600)
    if not path.exists():
        os.replace(tmp, path)
    else:
        tmp.unlink()
    return path.read_text().strip()


def load_config(
    instance_path: Path, env: dict | None = None, overrides: dict | None = None
) -> dict:
    env = dict(os.environ if env is None else env)
    overrides = overrides or {}
    mode = overrides.get("ENV", env.get("CAREPLAN_ENV", "development")).lower()
    if mode not in {"development", "production", "testing"}:
        raise ConfigError(f"CAREPLAN_ENV must be development, production or testing, got {mode!r}")

    default_db = f"sqlite:///{instance_path / 'careplan.db'}"
    config = {
        "ENV": mode,
        "DEBUG": _bool(env.get("CAREPLAN_DEBUG"), default=False),
        "TESTING": mode == "testing",
        "DATABASE_URL": env.get("DATABASE_URL", default_db),
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "IDLE_TIMEOUT_MINUTES": _int(env, "CAREPLAN_IDLE_TIMEOUT_MINUTES", 15),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": mode == "production",
        "REMEMBER_COOKIE_SECURE": mode == "production",
        "WTF_CSRF_TIME_LIMIT": None,  # the idle timeout already bounds a session's life
        # Argon2id cost; production keeps the library's recommended defaults.
        "ARGON2_TIME_COST": _int(env, "CAREPLAN_ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_KIB": _int(env, "CAREPLAN_ARGON2_MEMORY_KIB", 65536),
        "SQLITE_BUSY_TIMEOUT_MS": _int(env, "CAREPLAN_SQLITE_BUSY_TIMEOUT_MS", 30000),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "PUBLIC_BASE_URL": env.get("CAREPLAN_PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "PDF_STORAGE_PATH": env.get("CAREPLAN_PDF_STORAGE_PATH", ""),
        "PDF_SEAL_CERT_PATH": env.get("CAREPLAN_PDF_SEAL_CERT_PATH", ""),
        "PDF_SEAL_KEY_PATH": env.get("CAREPLAN_PDF_SEAL_KEY_PATH", ""),
        "PDF_SEAL_KEY_PASSPHRASE": env.get("CAREPLAN_PDF_SEAL_KEY_PASSPHRASE", ""),
        # For example: "Confidential. Do not pass on without the person's consent."
        "PDF_REDISCLOSURE_NOTICE": env.get("CAREPLAN_PDF_REDISCLOSURE_NOTICE", ""),
        "AGREEMENTS_PATH": env.get("CAREPLAN_AGREEMENTS_PATH", str(PROJECT_ROOT / "agreements")),
    }
    config.update(overrides)

    if config["ENV"] == "production":
        if config["DEBUG"]:
            raise ConfigError(
                "Refusing to start: debug is on in production (unset CAREPLAN_DEBUG)."
            )
        secret = config["SECRET_KEY"]
        if secret.lower() in INSECURE_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "Refusing to start: SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters in production "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
    elif not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _local_secret(instance_path)
    return config
