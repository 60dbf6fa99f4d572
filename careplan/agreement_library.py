"""Loads agreement templates and the language list from the agreements/ folder.

Files are re-read when they change, so a service adds its own template by dropping a file
in the folder: no code change, no restart. A broken file is reported (file and field) and
skipped; the valid templates keep being served.

What has been served is not taken away by a later mistake: a broken edit to a file keeps its
last good copy in service (reported as such), and a file claiming an id or name that another
file already serves is the one refused. Deleting a file does take its template away.

The app keeps the text of every file it serves in its instance folder (`in_use`), so that a
process started after a broken edit (another gunicorn worker, the scheduler, the app after a
restart) serves the same last good copies, and knows which file held each id, as the
processes that saw the edit.
"""

from __future__ import annotations

import json
import logging
import threading
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError

from .domain.account_rules import name_key
from .domain.agreement import TemplateInvalid, parse_template
from .domain.language import Term, parse_terms
from .files import write_atomically

log = logging.getLogger(__name__)
LANGUAGE_FILE = "language.toml"
# In the instance folder: the text of every file served (see above).
IN_USE_FILE = "agreements_in_use.json"
KEPT_NOTE = " (the last good copy is still in use until the file is fixed)"


@dataclass
class Library:
    templates: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # file name -> what is wrong
    terms: list[Term] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)  # broken files whose last good copy is served
    texts: dict[str, str] = field(default_factory=dict)  # file name -> text of what it serves


class Unusable(Exception):
    """A file that cannot be used as it is now; the message names the file and the fault."""


class AgreementLibrary:
    def __init__(self, folder: Path, in_use: Path | None = None):
        """`in_use`: where to keep the text of what is served, for other processes and the
        next start; without it, the last good copies live in this process's memory only."""
        self.folder = Path(folder)
        self.in_use = Path(in_use) if in_use else None
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
                first = self._stamp is None
                self._library = self._load(self._served_before() if first else self._library)
                self._stamp = stamp
                self._remember(self._library)
            return self._library

    def _served_before(self) -> Library:
        """What was served when this process started: as the kept texts read, or nothing."""
        if self.in_use is None:
            return Library()
        try:
            texts = json.loads(self.in_use.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Library()
        except (OSError, ValueError) as exc:
            log.warning("Could not read the agreement files in use (%s): %s", self.in_use, exc)
            return Library()
        return _library_from(texts if isinstance(texts, dict) else {})

    def _remember(self, library: Library) -> None:
        if self.in_use is None:
            return
        data = json.dumps(library.texts, sort_keys=True, ensure_ascii=False).encode()
        try:
            if self.in_use.exists() and self.in_use.read_bytes() == data:
                return
            write_atomically(self.in_use, data)
        except OSError as exc:  # serving goes on; only a later start would not know them
            log.warning("Could not keep the agreement files in use (%s): %s", self.in_use, exc)

    def _load(self, previous: Library) -> Library:
        library = Library()
        fresh: dict[str, dict] = {}  # file name -> template as the file reads now
        texts: dict[str, str] = {}  # file name -> its text, where it could be used
        for path in sorted(self.folder.glob("*.toml")):
            try:
                text = _read(path)
                if path.name == LANGUAGE_FILE:
                    library.terms = _terms_from(path.name, text)
                else:
                    fresh[path.name] = _template_from(path.name, text)
                texts[path.name] = text
            except Unusable as exc:
                library.errors[path.name] = str(exc)
        if LANGUAGE_FILE in library.errors and LANGUAGE_FILE in previous.texts:
            library.terms = previous.terms
            texts[LANGUAGE_FILE] = previous.texts[LANGUAGE_FILE]
            _keep(library, LANGUAGE_FILE)
        served_before = {t["source_file"]: t for t in previous.templates.values()}
        present = fresh.keys() | library.errors.keys()
        _choose_templates(
            library, fresh, {name: t for name, t in served_before.items() if name in present}
        )
        served = {t["source_file"] for t in library.templates.values()}
        if LANGUAGE_FILE in texts:
            served.add(LANGUAGE_FILE)
        library.texts = {
            name: texts[name]
            if name in texts and name not in library.kept
            else previous.texts[name]
            for name in served
        }
        for problem in library.errors.values():
            log.error("Agreement file problem: %s", problem)
        return library


def _library_from(texts: dict) -> Library:
    """A library as kept texts read (what a process served), leaving out any that cannot be
    used now; nothing is reported, as nothing here is a file someone can mend."""
    library = Library()
    for name, text in sorted(texts.items()):
        try:
            if not isinstance(text, str):
                continue
            if name == LANGUAGE_FILE:
                library.terms = _terms_from(name, text)
            else:
                template = _template_from(name, text)
                library.templates[template["id"]] = template
            library.texts[name] = text
        except Unusable:
            continue
    return library


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise Unusable(f"{path.name}: not valid TOML: {exc}") from exc
    except OSError as exc:  # e.g. deleted or made unreadable between listing and reading
        raise Unusable(f"{path.name}: could not be read: {exc.strerror}") from exc


def _toml(name: str, text: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Unusable(f"{name}: not valid TOML: {exc}") from exc


def _terms_from(name: str, text: str) -> list[Term]:
    try:
        return parse_terms(_toml(name, text))
    except ValidationError as exc:
        raise Unusable(f"{name}: {exc.messages}") from exc


def _template_from(name: str, text: str) -> dict:
    try:
        template = parse_template(name, _toml(name, text))
    except TemplateInvalid as exc:
        raise Unusable(str(exc)) from exc
    template["source_file"] = name
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
        # Key workers choose a template by its name: two alike (capitals and spaces aside,
        # "Partnership agreement" and "partnership  agreement") could not be told apart.
        if name_key(other["name"]) == name_key(template["name"]):
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
    def claim(template: dict) -> str:
        return name_key(template[key]) if key == "name" else template[key]

    claims = defaultdict(list)
    for template in templates:
        claims[claim(template)].append(template)
    for claimants in claims.values():
        if len(claimants) > 1:
            files = [t["source_file"] for t in claimants]
            for template in claimants:
                file_name = template["source_file"]
                others = ", ".join(f for f in files if f != file_name)
                library.errors[file_name] = (
                    f"{file_name}: {what} {template[key]!r} is also claimed by {others}; {until}"
                )
    return [t for t in templates if len(claims[claim(t)]) == 1]
