"""Phone numbers in free text become tap-to-call links; nothing else does, and no link ever
rings part of a number."""

import pytest

from careplan.domain.phone_numbers import phone_number_parts


def links(text: str) -> list[tuple[str, str]]:
    return [(piece, tel) for piece, tel in phone_number_parts(text) if tel]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0161 496 0000", [("0161 496 0000", "tel:01614960000")]),
        ("07700 900123", [("07700 900123", "tel:07700900123")]),
        (
            "Ring 0161 496 0000 or text 07700 900123.",
            [("0161 496 0000", "tel:01614960000"), ("07700 900123", "tel:07700900123")],
        ),
        ("+44 (0)161 496 0000", [("+44 (0)161 496 0000", "tel:+441614960000")]),
        ("(0161) 496 0000", [("(0161) 496 0000", "tel:01614960000")]),
        ("Tel:0161-496-0000", [("0161-496-0000", "tel:01614960000")]),
        ("Jo (07700 900123) evenings", [("07700 900123", "tel:07700900123")]),
        ("07700 900123 (9-5)", [("07700 900123", "tel:07700900123")]),
        ("Samaritans 116 123", [("116 123", "tel:116123")]),
        ("+33 1 23 45 67 89", [("+33 1 23 45 67 89", "tel:+33123456789")]),
    ],
)
def test_phone_numbers_are_found_with_the_number_to_dial(text, expected):
    assert links(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Texts without the service's name, please.",
        "Flat 12, ring twice",  # too short to be a phone number
        "call 999",  # so is this: the page's own urgent numbers link it
        "until 2027-03-01",  # dates and opening hours look like numbers
        "until 01-03-2027",
        "open 0900-1700",
        "ref A1234567",  # part of a word
        "3.14159265",
        "£250,000",
        "0161 496 0000x",
        "0161 496 0000 07700 900123",  # two run together: which is it?
        "0161  496 0000",  # a number that goes on: never link part of it
        "0161 - 496 0000",
        "0161\n496 0000",
        "1234567890123456",  # longer than any phone number
    ],
)
def test_what_is_not_clearly_a_whole_phone_number_stays_text(text):
    assert links(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Ring 0161 496 0000 or text 07700 900123.",
        '<script>alert("07700 900123")</script> & 0161 496 0000',
        "0161 496 0000 (0161 496 0001)",
        "  spaces  ",
    ],
)
def test_the_words_read_exactly_as_written(text):
    assert "".join(piece for piece, _ in phone_number_parts(text)) == text
