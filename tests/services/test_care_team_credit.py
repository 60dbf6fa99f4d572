"""Care team members through the service: who listed and changed each member is read from
the versions when the version a save is based on does not say (members listed before they
said so), and a member someone else took out is put back as any item is."""

import pytest
import sqlalchemy as sa

from careplan.db.models import Version
from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.factories import Circle, plan_with_a_member_taken_out, saved_before_care_team_credit


@pytest.fixture
def circle(app):
    return Circle()


def _stored(db, doc) -> list[tuple[int, str, dict]]:
    with db.read() as s:
        return s.execute(
            sa.select(Version.number, Version.content_hash, Version.content)
            .where(Version.document_id == doc)
            .order_by(Version.number)
        ).all()


def _person(who) -> dict:
    return {"id": who.id, "name": who.display_name, "role": who.role}


def test_members_listed_before_are_credited_to_who_listed_and_changed_them_not_the_saver(
    db, circle
):
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    with saved_before_care_team_credit():
        doc = documents.create_document(db, client, circle.client.id)
        documents.save_version(db, client, doc, 0, {"care_team": [{"name": "Dr Patel"}]})
        content = documents.open_document(db, worker, doc).content
        content["care_team"].append({"name": "Sam Jones", "role": "Housing officer"})
        documents.save_version(db, worker, doc, 1, content, "Added Sam")
        content = documents.open_document(db, client, doc).content
        content["care_team"][1]["role"] = "Housing"
        documents.save_version(db, client, doc, 2, content, "Sam's job")
    before = _stored(db, doc)
    assert all("written_by" not in m for m in before[-1].content["care_team"])

    # Saved as it is, nothing anyone wrote changes: no new version only to say who wrote it.
    same = documents.save_version(
        db, worker, doc, 3, documents.open_document(db, worker, doc).content
    )
    assert not same.saved

    # The key worker writes elsewhere: every member is credited as the versions show.
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "Being listened to."}
    assert documents.save_version(db, worker, doc, 3, content, "").number == 4
    patel, sam = documents.open_document(db, worker, doc).content["care_team"]
    client_is, worker_is = _person(circle.client), _person(circle.key_worker)
    assert (patel["written_by"], patel["changed_by"]) == (client_is, client_is)
    assert (sam["written_by"], sam["changed_by"]) == (worker_is, client_is)
    assert sam["writers_words"]["role"] == "Housing officer"
    # The versions it was read from are as they were.
    assert _stored(db, doc)[:3] == before
    # The sign form names the worker's member the client changed.
    page = documents.open_document(db, worker, doc)
    assert page.words_changed_by_others(circle.key_worker.id) == [
        ("My care team", [circle.client.display_name], ["“Sam Jones”"])
    ]


def test_a_member_the_worker_took_out_is_put_back_as_the_client_listed_them(db, circle):
    doc, record_id = plan_with_a_member_taken_out(circle)
    client = actor_for(circle.client)
    page = documents.open_document(db, client, doc)
    assert page.taken_out_from(circle.client.id) == [
        ("My care team", [f"{circle.key_worker.display_name} took out someone you listed"])
    ]

    done = documents.put_back(db, client, doc, 2, record_id)

    assert done.saved.number == 3 and done.what == "person “Dr Patel”"
    page = documents.open_document(db, client, doc)
    [member] = page.content["care_team"]
    assert member["id"] == record_id and member["name"] == "Dr Patel"
    assert member["written_by"] == _person(circle.client) == member["changed_by"]
    assert "removed_items" not in page.content
    assert page.shown.change_note == "Put back the person: Dr Patel"
