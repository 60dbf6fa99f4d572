"""Loads agreement templates and the language list from the agreements/ folder.

Files are re-read when they change, so a service adds its own template by dropping a file
in the folder: no code change, no restart. A broken file is reported (file and field) and
skipped; the valid templates keep being served.

What has been served is not taken away by a later mistake: a broken edit to a file keeps its
last good copy in service (reported as such), and a file claiming an id or name that another
file already serves is the one refused. Deleting a file does take its template away.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError

from .domain.agreement import TemplateInvalid, parse_template
from .domain.language import Term, parse_terms

log = logging.getLogger(__name__)
LANGUAGE_FILE = "language.toml"
# The last good copy lives only in this process's memory, so a restart (or another worker
# process started since the edit) no longer has it.
KEPT_NOTE = " (the last good copy is still in use until the file is fixed or the app restarts)"


@dataclass
class Library:
    templates: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # file name -> what is wrong
    terms: list[Term] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)  # broken files whose last good copy is served


class Unusable(Exception):
    """A file that cannot be used as it is now; the message names the file and the fault."""


class AgreementLibrary:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._library = Library()

    def _fingerprint(self) -> tuple:
        try:
            return tuple(
                sorted(
                    (p.name, p.stat().st_mtime_ns, p.stat().st_size)
                    for p in self.folder.glob("*.toml")
                )
            )
        except FileNotFoundError:
            return ()

    def current(self) -> Library:
        stamp = self._fingerprint()
        with self._lock:
            if stamp != self._stamp:
                self._library = self._load(self._library)
                self._stamp = stamp
            return self._library

    def _load(self, previous: Library) -> Library:
        library = Library()
        fresh: dict[str, dict] = {}  # file name -> template as the file reads now
        for path in sorted(self.folder.glob("*.toml")):
            try:
                if path.name == LANGUAGE_FILE:
                    library.terms = _terms_from(path)
                else:
                    fresh[path.name] = _template_from(path)
            except Unusable as exc:
                library.errors[path.name] = str(exc)
        if LANGUAGE_FILE in library.errors and previous.terms:
            library.terms = previous.terms
            _keep(library, LANGUAGE_FILE)
        served_before = {t["source_file"]: t for t in previous.templates.values()}
        present = fresh.keys() | library.errors.keys()
        _choose_templates(
            library, fresh, {name: t for name, t in served_before.items() if name in present}
        )
        for problem in library.errors.values():
            log.error("Agreement file problem: %s", problem)
        return library


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise Unusable(f"{path.name}: not valid TOML: {exc}") from exc
    except OSError as exc:  # e.g. deleted or made unreadable between listing and reading
        raise Unusable(f"{path.name}: could not be read: {exc.strerror}") from exc


def _terms_from(path: Path) -> list[Term]:
    data = _read_toml(path)
    try:
        return parse_terms(data)
    except ValidationError as exc:
        raise Unusable(f"{path.name}: {exc.messages}") from exc


def _template_from(path: Path) -> dict:
    data = _read_toml(path)
    try:
        template = parse_template(path.name, data)
    except TemplateInvalid as exc:
        raise Unusable(str(exc)) from exc
    template["source_file"] = path.name
    return template


def _keep(library: Library, file_name: str) -> None:
    library.errors[file_name] += KEPT_NOTE
    library.kept.add(file_name)


def _choose_templates(library: Library, fresh: dict[str, dict], held: dict[str, dict]) -> None:
    """Serve one template per id and per name. `held` maps each file that was serving a
    template, and still exists, to what it served; those files go first, so a newcomer never
    takes their id or name, and each keeps its last good copy if its new version cannot be
    served."""
    held = dict(held)
    for name in sorted(held):
        template = fresh.get(name)
        if template is not None:
            others = [t for other, t in held.items() if other != name]
            problem = _already_used(name, template, others)
            if problem is None:
                held[name] = template
                continue
            library.errors[name] = problem
        _keep(library, name)
    newcomers = [t for name, t in sorted(fresh.items()) if name not in held]
    accepted = _admit_newcomers(library, newcomers, list(held.values()))
    library.templates = {t["id"]: t for t in [*held.values(), *accepted]}


def _already_used(file_name: str, template: dict, served: list[dict]) -> str | None:
    for other in served:
        if other["id"] == template["id"]:
            return f"{file_name}: id {template['id']!r} is already used by {other['source_file']}"
        # Key workers choose a template by its name: two alike could not be told apart.
        if other["name"] == template["name"]:
            return (
                f"{file_name}: the name {template['name']!r} is already used by "
                f"{other['source_file']}; give this template a name of its own"
            )
    return None


def _admit_newcomers(library: Library, newcomers: list[dict], served: list[dict]) -> list[dict]:
    """Newcomers may not take an id or name already served. Where several newcomers claim
    the same free id or name, none is served until only one claims it. That is also what
    happens when the app starts: it cannot tell which file served the id before a restart,
    and picking one (say, by file name) could hand a long-used template's id to a copy added
    while the app was down, so that key workers start agreements from the copy without
    anyone noticing. A missing template is noticed (existing agreements keep their own copy
    of the template, and the administrators' start page flags the clash); a wrong one is not.
    """
    waiting = []
    for template in newcomers:
        problem = _already_used(template["source_file"], template, served)
        if problem is None:
            waiting.append(template)
        else:
            library.errors[template["source_file"]] = problem
    for key, what, until in (
        ("id", "id", "no file is given this id until only one claims it"),
        ("name", "the name", "no file is given this name until only one uses it"),
    ):
        waiting = _refuse_clashes(library, waiting, key, what, until)
    return waiting


def _refuse_clashes(
    library: Library, templates: list[dict], key: str, what: str, until: str
) -> list[dict]:
    claims = defaultdict(list)
    for template in templates:
        claims[template[key]].append(template["source_file"])
    for value, files in claims.items():
        if len(files) > 1:
            for file_name in files:
                others = ", ".join(f for f in files if f != file_name)
                library.errors[file_name] = (
                    f"{file_name}: {what} {value!r} is also claimed by {others}; {until}"
                )
    return [t for t in templates if len(claims[t[key]]) == 1]
