"""When administrators are told to renew the signing certificate."""

from datetime import date, timedelta

from careplan.domain.certificates import (
    RENEW_WITHIN_DAYS,
    chain_renewal_notice,
    renewal_notice,
    unrelated_chain,
)

TODAY = date(2027, 3, 1)


def test_nothing_is_said_until_the_certificate_needs_renewing():
    assert renewal_notice(TODAY + timedelta(days=RENEW_WITHIN_DAYS + 1), TODAY) is None


def test_in_good_time_then_urgently_then_after_it_ran_out():
    text, urgent = renewal_notice(TODAY + timedelta(days=RENEW_WITHIN_DAYS), TODAY)
    assert "runs out on 30 April 2027, in 60 days" in text and not urgent
    text, urgent = renewal_notice(TODAY + timedelta(days=14), TODAY)
    assert "in 14 days" in text and urgent
    assert "today" in renewal_notice(TODAY, TODAY)[0]
    text, urgent = renewal_notice(TODAY - timedelta(days=1), TODAY)
    assert "ran out on 28 February 2027" in text and "replace it now" in text and urgent


def test_a_certificate_of_the_chain_is_named_and_the_issuer_is_asked():
    assert chain_renewal_notice("CN=Trust CA", TODAY + timedelta(days=61), TODAY) is None
    text, urgent = chain_renewal_notice("CN=Trust CA", TODAY + timedelta(days=30), TODAY)
    assert "vouches for the signing certificate (CN=Trust CA) runs out" in text
    assert "in 30 days" in text and "whoever issued it" in text and not urgent
    text, urgent = chain_renewal_notice("CN=Trust CA", TODAY - timedelta(days=3), TODAY)
    assert "ran out on 26 February 2027" in text and "do not trust seals" in text and urgent


def test_chain_certificates_off_the_way_to_the_root_are_named():
    signing = ("CN=Seal", "CN=CA")
    chain = [("CN=Root", "CN=Root"), ("CN=CA", "CN=Root"), ("CN=Other", "CN=Other")]
    assert unrelated_chain(signing, chain) == ["CN=Other"]
    assert unrelated_chain(signing, chain[:2]) == []
    # A root named on its own, without the intermediate between: it vouches for nothing here.
    assert unrelated_chain(signing, [("CN=Root", "CN=Root")]) == ["CN=Root"]
    # Certificates that issue each other in a circle do not loop for ever.
    assert unrelated_chain(("CN=S", "CN=A"), [("CN=A", "CN=B"), ("CN=B", "CN=A")]) == []
