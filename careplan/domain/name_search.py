"""Finding someone by what was typed of their name.

Every word typed must be found in the person's names, in any order and case, with or without
accents or apostrophes: "zoe ba" finds "Zoë Baker", "obrien" finds "O'Brien", and someone known
by another name is found by either."""

from __future__ import annotations

import unicodedata

MAX_TYPED = 200  # longer is not a name: cut, not refused, as a search box is forgiving


def search_words(typed: str | None) -> str:
    """What was typed, spaces collapsed and cut to a name's length: shown back as searched."""
    return " ".join((typed or "").split())[:MAX_TYPED]


# Letters of their own that no accent makes (NFKD leaves them whole), as a keyboard without
# them types them: "lukasz" finds "Łukasz".
_PLAIN = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
     "þ": "th", "Þ": "Th", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ı": "i"}
)  # fmt: skip


# Apostrophes of every kind are left out, as names are often typed without them: "obrien",
# "o'brien" and a phone keyboard's "o’brien" all find "O'Brien".
_APOSTROPHES = str.maketrans(dict.fromkeys("'’‘ʼ`´′", None))


def _folded(text: str) -> str:
    # Accents taken off (NFKD splits "ë" into "e" and its mark), then case folded ("ß": "ss").
    parts = unicodedata.normalize("NFKD", text.translate(_PLAIN).translate(_APOSTROPHES))
    return "".join(c for c in parts if not unicodedata.combining(c)).casefold()


def name_matches(typed: str | None, *names: str | None) -> bool:
    """Whether every word of `typed` is in one of `names`; nothing typed matches everyone."""
    words = _folded(search_words(typed)).split()
    within = " ".join(_folded(name) for name in names if name)
    return all(word in within for word in words)
