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
