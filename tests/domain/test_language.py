import tomllib
from pathlib import Path

import pytest

from careplan.domain.language import check_text, parse_terms

TERMS = parse_terms(
    tomllib.loads(
        (Path(__file__).resolve().parents[2] / "agreements" / "language.toml").read_text()
    )
)


def found(text):
    return [(f.found.lower(), f.term) for f in check_text(TERMS, text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("He is an addict.", [("addict", "addict")]),
        ("Addicts deserve care", [("addicts", "addict")]),
        ("I have stayed clean since June", [("stayed clean", "clean")]),
        ("The clean urine result came back", [("clean urine", "clean")]),
        ("It came back dirty", [("came back dirty", "dirty")]),
        ("Non-compliant with the plan", [("non-compliant", "non-compliant")]),
        ("noncompliance noted", [("noncompliance", "non-compliant")]),
        ("history of substance abuse", [("substance abuse", "substance abuser")]),
        ("known SUBSTANCE   ABUSERS", [("substance   abusers", "substance abuser")]),
        ("She relapsed in May", [("relapsed", "relapsed")]),
    ],
)
def test_true_positives(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I was referred to addiction services",  # "addict" inside another word
        "addictive games",
        "I want to keep my flat clean",  # "clean" outside a drug-test context
        "a cleaner job",
        "dirty dishes in the sink",
        "I am a service user here",
        "compliant with the housing rules",  # "compliant" without "non-"
        "Abusive ex-partner",  # not in the list
        "unclean",
        "Mapaddict",
    ],
)
def test_false_positives_are_not_flagged(text):
    assert found(text) == []


def test_a_finding_carries_the_suggestion_and_the_place():
    (finding,) = check_text(TERMS, "an addict", "Goal 1")
    assert finding.where == "Goal 1" and finding.suggest == "person who uses drugs"
    assert finding.could_write == "“person who uses drugs”"
    # Choices the list parts with " / " are said as choices.
    (finding,) = check_text(TERMS, "two clean tests", "Goal 1")
    assert finding.could_write == "“not using” or “negative test result”"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Both tests were dirty", [("were dirty", "dirty")]),
        ("The samples were clean", [("were clean", "clean")]),
        ("Two dirty urines in May", [("dirty urines", "dirty")]),
        ("All the clean results since June", [("clean results", "clean")]),
        ("Her screens are dirty again", [("are dirty", "dirty")]),
        ("Junkies and druggies", [("junkies", "addict"), ("druggies", "addict")]),
    ],
)
def test_plurals_and_past_forms_are_found(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("He tested clean last week.", [("tested clean", "clean")]),
        ("Clean since May.", [("clean since", "clean")]),
        ("He's clean now.", [("he's clean", "clean")]),
        ("She’s clean now.", [("she’s clean", "clean")]),  # a curly apostrophe
        ("I'm clean and they’re clean too", [("i'm clean", "clean"), ("they’re clean", "clean")]),
        ("Urine came back clean.", [("came back clean", "clean")]),
        ("If it comes back clean", [("comes back clean", "clean")]),
        ("Testing clean every week", [("testing clean", "clean")]),
        ("clean and sober since spring", [("clean and sober", "clean")]),
        ("Two clean drug screens", [("clean drug screens", "clean")]),
        ("He's been clean since May", [("been clean", "clean")]),  # one finding, not two
        ("Her clean date is in June", [("clean date", "clean")]),
        ("His sample's dirty", [("sample's dirty", "dirty")]),
        ("If it comes back dirty again", [("comes back dirty", "dirty")]),
    ],
)
def test_everyday_ways_of_saying_clean_and_dirty_are_found(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Clean the kitchen on Saturdays",
        "a clean room and clean clothes",
        "He cleans the car",
        "Keeping clean clothes ready for the interview",
        "He's cleaning the flat",  # "'s clean" is not "'s cleaning"
        "She's a cleaner at the hospital",
        "Test cleanly",
        "It came back",
        "Dirty clothes go in the basket",
        "'s clean",  # a shortened word needs the word it shortens
    ],
)
def test_everyday_uses_of_clean_and_dirty_are_not_flagged(text):
    assert found(text) == []
