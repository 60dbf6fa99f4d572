"""The application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import paths
from .agreement_library import IN_USE_FILE, AgreementLibrary
from .config import load_config
from .db.engine import Database
from .domain.local_time import count_days_in, time_zone
from .extensions import DB_KEY, LIBRARY_KEY, csrf, login_manager
from .services import passwords
from .services.reminders import ReminderSettings


def create_app(overrides: dict | None = None, instance_path: Path | str | None = None) -> Flask:
    instance = Path(instance_path) if instance_path else paths.instance_path()
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(paths.PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(load_config(instance, overrides=overrides))
    passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_KIB"])
    count_days_in(time_zone(app.config["TIME_ZONE"]))
    # Refused here, not by the first page or scheduler job that reads them.
    ReminderSettings.from_config(app.config)

    app.extensions[LIBRARY_KEY] = AgreementLibrary(
        Path(app.config["AGREEMENTS_PATH"]), Path(app.instance_path) / IN_USE_FILE
    )
    app.extensions[LIBRARY_KEY].current()  # report broken templates at start-up, not first use

    if app.config["TRUSTED_PROXIES"]:
        # Only behind a reverse proxy we run: then its X-Forwarded-For is the client's
        # address, and its X-Forwarded-Prefix the sub-path it took off the address before
        # passing the request on (careplan.domain.addresses; the proxy must set that header
        # itself, not pass on one a browser sent).
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_prefix=hops)

    csrf.init_app(app)
    login_manager.init_app(app)
    use_database(app, app.config["DATABASE_URL"])

    from .web import register

    register(app)

    from .cli import register_commands

    register_commands(app)
    return app


def use_database(app: Flask, url: str, database: Database | None = None) -> None:
    """The app's database, with the attempt counters kept in it (or in Redis) and the thread
    that tells people about their own account at once (careplan.reminders.account_notices).
    The test suite also uses this to give each test an empty database without building the app
    again, passing one `database` per test worker: SQLAlchemy caches compiled statements per
    engine, and compiling them again for every test cost about a tenth of the suite's
    processor time."""
    from .reminders.account_notices import AccountNotices
    from .services import throttle

    app.config["DATABASE_URL"] = url
    if database is None:
        database = Database(url, lock_wait_ms=app.config["LOCK_WAIT_MS"])
    db = app.extensions[DB_KEY] = database
    notices = db.account_notices = AccountNotices(db, app.config)
    throttle.install(db, throttle.Throttle.from_config(app.config, db, on_lockout=notices.paused))
