"""The API refuses a signature on a version whose decision was handed over until a day that
has passed since it was saved, as the web does: 409, the same words, nothing signed; its
sign-off says why beforehand, and declining stays open."""

from __future__ import annotations

from careplan.db.models import SignatureRecord
from tests.api.conftest import assert_error, bearer
from tests.factories import PASSWORD, Circle
from tests.web.test_signing_passed_days import _agreement


def test_the_api_refuses_to_sign_with_the_same_words_and_signs_nothing(client, db, token_for):
    circle = Circle()
    doc, day = _agreement(circle)
    said = (
        f"In “When I am not well”, the decision “My money” was handed over to My sister until "
        f"{day}, and that day has passed. Please change that day, or take the decision out, "
        "then sign. Nothing was signed."
    )
    me = bearer(token_for(circle.client))
    signoff = client.get(f"/api/v1/documents/{doc}/signatures", headers=me).get_json()
    assert signoff["refusal"] == said
    for body in ({}, {"comment": "Fine by me."}):
        refused = client.post(
            f"/api/v1/documents/{doc}/versions/1/sign",
            json={"password": PASSWORD, "confirm_blank": True, **body},
            headers=me,
        )
        assert assert_error(refused, 409)["message"] == said
    with db.read() as s:
        assert s.query(SignatureRecord).count() == 0
    declined = client.post(
        f"/api/v1/documents/{doc}/versions/1/decline",
        json={"password": PASSWORD, "reason": "That date has gone by."},
        headers=me,
    )
    assert declined.status_code == 200 and declined.get_json()["state"] == "declined"
