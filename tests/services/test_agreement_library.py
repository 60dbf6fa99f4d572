"""The agreement library keeps serving what it has served: a broken edit, a copy claiming a
template's id or name, or a broken language list never takes a template or the word list away
from key workers, in this process or one started later. Deleting a file does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from careplan.agreement_library import AgreementLibrary

SHIPPED = Path(__file__).resolve().parents[2] / "agreements"
KEPT = "the last good copy is still in use"


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "agreements"
    shutil.copytree(SHIPPED, folder)
    return AgreementLibrary(folder)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


BREAKAGES = {
    "bad TOML": lambda text: (text + "\ngarbage =\n").encode(),
    "not UTF-8": lambda text: text.encode("utf-16"),
    "invalid content": lambda text: text.replace("version = 1", 'version = "one"').encode(),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=list(BREAKAGES))
def test_a_broken_edit_keeps_the_last_good_copy_in_use_and_says_so(library, breakage):
    good = library.current().templates["general"]
    path = library.folder / "general.toml"
    path.write_bytes(BREAKAGES[breakage](path.read_text()))
    current = library.current()
    assert current.templates["general"] == good
    assert current.errors["general.toml"].startswith("general.toml: ")
    assert KEPT in current.errors["general.toml"]


def test_a_fixed_file_is_picked_up_again(library):
    library.current()
    path = library.folder / "general.toml"
    good = path.read_text()
    path.write_text(good + "\ngarbage =\n")
    assert library.current().templates["general"]["version"] == 1
    path.write_text(good.replace("version = 1", "version = 2"))
    current = library.current()
    assert current.templates["general"]["version"] == 2 and not current.errors


def test_a_deleted_file_is_gone_even_while_its_last_good_copy_was_kept(library):
    path = library.folder / "general.toml"
    library.current()
    path.write_text(path.read_text() + "\ngarbage =\n")
    assert "general" in library.current().templates
    path.unlink()
    current = library.current()
    assert "general" not in current.templates and not current.errors


def test_a_newcomer_with_an_id_in_use_is_refused_and_the_incumbent_keeps_serving(library):
    library.current()
    original = library.folder / "general.toml"
    copy = library.folder / "a_general.toml"  # sorts before the file it copies
    copy.write_text(original.read_text().replace('"Partnership agreement"', '"Our agreement"'))
    current = library.current()
    assert current.templates["general"]["source_file"] == "general.toml"
    assert current.errors == {
        "a_general.toml": "a_general.toml: id 'general' is already used by general.toml"
    }

    # Nor can the copy take the id over while the file serving it has a broken edit.
    original.write_text(original.read_text() + "\ngarbage =\n")
    current = library.current()
    assert current.templates["general"]["source_file"] == "general.toml"
    assert current.templates["general"]["name"] == "Partnership agreement"
    assert set(current.errors) == {"general.toml", "a_general.toml"}


def test_a_name_in_other_capitals_or_spaces_is_the_same_name(library):
    """Key workers were offered "Partnership agreement" and "partnership  agreement"."""
    library.current()
    copy = (library.folder / "general.toml").read_text().replace('id = "general"', 'id = "ours"')
    copy = copy.replace('"Partnership agreement"', '"partnership  AGREEMENT"')
    (library.folder / "a_ours.toml").write_text(copy)
    current = library.current()
    assert "ours" not in current.templates
    assert current.errors["a_ours.toml"].startswith(
        "a_ours.toml: the name 'partnership  AGREEMENT' is already used by general.toml"
    )


def test_two_newcomers_named_alike_in_other_capitals_are_both_held_back(library):
    library.current()
    text = (library.folder / "general.toml").read_text()
    for file_id, name in (("one", "Shared care"), ("two", "shared CARE")):
        named = text.replace('id = "general"', f'id = "{file_id}"')
        (library.folder / f"{file_id}.toml").write_text(
            named.replace('"Partnership agreement"', f'"{name}"')
        )
    current = library.current()
    assert "one" not in current.templates and "two" not in current.templates
    assert "is also claimed by two.toml" in current.errors["one.toml"]


def test_a_newcomer_with_a_name_in_use_is_refused_and_the_incumbent_keeps_serving(library):
    library.current()
    copy = (library.folder / "general.toml").read_text().replace('id = "general"', 'id = "ours"')
    (library.folder / "a_ours.toml").write_text(copy)
    current = library.current()
    assert current.templates["general"]["source_file"] == "general.toml"
    assert "ours" not in current.templates
    assert current.errors["a_ours.toml"].startswith(
        "a_ours.toml: the name 'Partnership agreement' is already used by general.toml"
    )


def test_at_start_two_files_claiming_one_id_are_both_refused_until_one_is_changed(library):
    original = library.folder / "general.toml"
    copy = library.folder / "a_general.toml"
    copy.write_text(original.read_text().replace('"Partnership agreement"', '"Our agreement"'))
    current = library.current()
    assert "general" not in current.templates
    assert current.errors == {
        "a_general.toml": "a_general.toml: id 'general' is also claimed by general.toml; "
        "no file is given this id until only one claims it",
        "general.toml": "general.toml: id 'general' is also claimed by a_general.toml; "
        "no file is given this id until only one claims it",
    }
    copy.unlink()
    current = library.current()
    assert current.templates["general"]["source_file"] == "general.toml" and not current.errors


@pytest.mark.parametrize(
    "broken",
    ["[[terms]]\nterm = \n", '[[terms]]\nterm = "addict"\nforms = ["addict"]\n'],
    ids=["bad TOML", "invalid content"],
)
def test_a_broken_language_list_keeps_the_last_good_terms_and_says_so(library, broken):
    terms = library.current().terms
    assert terms
    path = library.folder / "language.toml"
    good = path.read_text()
    path.write_text(broken)
    current = library.current()
    assert current.terms == terms
    assert current.errors["language.toml"].startswith("language.toml: ")
    assert KEPT in current.errors["language.toml"]

    path.write_text(good.replace('term = "addict"', 'term = "addicted person"', 1))
    current = library.current()
    assert "addicted person" in [t.term for t in current.terms] and not current.errors


def test_a_deleted_language_list_is_gone(library):
    assert library.current().terms
    (library.folder / "language.toml").unlink()
    current = library.current()
    assert current.terms == [] and not current.errors


# --- other processes, and the next start ---------------------------------------------------------


@pytest.fixture
def kept_in(tmp_path):
    """Where the app keeps what it serves (its instance folder)."""
    return tmp_path / "instance" / "agreements_in_use.json"


def test_a_process_started_after_a_broken_edit_serves_the_same_last_good_copy(library, kept_in):
    first = AgreementLibrary(library.folder, kept_in)
    good = first.current().templates["general"]
    path = library.folder / "general.toml"
    path.write_text(path.read_text() + "\ngarbage =\n")
    assert first.current().templates["general"] == good

    # Another gunicorn worker, the scheduler, or the app after a restart.
    later = AgreementLibrary(library.folder, kept_in).current()
    assert later.templates["general"] == good
    assert KEPT in later.errors["general.toml"] and later.kept == {"general.toml"}


def test_after_a_restart_the_file_that_held_an_id_keeps_it(library, kept_in):
    AgreementLibrary(library.folder, kept_in).current()
    original = library.folder / "general.toml"
    copy = library.folder / "a_general.toml"  # added while the app was stopped
    copy.write_text(original.read_text().replace('"Partnership agreement"', '"Our agreement"'))

    current = AgreementLibrary(library.folder, kept_in).current()
    assert current.templates["general"]["source_file"] == "general.toml"
    assert current.templates["general"]["name"] == "Partnership agreement"
    assert current.errors == {
        "a_general.toml": "a_general.toml: id 'general' is already used by general.toml"
    }


def test_a_language_list_broken_while_the_app_was_stopped_keeps_its_terms(library, kept_in):
    terms = AgreementLibrary(library.folder, kept_in).current().terms
    (library.folder / "language.toml").write_text("[[terms]]\nterm = \n")
    current = AgreementLibrary(library.folder, kept_in).current()
    assert current.terms == terms and KEPT in current.errors["language.toml"]


def test_a_deleted_file_is_not_brought_back_by_what_was_kept(library, kept_in):
    AgreementLibrary(library.folder, kept_in).current()
    (library.folder / "general.toml").unlink()
    current = AgreementLibrary(library.folder, kept_in).current()
    assert "general" not in current.templates and not current.errors


def test_what_was_kept_unreadable_is_a_fresh_start(library, kept_in):
    kept_in.parent.mkdir(parents=True)
    kept_in.write_text("{not json")
    current = AgreementLibrary(library.folder, kept_in).current()
    assert "general" in current.templates and not current.errors
    assert "general.toml" in json.loads(kept_in.read_text())  # and is written again
