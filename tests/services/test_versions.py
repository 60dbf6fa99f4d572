from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from careplan.db.models import AuditEvent, Version
from careplan.domain.canonical import content_hash
from careplan.domain.errors import ContentInvalid
from careplan.domain.plan_dates import TOO_FAR
from careplan.services import documents
from careplan.services.accounts import actor_for
from careplan.services.errors import Conflict, NotFound, ReadOnly
from tests.factories import Circle, plan_content


@pytest.fixture
def circle(app):
    return Circle()


def test_each_save_appends_an_immutable_version_with_parent_and_hash(db, circle):
    worker = actor_for(circle.key_worker)
    client = actor_for(circle.client)
    doc = documents.create_document(db, worker, circle.client.id)
    first = documents.save_version(db, worker, doc, 0, plan_content(), "first")
    content = documents.open_document(db, client, doc).content
    content["what_matters"] = {"text": "My kids."}
    second = documents.save_version(db, client, doc, first.number, content, "my words")
    assert (first.number, second.number) == (1, 2)
    with db.read() as s:
        v1, v2 = s.scalars(
            sa.select(Version).where(Version.document_id == doc).order_by(Version.number)
        ).all()
    assert v2.parent_id == v1.id and v1.parent_id is None
    assert v2.author_id == circle.client.id and v2.change_note == "my words"
    assert v2.content_hash == content_hash(v2.content)
    assert v2.content["what_matters"]["written_by"]["name"] == circle.key_worker.display_name
    assert v2.content["what_matters"]["changed_by"]["name"] == circle.client.display_name


def test_a_save_based_on_an_old_version_is_a_conflict_and_writes_nothing(db, circle):
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    doc = documents.create_document(db, worker, circle.client.id)
    documents.save_version(db, worker, doc, 0, plan_content(), "")
    documents.save_version(db, client, doc, 1, plan_content(what_matters={"text": "A"}), "")
    with pytest.raises(Conflict) as err:
        documents.save_version(db, worker, doc, 1, plan_content(what_matters={"text": "B"}), "")
    assert (err.value.base_number, err.value.head_number) == (1, 2)
    assert documents.count_versions(db, doc) == 2
    view = documents.conflict_view(db, worker, err.value)
    assert [v.number for v in view.landed] == [2]
    assert view.clashes == ["What matters to me"]
    assert view.proposal["what_matters"]["text"] == "B"


def test_the_same_words_sent_again_on_an_old_version_are_already_saved_not_a_conflict(
    app, db, circle
):
    """A second tab sending the words the first just saved was shown the red "A newer version
    was saved while you were editing" page, with nothing to choose between."""
    from tests.conftest import login

    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    doc = documents.create_document(db, worker, circle.client.id)
    documents.save_version(db, worker, doc, 0, plan_content(), "")
    words = documents.open_document(db, client, doc).content  # with its goals' ids, as a form
    words["what_matters"] = {"text": "A"}
    documents.save_version(db, client, doc, 1, words, "")
    again = documents.save_version(db, client, doc, 1, words, "")
    assert (again.saved, again.number) == (False, 2)
    assert documents.count_versions(db, doc) == 2
    # Another's different words on the old version are still a conflict.
    with pytest.raises(Conflict):
        documents.save_version(db, worker, doc, 1, plan_content(what_matters={"text": "B"}), "")

    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    from tests.web.test_editing import _keep, _open

    form = _open(web, url)
    form["base_number"] = "1"
    form["what_matters-text"] = "A"
    form["draft_revision"] = _keep(web, doc, form, "A").get_json()["revision"]
    sent = web.post(url, data=form, follow_redirects=True)
    assert sent.status_code == 200
    said = " ".join(sent.get_data(as_text=True).split())
    assert "Those words are already in version 2, the latest: nothing more was saved." in said
    # The page's draft held nothing the latest version does not: it ends, as after a save.
    assert documents.open_for_editing(db, client, doc).draft is None


def test_invalid_content_saves_nothing(db, circle):
    worker = actor_for(circle.key_worker)
    doc = documents.create_document(db, worker, circle.client.id)
    with pytest.raises(ContentInvalid):
        documents.save_version(
            db,
            worker,
            doc,
            0,
            {"goals": [{"title": ""}] * 0 + [{"title": "", "steps": [{"text": "x"}]}]},
        )
    assert documents.count_versions(db, doc) == 0


def test_saving_unchanged_content_adds_no_version(db, circle):
    worker = actor_for(circle.key_worker)
    doc = documents.create_document(db, worker, circle.client.id)
    documents.save_version(db, worker, doc, 0, plan_content())
    page = documents.open_document(db, worker, doc)
    result = documents.save_version(db, worker, doc, 1, page.content)
    assert not result.saved and documents.count_versions(db, doc) == 1
    # Nor when the other signer sends it back as it is, empty parts and all: the parts they
    # did not change are not theirs.
    client = actor_for(circle.client)
    result = documents.save_version(
        db, client, doc, 1, documents.open_document(db, client, doc).content
    )
    assert not result.saved and documents.count_versions(db, doc) == 1


def test_supervisors_and_advocates_read_but_never_edit_and_their_reads_are_recorded(db, circle):
    doc = documents.create_document(db, actor_for(circle.key_worker), circle.client.id)
    for reader in (circle.supervisor, circle.advocate):
        page = documents.open_document(db, actor_for(reader), doc)
        assert page.access.read and not page.access.edit
        with pytest.raises(ReadOnly):
            documents.save_version(db, actor_for(reader), doc, 0, plan_content())
    documents.open_document(db, actor_for(circle.client), doc)
    with db.read() as s:
        reads = (
            s.execute(sa.select(AuditEvent.actor_id).where(AuditEvent.action == "read"))
            .scalars()
            .all()
        )
    assert sorted(reads) == sorted([circle.supervisor.id, circle.advocate.id])


def test_outsiders_and_admins_get_not_found(db, circle):
    doc = documents.create_document(db, actor_for(circle.key_worker), circle.client.id)
    other = Circle()
    for outsider in (
        other.client,
        other.key_worker,
        other.supervisor,
        other.advocate,
        circle.admin,
    ):
        with pytest.raises(NotFound):
            documents.open_document(db, actor_for(outsider), doc)
        with pytest.raises(NotFound):
            documents.save_version(db, actor_for(outsider), doc, 0, plan_content())


def test_versions_cannot_be_changed_or_deleted_even_directly_in_the_database(db, circle):
    worker = actor_for(circle.key_worker)
    doc = documents.create_document(db, worker, circle.client.id)
    documents.save_version(db, worker, doc, 0, plan_content())
    for statement in ("UPDATE versions SET change_note = 'x'", "DELETE FROM versions"):
        with pytest.raises(DatabaseError), db.write() as s:
            s.execute(sa.text(statement))
    assert documents.count_versions(db, doc) == 1


def _reads(db, doc) -> int:
    with db.read() as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "read", AuditEvent.object_id == doc)
        )


def test_a_history_page_past_the_end_names_the_last_and_reads_nothing(db, circle):
    """The web sends the browser on to the page named, whose read is the one logged; the API
    answers an empty list. A page nobody sees is not in the client's access log."""
    supervisor = actor_for(circle.supervisor)  # whose reads are logged
    doc = documents.create_document(db, actor_for(circle.key_worker), circle.client.id)
    documents.save_version(db, actor_for(circle.key_worker), doc, 0, plan_content())
    before = _reads(db, doc)
    beyond = documents.history(db, supervisor, doc, 5, page_size=1)
    assert (beyond.page, beyond.pages, beyond.versions, beyond.events) == (1, 1, [], [])
    assert _reads(db, doc) == before
    shown = documents.history(db, supervisor, doc, 1, page_size=1)
    assert [v.number for v in shown.versions] == [1] and _reads(db, doc) == before + 1


def test_history_pages_and_compare(db, circle):
    worker = actor_for(circle.key_worker)
    doc = documents.create_document(db, worker, circle.client.id)
    documents.save_version(db, worker, doc, 0, plan_content())
    content = documents.open_document(db, worker, doc).content  # keeps the items' ids
    for n in range(1, 60):
        content["what_matters"] = {"text": f"revision {n}"}
        documents.save_version(db, worker, doc, n, content)
    first = documents.history(db, worker, doc, 1)
    second = documents.history(db, worker, doc, 2)
    assert first.pages == 2 and [v.number for v in first.versions][:2] == [60, 59]
    assert [v.number for v in second.versions][-1] == 1 and len(second.versions) == 10
    comparison = documents.compare_versions(db, worker, doc, 1, 60)
    assert [c.label for c in comparison.changes] == ["What matters to me"]


def test_a_date_years_ahead_is_refused_when_new_and_an_old_one_is_saved_again(db, circle):
    worker = actor_for(circle.key_worker)
    doc = documents.create_document(db, worker, circle.client.id)
    step = {"text": "Ring the council", "owner": {"kind": "client"}, "due": "2040-01-01"}
    far = plan_content(goals=[{"title": "Move", "steps": [step]}])
    # A version saved in 2031, when 2040 was close enough.
    documents.save_version(db, worker, doc, 0, far, today=date(2031, 1, 1))
    today = date(2026, 5, 4)
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "Changed, the date kept."}
    assert documents.save_version(db, worker, doc, 1, content, today=today).saved
    part = {"what_matters": {"text": "One part alone."}}
    assert documents.save_version(db, worker, doc, 2, part, part="what_matters", today=today).saved
    content["goals"][0]["steps"][0]["due"] = "2040-01-02"
    with pytest.raises(ContentInvalid) as refused:
        documents.save_version(db, worker, doc, 3, content, today=today)
    assert refused.value.errors == {"goals-0-steps-0-due": TOO_FAR}
    with pytest.raises(ContentInvalid):  # checking the wording says so too
        documents.check_wording(db, worker, doc, 3, content, (), today=today)
    assert documents.count_versions(db, doc) == 3
