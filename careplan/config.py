"""Settings from environment variables, with safe defaults for local use.

Production (CAREPLAN_ENV=production) refuses to start without a strong secret key or with
debug switched on, so a misconfigured deployment fails loudly instead of running insecurely.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlsplit

from .db.engine import LOCK_WAIT_MS
from .domain.crisis_alerts import parse_urgent_numbers
from .domain.local_time import DEFAULT_TIME_ZONE, time_zone
from .files import write_atomically
from .paths import PROJECT_ROOT, path_list

# How many attempts an account or an address gets, in `limits` notation ("N per M minutes").
# Failed password checks (signing in, signing, confirming a review) count per account and per
# address; checks at /verify and links asked for on the forgotten-password page count per
# address; draft PDFs (each rendered when asked, a second or more of processor time) count per
# account. The testing configuration lifts them so that
# tests signing in many times are not paused; the tests of the pauses use these values.
RATE_LIMITS = {
    "RATELIMIT_PASSWORD_PER_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_PASSWORD_PER_ADDRESS": "50 per 15 minutes",
    "RATELIMIT_VERIFY_PER_ADDRESS": "30 per 10 minutes",
    "RATELIMIT_RESET_PER_ADDRESS": "20 per hour",
    "RATELIMIT_DRAFT_PDF_PER_ACCOUNT": "30 per 10 minutes",
}
TESTING_RATE_LIMIT = "100000 per minute"

INSECURE_SECRETS = {"", "dev", "secret", "changeme", "change-me", "development", "please-change"}
MIN_SECRET_LENGTH = 32


def _one_address(value: str) -> bool:
    """One sender, as mail servers will read it: "North, Reminders <r@x.org>" is two."""
    found = getaddresses([value or ""])
    return len(found) == 1 and "@" in found[0][1] and " " not in found[0][1]


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


def _int_list(env: dict, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError as exc:
        raise ConfigError(f"{name} must be whole numbers separated by commas, got {raw!r}") from exc


def _rate_limit(env: dict, name: str, default: str) -> str:
    from limits import parse

    raw = env.get(f"CAREPLAN_{name}") or default
    try:
        parse(raw)
    except ValueError as exc:
        raise ConfigError(
            f"CAREPLAN_{name} must be a rate such as {default!r}, got {raw!r}"
        ) from exc
    return raw


def _local_secret(instance_path: Path) -> str:
    """A random key kept in the instance folder, so local sessions survive restarts.

    Processes starting together on a new folder (gunicorn's workers, the scheduler) must all
    end up with the same key, or a session signed by one is refused by another: the first
    whole key written wins and everyone reads that one. (Checking for the file and then
    renaming over it left about one start in seven of eight processes with two keys.)"""
    path = instance_path / "secret_key"
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            write_atomically(path, secrets.token_urlsafe(48).encode(), replace=False)
    return path.read_text().strip()


def _public_base_url(value: str) -> str:
    """CAREPLAN_PUBLIC_BASE_URL without a closing slash, so that adding "/documents/7" to it
    never doubles one; anything but http(s)://host[/sub-path] is refused by name."""
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            "CAREPLAN_PUBLIC_BASE_URL must be the address people open the app at, such as "
            "'https://trust.example.org' or, under a sub-path, "
            f"'https://trust.example.org/careplan' (no ? or #), got {value!r}."
        )
    return value.strip().rstrip("/")


MIN_REMINDER_LEASE_SECONDS = 60


def shortest_lease_seconds(smtp_timeout: int) -> int:
    """The shortest a sender's claim may run: it must outlast sending one e-mail and
    recording that it was sent. Crisis alerts are claimed for this long, so that a sender
    that died holding one lets another take it soon, not after a whole lease."""
    return max(MIN_REMINDER_LEASE_SECONDS, 2 * smtp_timeout)


def _check_reminder_timings(config: dict) -> None:
    """Timings the reminder jobs rely on (careplan.reminders.sender), refused by name."""
    for key in (
        "REMINDER_SWEEP_SECONDS",
        "REMINDER_SEND_SECONDS",
        "REMINDER_MAX_ATTEMPTS",
        "SMTP_TIMEOUT_SECONDS",
    ):
        if int(config[key]) < 1:
            raise ConfigError(f"CAREPLAN_{key} must be at least 1, got {config[key]}.")
    lease, smtp_timeout = int(config["REMINDER_LEASE_SECONDS"]), int(config["SMTP_TIMEOUT_SECONDS"])
    if lease < shortest_lease_seconds(smtp_timeout):
        raise ConfigError(
            f"CAREPLAN_REMINDER_LEASE_SECONDS must be at least {MIN_REMINDER_LEASE_SECONDS} and "
            f"at least twice CAREPLAN_SMTP_TIMEOUT_SECONDS ({smtp_timeout}), got {lease}: a "
            "sender's claim on a reminder must outlast sending it and recording that it was sent."
        )


def _check_seal_files(config: dict) -> None:
    """Production seals PDFs with the service's own certificate, never a development one."""
    if not config["PDF_SEAL_CERT_PATH"]:
        raise ConfigError(
            "Refusing to start: production needs the service's sealing certificate. Set "
            "CAREPLAN_PDF_SEAL_CERT_PATH and CAREPLAN_PDF_SEAL_KEY_PATH to its certificate "
            "and key (PEM files readable by the app)."
        )
    named = [(n, config[n]) for n in ("PDF_SEAL_CERT_PATH", "PDF_SEAL_KEY_PATH")] + [
        (n, p)
        for n in ("PDF_SEAL_CHAIN_PATHS", "PDF_SEAL_EARLIER_CERT_PATHS")
        for p in path_list(config[n])
    ]
    for name, path in named:
        if not (os.path.isfile(path) and os.access(path, os.R_OK)):
            raise ConfigError(
                f"Refusing to start: CAREPLAN_{name} names {path!r}, which is not a file this "
                "process can read."
            )


def load_config(
    instance_path: Path, env: dict | None = None, overrides: dict | None = None
) -> dict:
    env = dict(os.environ if env is None else env)
    overrides = overrides or {}
    mode = overrides.get("ENV", env.get("CAREPLAN_ENV", "development")).lower()
    if mode not in {"development", "production", "testing"}:
        raise ConfigError(f"CAREPLAN_ENV must be development, production or testing, got {mode!r}")

    default_db = f"sqlite:///{instance_path / 'careplan.db'}"
    # The port the app is served on locally (scripts/run): links follow it unless
    # CAREPLAN_PUBLIC_BASE_URL says where people reach the app.
    port = _int(env, "PORT", 5000)
    if not 0 < port < 65536:
        raise ConfigError(f"PORT must be from 1 to 65535, got {port}.")
    config = {
        "ENV": mode,
        "DEBUG": _bool(env.get("CAREPLAN_DEBUG"), default=False),
        "TESTING": mode == "testing",
        "DATABASE_URL": env.get("DATABASE_URL", default_db),
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "IDLE_TIMEOUT_MINUTES": _int(env, "CAREPLAN_IDLE_TIMEOUT_MINUTES", 15),
        # How many reverse proxies in front of the app to trust for the client's address.
        "TRUSTED_PROXIES": _int(env, "CAREPLAN_TRUSTED_PROXIES", 0),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": mode == "production",
        "REMEMBER_COOKIE_SECURE": mode == "production",
        "WTF_CSRF_TIME_LIMIT": None,  # the idle timeout already bounds a session's life
        # Argon2id cost; production keeps the library's recommended defaults.
        "ARGON2_TIME_COST": _int(env, "CAREPLAN_ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_KIB": _int(env, "CAREPLAN_ARGON2_MEMORY_KIB", 65536),
        # How long a statement waits for another transaction's lock (careplan.db.engine).
        "LOCK_WAIT_MS": _int(env, "CAREPLAN_LOCK_WAIT_MS", LOCK_WAIT_MS),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Dates and times are shown in this zone (careplan.domain.local_time), stored in UTC.
        "TIME_ZONE": env.get("CAREPLAN_TIME_ZONE") or DEFAULT_TIME_ZONE,
        # Who the service is, for the PDF's cover, header and footer. Keep it discreet: the
        # name is printed on every page, so it should not say what kind of service this is.
        "SERVICE_NAME": env.get("CAREPLAN_SERVICE_NAME", "Your care team").strip(),
        "SERVICE_CONTACT": env.get("CAREPLAN_SERVICE_CONTACT", "").strip(),
        # The full address people reach the app at, its sub-path included when the service
        # hosts it under one ("https://trust.example.org/careplan"): e-mails, the calendar
        # feed, PDFs, FHIR and the archive link to it plus an app-relative path, nothing more.
        # Pages, redirects and the API instead take the sub-path from each request: gunicorn's
        # SCRIPT_NAME (the proxy passes the whole path, SCRIPT_NAME=/careplan), or the
        # proxy's X-Forwarded-Prefix when it removes the sub-path itself, read only behind
        # CAREPLAN_TRUSTED_PROXIES. Stored links stay app-relative ("/documents/7"); each
        # place that shows or sends one adds the sub-path or this address exactly once
        # (careplan.domain.addresses).
        "PUBLIC_BASE_URL": env.get("CAREPLAN_PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}",
        "PDF_STORAGE_PATH": env.get("CAREPLAN_PDF_STORAGE_PATH", ""),
        "PDF_SEAL_CERT_PATH": env.get("CAREPLAN_PDF_SEAL_CERT_PATH", ""),
        "PDF_SEAL_KEY_PATH": env.get("CAREPLAN_PDF_SEAL_KEY_PATH", ""),
        "PDF_SEAL_KEY_PASSPHRASE": env.get("CAREPLAN_PDF_SEAL_KEY_PASSPHRASE", ""),
        # The certificates that issued the sealing certificate, up to its authority's root,
        # put in every seal so PDF readers can check it (os.pathsep between files).
        "PDF_SEAL_CHAIN_PATHS": env.get("CAREPLAN_PDF_SEAL_CHAIN_PATHS", ""),
        # The certificates this one replaced, so PDFs sealed with them still check out.
        "PDF_SEAL_EARLIER_CERT_PATHS": env.get("CAREPLAN_PDF_SEAL_EARLIER_CERT_PATHS", ""),
        # For example: "Confidential. Do not pass on without the person's consent."
        "PDF_REDISCLOSURE_NOTICE": env.get("CAREPLAN_PDF_REDISCLOSURE_NOTICE", ""),
        "AGREEMENTS_PATH": env.get("CAREPLAN_AGREEMENTS_PATH", str(PROJECT_ROOT / "agreements")),
        # E-mail (careplan.reminders.mail). No host: messages are written to the log instead.
        "SMTP_HOST": env.get("CAREPLAN_SMTP_HOST", ""),
        "SMTP_PORT": _int(env, "CAREPLAN_SMTP_PORT", 587),
        "SMTP_USE_TLS": _bool(env.get("CAREPLAN_SMTP_USE_TLS"), default=True),  # STARTTLS
        "SMTP_USE_SSL": _bool(env.get("CAREPLAN_SMTP_USE_SSL"), default=False),  # TLS from start
        "SMTP_USERNAME": env.get("CAREPLAN_SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("CAREPLAN_SMTP_PASSWORD", ""),
        # Keep it discreet: the sender's name must not say what kind of service this is.
        "SMTP_FROM": env.get("CAREPLAN_SMTP_FROM", "Reminders <reminders@localhost>"),
        "SMTP_TIMEOUT_SECONDS": _int(env, "CAREPLAN_SMTP_TIMEOUT_SECONDS", 30),
        # Reminder rules (careplan.domain.reviews.ReminderRules), in days.
        "REMINDER_DUE_SOON_DAYS": _int_list(env, "CAREPLAN_REMINDER_DUE_SOON_DAYS", (14, 2)),
        "REMINDER_DUE_TODAY": _bool(env.get("CAREPLAN_REMINDER_DUE_TODAY"), default=True),
        "REMINDER_OVERDUE_EVERY_DAYS": _int(env, "CAREPLAN_REMINDER_OVERDUE_EVERY_DAYS", 7),
        "REMINDER_ESCALATE_AFTER_DAYS": _int(env, "CAREPLAN_REMINDER_ESCALATE_AFTER_DAYS", 14),
        "REMINDER_SIGNATURE_WAITING_DAYS": _int_list(
            env, "CAREPLAN_REMINDER_SIGNATURE_WAITING_DAYS", (2, 7)
        ),
        "REMINDER_CATCH_UP_DAYS": _int(env, "CAREPLAN_REMINDER_CATCH_UP_DAYS", 7),
        # A client who has not chosen: "email", "app" (in-app only) or "none".
        "REMINDER_CLIENT_DEFAULT": env.get("CAREPLAN_REMINDER_CLIENT_DEFAULT", "email"),
        # From this hour of the service's day (CAREPLAN_TIME_ZONE) the day's reminders and
        # summaries go out: nobody's phone is woken at midnight about a review.
        "REMINDER_HOUR": _int(env, "CAREPLAN_REMINDER_HOUR", 7),
        "REMINDER_LAST_HOUR": _int(env, "CAREPLAN_REMINDER_LAST_HOUR", 21),
        "REMINDER_SWEEP_SECONDS": _int(env, "CAREPLAN_REMINDER_SWEEP_SECONDS", 300),
        "REMINDER_SEND_SECONDS": _int(env, "CAREPLAN_REMINDER_SEND_SECONDS", 20),
        "REMINDER_LEASE_SECONDS": _int(env, "CAREPLAN_REMINDER_LEASE_SECONDS", 300),
        "REMINDER_MAX_ATTEMPTS": _int(env, "CAREPLAN_REMINDER_MAX_ATTEMPTS", 8),
        # Crisis alerts (careplan.services.crisis_alerts): how soon someone responds before
        # the team's supervisors are told, how often the scheduler checks, and the numbers for
        # urgent help shown on the crisis page ("name=number; name=number").
        "CRISIS_RESPONSE_MINUTES": _int(env, "CAREPLAN_CRISIS_RESPONSE_MINUTES", 60),
        "CRISIS_ESCALATION_SECONDS": _int(env, "CAREPLAN_CRISIS_ESCALATION_SECONDS", 60),
        "URGENT_HELP_NUMBERS": env.get("CAREPLAN_URGENT_HELP_NUMBERS", "Emergency services=999"),
        # SQLite planner statistics (careplan.db.statistics), gathered by the scheduler.
        "DB_STATISTICS_SECONDS": _int(env, "CAREPLAN_DB_STATISTICS_SECONDS", 6 * 3600),
        # Signed checkpoints of the audit chain (careplan.services.audit_checkpoints).
        "AUDIT_CHECKPOINT_PATH": env.get("CAREPLAN_AUDIT_CHECKPOINT_PATH", ""),
        "AUDIT_CHECKPOINT_SECONDS": _int(env, "CAREPLAN_AUDIT_CHECKPOINT_SECONDS", 3600),
        "AUDIT_CHECKPOINT_EARLIER_CERT_PATHS": env.get(
            "CAREPLAN_AUDIT_CHECKPOINT_EARLIER_CERT_PATHS", ""
        ),
        # Where attempt counters are kept for every app process: empty for the database,
        # or redis://host:port/db (careplan.services.throttle).
        "RATELIMIT_STORAGE_URL": env.get("CAREPLAN_RATELIMIT_STORAGE_URL", ""),
        **{
            name: _rate_limit(env, name, TESTING_RATE_LIMIT if mode == "testing" else default)
            for name, default in RATE_LIMITS.items()
        },
    }
    if "CAREPLAN_REMINDER_DIGEST_HOUR_UTC" in env:
        # Its hour meant something else now: refused, so no summary quietly moves.
        raise ConfigError(
            "CAREPLAN_REMINDER_DIGEST_HOUR_UTC is no longer read: set CAREPLAN_REMINDER_HOUR "
            "instead, the hour in CAREPLAN_TIME_ZONE from which each day's reminders and "
            "summaries go out (7 unless set)."
        )
    if "CAREPLAN_SQLITE_BUSY_TIMEOUT_MS" in env:
        raise ConfigError(
            "CAREPLAN_SQLITE_BUSY_TIMEOUT_MS is no longer read: set CAREPLAN_LOCK_WAIT_MS, "
            "how long SQLite and PostgreSQL wait for a lock (20000 unless set)."
        )
    config.update(overrides)
    config["PUBLIC_BASE_URL"] = _public_base_url(config["PUBLIC_BASE_URL"])
    _check_reminder_timings(config)
    if config["LOCK_WAIT_MS"] < 1:
        # PostgreSQL would take 0 as "wait for ever", SQLite as "never wait".
        raise ConfigError(
            f"CAREPLAN_LOCK_WAIT_MS must be at least 1, got {config['LOCK_WAIT_MS']}."
        )
    try:
        time_zone(config["TIME_ZONE"])
    except ValueError as exc:
        raise ConfigError(
            f"CAREPLAN_TIME_ZONE must be a time zone name such as {DEFAULT_TIME_ZONE!r} "
            f"(see the tz database), got {config['TIME_ZONE']!r}."
        ) from exc
    if not config["SERVICE_NAME"]:
        raise ConfigError("CAREPLAN_SERVICE_NAME must not be empty: the PDF names the service.")
    if not _one_address(config["SMTP_FROM"]):
        raise ConfigError(
            "CAREPLAN_SMTP_FROM must be one e-mail address, such as 'Reminders "
            "<reminders@example.org>' (a name with a comma goes in double quotes), got "
            f"{config['SMTP_FROM']!r}."
        )
    if not getaddresses([config["SMTP_FROM"]])[0][1].isascii():
        # Every message would need the server's SMTPUTF8, and one without it refuses them all.
        raise ConfigError(
            "CAREPLAN_SMTP_FROM's address must be plain ASCII: the name may be in any language "
            "('Rappels Santé <rappels@example.org>'), and an international domain is written "
            f"in its xn-- form. Got {config['SMTP_FROM']!r}."
        )
    try:
        parse_urgent_numbers(config["URGENT_HELP_NUMBERS"])
    except ValueError as exc:
        raise ConfigError(f"CAREPLAN_URGENT_HELP_NUMBERS: {exc}") from exc
    if config["CRISIS_RESPONSE_MINUTES"] < 1:
        raise ConfigError("CAREPLAN_CRISIS_RESPONSE_MINUTES must be at least 1.")

    if bool(config["PDF_SEAL_CERT_PATH"]) != bool(config["PDF_SEAL_KEY_PATH"]):
        raise ConfigError(
            "Refusing to start: set both CAREPLAN_PDF_SEAL_CERT_PATH and "
            "CAREPLAN_PDF_SEAL_KEY_PATH (the sealing certificate and its key), or neither."
        )
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
        if (
            config["SMTP_USERNAME"]
            and not (config["SMTP_USE_TLS"] or config["SMTP_USE_SSL"])
            and config["SMTP_HOST"] not in {"localhost", "127.0.0.1", "::1"}
        ):
            raise ConfigError(
                "Refusing to start: the SMTP password would cross the network unencrypted "
                "(set CAREPLAN_SMTP_USE_TLS=1 or CAREPLAN_SMTP_USE_SSL=1)."
            )
        if not (env.get("CAREPLAN_PUBLIC_BASE_URL") or "PUBLIC_BASE_URL" in overrides):
            # Without it every e-mail, calendar link and PDF would point at this machine's
            # own loopback address, which nobody else can open.
            raise ConfigError(
                "Refusing to start: production needs CAREPLAN_PUBLIC_BASE_URL, the address "
                "people open the app at (such as https://plans.example.org): e-mails, calendar "
                "links and PDFs carry it."
            )
        _check_seal_files(config)
    elif not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _local_secret(instance_path)
    return config
