"""Loads agreement templates and the language list from the agreements/ folder.

Files are re-read when they change, so a service adds its own template by dropping a file
in the folder: no code change, no restart. A broken file is reported (file and field) and
skipped; the valid templates keep being served.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from marshmallow import ValidationError

from .domain.agreement import TemplateInvalid, parse_template
from .domain.language import Term, parse_terms

log = logging.getLogger(__name__)
LANGUAGE_FILE = "language.toml"


@dataclass
class Library:
    templates: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # file name -> what is wrong
    terms: list[Term] = field(default_factory=list)


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
                self._library = self._load()
                self._stamp = stamp
            return self._library

    def _load(self) -> Library:
        library = Library()
        for path in sorted(self.folder.glob("*.toml")):
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                library.errors[path.name] = f"{path.name}: not valid TOML: {exc}"
                continue
            if path.name == LANGUAGE_FILE:
                try:
                    library.terms = parse_terms(data)
                except ValidationError as exc:
                    library.errors[path.name] = f"{path.name}: {exc.messages}"
                continue
            try:
                template = parse_template(path.name, data)
            except TemplateInvalid as exc:
                library.errors[path.name] = str(exc)
                continue
            if template["id"] in library.templates:
                library.errors[path.name] = (
                    f"{path.name}: id {template['id']!r} is already used by another file"
                )
                continue
            # Key workers choose a template by its name: two alike could not be told apart.
            same = next(
                (t for t in library.templates.values() if t["name"] == template["name"]), None
            )
            if same is not None:
                library.errors[path.name] = (
                    f"{path.name}: the name {template['name']!r} is already used by "
                    f"{same['source_file']}; give this template a name of its own"
                )
                continue
            template["source_file"] = path.name
            library.templates[template["id"]] = template
        for problem in library.errors.values():
            log.error("Agreement template not loaded: %s", problem)
        return library
