from datetime import date, timedelta

import pytest

from careplan.domain.blocks import DATE_NEEDED, DATE_NOT_REAL
from careplan.domain.contingency import (
    NOTHING_AGREED,
    ContingencyPeriod,
    SelfReferralTerms,
    check_self_referral,
    latest_end,
    validate_activation,
    validate_end_note,
    validate_self_referral_request,
)
from careplan.domain.errors import ContentInvalid

TODAY = date(2027, 3, 10)
TERMS = SelfReferralTerms(enabled=True, max_nights=5, min_days_since_discharge=14, agreed=True)


def test_a_request_within_both_terms_is_within():
    result = check_self_referral(TERMS, 5, TODAY, date(2027, 2, 24))  # 14 days ago exactly
    assert result.within_terms
    assert "14 days ago" in result.reasons[1]


def test_too_many_nights_is_outside_and_says_why():
    result = check_self_referral(TERMS, 6, TODAY, None)
    assert not result.within_terms
    assert result.reasons[0] == "6 nights is more than the agreed 5 nights."


def test_too_soon_after_a_discharge_is_outside():
    result = check_self_referral(TERMS, 2, TODAY, date(2027, 3, 1))
    assert not result.within_terms
    # Said as too soon: "within the agreed 14 days" read as keeping to the terms.
    assert result.reasons[1].startswith("The last stay ended only ")
    assert result.reasons[1].endswith("ago; the agreement asks for at least 14 days between stays.")


def test_no_terms_means_outside():
    assert not check_self_referral(
        SelfReferralTerms(False, 5, 14, True), 1, TODAY, None
    ).within_terms


def test_terms_nobody_agreed_give_no_right_and_say_so():
    """A draft (or one the client declined) proposing 5 nights is not an agreement: a request
    that would fit it is a plain request, neither within nor outside any terms."""
    proposed = SelfReferralTerms(
        enabled=True, max_nights=5, min_days_since_discharge=14, agreed=False
    )
    result = check_self_referral(proposed, 2, TODAY, None)
    assert not result.within_terms and not result.agreed
    assert result.reasons == (NOTHING_AGREED,)
    assert "Nothing in this agreement had been agreed yet" in NOTHING_AGREED
    assert check_self_referral(TERMS, 2, TODAY, None).agreed
    content = {"terms": {"self_referral": {"enabled": True, "max_nights": 5}}}
    assert not SelfReferralTerms.of(content, agreed=False).agreed
    assert SelfReferralTerms.of(content, agreed=True).max_nights == 5


def test_request_input_is_checked():
    with pytest.raises(ContentInvalid) as err:
        validate_self_referral_request("two", "2027-04-01", "", TODAY)
    assert set(err.value.errors) == {"nights", "last_discharge_on"}
    assert validate_self_referral_request("3", "", "", TODAY) == (3, None)
    with pytest.raises(ContentInvalid) as err:  # said, never cut short unseen
        validate_self_referral_request("3", "", "n" * 5001, TODAY)
    assert set(err.value.errors) == {"note"}
    with pytest.raises(ContentInvalid) as err:
        validate_end_note("n" * 5001)
    assert set(err.value.errors) == {"end_note"}
    assert validate_end_note(" Better now. ") == "Better now."


def test_a_contingency_is_temporary_and_schedules_a_review():
    period = ContingencyPeriod(date(2027, 3, 1), date(2027, 3, 14), None, 7)
    assert period.active(date(2027, 3, 14)) and not period.active(date(2027, 3, 15))
    assert period.post_crisis_review_due(date(2027, 3, 20)) == date(2027, 3, 21)
    ended_early = ContingencyPeriod(date(2027, 3, 1), date(2027, 3, 14), date(2027, 3, 5), 7)
    assert not ended_early.active(date(2027, 3, 6))
    assert ended_early.post_crisis_review_due(date(2027, 3, 6)) == date(2027, 3, 12)


def test_activation_needs_what_was_seen_and_an_end_within_the_agreed_limit():
    with pytest.raises(ContentInvalid) as err:
        validate_activation("", "", "2027-05-01", TODAY, 28)
    assert err.value.errors["observed"] == "Please say what was noticed."
    assert (
        err.value.errors["ends_on"]
        == "The agreement says this lasts at most 28 days: please choose 7 April 2027 or earlier."
    )
    # Nothing agreed yet: the limit is what is written so far, and said to be.
    with pytest.raises(ContentInvalid) as err:
        validate_activation("Not sleeping", "", "2027-05-01", TODAY, 28, agreed=False)
    said = err.value.errors["ends_on"]
    assert said == (
        "What is written so far says this lasts at most 28 days: please choose 7 April 2027 or "
        "earlier."
    )
    assert validate_activation("Not sleeping", "", "2027-03-20", TODAY, 28) == date(2027, 3, 20)


def test_nights_and_days_are_counted_in_words():
    one = SelfReferralTerms(enabled=True, max_nights=1, min_days_since_discharge=1, agreed=True)
    result = check_self_referral(one, 1, TODAY, date(2027, 3, 9))
    assert result.reasons == (
        "1 night is within the agreed 1 night.",
        "The last stay ended 1 day ago; the agreement asks for at least 1 day between stays.",
    )
    assert check_self_referral(one, 3, TODAY, None).reasons[0] == (
        "3 nights is more than the agreed 1 night."
    )


def test_nights_out_of_range_are_told_the_range_and_dates_as_every_date_box_is():
    for raw in ("-2", "0", "366", "two", ""):
        with pytest.raises(ContentInvalid) as err:
            validate_self_referral_request(raw, "", "", TODAY)
        assert err.value.errors["nights"] == "Please give the number of nights from 1 to 365."
    with pytest.raises(ContentInvalid) as err:
        validate_self_referral_request("3", "2027-02-31", "", TODAY)
    assert err.value.errors["last_discharge_on"] == DATE_NOT_REAL
    for raw, said in (("", DATE_NEEDED), ("2027-02-31", DATE_NOT_REAL)):
        with pytest.raises(ContentInvalid) as err:
            validate_activation("Low", "", raw, TODAY, 14)
        assert err.value.errors["ends_on"] == said
        assert "2027" not in said


def test_a_last_stay_ending_in_the_future_is_said_in_the_form_s_own_words():
    """It said "The last discharge cannot be in the future." of a box asking "When did the
    last stay end?"."""
    with pytest.raises(ContentInvalid) as err:
        validate_self_referral_request("3", "2027-03-11", "", TODAY)
    said = err.value.errors["last_discharge_on"]
    assert said == "The day the last stay ended cannot be in the future."
    assert "discharge" not in said
    # Nor before 1900, a typo in the year as in every other date box.
    with pytest.raises(ContentInvalid) as err:
        validate_self_referral_request("3", "1800-01-01", "", TODAY)
    assert (
        err.value.errors["last_discharge_on"] == "That date is before 1900. Please check the year."
    )
    assert validate_self_referral_request("3", "1900-01-01", "", TODAY)[1] == date(1900, 1, 1)


def test_the_start_form_offers_the_longest_end_the_agreement_allows():
    assert latest_end(TODAY, 14) == TODAY + timedelta(days=14)
    assert validate_activation("Not sleeping", "", latest_end(TODAY, 14).isoformat(), TODAY, 14)
    assert latest_end(TODAY, 0) is None  # no limit written: no date offered
