"""Signing an agreement with empty key parts needs the signer to confirm them, and the PDF
shows them as left blank on purpose (real renders, read back with pypdf)."""

import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from careplan.db.models import AuditEvent, SignatureRecord
from careplan.domain.errors import ContentInvalid
from careplan.services import documents, pdfs, signoff
from careplan.services.accounts import actor_for
from tests.factories import PASSWORD, Circle, make_agreement

FILLED = {
    "shared_goals": {"goals": [{"title": "Keep my flat", "steps": []}]},
    "boundaries": {"out_of_hours": [{"name": "Out-of-hours team", "how_to_contact": "0161"}]},
    "contingencies": {
        "warning_signs": {"text": "I stop sleeping."},
        "contacts": [{"name": "Jo", "role": "sister"}],
        "self_referral_how": {"text": "I ring the ward."},
    },
}


@pytest.fixture
def circle(app):
    return Circle()


def sign(db, user, doc, outcome="signed", comment="", confirm=False):
    return signoff.sign(db, actor_for(user), doc, 1, outcome, comment, PASSWORD, confirm)


def signatures(db) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord))


def test_signing_with_empty_crisis_contacts_is_refused_until_confirmed(db, circle):
    sections = {**FILLED, "contingencies": {**FILLED["contingencies"], "contacts": []}}
    doc = make_agreement(circle.key_worker, circle.client, sections)
    page = documents.open_document(db, actor_for(circle.client), doc)
    assert [p.label for p in page.empty_key_parts] == [
        "When I am not well: Who should be contacted?"
    ]
    for person in (circle.client, circle.key_worker):
        with pytest.raises(ContentInvalid) as err:
            sign(db, person, doc)
        message = err.value.errors["confirm_blank"]
        assert message.startswith("Nothing was signed: some important parts are empty")
        assert "(When I am not well: Who should be contacted?)" in message
    assert signatures(db) == 0

    sign(db, circle.client, doc, confirm=True)
    assert sign(db, circle.key_worker, doc, confirm=True).state.value == "agreed"
    with db.read() as s:
        details = s.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "sign")).all()
    assert [d["left_blank"] for d in details] == [["contingencies.contacts"]] * 2


def test_declining_or_a_complete_agreement_needs_no_confirmation(db, circle):
    empty = make_agreement(circle.key_worker, circle.client)
    sign(db, circle.client, empty, "declined", "Not until the contacts are in.")
    complete = make_agreement(circle.key_worker, circle.client, FILLED)
    sign(db, circle.client, complete)
    assert signatures(db) == 2


@pytest.fixture
def settings(app):
    return pdfs.PdfSettings.from_config(app.config, app.instance_path)


def text_of(data: bytes) -> str:
    pages = PdfReader(io.BytesIO(data)).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


def test_the_pdf_says_on_purpose_only_of_the_empty_parts_the_signers_confirmed(
    db, circle, settings
):
    sections = {**FILLED, "contingencies": {"warning_signs": {"text": "I stop sleeping."}}}
    doc = make_agreement(circle.key_worker, circle.client, sections)
    client = actor_for(circle.client)
    draft, _ = pdfs.draft_pdf(db, client, doc, 1, settings)
    assert "Who should be contacted? Not filled in yet" in text_of(draft)

    for person in (circle.client, circle.key_worker):
        sign(db, person, doc, confirm=True)
    assert pdfs.run_pending(db, settings) == 1
    text = text_of(pdfs.sealed_pdf(db, client, doc, 1, settings).path.read_bytes())
    assert "Who should be contacted? Left blank on purpose" in text
    # Empty too, but not a part anyone was asked to confirm.
    handed = "Which decisions do I hand over for a while, to whom, and until when? Left blank"
    assert f"{handed} " in text and f"{handed} on purpose" not in text
    assert "Who can I contact out of hours? Out-of-hours team" in text
    assert "Not filled in" not in text


def test_a_wrong_password_is_named_with_every_other_problem(db, circle):
    doc = make_agreement(circle.key_worker, circle.client)  # its key parts are empty
    client = actor_for(circle.client)
    with pytest.raises(ContentInvalid) as err:
        signoff.sign(db, client, doc, 1, "signed", "", "not the password")
    assert list(err.value.errors) == ["confirm_blank", "password"]  # as the form orders them
    assert err.value.errors["password"] == "That password is not right. Nothing was signed."
    with pytest.raises(ContentInvalid) as err:
        signoff.sign(db, client, doc, 1, "signed_with_comment", " ", "not the password")
    assert list(err.value.errors) == ["confirm_blank", "comment", "password"]
    # Not choosing yet is not signing: no empty part to confirm then.
    with pytest.raises(ContentInvalid) as err:
        signoff.sign(db, client, doc, 1, "", "", "not the password")
    assert list(err.value.errors) == ["outcome", "password"]
    with pytest.raises(ContentInvalid) as err:  # the right password: the rest is still said
        signoff.sign(db, client, doc, 1, "signed", "", PASSWORD)
    assert list(err.value.errors) == ["confirm_blank"]
    assert signatures(db) == 0
