"""The app's local files hold everyone's records and its secrets: what it makes is for its own
user only, whatever the umask; what an administrator made keeps its mode."""

from __future__ import annotations

import os
import stat

import pytest

from careplan import create_app
from careplan.db import migrate
from careplan.extensions import DB_KEY
from careplan.services import accounts


@pytest.fixture
def usual_umask():
    """The umask most machines start with (files 0644, folders 0755), whatever this one has."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_instance_folder_and_sqlite_database_are_the_apps_user_alone(tmp_path, usual_umask):
    instance = tmp_path / "instance"
    database = instance / "careplan.db"
    url = f"sqlite:///{database}"
    app = create_app({"DATABASE_URL": url}, instance_path=instance)
    migrate.upgrade(url)
    db = app.extensions[DB_KEY]
    with db.read() as s:  # a reader keeps the -wal and -shm files in place
        accounts.create_team(db, "A team")
        s.connection().exec_driver_sql("SELECT count(*) FROM teams").scalar()
        made = {p.name: _mode(p) for p in instance.iterdir()}
    db.dispose()

    assert _mode(instance) == 0o700
    assert made == {
        "careplan.db": 0o600,
        "careplan.db-wal": 0o600,
        "careplan.db-shm": 0o600,
        "secret_key": 0o600,
        "agreements_in_use.json": 0o600,  # the agreement files being served
    }


def test_folders_and_files_that_exist_keep_their_modes(tmp_path, usual_umask):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o750)
    database = instance / "careplan.db"
    database.touch(mode=0o640)
    url = f"sqlite:///{database}"
    create_app({"DATABASE_URL": url}, instance_path=instance)
    migrate.upgrade(url)

    assert _mode(instance) == 0o750
    assert _mode(database) == 0o640
    assert database.stat().st_size > 0  # migrated in place
