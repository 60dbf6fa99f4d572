"""The second step when signing: codes from an authenticator app, without a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from careplan.domain import second_factor
from careplan.domain.errors import ContentInvalid

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AT = datetime(2027, 3, 1, 9, 0, 10, tzinfo=UTC)


def code_at(when: datetime) -> str:
    return pyotp.TOTP(SECRET).at(when)


def test_a_code_is_typed_as_people_type_it():
    assert second_factor.clean_code(" 123 456 ") == "123456"
    assert second_factor.clean_code("123-456") == "123456"
    # On an Arabic, Devanagari or full-width keyboard.
    for typed in ("١٢٣ ٤٥٦", "१२३४५६", "１２３４５６"):
        assert second_factor.clean_code(typed) == "123456"
    for raw, message in (
        ("", "Please type"),
        ("12345", "six digits"),
        ("12345a", "six digits"),
        ("12345²", "six digits"),
    ):
        with pytest.raises(ContentInvalid) as refused:
            second_factor.clean_code(raw)
        assert message in refused.value.errors["code"]


def test_the_code_of_now_and_of_the_steps_either_side_are_accepted():
    now = second_factor.step_of(AT)
    for offset in (-1, 0, 1):
        code = code_at(AT + timedelta(seconds=30 * offset))
        assert second_factor.accepted_step(SECRET, code, AT, None) == now + offset
    for offset in (-2, 2):
        code = code_at(AT + timedelta(seconds=30 * offset))
        assert second_factor.accepted_step(SECRET, code, AT, None) is None
    right = code_at(AT)
    wrong = right[:-1] + str((int(right[-1]) + 1) % 10)
    assert second_factor.accepted_step(SECRET, wrong, AT, None) is None


def test_each_code_works_once():
    code = code_at(AT)
    step = second_factor.accepted_step(SECRET, code, AT, None)
    assert second_factor.accepted_step(SECRET, code, AT, step) is None  # seen over a shoulder
    earlier = code_at(AT - timedelta(seconds=30))
    assert second_factor.accepted_step(SECRET, earlier, AT, step) is None  # older than the last
    later = code_at(AT + timedelta(seconds=30))
    assert second_factor.accepted_step(SECRET, later, AT, step) == step + 1


def test_a_new_secret_and_what_the_app_reads():
    secret = second_factor.new_secret()
    assert second_factor.is_secret(secret) and secret != second_factor.new_secret()
    assert not second_factor.is_secret("not a secret") and not second_factor.is_secret("")
    uri = urlparse(second_factor.setup_uri(secret, "alex@example.org", "app.example.org"))
    query = parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert query["secret"] == [secret] and query["issuer"] == ["app.example.org"]
    assert "alex%40example.org" in uri.path or "alex@example.org" in uri.path
    assert second_factor.grouped(SECRET).split() == [SECRET[i : i + 4] for i in range(0, 32, 4)]


def test_backup_codes_are_fresh_readable_and_typed_as_people_type_them():
    codes = second_factor.new_backup_codes()
    assert len(codes) == second_factor.BACKUP_CODES == len(set(codes))
    for code in codes:
        assert len(code) == 11 and code[5] == "-"
        assert not set(code) & set("01ilo")  # nothing read as something else
    assert not set(codes) & set(second_factor.new_backup_codes())
    code = codes[0]
    plain = code.replace("-", "")
    for typed in (code, plain, code.upper(), f" {plain[:3]} {plain[3:]} "):
        assert second_factor.backup_code(typed) == plain
        assert second_factor.backup_hash(typed) == second_factor.backup_hash(code)
    # The app's six digits, a code one letter short, or with a letter never used, are not one.
    for typed in ("123456", plain[:-1], plain[:-1] + "0", "", None):
        assert second_factor.backup_code(typed) is None


def test_the_person_is_told_how_many_backup_codes_are_left():
    assert "You have 7 left." in second_factor.backup_code_used_wording(7)
    assert "3 left: make new ones" in second_factor.backup_code_used_wording(3)
    last = second_factor.backup_code_used_wording(0)
    assert "That was your last one" in last and "If it was not you" in last
    # Used to turn the step off or make new codes, it leaves none of the old ones.
    off = second_factor.backup_code_used_wording(9, second_factor.TURNS_STEP_OFF)
    assert "removes all your backup codes" in off and "left" not in off
    new = second_factor.backup_code_used_wording(9, second_factor.MAKES_NEW_CODES)
    assert "which replace all your old ones" in new and "left" not in new
