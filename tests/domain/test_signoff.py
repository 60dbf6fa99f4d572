from datetime import UTC, datetime, timedelta

import pytest

from careplan.domain.errors import ContentInvalid
from careplan.domain.roles import Role
from careplan.domain.signoff import (
    Caseload,
    Outcome,
    Signature,
    State,
    Tenure,
    VersionRef,
    already_given,
    decide,
    refusal,
    validate_outcome,
)

CLIENT, WORKER, OLD_WORKER = 1, 2, 3
T0 = datetime(2027, 1, 1, tzinfo=UTC)
VERSIONS = {1: "h1", 2: "h2", 3: "h3"}


def sig(user, number, outcome=Outcome.SIGNED, minutes=0, content_hash=None):
    role = Role.CLIENT if user == CLIENT else Role.KEY_WORKER
    return Signature(
        user,
        role,
        number,
        content_hash or VERSIONS[number],
        outcome,
        T0 + timedelta(minutes=minutes),
    )


def state(sigs, head=3, worker=WORKER):
    return decide(VersionRef(head, VERSIONS[head]), VERSIONS, sigs, CLIENT, worker)


def test_one_signature_is_not_agreed():
    result = state([sig(CLIENT, 3)])
    assert result.state is State.AWAITING_SIGNATURE and result.agreed is None
    assert result.waiting_for == (Role.KEY_WORKER,)


def test_both_on_the_same_version_is_agreed():
    result = state([sig(CLIENT, 3), sig(WORKER, 3, Outcome.SIGNED_WITH_COMMENT)])
    assert result.state is State.AGREED and result.agreed == VersionRef(3, "h3")


def test_signatures_on_version_2_do_not_count_for_version_3():
    result = state([sig(CLIENT, 2), sig(WORKER, 2)])
    assert result.state is State.DRAFT
    assert result.agreed == VersionRef(2, "h2")  # still in force beside the new draft
    assert result.waiting_for == (Role.CLIENT, Role.KEY_WORKER)


def test_signatures_on_different_versions_never_combine():
    result = state([sig(CLIENT, 2), sig(WORKER, 3)])
    assert result.agreed is None and result.ever_agreed == frozenset()


def test_every_version_agreed_is_known_beside_the_one_in_force():
    result = state([sig(CLIENT, 1), sig(WORKER, 1, minutes=1), sig(CLIENT, 2, minutes=2)])
    assert result.agreed == VersionRef(1, "h1") and result.ever_agreed == {1}
    both = [sig(CLIENT, 1), sig(WORKER, 1, minutes=1), sig(CLIENT, 3, minutes=2)]
    result = state([*both, sig(WORKER, 3, minutes=3)])
    assert result.agreed == VersionRef(3, "h3") and result.ever_agreed == {1, 3}


def test_a_signature_on_other_content_than_the_version_holds_does_not_count():
    assert (
        state([sig(CLIENT, 3), sig(WORKER, 3, content_hash="tampered")]).state
        is State.AWAITING_SIGNATURE
    )


def test_a_decline_is_a_state_of_its_own_and_a_later_sign_replaces_it():
    declined = state([sig(CLIENT, 3, Outcome.DECLINED), sig(WORKER, 3)])
    assert declined.state is State.DECLINED and declined.waiting_for == (Role.CLIENT,)
    later = state([sig(CLIENT, 3, Outcome.DECLINED), sig(WORKER, 3), sig(CLIENT, 3, minutes=5)])
    assert later.state is State.AGREED


def test_only_the_current_key_worker_counts():
    result = state([sig(CLIENT, 3), sig(OLD_WORKER, 3)], worker=WORKER)
    assert result.state is State.AWAITING_SIGNATURE


HANDOVER = T0 + timedelta(minutes=30)
# The old worker held the caseload until the handover, the new one since.
HANDED_OVER = Caseload(
    [Tenure(OLD_WORKER, T0 - timedelta(days=1), HANDOVER), Tenure(WORKER, HANDOVER)]
)


def test_a_version_agreed_before_a_handover_stays_agreed():
    result = state([sig(CLIENT, 3), sig(OLD_WORKER, 3, minutes=5)], worker=HANDED_OVER)
    assert result.state is State.AGREED and result.agreed == VersionRef(3, "h3")
    assert result.agreed_at == T0 + timedelta(minutes=5)


def test_a_draft_half_signed_before_a_handover_needs_the_new_worker():
    # The old worker signed, then handed over; the client signing afterwards does not complete it.
    half = state([sig(OLD_WORKER, 3, minutes=5), sig(CLIENT, 3, minutes=40)], worker=HANDED_OVER)
    assert half.state is State.AWAITING_SIGNATURE and half.agreed is None
    assert half.waiting_for == (Role.KEY_WORKER,)
    done = state(
        [sig(OLD_WORKER, 3, minutes=5), sig(CLIENT, 3, minutes=40), sig(WORKER, 3, minutes=50)],
        worker=HANDED_OVER,
    )
    assert done.state is State.AGREED and done.agreed_at == T0 + timedelta(minutes=50)


def test_an_older_agreed_version_stays_in_force_beside_a_draft_after_a_handover():
    result = state([sig(CLIENT, 2), sig(OLD_WORKER, 2, minutes=1)], worker=HANDED_OVER)
    assert result.state is State.DRAFT and result.agreed == VersionRef(2, "h2")
    assert result.waiting_for == (Role.CLIENT, Role.KEY_WORKER)


def test_nothing_recorded_after_agreement_takes_it_back():
    # Records made before the rule existed: a decline after both had signed.
    result = state([sig(CLIENT, 3), sig(WORKER, 3, minutes=1), sig(CLIENT, 3, Outcome.DECLINED, 2)])
    assert result.state is State.AGREED and result.agreed == VersionRef(3, "h3")


def test_nobody_signs_a_version_twice_or_signs_or_declines_an_agreed_one():
    half = state([sig(CLIENT, 3)])
    assert "already signed version 3" in refusal(half, 3, CLIENT, Outcome.SIGNED)
    assert "already signed version 3" in refusal(half, 3, CLIENT, Outcome.DECLINED)
    assert refusal(half, 3, WORKER, Outcome.DECLINED) is None
    declined = state([sig(CLIENT, 3, Outcome.DECLINED)])
    assert "already declined to sign version 3" in refusal(declined, 3, CLIENT, Outcome.SIGNED)
    agreed = state([sig(CLIENT, 3), sig(WORKER, 3)])
    assert "can no longer be declined" in refusal(agreed, 3, WORKER, Outcome.DECLINED)
    assert "already agreed" in refusal(agreed, 3, OLD_WORKER, Outcome.SIGNED)
    draft_after_agreement = state([sig(CLIENT, 2), sig(WORKER, 2)])
    assert refusal(draft_after_agreement, 3, CLIENT, Outcome.DECLINED) is None


def test_a_version_the_other_declined_cannot_be_signed_but_can_be_declined_too():
    """Signing it was taken, and said "agreed once the other signs", which could not happen."""
    declined = state([sig(WORKER, 3, Outcome.DECLINED)])
    for agreeing in (Outcome.SIGNED, Outcome.SIGNED_WITH_COMMENT):
        assert "was declined, so it cannot become agreed" in refusal(declined, 3, CLIENT, agreeing)
    assert refusal(declined, 3, CLIENT, Outcome.DECLINED) is None
    assert refusal(declined, 3, CLIENT) is None  # the page still offers the decline
    # A decline by a key worker who no longer holds the client does not stand in the way.
    handed_over = state([sig(OLD_WORKER, 3, Outcome.DECLINED)])
    assert refusal(handed_over, 3, CLIENT, Outcome.SIGNED) is None


def test_nothing_written():
    assert decide(None, {}, [], CLIENT, WORKER).state is State.NOTHING_WRITTEN


def test_outcomes_need_the_right_words():
    assert validate_outcome("signed", " ") == (Outcome.SIGNED, "")
    assert validate_outcome("signed_with_comment", "revisit goal 3") == (
        Outcome.SIGNED_WITH_COMMENT,
        "revisit goal 3",
    )
    for raw, comment, field in [
        ("declined", "", "comment"),
        ("signed_with_comment", " ", "comment"),
        ("maybe", "", "outcome"),
        ("signed", "revisit goal 3", "comment"),  # kept nowhere, so refused, not dropped
    ]:
        with pytest.raises(ContentInvalid) as err:
            validate_outcome(raw, comment)
        assert field in err.value.errors


def test_a_key_worker_handed_on_is_one_whose_time_ended_as_another_s_began():
    assert HANDED_OVER.handed_on == frozenset({OLD_WORKER})
    # Handed over, then the client left: the first still handed on, the second did not.
    left = HANDOVER + timedelta(days=3)
    ended = Caseload(
        [Tenure(OLD_WORKER, T0 - timedelta(days=1), HANDOVER), Tenure(WORKER, HANDOVER, left)]
    )
    assert ended.handed_on == frozenset({OLD_WORKER})
    # Left, and came back later to a new key worker: nobody was handed on.
    back = Caseload(
        [Tenure(OLD_WORKER, T0, HANDOVER), Tenure(WORKER, HANDOVER + timedelta(days=30))]
    )
    assert back.handed_on == frozenset()


def test_the_same_outcome_given_again_is_already_given_not_refused():
    """The same form sent twice: the first counted; said as done, with where it stands."""
    half = state([sig(CLIENT, 3)])
    assert already_given(half, 3, CLIENT, Outcome.SIGNED) == (
        "You have already signed version 3: it counts once. It is agreed once the other person "
        "signs it too."
    )
    assert already_given(half, 3, CLIENT, Outcome.DECLINED) is None  # another outcome: refused
    assert already_given(half, 3, WORKER, Outcome.SIGNED) is None  # not theirs yet
    agreed = state([sig(CLIENT, 3), sig(WORKER, 3)])
    assert already_given(agreed, 3, WORKER, Outcome.SIGNED).endswith("It is agreed by both of you.")
    declined = state([sig(CLIENT, 3, Outcome.DECLINED)])
    assert already_given(declined, 3, CLIENT, Outcome.DECLINED) == (
        "You have already declined to sign version 3: it counts once."
    )
    assert already_given(half, 3, CLIENT, None) is None
