"""A document only started (no version saved yet) is not a document anyone has to account
for: the supervisors' dashboard and export leave it out (its client counts as having none),
the client's list shows it only to whoever started it or has writing kept in it, and the
person who started it may remove it. Nothing anyone typed into it is lost, and starting and
removing are both on the audit trail."""

from __future__ import annotations

import re
from datetime import date
from threading import Event, Thread

import pytest
import sqlalchemy as sa

from careplan.agreement_library import AgreementLibrary
from careplan.db.models import AuditEvent, Document, EditDraft, User
from careplan.domain.supervision import DashState, Filters
from careplan.paths import PROJECT_ROOT
from careplan.services import documents, drafts, handovers, supervision
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid, NotFound, ReadOnly, Removed
from tests.factories import Circle, KeyWorkerFactory, make_plan, plan_content

TODAY = date(2027, 3, 1)


@pytest.fixture
def circle(app):
    return Circle()


def _template(template_id: str = "general") -> dict:
    return AgreementLibrary(PROJECT_ROOT / "agreements").current().templates[template_id]


def _start_agreement(db, person, client) -> int:
    return documents.create_document(
        db, actor_for(person), client.id, "agreement", template=_template()
    )


def _board(db, circle):
    return supervision.dashboard(db, actor_for(circle.supervisor), Filters(), TODAY).rows


def _exported(db, circle) -> str:
    return "".join(supervision.export_csv(db, actor_for(circle.supervisor), Filters(), TODAY))


def _listed(db, person, client) -> dict[int, str]:
    records = documents.client_records(db, actor_for(person), client.id)
    return {d.id: d.state for d in records.documents}


def _actions(db, document_id: int) -> list[str]:
    with db.read() as s:
        return list(
            s.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.object_type == "document", AuditEvent.object_id == document_id)
                .order_by(AuditEvent.id)
            )
        )


def test_a_document_only_started_is_not_on_the_supervisors_dashboard_or_export(db, circle):
    agreement = _start_agreement(db, circle.key_worker, circle.client)
    plan = documents.create_document(db, actor_for(circle.key_worker), circle.client.id)
    rows = _board(db, circle)
    # Not "never agreed" for good: the client is one with no plan yet, as before the start.
    assert [(r.document_id, r.client_id, r.state) for r in rows] == [
        (None, circle.client.id, DashState.NO_PLAN)
    ]
    exported = _exported(db, circle)
    # (The notes after the table explain "never agreed"; no row's state says it.)
    assert f",{DashState.NEVER_AGREED.label}," not in exported
    assert ",no care plan yet," in exported
    with db.read() as s:
        assert s.get(User, circle.client.id).has_care_plan is False

    # Its first save makes it one: on the dashboard, and the client no longer without.
    documents.save_version(db, actor_for(circle.key_worker), plan, 0, plan_content())
    rows = _board(db, circle)
    assert [(r.document_id, r.state) for r in rows] == [(plan, DashState.NEVER_AGREED)]
    assert agreement not in {r.document_id for r in rows}
    with db.read() as s:
        assert s.get(User, circle.client.id).has_care_plan is True


def test_the_clients_list_shows_a_started_document_to_the_two_who_write_it(db, circle):
    """The client and their key worker see the same list; a started document is not on the
    record, so a supervisor is not shown it."""
    doc = _start_agreement(db, circle.key_worker, circle.client)
    kim = circle.key_worker.display_name
    assert _listed(db, circle.key_worker, circle.client) == {
        doc: "You started it; nothing is saved in it yet."
    }
    started_by_kim = {doc: f"{kim} started it; nothing is saved in it yet."}
    assert _listed(db, circle.client, circle.client) == started_by_kim
    assert _listed(db, circle.supervisor, circle.client) == {}
    # Starting the same template again gives the same one (no look-alike).
    assert _start_agreement(db, circle.client, circle.client) == doc
    assert _listed(db, circle.client, circle.client) == started_by_kim
    # Started by the client, the key worker's list says so.
    plan = documents.create_document(db, actor_for(circle.client), circle.client.id, "care_plan")
    assert _listed(db, circle.key_worker, circle.client)[plan] == (
        f"{circle.client.display_name} started it; nothing is saved in it yet."
    )
    # Saved, it is everyone's: in their list with its state.
    saved = make_plan(circle.client)
    assert saved in _listed(db, circle.supervisor, circle.client)


def test_who_started_it_removes_it_with_their_unsaved_writing_and_it_is_recorded(db, circle):
    worker = actor_for(circle.key_worker)
    doc = _start_agreement(db, circle.key_worker, circle.client)
    kept = drafts.keep(db, worker, doc, 0, "", [("sections.x", "Started typing")])
    assert documents.open_document(db, worker, doc).removable
    assert not documents.open_document(db, actor_for(circle.client), doc).removable

    # Asked on a page that showed that draft (saying it goes with it).
    shown = drafts.Seen(kept.revision)
    assert documents.remove_empty(db, worker, doc, shown) == (
        "Partnership agreement",
        circle.client.id,
    )
    with db.read() as s:
        assert s.get(Document, doc) is None
        assert s.scalar(sa.select(sa.func.count()).where(EditDraft.document_id == doc)) == 0
        removed = s.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.action == "document.remove", AuditEvent.object_id == doc
            )
        )
        assert removed.actor_id == circle.key_worker.id
        assert removed.client_id == circle.client.id
        assert removed.detail["template"]["id"] == "general"
    assert _actions(db, doc) == ["document.create", "document.remove"]
    with pytest.raises(NotFound):
        documents.open_document(db, worker, doc)
    # Started again, it is a new one.
    assert _start_agreement(db, circle.key_worker, circle.client) != doc


def test_ones_own_writing_not_shown_where_removal_was_asked_is_not_thrown_away(db, circle):
    worker = actor_for(circle.key_worker)
    doc = documents.create_document(db, worker, circle.client.id)
    words = [("what_matters-text", "Typed on the laptop")]
    kept = drafts.keep(db, worker, doc, 0, "", words, seen=drafts.Seen("", "laptop"))
    # A program (which shows no draft), or a page shown before the words were typed.
    for shown in (None, drafts.Seen("")):
        with pytest.raises(Invalid) as refused:
            documents.remove_empty(db, worker, doc, shown)
        assert str(refused.value) == documents.OWN_WRITING
    assert documents.open_for_editing(db, worker, doc).draft.fields == words
    # A phone's page showed that draft; typed in on the laptop since, it is refused alike.
    more = [("what_matters-text", "Typed on the laptop, and more")]
    drafts.keep(db, worker, doc, 0, "", more, seen=drafts.Seen(kept.revision, "laptop"))
    with pytest.raises(Invalid):
        documents.remove_empty(db, worker, doc, drafts.Seen(kept.revision, "phone"))
    assert documents.open_for_editing(db, worker, doc).draft.fields == more
    # The laptop's own page, which is keeping those words, removes it with them.
    documents.remove_empty(db, worker, doc, drafts.Seen(kept.revision, "laptop"))
    with pytest.raises(Removed):
        documents.open_document(db, worker, doc)


def test_removing_is_refused_once_saved_to_others_and_over_someone_elses_writing(db, circle):
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    doc = documents.create_document(db, worker, circle.client.id)

    # Only the person who started it (the client may not remove their worker's start).
    with pytest.raises(Invalid, match="Only the person who started it"):
        documents.remove_empty(db, client, doc)
    with pytest.raises(ReadOnly):
        documents.remove_empty(db, actor_for(circle.supervisor), doc)
    with pytest.raises(NotFound):
        documents.remove_empty(db, actor_for(Circle().key_worker), doc)

    # Someone else's unsaved writing in it is never thrown away.
    drafts.keep(db, client, doc, 0, "", [("what_matters.text", "My words")])
    with pytest.raises(Invalid, match="Someone else has started writing in it"):
        documents.remove_empty(db, worker, doc)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).where(EditDraft.document_id == doc)) == 1
    drafts.discard(db, client, doc)

    # Saved once, it is on the record for good.
    documents.save_version(db, worker, doc, 0, plan_content())
    assert not documents.open_document(db, worker, doc).removable
    with pytest.raises(Invalid, match="stays on the record"):
        documents.remove_empty(db, worker, doc)
    assert _actions(db, doc) == ["document.create", "document.edit"]


def test_a_worker_who_handed_the_client_over_may_no_longer_remove_their_start(db, circle):
    worker = actor_for(circle.key_worker)
    doc = documents.create_document(db, worker, circle.client.id)
    new_worker = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, worker, circle.client.id, new_worker.id, "Moving to a new team.")
    handovers.acknowledge(db, actor_for(new_worker), circle.client.id)
    with pytest.raises(NotFound):
        documents.remove_empty(db, worker, doc)
    with pytest.raises(Invalid, match="Only the person who started it"):
        documents.remove_empty(db, actor_for(new_worker), doc)


# --- a removal and a draft or a save at the same moment ----------------------------------


def _waiting_on_a_lock(db) -> bool:
    with db.read() as s:
        return bool(
            s.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            )
        )


def test_a_draft_kept_as_the_document_is_removed_stops_the_removal(db, circle, monkeypatch):
    """The client's draft has read the document when its starter removes it: the removal
    waits for the draft and is refused, rather than the draft's writing failing (a foreign
    key to a document gone) or being thrown away with it."""
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    doc = documents.create_document(db, worker, circle.client.id)
    read, removal_over, outcomes = Event(), Event(), {}
    original = drafts.require_read

    def after_reading(s, actor, client_id):
        access = original(s, actor, client_id)
        if actor.id == client.id:
            read.set()
            # The removal now runs: to its end, or until it waits for this draft. SQLite's
            # writes take turns anyway: the removal waits for this one's to end.
            while not db.is_sqlite and not removal_over.wait(0.01):
                if _waiting_on_a_lock(db):
                    break
        return access

    monkeypatch.setattr(drafts, "require_read", after_reading)

    def keep():
        try:
            drafts.keep(db, client, doc, 0, "", [("what_matters.text", "My words")])
            outcomes["keep"] = "kept"
        except Exception as exc:  # noqa: BLE001 - the test says which
            outcomes["keep"] = exc

    def remove():
        read.wait(10)
        try:
            documents.remove_empty(db, worker, doc)
            outcomes["remove"] = "removed"
        except Exception as exc:  # noqa: BLE001
            outcomes["remove"] = exc
        removal_over.set()

    threads = [Thread(target=keep), Thread(target=remove)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes["keep"] == "kept"
    assert isinstance(outcomes["remove"], Invalid), outcomes
    assert str(outcomes["remove"]) == documents.OTHERS_WRITING
    with db.read() as s:
        assert s.get(Document, doc) is not None
        assert s.scalar(sa.select(EditDraft.fields).where(EditDraft.document_id == doc)) == [
            ["what_matters.text", "My words"]
        ]


def test_a_draft_or_a_save_after_the_removal_is_told_it_was_removed(db, circle):
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    doc = documents.create_document(db, worker, circle.client.id)
    documents.remove_empty(db, worker, doc)
    name = circle.key_worker.display_name
    removed = f"{name} removed this document: nothing had been saved in it."
    with pytest.raises(Removed, match=re.escape(removed)):
        drafts.keep(db, client, doc, 0, "", [("what_matters.text", "My words")])
    with pytest.raises(Removed, match=re.escape(removed)) as told:
        documents.save_version(db, client, doc, 0, plan_content())
    assert (told.value.kind, told.value.template) == ("care_plan", None)
    # Its starter, pressing twice (or on another tab), is told it was them.
    with pytest.raises(Removed, match="^You removed this document"):
        documents.remove_empty(db, worker, doc)
    with pytest.raises(Removed):
        documents.open_document(db, client, doc)
    # Anyone not allowed to read the client's records learns nothing from the answer.
    for stranger in (actor_for(Circle().key_worker), actor_for(Circle().client)):
        with pytest.raises(NotFound) as not_theirs:
            drafts.keep(db, stranger, doc, 0, "", [("x", "y")])
        assert type(not_theirs.value) is NotFound
        with pytest.raises(NotFound) as not_theirs:
            documents.save_version(db, stranger, doc, 0, plan_content())
        assert type(not_theirs.value) is NotFound
