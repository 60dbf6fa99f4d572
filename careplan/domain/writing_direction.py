"""Which invisible direction characters may stay in what people write (documents, comments,
notes on signing, crisis requests).

Right-to-left writers (Arabic, Hebrew, Urdu ...) mix directions all the time, and Unicode gives
them invisible characters to say how. Some of them can also make text read differently from
what its characters say: a "right-to-left override" shows "reversed" as "desrever". Two people
sign the same characters, so what they see must be what those characters say.

- Removed: the embeddings and overrides (LRE, RLE, PDF, LRO, RLO; U+202A-U+202E). An override
  turns the letters of any script around, and an embedding or override left open reaches
  everything after it. Unicode itself advises isolates and marks instead, and no keyboard
  types them: they arrive by pasting, or on purpose.
- Kept: the marks (LRM, RLM and the Arabic letter mark; U+200E, U+200F, U+061C). Each acts as
  one invisible letter of its direction: like a real Arabic or Hebrew letter typed there, it
  can only move the punctuation and numbers beside it, never turn a word's letters around.
  Writers need them so that "!" or "(3)" lands on the right side of their words.
- Kept when paired: the isolates (LRI, RLI, FSI, each closed by a PDI; U+2066-U+2069). A paired
  isolate sets the direction of the words between them and of nothing else, the modern way to
  put a name or a number the other way round into a sentence. One left open would reach the
  rest of its paragraph and a lone PDI means nothing, so unpaired ones are removed.

Only new writing is made plain: versions already kept are never rewritten, as their words are
what was signed and their hashes would no longer match. Pages and PDFs put each person's
paragraph in its own isolated element, so anything kept from before reaches no further.
"""

from __future__ import annotations

import unicodedata

OVERRIDES_AND_EMBEDDINGS = frozenset("\u202a\u202b\u202c\u202d\u202e")
ISOLATE_OPENERS = frozenset("\u2066\u2067\u2068")  # LRI, RLI, FSI
ISOLATE_CLOSER = "\u2069"  # PDI
MARKS = frozenset("\u200e\u200f\u061c")  # kept; named here so the rule is in one place


def plain_writing(text: str | None) -> str:
    """`text` with the overrides and embeddings taken out, and isolates only in pairs."""
    text = "".join(ch for ch in (text or "") if ch not in OVERRIDES_AND_EMBEDDINGS)
    if not any(ch in ISOLATE_OPENERS or ch == ISOLATE_CLOSER for ch in text):
        return text
    dropped: set[int] = set()
    open_at: list[int] = []
    for i, ch in enumerate(text):
        if ch in ISOLATE_OPENERS:
            open_at.append(i)
        elif ch == ISOLATE_CLOSER:
            if open_at:
                open_at.pop()
            else:
                dropped.add(i)
        elif unicodedata.bidirectional(ch) == "B":
            # A new paragraph (a line break) ends every isolate still open in the last one.
            dropped.update(open_at)
            open_at.clear()
    dropped.update(open_at)
    return "".join(ch for i, ch in enumerate(text) if i not in dropped)


_OPENERS = {"\u202a", "\u202b", "\u202d", "\u202e", *ISOLATE_OPENERS}
_POP = "\u202c"


def closed(text: str) -> str:
    """`text` with whatever it leaves open closed at its end (PDF, PDI), for words kept from
    before the rule above and printed in one line with other words ("Jo · sister", "... handed
    to ... until ..."): so they cannot turn around what comes after them. Text made plain
    leaves nothing open and comes back unchanged."""
    open_now: list[str] = []
    for ch in text:
        if ch in _OPENERS:
            open_now.append(ch)
        elif ch == _POP:
            # Closes the latest embedding or override, never past an isolate (Unicode's rule).
            if open_now and open_now[-1] not in ISOLATE_OPENERS:
                open_now.pop()
        elif ch == ISOLATE_CLOSER:
            # Closes the latest isolate, and anything still open inside it.
            if any(o in ISOLATE_OPENERS for o in open_now):
                while open_now.pop() not in ISOLATE_OPENERS:
                    pass
        elif unicodedata.bidirectional(ch) == "B":
            open_now.clear()
    return text + "".join(
        ISOLATE_CLOSER if o in ISOLATE_OPENERS else _POP for o in reversed(open_now)
    )
