"""Run Alembic migrations from code (the CLI, the run script and the tests use this)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..paths import PROJECT_ROOT

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported when a migration runs, not with the command line's module: every web
# worker imports that (its commands are registered on the app) and never migrates.


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)
