"""Text too long for its box, said one way everywhere: with how long it is (a box on a phone
shows neither its limit nor its count, and "keep this under 2,000" alone does not say
whether to cut a word or a page), and that nothing typed was lost. Every box with a limit
says it through `too_long`."""

from __future__ import annotations


def too_long(text: str, limit: int, what: str = "this") -> str | None:
    """The message for `text` longer than `limit` characters; None when it fits."""
    if len(text) <= limit:
        return None
    # "To N or fewer", not "under N": N itself is allowed.
    return f"Please keep {what} to {limit:,} characters or fewer: it has {len(text):,}."


KEPT = " Nothing was lost: it is still here."
