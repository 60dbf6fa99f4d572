from datetime import UTC, datetime

import pytest

from careplan.domain.audit_chain import Checkpoint

CHECKPOINT = Checkpoint(3, 120, "a" * 64, 118, datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC), "f" * 64)


def test_a_checkpoint_reads_back_from_its_fields():
    assert Checkpoint.from_fields(CHECKPOINT.fields()) == CHECKPOINT


def test_the_signed_bytes_cover_every_field():
    signed = CHECKPOINT.signed_bytes()
    for value in (b'"number":3', b'"event_id":120', b'"events":118', b"2027-01-02T03:04:05"):
        assert value in signed
    assert b"a" * 64 in signed and b"f" * 64 in signed
    assert signed.startswith(b'{"at":')  # canonical: sorted keys, no spaces


@pytest.mark.parametrize(
    "change",
    [
        {"format": "something else"},
        {"number": True},
        {"event_id": "120"},
        {"events": 0},
        {"at": "2027-01-02T03:04:05"},  # no time zone
        {"event_hash": None},
    ],
)
def test_anything_else_is_refused(change):
    with pytest.raises(ValueError):
        Checkpoint.from_fields({**CHECKPOINT.fields(), **change})
