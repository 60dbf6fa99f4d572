"""Flask extensions and the app's database handle."""

from __future__ import annotations

from flask import current_app
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from .db.engine import Database
from .domain.local_time import time_zone

login_manager = LoginManager()
csrf = CSRFProtect()

DB_KEY = "careplan.db"


def get_db() -> Database:
    return current_app.extensions[DB_KEY]


def get_time_zone():
    """The service's time zone (CAREPLAN_TIME_ZONE, checked when the app starts)."""
    return time_zone(current_app.config["TIME_ZONE"])


LIBRARY_KEY = "careplan.agreements"


def get_library():
    """The agreement templates and language list (re-read when their files change)."""
    return current_app.extensions[LIBRARY_KEY].current()
