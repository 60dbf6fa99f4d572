"""Putting back an item someone took out, through the service: a save like any other."""

import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent, EditDraft, Version
from careplan.services import documents, drafts
from careplan.services.accounts import actor_for
from careplan.services.errors import Conflict, Invalid, NotFound, ReadOnly
from tests.factories import Circle, plan_with_a_step_taken_out


@pytest.fixture
def circle(app):
    return Circle()


def _versions(db, doc) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).where(Version.document_id == doc))


def test_putting_back_saves_a_new_version_with_the_step_as_its_writer_had_it(db, circle):
    doc, record_id = plan_with_a_step_taken_out(circle)
    worker = actor_for(circle.key_worker)
    drafts.keep(db, worker, doc, 2, "", [("what_matters-text", "Half typed")])

    done = documents.put_back(db, worker, doc, 2, record_id)

    assert done.saved.number == 3 and done.what == "step “Call the council”"
    page = documents.open_document(db, worker, doc)
    [step] = page.content["goals"][0]["steps"]
    assert step["id"] == record_id and step["text"] == "Call the council"
    assert step["written_by"]["id"] == circle.client.id == step["changed_by"]["id"]
    assert "removed_items" not in page.content["goals"][0]
    assert page.shown.change_note == "Put back the step: Call the council"
    assert page.shown.author_id == circle.key_worker.id
    with db.read() as s:
        edits = s.scalars(
            sa.select(AuditEvent.detail).where(
                AuditEvent.object_id == doc, AuditEvent.action == "document.edit"
            )
        ).all()
        # What the worker was typing is not what was saved: it stays theirs to save.
        assert s.scalar(sa.select(sa.func.count()).select_from(EditDraft)) == 1
    assert edits[-1]["version"] == 3


def test_putting_back_on_an_old_version_is_a_conflict_and_saves_nothing(db, circle):
    doc, record_id = plan_with_a_step_taken_out(circle)
    client = actor_for(circle.client)
    content = documents.open_document(db, client, doc).content
    content["what_matters"] = {"text": "My kids."}
    documents.save_version(db, client, doc, 2, content, "")
    with pytest.raises(Conflict) as refused:
        documents.put_back(db, client, doc, 2, record_id)
    assert (refused.value.base_number, refused.value.head_number) == (2, 3)
    assert _versions(db, doc) == 3


def test_what_is_not_taken_out_is_refused_and_nothing_changes(db, circle):
    doc, record_id = plan_with_a_step_taken_out(circle)
    client = actor_for(circle.client)
    documents.put_back(db, client, doc, 2, record_id)
    # An address naming what is not taken out (put back already, or never) is not found.
    for base, record in ((3, record_id), (3, "forged-id"), (2, "forged-id")):
        with pytest.raises(NotFound):
            documents.put_back(db, client, doc, base, record)
    with pytest.raises(Invalid):  # no such version
        documents.put_back(db, client, doc, 9, record_id)
    assert _versions(db, doc) == 3


def test_only_the_client_and_their_key_worker_may_put_back(db, circle):
    doc, record_id = plan_with_a_step_taken_out(circle)
    for reader in (circle.supervisor, circle.advocate):
        with pytest.raises(ReadOnly):
            documents.put_back(db, actor_for(reader), doc, 2, record_id)
    stranger = Circle()
    for outsider in (stranger.client, stranger.key_worker):
        with pytest.raises(NotFound):
            documents.put_back(db, actor_for(outsider), doc, 2, record_id)
    assert _versions(db, doc) == 2


def test_a_second_press_after_it_is_back_says_so_and_saves_nothing(db, circle):
    doc, record_id = plan_with_a_step_taken_out(circle)
    client = actor_for(circle.client)
    first = documents.put_back(db, client, doc, 2, record_id)
    assert (first.saved.number, first.saved.saved, first.already) == (3, True, False)
    for _ in range(2):  # a double, then a triple tap: all on version 2's button
        again = documents.put_back(db, client, doc, 2, record_id)
        assert (again.saved.number, again.saved.saved, again.already) == (3, False, True)
        assert again.what == "step “Call the council”"
    # The key worker's button, on the same old page: it is back, whoever put it back.
    assert documents.put_back(db, actor_for(circle.key_worker), doc, 2, record_id).already
    assert _versions(db, doc) == 3

    # Taken out again since: no longer back, so the old button is late, as any is.
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    content["goals"][0]["steps"] = []
    documents.save_version(db, worker, doc, 3, content, "Took it out again")
    with pytest.raises(documents.PutBackOvertaken) as refused:
        documents.put_back(db, client, doc, 2, record_id)
    assert refused.value.saved.number == 4
    assert _versions(db, doc) == 4


def test_two_presses_at_once_put_it_back_once(db, circle, monkeypatch):
    """Both read version 2 as the latest; the other press saves first."""
    doc, record_id = plan_with_a_step_taken_out(circle)
    client = actor_for(circle.client)
    save = documents.save_version

    def the_other_press_first(*args, **kwargs):
        monkeypatch.setattr(documents, "save_version", save)
        assert not documents.put_back(db, client, doc, 2, record_id).already
        return save(*args, **kwargs)

    monkeypatch.setattr(documents, "save_version", the_other_press_first)
    done = documents.put_back(db, client, doc, 2, record_id)
    assert (done.saved.number, done.saved.saved, done.already) == (3, False, True)
    assert _versions(db, doc) == 3


def test_one_that_looks_there_already_is_put_back_only_if_asked_again(db, circle):
    doc, record_id = plan_with_a_step_taken_out(circle)
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    content = documents.open_document(db, worker, doc).content
    typed = {"text": "call the council.", "owner": {"kind": "client"}, "due": "2027-05-01"}
    content["goals"][0]["steps"] = [typed]
    documents.save_version(db, worker, doc, 2, content, "Typed it in")
    with pytest.raises(documents.LooksAlreadyThere) as refused:
        documents.put_back(db, client, doc, 3, record_id)
    said = str(refused.value)
    assert said.startswith("“Goals and steps” already has a step “call the council.” in the goal")
    assert said.endswith("would list it twice. Nothing was changed.")
    assert refused.value.what == "step “Call the council”"
    assert _versions(db, doc) == 3

    done = documents.put_back(db, client, doc, 3, record_id, even_if_there=True)
    assert done.saved.number == 4 and not done.already
    steps = documents.open_document(db, client, doc).content["goals"][0]["steps"]
    # Both, as asked: the one put back where it stood, first in its goal.
    assert [s["text"] for s in steps] == ["Call the council", "call the council."]
