"""Numbers in a document's content sent through the API: JSON has numbers, so only an integer
is a whole number. 12.7 is not cut to 12, "12" is not read as 12 and true is not 1: each is
refused by name, with how to send it, and nothing is saved."""

from __future__ import annotations

import json

import pytest

from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.api.conftest import assert_error, bearer
from tests.factories import make_agreement

AS_JSON = 'Send it as a whole number without quotes: 2, not "2", 2.0 or true.'
# Written as JSON text, so 1e3 and 12.0 arrive as the floats a program sent.
SENT = ["12.7", '"12"', "true", "1e3", "12.0", "null"]


def _post(client, token, doc_id, content: str):
    body = f'{{"base_version": 2, "content": {content}}}'
    return client.post(
        f"/api/v1/documents/{doc_id}/versions",
        data=body,
        content_type="application/json",
        headers=bearer(token),
    )


def _current(client, token, doc_id) -> dict:
    return client.get(f"/api/v1/documents/{doc_id}", headers=bearer(token)).get_json()["content"]


@pytest.mark.parametrize("weeks", SENT)
def test_a_review_interval_that_is_not_a_json_integer_is_refused_and_nothing_saved(
    client, db, world, token_for, weeks
):
    kw = token_for(world.own.key_worker)
    content = _current(client, kw, world.own_plan)
    content["what_matters"]["text"] = "Changed, and not to be saved."
    text = json.dumps(content).replace(
        '"review_interval_weeks": 12', f'"review_interval_weeks": {weeks}'
    )

    error = assert_error(_post(client, kw, world.own_plan, text), 422)

    assert error["fields"] == {
        "content-review_interval_weeks": [
            f'"Review this plan every how many weeks?" is a whole number from 1 to 52. {AS_JSON}'
        ]
    }
    assert documents.count_versions(db, world.own_plan) == 2
    assert _current(client, kw, world.own_plan)["review_interval_weeks"] == 12


def test_an_integer_review_interval_is_saved(client, db, world, token_for):
    kw = token_for(world.own.key_worker)
    content = _current(client, kw, world.own_plan)
    content["review_interval_weeks"] = 8

    response = _post(client, kw, world.own_plan, json.dumps(content))

    assert response.status_code == 201, response.get_json()
    assert _current(client, kw, world.own_plan)["review_interval_weeks"] == 8


@pytest.mark.parametrize("nights", SENT)
def test_an_agreements_number_that_is_not_a_json_integer_is_refused_and_nothing_saved(
    client, db, world, token_for, nights
):
    doc = make_agreement(world.own.key_worker, world.own.client)
    kw = token_for(world.own.key_worker)
    content = documents.open_document(db, actor_for(world.own.key_worker), doc).content
    content["terms"]["self_referral"]["max_nights"] = "NIGHTS"
    text = json.dumps(content).replace('"NIGHTS"', nights)

    response = client.post(
        f"/api/v1/documents/{doc}/versions",
        data=f'{{"base_version": 1, "content": {text}}}',
        content_type="application/json",
        headers=bearer(kw),
    )

    error = assert_error(response, 422)
    assert error["fields"] == {
        "content-terms-self_referral-max_nights": [
            '"Agreed terms, self-referral, for at most how many nights?" is a whole number '
            f"from 1 to 60. {AS_JSON}"
        ]
    }
    assert documents.count_versions(db, doc) == 1
