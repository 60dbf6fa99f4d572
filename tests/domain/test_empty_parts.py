"""Which empty parts of an agreement a signer must confirm, from the template, and how empty
parts reach the PDF."""

import copy
import tomllib
from pathlib import Path

import pytest

from careplan.domain.agreement import (
    AgreementKind,
    TemplateInvalid,
    empty_key_parts,
    parse_template,
)
from careplan.pdf import sections_from_kind

FOLDER = Path(__file__).resolve().parents[2] / "agreements"


def template(name="smi_self_referral.toml"):
    return parse_template(name, tomllib.loads((FOLDER / name).read_text()))


def content(kind, **sections):
    return kind.validate({"sections": sections})


KEY_PARTS = {
    "shared_goals.goals": "Our shared goals: What do we want to achieve together?",
    "boundaries.out_of_hours": "Boundaries, both sides: Who can I contact out of hours?",
    "contingencies.contacts": "When I am not well: Who should be contacted?",
    "contingencies.self_referral_how": (
        "When I am not well: How do I ask for a short stay myself, and who do I call?"
    ),
}


def test_an_empty_agreement_names_each_key_part_in_the_templates_words():
    t = template()
    parts = empty_key_parts(t, AgreementKind(t).empty_content())
    assert {p.key: p.label for p in parts} == KEY_PARTS


def test_filled_parts_are_not_named_and_blank_text_counts_as_empty():
    t = template()
    kind = AgreementKind(t)
    filled = content(
        kind,
        shared_goals={"goals": [{"title": "Keep my flat", "steps": []}]},
        boundaries={"out_of_hours": [{"name": "Out-of-hours team"}]},
        contingencies={
            "contacts": [{"name": "Jo", "role": "sister"}],
            "self_referral_how": {"text": "   "},
        },
    )
    assert [p.key for p in empty_key_parts(t, filled)] == ["contingencies.self_referral_how"]


def test_how_to_ask_for_an_admission_counts_only_with_self_referral_terms():
    t = template()
    kind = AgreementKind(t)
    off = kind.validate({"terms": {"self_referral": {"enabled": "no"}}})
    assert "contingencies.self_referral_how" not in {p.key for p in empty_key_parts(t, off)}
    general = template("general.toml")
    assert {p.key for p in empty_key_parts(general, AgreementKind(general).empty_content())} == {
        "shared_goals.goals",
        "boundaries.out_of_hours",
        "contingencies.contacts",
    }


def test_a_template_decides_which_parts_count():
    data = tomllib.loads((FOLDER / "general.toml").read_text())
    changed = copy.deepcopy(data)
    for section in changed["sections"]:
        for field in section["fields"]:
            if field["key"] == "goals":
                field["confirm_if_empty"] = "never"
            if field["key"] == "worker_hours":
                field["confirm_if_empty"] = "always"
    t = parse_template("ours.toml", changed)
    keys = {p.key for p in empty_key_parts(t, AgreementKind(t).empty_content())}
    assert keys == {"boundaries.worker_hours", "boundaries.out_of_hours", "contingencies.contacts"}

    changed["sections"][0]["fields"][0]["confirm_if_empty"] = "sometimes"
    with pytest.raises(TemplateInvalid, match="confirm_if_empty"):
        parse_template("ours.toml", changed)


def test_a_copy_of_a_template_from_before_the_setting_uses_the_defaults():
    t = template()
    old = copy.deepcopy(t)
    for section in old["sections"]:
        for field in section["fields"]:
            field.pop("confirm_if_empty", None)
    assert {p.key for p in empty_key_parts(old, AgreementKind(old).empty_content())} == set(
        KEY_PARTS
    )


def test_empty_lists_are_printed_not_dropped():
    t = template()
    kind = AgreementKind(t)
    sections = {s.title: s for s in sections_from_kind(kind, kind.empty_content())}
    assert [(f.label, f.text) for f in sections["When I am not well"].fields if not f.text] == [
        ("What are my early warning signs?", ""),
        ("What helps me?", ""),
        ("What do I want you to do?", ""),
        ("What do I not want?", ""),
        ("Which decisions do I hand over for a while, to whom, and until when?", ""),
        ("Who should be contacted?", ""),
        ("How do I ask for a short stay myself, and who do I call?", ""),
        ("What happens after a crisis?", ""),
    ]
    assert ("What do we want to achieve together?", "") in [
        (f.label, f.text) for f in sections["Our shared goals"].fields
    ]
