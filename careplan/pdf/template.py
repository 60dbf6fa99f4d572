"""PrintableDocument -> HTML, with a standalone Jinja environment that escapes everything.

The HTML is only ever given to WeasyPrint together with the bundled stylesheet; it names no
resource of its own, and every piece of document content goes through autoescaping, so text
such as ``<img src=...>`` or ``@import`` is printed literally and never parsed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from careplan.paths import PROJECT_ROOT

from .model import PrintableDocument

TEMPLATE_DIR = PROJECT_ROOT / "templates" / "pdf"
TEMPLATE_NAME = "document.html"

# Runs of this many non-space characters get invisible break opportunities, so one enormous
# "word" wraps like ordinary text instead of overflowing the page or making line breaking slow.
LONG_RUN = 40
CHUNK = 16
ZWSP = "\u200b"
PIECE = 10_000
_LONG_RUN_RE = re.compile(r"\S{" + str(LONG_RUN) + ",}")
# C0/C1 controls other than tab and newline, and lone surrogates, cannot be printed.
_UNPRINTABLE_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: object) -> str:
    """Text as it will be printed: newlines normalised, unprintable characters dropped."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNPRINTABLE_RE.sub("", text)
    return _SURROGATE_RE.sub("\ufffd", text)


def breakable(value: object) -> str:
    """clean_text plus break opportunities inside very long words (still escaped by Jinja)."""

    def split(match: re.Match) -> str:
        run = match.group(0)
        return ZWSP.join(run[i : i + CHUNK] for i in range(0, len(run), CHUNK))

    return _LONG_RUN_RE.sub(split, clean_text(value))


def pieces(value: object) -> list[str]:
    """breakable text cut into blocks of at most PIECE characters, at a line end if possible.

    WeasyPrint's line breaking slows down more than linearly with the length of one paragraph,
    so a pathological paragraph (far longer than any form accepts) is printed as several
    consecutive blocks. Ordinary text is never cut: each field is at most a few thousand
    characters.
    """
    text = breakable(value)
    out: list[str] = []
    while len(text) > PIECE:
        cut = text.rfind("\n", 0, PIECE)
        if cut <= 0:
            cut = max(text.rfind(" ", 0, PIECE), text.rfind(ZWSP, 0, PIECE))
        if cut <= 0:
            cut = PIECE
        out.append(text[:cut])
        text = text[cut + 1 :] if text[cut] in ("\n", " ", ZWSP) else text[cut:]
    out.append(text)
    return out


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,  # always: this environment only ever produces HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["breakable"] = breakable
    env.filters["clean"] = clean_text
    env.filters["pieces"] = pieces
    return env


def text_size(doc: PrintableDocument) -> int:
    """How many characters of document text there are, to refuse absurd inputs early."""
    size = len(doc.client_name) + len(doc.redisclosure_notice or "") + len(doc.verify_url)
    size += len(doc.service_name) + len(doc.service_contact)
    for section in doc.sections:
        size += len(section.title)
        size += sum(len(f.label) + len(f.text) + len(f.by) for f in section.fields)
        for goal in section.goals:
            size += len(goal.title) + sum(len(s.what) + len(s.who) + 40 for s in goal.steps)
    size += sum(len(s.name) + len(s.role) + len(s.comment) + len(s.method) for s in doc.signatures)
    return size


def render_html(doc: PrintableDocument) -> str:
    verify_link = doc.verify_url if re.match(r"^https?://", doc.verify_url) else ""
    return (
        environment()
        .get_template(TEMPLATE_NAME)
        .render(doc=doc, title=clean_text(doc.title), verify_link=verify_link)
    )
