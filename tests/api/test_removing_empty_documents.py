"""A document only started (nothing saved in it) is removed through the API as on its page:
by whoever started it, while nothing is saved in it and nobody is writing in it (the caller
included: their words typed on the web are not thrown away by a program)."""

from __future__ import annotations

import sqlalchemy as sa

from careplan.db.models import AuditEvent, Document
from careplan.services import documents, drafts
from careplan.services.accounts import actor_for
from tests.api.conftest import assert_error, bearer
from tests.factories import Circle, plan_content


def _start(client, token, client_id: int) -> int:
    started = client.post(
        f"/api/v1/clients/{client_id}/documents", json={"kind": "care_plan"}, headers=bearer(token)
    )
    assert started.status_code == 201, started.get_json()
    return started.get_json()["id"]


def test_who_started_it_removes_it_and_a_save_after_is_told(client, db, token_for):
    circle = Circle()
    worker, me = token_for(circle.key_worker), token_for(circle.client)
    doc = _start(client, worker, circle.client.id)
    address = f"/api/v1/documents/{doc}"
    assert client.get(address, headers=bearer(worker)).get_json()["removable"] is True
    assert client.get(address, headers=bearer(me)).get_json()["removable"] is False

    # Only the one who started it; a token that may only read may not.
    refused = assert_error(client.delete(address, headers=bearer(me)), 403)
    assert refused["message"] == documents.NOT_YOURS_TO_REMOVE
    reader = token_for(circle.key_worker, scopes=("read",))
    assert_error(client.delete(address, headers=bearer(reader)), 403)
    assert_error(client.delete(address, headers=bearer(token_for(Circle().key_worker))), 404)

    removed = client.delete(address, headers=bearer(worker))
    assert removed.status_code == 204 and removed.data == b""
    with db.read() as s:
        assert s.get(Document, doc) is None
        assert (
            s.scalar(
                sa.select(AuditEvent.actor_id).where(
                    AuditEvent.action == "document.remove", AuditEvent.object_id == doc
                )
            )
            == circle.key_worker.id
        )

    # Asked again, or saved into after: said plainly, to those who may read the records.
    again = assert_error(client.delete(address, headers=bearer(worker)), 404)
    assert again["message"] == "You removed this document: nothing had been saved in it."
    late = client.post(
        f"{address}/versions",
        json={"base_version": 0, "content": plan_content()},
        headers=bearer(me),
    )
    name = circle.key_worker.display_name
    assert assert_error(late, 404)["message"] == (
        f"{name} removed this document: nothing had been saved in it."
    )
    stranger = client.get(address, headers=bearer(token_for(Circle().key_worker)))
    assert "removed" not in assert_error(stranger, 404)["message"]


def test_one_with_the_callers_own_words_typed_on_the_web_stays(client, db, token_for):
    circle = Circle()
    worker = token_for(circle.key_worker)
    doc = _start(client, worker, circle.client.id)
    words = [("what_matters-text", "Typed in the browser")]
    drafts.keep(db, actor_for(circle.key_worker), doc, 0, "", words)
    refused = assert_error(client.delete(f"/api/v1/documents/{doc}", headers=bearer(worker)), 409)
    assert refused["message"] == documents.OWN_WRITING
    kept = documents.open_for_editing(db, actor_for(circle.key_worker), doc).draft
    assert kept.fields == words


def test_one_saved_in_or_with_someone_elses_writing_stays(client, db, token_for):
    circle = Circle()
    worker = token_for(circle.key_worker)
    doc = _start(client, worker, circle.client.id)
    address = f"/api/v1/documents/{doc}"
    drafts.keep(db, actor_for(circle.client), doc, 0, "", [("what_matters-text", "Mine")])
    writing = assert_error(client.delete(address, headers=bearer(worker)), 409)
    assert writing["message"] == documents.OTHERS_WRITING
    drafts.discard(db, actor_for(circle.client), doc)

    documents.save_version(db, actor_for(circle.client), doc, 0, plan_content())
    saved = assert_error(client.delete(address, headers=bearer(worker)), 409)
    assert saved["message"] == documents.NOT_EMPTY
    assert client.get(address, headers=bearer(worker)).get_json()["removable"] is False


def test_the_openapi_document_describes_the_removal(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    removal = spec["paths"]["/api/v1/documents/{document_id}"]["delete"]
    assert removal["summary"] == "Remove a document nothing was saved in"
    assert {"204", "403", "404", "409"} <= set(removal["responses"])
    assert "only the person who started it" in removal["description"]
    document = spec["components"]["schemas"]["Document"]["properties"]
    assert "DELETE" in document["removable"]["description"]
