"""Putting back an item someone took out through the API, as with the document page's "Put it
back" button: the same rules, said in JSON."""

from __future__ import annotations

from careplan.domain.taken_out import NOT_TAKEN_OUT
from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.api.conftest import assert_error, bearer
from tests.factories import Circle, plan_with_a_step_taken_out


def _put_back(client, token: str, doc: int, **body):
    return client.post(f"/api/v1/documents/{doc}/put-back", json=body, headers=bearer(token))


def test_put_back_once_then_said_to_be_back_and_refused_as_the_page_refuses(client, db, token_for):
    circle = Circle()
    doc, record_id = plan_with_a_step_taken_out(circle)
    me = token_for(circle.client)

    done = _put_back(client, me, doc, base_version=2, record_id=record_id)
    assert done.status_code == 201, done.get_json()
    assert done.get_json() == {
        "document_id": doc,
        "number": 3,
        "saved": True,
        "already_put_back": False,
        "put_back": "step “Call the council”",
    }
    step = documents.open_document(db, actor_for(circle.client), doc).content["goals"][0]
    assert step["steps"][0]["id"] == record_id
    # Sent again (a retry after a lost answer): it is back, and nothing more is saved.
    again = _put_back(client, me, doc, base_version=2, record_id=record_id)
    assert again.status_code == 200
    assert again.get_json() | {"put_back": ""} == {
        "document_id": doc,
        "number": 3,
        "saved": False,
        "already_put_back": True,
        "put_back": "",
    }

    # Not kept in that version: 404, saying so; a version it does not have: beside it.
    missing = assert_error(_put_back(client, me, doc, base_version=3, record_id=record_id), 404)
    assert missing["message"] == NOT_TAKEN_OUT
    no_such = assert_error(_put_back(client, me, doc, base_version=9, record_id=record_id), 422)
    assert "base_version" in no_such["fields"]
    assert_error(_put_back(client, me, doc, base_version=2), 422)  # which item?
    reader = token_for(circle.supervisor)
    assert_error(_put_back(client, reader, doc, base_version=2, record_id=record_id), 403)
    assert documents.count_versions(db, doc) == 3


def test_a_newer_version_or_one_like_it_there_is_a_conflict(client, db, token_for):
    circle = Circle()
    doc, record_id = plan_with_a_step_taken_out(circle)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    typed = {"text": "CALL the council", "owner": {"kind": "client"}, "due": "2027-05-01"}
    content["goals"][0]["steps"] = [typed]
    documents.save_version(db, worker, doc, 2, content, "Typed it in")
    me = token_for(circle.client)

    late = assert_error(_put_back(client, me, doc, base_version=2, record_id=record_id), 409)
    name = circle.key_worker.display_name
    assert late["message"].startswith(f"{name} saved version 3 after version 2, so nothing")
    assert late["conflict"] == {"base_version": 2, "head_version": 3, "saved_by": name}

    there = assert_error(_put_back(client, me, doc, base_version=3, record_id=record_id), 409)
    assert there["looks_the_same"] == {
        "item": "step",
        "putting_back": "Call the council",
        "there": "CALL the council",
        "section": "Goals and steps",
        "goal": "Find a flat",
    }
    assert there["message"].endswith("To put it back anyway, send even_if_there: true.")
    assert documents.count_versions(db, doc) == 3
    assert_error(
        _put_back(client, me, doc, base_version=3, record_id=record_id, even_if_there="yes"), 422
    )
    anyway = _put_back(client, me, doc, base_version=3, record_id=record_id, even_if_there=True)
    assert anyway.status_code == 201 and anyway.get_json()["number"] == 4


def test_the_openapi_document_describes_putting_back(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/documents/{document_id}/put-back"]["post"]
    assert {"200", "201", "403", "404", "409", "422"} <= set(op["responses"])
    assert "already_put_back" in op["responses"]["200"]["description"]
    assert "even_if_there" in op["description"] and "write" in op["description"]
    body = spec["components"]["schemas"]["PutBackBody"]
    assert set(body["properties"]) == {"base_version", "record_id", "even_if_there"}
