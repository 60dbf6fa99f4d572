"""The client's records in words, for the archive they download: what the JSON files hold,
in a file anyone can open on a phone and read ("your-records.txt")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from .documents import Field
from .local_time import show
from .signoff import Outcome

RULE = "=" * 60
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ReadableDocument:
    """One document as the archive's document.json says it (`about`), the folder its files
    are in, and its latest version's words."""

    about: dict
    folder: str
    latest: Sequence[Field] = field(default_factory=list)


def readable_records(
    name: str,
    made_at: datetime,
    documents: Iterable[ReadableDocument],
    access_log: Sequence[dict],
    zone: tzinfo,
) -> str:
    """The whole file: each document, then who looked at the records."""
    documents = list(documents)
    lines = [f"Your records: {name}", f"Made on {show(made_at, zone)}.", ""]
    if any(pdf.get("file") for doc in documents for pdf in doc.about["sealed_pdfs"]):
        lines.append(
            "This file is to read. The signed copies are the sealed PDFs in the documents folder."
        )
    elif documents:
        lines.append("This file is to read. Nothing has been signed by both of you yet.")
    else:
        lines.append("This file is to read. No care plan or agreement is saved yet.")
    for doc in documents:
        lines += ["", RULE, _title(doc.about), RULE, *_document(doc, zone)]
    lines += ["", RULE, "Who looked at your records", RULE]
    if access_log:
        lines += [
            f"- {show(e['at'], zone)}: {e['name']} ({e['role']}) {e['what']}" for e in access_log
        ]
    else:
        lines.append("Nobody else has read, exported or downloaded them so far.")
    lines.append("Your key worker's everyday reading is not listed; what they download is.")
    return "\n".join(lines) + "\n"


def _title(about: dict) -> str:
    # "Partnership agreement (with asking for a short stay)" names its kind already.
    kind, title = about["kind"], about["title"]
    return title if title.lower().startswith(kind.lower()) else f"{kind}: {title}"


def _document(doc: ReadableDocument, zone: tzinfo) -> list[str]:
    about = doc.about
    versions, agreed = about["versions"], about["agreed_version_in_force"]
    said = f"{versions} version{'s' if versions != 1 else ''} saved."
    if agreed is None:
        said += " Nothing in it has been agreed by both of you yet."
    elif agreed == versions:
        said += f" Version {agreed} is agreed and in force."
    else:
        # As the document's page says it: a latest version someone declined is no draft to sign.
        declined = any(
            s["version"] == versions and s["outcome"] == Outcome.DECLINED.label
            for s in about["signatures"]
        )
        latest = "was declined" if declined else "is a draft"
        said += f" Version {agreed} is agreed and in force; version {versions} {latest}."
    lines = [said]
    if about["next_review_on"]:
        lines.append(f"Next review: {show(about['next_review_on'], zone)}.")
    lines += [_signed_copy(pdf, doc.folder) for pdf in about["sealed_pdfs"]]
    if doc.latest:
        lines += ["", f"Version {versions}, the latest, in its words:"]
        for part, fields in _by_part(doc.latest):
            lines += ["", f"  {part}"] if part else [""]
            written = [f for f in fields if f.text.strip()]
            lines += [f"    {_label(f)}: {_words(f.text, zone)}" for f in written] or [
                "    Nothing written."
            ]
    if about["signatures"]:
        lines += ["", "Signatures:"]
        for sig in about["signatures"]:
            comment = f": “{sig['comment']}”" if sig["comment"] else ""
            lines.append(
                f"- {sig['name']} ({sig['role']}) {sig['outcome']} version {sig['version']}, "
                f"{show(sig['at'], zone)}{comment}"
            )
    if about["comments"]:
        lines += ["", "Comments:"]
        for c in about["comments"]:
            on = f", about “{c['about']}”" if c["about"] else ""
            lines.append(
                f"- {c['name']} ({c['role']}), on version {c['version']}{on}, "
                f"{show(c['at'], zone)}:"
            )
            lines.append(f"  “{c['comment']}”")
    return lines


def _by_part(fields: Sequence[Field]) -> list[tuple[str, list[Field]]]:
    parts: list[tuple[str, list[Field]]] = []
    for f in fields:
        if not parts or parts[-1][0] != f.part:
            parts.append((f.part, []))
        parts[-1][1].append(f)
    return parts


def _label(f: Field) -> str:
    """The label without its part's title, which heads the lines above it."""
    for joint in (": ", ", "):
        if f.part and f.label.startswith(f.part + joint):
            return f.label[len(f.part) + len(joint) :]
    return f.label


def _words(text: str, zone: tzinfo) -> str:
    """A date as the pages say it ("28 December 2026"); anything else as written."""
    if ISO_DAY.fullmatch(text):
        return show(text, zone)
    return text


def _signed_copy(pdf: dict, folder: str) -> str:
    said = f"Signed copy of version {pdf['version']}: "
    if pdf.get("file"):
        return said + f"{folder}/{pdf['file']}"
    if pdf.get("missing"):
        return said + pdf["missing"]
    return said + "still being made when this archive was; download it from the document's page."
