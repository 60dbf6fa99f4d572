"""Gentle language check: finds words that can feel stigmatising and suggests person-first
alternatives. It only ever suggests; it never blocks a save or changes anyone's words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema


@dataclass(frozen=True)
class Term:
    term: str
    suggest: str
    note: str
    pattern: re.Pattern


@dataclass(frozen=True)
class Finding:
    where: str  # the label of the part of the document
    found: str  # the words as written
    term: str
    suggest: str  # as agreements/language.toml has it: choices parted by " / "
    note: str

    @property
    def could_write(self) -> str:
        """The choices as a sentence says them: “not using” or “negative test result”."""
        return " or ".join(f"“{choice.strip()}”" for choice in self.suggest.split(" / "))


class _TermSchema(Schema):
    class Meta:
        unknown = RAISE

    term = fields.String(required=True, validate=validate.Length(min=1))
    forms = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    phrases = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)
    suggest = fields.String(required=True, validate=validate.Length(min=1))
    note = fields.String(load_default="")

    @validates_schema
    def _something_to_match(self, data, **kwargs):
        if not data["forms"] and not data["phrases"]:
            raise ValidationError("Give forms or phrases to match.", "forms")


class _ListSchema(Schema):
    class Meta:
        unknown = RAISE

    terms = fields.List(fields.Nested(_TermSchema), required=True)


_APOSTROPHES = "'’"


def _words_pattern(words: list[str]) -> re.Pattern:
    """Whole words only, plurals included: "addict" matches "addicts" but not "addiction",
    and "dirty test" matches "dirty tests". An apostrophe matches a straight or a curly one,
    and a phrase that starts with one is a contraction: "'s clean" matches "He's clean" (with
    the word it shortens, so a finding shows what was written)."""
    alternatives = []
    for w in sorted(words, key=len, reverse=True):
        w = w.strip()
        # Spaces and hyphens inside a phrase may be written either way.
        body = r"[\s-]+".join(_literal(part) for part in re.split(r"[\s-]+", w))
        start = r"\w+" if w.startswith(tuple(_APOSTROPHES)) else ""
        alternatives.append(start + body + r"(?:s|es)?")
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])", re.IGNORECASE)


def _literal(part: str) -> str:
    return "".join(f"[{_APOSTROPHES}]" if ch in _APOSTROPHES else re.escape(ch) for ch in part)


def parse_terms(data: dict) -> list[Term]:
    loaded = _ListSchema().load(data)
    terms = []
    for t in loaded["terms"]:
        words = t["forms"] or t["phrases"]
        terms.append(Term(t["term"], t["suggest"], t["note"], _words_pattern(words)))
    return terms


def check_text(terms: list[Term], text: str, where: str = "") -> list[Finding]:
    findings = []
    for term in terms:
        for match in term.pattern.finditer(text or ""):
            findings.append(Finding(where, match.group(0), term.term, term.suggest, term.note))
    return findings
