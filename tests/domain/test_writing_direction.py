"""What people write keeps its direction marks but loses the characters that could make it read
differently from what it says (careplan.domain.writing_direction)."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from careplan.domain.agreement import AgreementKind, parse_template
from careplan.domain.care_plan import CARE_PLAN
from careplan.domain.caseload_rules import validate_leaving_note
from careplan.domain.contingency import validate_end_note
from careplan.domain.crisis_alerts import validate_response
from careplan.domain.errors import ContentInvalid
from careplan.domain.reviews import validate_earlier_request
from careplan.domain.signoff import Outcome, validate_outcome
from careplan.domain.writing_direction import closed, plain_writing

LRE, RLE, PDF, LRO, RLO = "\u202a", "\u202b", "\u202c", "\u202d", "\u202e"
LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
LRM, RLM, ALM = "\u200e", "\u200f", "\u061c"

AGREEMENTS = Path(__file__).resolve().parents[2] / "agreements"
HEBREW = "אני גר אצל אחותי כרגע."  # "I live with my sister for now."
ARABIC = "أن يستمع إلي الناس."  # "That people listen to me."


@pytest.mark.parametrize(
    "text",
    [
        HEBREW,
        ARABIC,
        f"{HEBREW} (3){RLM}",  # the mark puts the number and brackets at the sentence's end
        f"{ARABIC}{ALM} 10{ALM}-20",
        f"I said {RLI}{HEBREW}{PDI} to her.",  # an isolate in a pair
        f"{FSI}{ARABIC}{PDI}, {LRI}C++{PDI}{LRM}",
        f"{RLI}{LRI}nested{PDI}{PDI}",
        "Plain words, with \u200d joiners 👩\u200d👧 and line\nbreaks.",
    ],
)
def test_right_to_left_writing_and_its_marks_are_kept_as_written(text):
    assert plain_writing(text) == text


@pytest.mark.parametrize("control", [LRE, RLE, PDF, LRO, RLO])
def test_embeddings_and_overrides_are_taken_out(control):
    assert plain_writing(f"I {control}reversed{PDF} it") == "I reversed it"
    assert plain_writing(f"{RLO}{HEBREW}{control}") == HEBREW


def test_isolates_left_open_or_closing_nothing_are_taken_out():
    assert plain_writing(f"{RLI}left open") == "left open"
    assert plain_writing(f"closes nothing{PDI} here") == "closes nothing here"
    assert plain_writing(f"{RLI}one{PDI}{PDI}") == f"{RLI}one{PDI}"
    assert plain_writing(f"{LRI}{RLI}two{PDI}") == f"{RLI}two{PDI}"
    # A line break ends a paragraph, and with it every isolate still open there.
    assert plain_writing(f"{RLI}first\nsecond{PDI}") == "first\nsecond"
    assert plain_writing(f"{RLI}first{PDI}\n{LRI}second") == f"{RLI}first{PDI}\nsecond"


def test_nothing_and_none_are_empty():
    assert plain_writing(None) == plain_writing("") == ""


def test_a_document_keeps_no_override_and_a_box_of_controls_alone_is_empty():
    content = CARE_PLAN.validate(
        {
            "what_matters": {"text": f"{RLO}reversed{PDF}"},
            "domains": {"housing": {"own_words": f"{HEBREW}{RLM}"}},
            "goals": [
                {
                    "title": f"{RLE}Keep my flat{PDF}",
                    "steps": [
                        {
                            "text": f"Ring {LRO}the council{PDF}",
                            "owner": {"kind": "other", "name": f"{RLO}Jo"},
                            "due": "2027-03-01",
                        }
                    ],
                }
            ],
            "care_team": [{"name": f"{RLO}Alex", "role": f" {RLO} "}],
        }
    )
    assert content["what_matters"]["text"] == "reversed"
    assert content["domains"]["housing"]["own_words"] == f"{HEBREW}{RLM}"
    goal = content["goals"][0]
    assert goal["title"] == "Keep my flat"
    assert goal["steps"][0]["text"] == "Ring the council"
    assert goal["steps"][0]["owner"]["name"] == "Jo"
    assert content["care_team"][0]["name"] == "Alex"
    assert content["care_team"][0]["role"] == ""


def test_notes_comments_and_answers_lose_overrides_too():
    assert validate_outcome("signed_with_comment", f"{RLO}agreed{PDF}") == (
        Outcome.SIGNED_WITH_COMMENT,
        "agreed",
    )
    assert validate_response(f"{RLO}I will ring at 3pm") == "I will ring at 3pm"
    assert validate_end_note(f"{RLE}{ARABIC}{PDF}") == ARABIC
    assert validate_leaving_note(f"Moved away{RLO}") == "Moved away"
    wanted, reason = validate_earlier_request("2027-03-01", f"{RLO}soon", date(2027, 2, 1), None)
    assert reason == "soon"
    with pytest.raises(ContentInvalid):  # nothing but an override is nothing written
        validate_response(f" {RLO}{PDF} ")


@pytest.mark.parametrize(
    "text, ends_with",
    [
        (f"Jo{RLO}", PDF),
        (f"{RLE}a{LRO}b", PDF + PDF),
        (f"{RLI}a{RLO}b", PDF + PDI),
        (f"{RLO}a{PDF}{RLI}b", PDI),
        (f"{RLI}a{RLO}b{PDI}{LRO}c", PDF),  # the PDI closed the override inside it too
        (f"{RLO}first line\nsecond", ""),  # a new paragraph starts with nothing open
    ],
)
def test_words_kept_from_before_are_closed_where_they_end(text, ends_with):
    assert closed(text) == text + ends_with


@pytest.mark.parametrize("text", [HEBREW, f"{RLI}{HEBREW}{PDI}", f"a{RLM}", "", f"{RLO}a{PDF}"])
def test_words_with_nothing_open_are_unchanged(text):
    assert closed(text) == text


def test_a_part_written_before_turns_round_only_itself_where_parts_share_a_line():
    # Content kept before the rule: read as stored, never validated again.
    plan = CARE_PLAN.empty_content()
    plan["care_team"] = [{"id": "m", "name": f"Dr {RLO}Patel", "role": "GP"}]
    team = {f.key: f.text for f in CARE_PLAN.fields(plan)}
    assert team["team:m"] == f"Dr {RLO}Patel{PDF}, GP"

    template = parse_template(
        "smi_self_referral.toml", tomllib.loads((AGREEMENTS / "smi_self_referral.toml").read_text())
    )
    kind = AgreementKind(template)
    content = kind.empty_content()
    part = content["sections"]["contingencies"]
    part["handed_over"] = [
        {"id": "h", "decision": f"{RLO}My money", "to_whom": f"Jo{RLE}", "until": "2027-03-01"}
    ]
    part["contacts"] = [{"id": "c", "name": f"Jo{RLO}", "role": "sister", "how_to_contact": "0161"}]
    lines = {f.key: f.text for f in kind.fields(content)}
    assert lines["contingencies.handed_over:h"] == (
        f"{RLO}My money{PDF} — handed to Jo{RLE}{PDF} until 1 March 2027"
    )
    assert lines["contingencies.contacts:c"] == f"Jo{RLO}{PDF} · sister · 0161"
