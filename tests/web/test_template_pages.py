"""The administrator's view of the agreement templates: a file that cannot be loaded is
named once, with what is wrong, and flagged where administrators start."""

from __future__ import annotations

import re
import shutil

from careplan.agreement_library import AgreementLibrary
from careplan.extensions import LIBRARY_KEY
from careplan.paths import PROJECT_ROOT
from tests.conftest import login
from tests.factories import AdminFactory


def _words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def _admin_over_a_copy(app, tmp_path, monkeypatch):
    """An administrator signed in to the app serving a copy of the shipped agreement files."""
    folder = tmp_path / "agreements"
    shutil.copytree(PROJECT_ROOT / "agreements", folder)
    monkeypatch.setitem(app.extensions, LIBRARY_KEY, AgreementLibrary(folder))
    return login(app.test_client(), AdminFactory()), folder


def test_a_template_that_cannot_be_loaded_is_flagged_on_the_administrators_start_page(
    app, db, tmp_path, monkeypatch
):
    admin, folder = _admin_over_a_copy(app, tmp_path, monkeypatch)
    assert "could not be loaded" not in admin.get("/admin/users").get_data(as_text=True)

    (folder / "north.toml").write_text(
        'id = "north"\nversion = 1\nname = "North"\n[[sections]]\nkey = "review"\n'
    )
    start = _words(admin.get("/admin/users").get_data(as_text=True))
    assert "1 agreement template file could not be loaded, so key workers cannot choose it." in (
        start
    )
    page = _words(admin.get("/admin/templates").get_data(as_text=True))
    assert "north.toml: sections" in page and "north.toml: north.toml" not in page


def test_a_broken_edit_is_shown_with_its_last_good_copy_still_in_use(
    app, db, tmp_path, monkeypatch
):
    admin, folder = _admin_over_a_copy(app, tmp_path, monkeypatch)
    admin.get("/admin/templates")
    path = folder / "general.toml"
    path.write_text(path.read_text() + "\ngarbage =\n")

    start = _words(admin.get("/admin/users").get_data(as_text=True))
    assert "1 agreement file has a broken edit: the last good copy is still in use until" in start
    assert "could not be loaded" not in start
    page = _words(admin.get("/admin/templates").get_data(as_text=True))
    assert "general.toml: not valid TOML" in page
    assert "the last good copy is still in use until the file is fixed" in page
    assert '<td data-label="Id">general</td>' in admin.get("/admin/templates").get_data(
        as_text=True
    )
