"""Whole numbers inside a document's content (a care plan's review interval, an agreement's
terms), read by one rule whichever way they came.

Typed in a form, a number is text: "12" and " 12 " are twelve, as they always were. Sent as
JSON, a number is a number: only an integer is a whole number, and "12", 12.0 and true are
refused, as everywhere the API reads one (careplan.api.schemas). Neither way is 12.7 cut down
to 12 or true read as 1. Whoever hands the content over says which way it came
(DocumentKind.validate's `from_form`); a marshmallow load takes no argument to carry that to
the fields, so it is held here for the length of that one load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from marshmallow import fields, validate

from .form_places import place
from .numbers import AS_JSON, is_json_whole_number

_FROM_FORM: ContextVar[bool] = ContextVar("content_numbers_from_form", default=False)

# Stands for the answer's name in a message for a program: a field does not know where it
# sits in the form, so `name_the_answers` puts the name in once the place is known.
ANSWER = "{answer}"


@contextmanager
def reading(from_form: bool) -> Iterator[None]:
    token = _FROM_FORM.set(from_form)
    try:
        yield
    finally:
        _FROM_FORM.reset(token)


class WholeNumber(fields.Integer):
    def _deserialize(self, value, attr, data, **kwargs):
        if _FROM_FORM.get() and isinstance(value, str):
            try:
                # int() reads "1_2" as twelve, as Python source would: nobody types that
                # meaning 12. Digits of other scripts ("١٢") are kept: people type those.
                if "_" in value:
                    raise ValueError(value)
                value = int(value)
            except ValueError:
                raise self.make_error("invalid") from None
        elif not is_json_whole_number(value):
            # A form's numbers are text; an integer among them came from the version a part
            # was saved on (with_part). Anything else is refused either way, never cut down.
            raise self.make_error("invalid" if _FROM_FORM.get() else "sent")
        return super()._deserialize(value, attr, data, **kwargs)


def whole_number_field(default: int, least: int, most: int, invalid: str, out_of_range: str):
    """A whole number from `least` to `most`; `invalid` is said beside a form's box."""
    # Braces doubled: marshmallow formats a message before raising it.
    sent = f"{{{ANSWER}}} is a whole number from {least:,} to {most:,}. {AS_JSON}"
    return WholeNumber(
        load_default=default,
        validate=validate.Range(min=least, max=most, error=out_of_range),
        error_messages={"invalid": invalid, "sent": sent, "null": sent},
    )


def name_the_answers(errors: dict[str, str], words: Callable[[], dict[str, str]]) -> dict[str, str]:
    """The messages for a program, with the answer each is about named as the form names it
    ("Review every (weeks)"): the field's name alone (terms-review_interval_weeks) means
    nothing to the person the message is shown to."""
    if not any(message.startswith(ANSWER) for message in errors.values()):
        return errors
    known = words()
    named = {}
    for name, message in errors.items():
        if message.startswith(ANSWER):
            where = place(name, known)
            message = message.replace(ANSWER, f'"{where}"' if where else "This answer", 1)
        named[name] = message
    return named
