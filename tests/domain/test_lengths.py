import pytest

from careplan.domain.caseload_rules import validate_leaving_note
from careplan.domain.crisis_alerts import validate_response
from careplan.domain.errors import ContentInvalid
from careplan.domain.lengths import too_long
from careplan.domain.signoff import validate_outcome


def test_too_long_says_the_limit_and_the_length_with_thousands_marked():
    assert too_long("x" * 2000, 2000) is None
    assert too_long("x" * 10_000, 2000) == (
        "Please keep this to 2,000 characters or fewer: it has 10,000."
    )
    assert too_long("x" * 1001, 1000, "the note").startswith(
        "Please keep the note to 1,000 characters or fewer"
    )


@pytest.mark.parametrize(
    "refuse, field",
    [
        (lambda text: validate_outcome("declined", text), "comment"),
        (lambda text: validate_response(text), "note"),
        (lambda text: validate_leaving_note(text), "note"),
    ],
    ids=["a reason for not signing", "a response to a request for help", "a leaving note"],
)
def test_every_box_says_how_long_its_text_is_and_that_it_is_kept(refuse, field):
    """The sign form's reason said only "Please keep this under 2000 characters."."""
    with pytest.raises(ContentInvalid) as refused:
        refuse("x" * 10_000)
    said = refused.value.errors[field]
    assert "characters or fewer: it has 10,000." in said and said.endswith("it is still here.")
