"""Edits in progress are kept until saved or thrown away, only for their writer; saving one
section leaves the rest alone; checking the wording saves nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from threading import Barrier, Thread
from unittest.mock import ANY

import pytest
import sqlalchemy as sa

from careplan.db.models import EditDraft, Version, utcnow
from careplan.domain.attention import Kind
from careplan.domain.errors import ContentInvalid
from careplan.domain.paging import Window
from careplan.services import attention, caseloads, documents, drafts, handovers
from careplan.services.accounts import actor_for
from careplan.services.errors import Conflict, NotFound, ReadOnly
from tests.domain.test_language import TERMS
from tests.factories import Circle, KeyWorkerFactory, make_agreement, make_plan

T0 = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)


@pytest.fixture
def circle(app):
    return Circle()


def _count(db, model) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_draft_is_kept_for_its_writer_only_and_replaced_not_added(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    drafts.keep(db, worker, doc, 1, "", [("what_matters-text", "first try")])
    drafts.keep(db, worker, doc, 1, "goals", [("what_matters-text", "second try")], "a note")
    found = documents.open_for_editing(db, worker, doc).draft
    assert found.fields == [("what_matters-text", "second try")]
    assert (found.part, found.change_note, found.base_number) == ("goals", "a note", 1)
    assert documents.open_for_editing(db, client, doc).draft is None
    assert _count(db, EditDraft) == 1


def test_only_people_who_may_edit_keep_drafts(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    with pytest.raises(ReadOnly):
        drafts.keep(db, actor_for(circle.supervisor), doc, 1, "", [("x", "y")])
    with pytest.raises(NotFound):
        drafts.keep(db, actor_for(Circle().key_worker), doc, 1, "", [("x", "y")])
    with pytest.raises(ContentInvalid):
        drafts.keep(db, actor_for(circle.client), doc, 1, "", [("x", "y" * 1_000_001)])
    assert _count(db, EditDraft) == 0


def test_the_edit_page_opens_with_the_readers_own_draft_and_only_for_editors(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    drafts.keep(db, worker, doc, 1, "", [("what_matters-text", "the worker's words")])
    screen = documents.open_for_editing(db, worker, doc)
    assert screen.page.head_number == 1
    assert screen.draft.fields == [("what_matters-text", "the worker's words")]
    assert documents.open_for_editing(db, client, doc).draft is None
    for reader in (circle.supervisor, circle.advocate):
        with pytest.raises(ReadOnly):
            documents.open_for_editing(db, actor_for(reader), doc)
    with pytest.raises(NotFound):
        documents.open_for_editing(db, actor_for(Circle().key_worker), doc)


def test_the_document_page_tells_only_the_writer_of_a_draft_that_it_is_waiting(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    kept = drafts.keep(db, worker, doc, 1, "", [("what_matters-text", "not saved")])
    unsaved = documents.document_screen(db, worker, doc).page.unsaved
    assert (unsaved.saved_at, unsaved.base_number) == (kept.kept_at, 1)
    for reader in (circle.client, circle.supervisor, circle.advocate):
        assert documents.document_screen(db, actor_for(reader), doc).page.unsaved is None
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "saved now"}
    documents.save_version(db, worker, doc, 1, content, forget_draft=True)  # on the edit page
    assert documents.document_screen(db, worker, doc).page.unsaved is None


def test_saving_a_version_ends_the_writers_draft_only(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    drafts.keep(db, worker, doc, 1, "", [("what_matters-text", "mine")])
    drafts.keep(db, client, doc, 1, "", [("what_matters-text", "theirs")])
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "saved now"}
    # Saved on the edit page that was keeping the draft (one from before drafts had revisions).
    documents.save_version(db, worker, doc, 1, content, forget_draft=True)
    assert documents.open_for_editing(db, worker, doc).draft is None
    assert documents.open_for_editing(db, client, doc).draft.fields == [
        ("what_matters-text", "theirs")
    ]


def test_two_tabs_keeping_at_once_leave_one_draft(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    barrier = Barrier(2)

    def keep(text):
        barrier.wait()
        drafts.keep(db, worker, doc, 1, "", [("what_matters-text", text)])

    threads = [Thread(target=keep, args=(t,)) for t in ("tab one", "tab two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(db, EditDraft) == 1
    assert documents.open_for_editing(db, worker, doc).draft.fields[0][1] in {"tab one", "tab two"}


def test_saving_one_part_keeps_every_other_part(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    before = documents.open_document(db, worker, doc).content
    result = documents.save_version(
        db, worker, doc, 1, {"what_matters": {"text": "My dog"}}, "", (), part="what_matters"
    )
    after = documents.open_document(db, worker, doc).content
    assert result.saved and after["what_matters"]["text"] == "My dog"
    for key in ("domains", "goals", "care_team", "review_interval_weeks"):
        assert after[key] == before[key], key


def test_a_part_saved_on_an_old_version_is_a_conflict_not_an_overwrite(db, circle):
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    worker = actor_for(circle.key_worker)
    with pytest.raises(Conflict):
        documents.save_version(
            db, worker, doc, 1, {"what_matters": {"text": "late"}}, "", (), part="what_matters"
        )


def test_checking_the_wording_suggests_and_saves_nothing(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    versions = _count(db, Version)
    findings = documents.check_wording(
        db, worker, doc, 1, {"what_matters": {"text": "Tests were dirty"}}, TERMS, "what_matters"
    )
    assert [(f.found, f.term) for f in findings] == [("were dirty", "dirty")]
    assert _count(db, Version) == versions
    with pytest.raises(ReadOnly):
        documents.check_wording(db, actor_for(circle.supervisor), doc, 1, {}, TERMS)


def _unsaved_on_caseload(db, user) -> dict[int, list[tuple[int, str]]]:
    return {
        row.client_id: [(u.document_id, u.what) for u in row.unsaved]
        for row in caseloads.people_for(db, actor_for(user))
    }


def test_each_caseload_row_lists_only_the_readers_own_drafts_of_the_clients_documents(db, circle):
    plan = make_plan(circle.key_worker, circle.client)
    agreement = make_agreement(circle.key_worker, circle.client)
    theirs = make_plan(circle.key_worker, circle.client)
    other = Circle()  # another worker's client, with that worker's draft
    elsewhere = make_plan(other.key_worker, other.client)
    worker = actor_for(circle.key_worker)
    drafts.keep(db, worker, plan, 1, "", [("what_matters-text", "x")], now=T0)
    drafts.keep(db, worker, agreement, 1, "", [("x", "y")], now=T0 + timedelta(minutes=5))
    drafts.keep(db, actor_for(circle.client), theirs, 1, "", [("what_matters-text", "mine")])
    drafts.keep(db, actor_for(other.key_worker), elsewhere, 1, "", [("what_matters-text", "z")])
    name = circle.client.display_name
    # The latest typed first; the client's own draft is not the worker's to see.
    assert _unsaved_on_caseload(db, circle.key_worker) == {
        circle.client.id: [
            (agreement, f"{name}'s partnership agreement (with asking for a short stay)"),
            (plan, f"{name}'s care plan"),
        ]
    }
    [row] = caseloads.people_for(db, worker)
    assert [u.saved_at for u in row.unsaved] == [T0 + timedelta(minutes=5), T0]
    assert row.documents == 3 and row.unsigned == 3  # the counts are not multiplied
    # Nobody else reading the list sees anyone's draft.
    for reader in (circle.supervisor, circle.advocate):
        assert _unsaved_on_caseload(db, reader) == {circle.client.id: []}
    assert _unsaved_on_caseload(db, other.key_worker) == {other.client.id: [(elsewhere, ANY)]}
    # The paged list (the API's) is the same list, one row per client, without drafts.
    page = caseloads.people_page(db, worker, Window(1, 10))
    assert page.total == 1 and [r.unsaved for r in page.items] == [()]


def test_a_draft_left_before_a_handover_is_not_offered_while_the_client_comes_back(db, circle):
    """Handed back to a worker who left a draft: being handed over to them, they may read the
    client's documents but not change them yet, so the draft is not offered (as on the
    document's page), on the caseload or on "What needs you now"."""
    plan = make_plan(circle.key_worker, circle.client)
    first = actor_for(circle.key_worker)
    drafts.keep(db, first, plan, 1, "", [("what_matters-text", "x")])
    second = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, first, circle.client.id, second.id, "Over to you")
    handovers.acknowledge(db, actor_for(second), circle.client.id)
    assert _unsaved_on_caseload(db, circle.key_worker) == {}  # not theirs at all
    handovers.start(db, actor_for(second), circle.client.id, circle.key_worker.id, "Back")
    assert _unsaved_on_caseload(db, circle.key_worker) == {circle.client.id: []}
    assert documents.document_screen(db, first, plan).page.unsaved is None
    home = attention.home(db, first, utcnow())
    assert [i.kind for i in home.items] == [Kind.HANDOVER]
    handovers.acknowledge(db, first, circle.client.id)  # theirs again: offered again
    assert _unsaved_on_caseload(db, circle.key_worker) == {circle.client.id: [(plan, ANY)]}
    assert documents.document_screen(db, first, plan).page.unsaved is not None
    [item] = attention.home(db, first, utcnow()).items
    assert (item.kind, item.document_id) == (Kind.UNSAVED, plan)


# The same person with the document open on two pages: two tabs, or a phone and a laptop.
MINE = [("what_matters-text", "typed on the laptop")]
PHONE = [("what_matters-text", "typed on the phone")]


def _fresh(page: str) -> drafts.Seen:
    """A page opened with no draft waiting: it knows of none."""
    return drafts.Seen("", page)


def _stored(db, worker, doc) -> drafts.Draft:
    return documents.open_for_editing(db, worker, doc).draft


def test_a_draft_kept_on_another_page_since_is_not_replaced(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    laptop = drafts.keep(db, worker, doc, 1, "", MINE, seen=_fresh("laptop"))
    # The phone's page was opened before the laptop kept anything: it never saw that draft.
    with pytest.raises(drafts.DraftKeptElsewhere) as refused:
        drafts.keep(db, worker, doc, 1, "", PHONE, seen=_fresh("phone"))
    assert "in another tab or on another device" in str(refused.value)
    assert refused.value.saved_at == laptop.kept_at
    assert _stored(db, worker, doc).fields == MINE
    # The laptop carries on as before, from the draft it kept.
    more = [("what_matters-text", "typed on the laptop, and more")]
    again = drafts.keep(db, worker, doc, 1, "", more, seen=drafts.Seen(laptop.revision, "laptop"))
    assert again.revision != laptop.revision
    assert _stored(db, worker, doc).fields == more
    assert _count(db, EditDraft) == 1


def test_a_page_carrying_on_from_the_draft_may_replace_it_and_the_other_page_no_longer(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    first = drafts.keep(db, worker, doc, 1, "", MINE, seen=_fresh("laptop"))
    # "Carry on with those changes" on the phone: it starts from the draft's revision.
    assert _stored(db, worker, doc).revision == first.revision
    drafts.keep(db, worker, doc, 1, "", PHONE, seen=drafts.Seen(first.revision, "phone"))
    with pytest.raises(drafts.DraftKeptElsewhere):
        drafts.keep(
            db, worker, doc, 1, "", MINE + [("x", "y")], seen=drafts.Seen(first.revision, "laptop")
        )
    assert _stored(db, worker, doc).fields == PHONE


def test_a_page_whose_keep_was_answered_too_late_still_keeps_its_own_draft(db, circle):
    """The answer to a keep lost on the way (a phone between networks): the page sends the
    revision before it again, but the draft stored is its own."""
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    drafts.keep(db, worker, doc, 1, "", MINE, seen=_fresh("laptop"))
    drafts.keep(db, worker, doc, 1, "", PHONE, seen=_fresh("laptop"))
    assert _stored(db, worker, doc).fields == PHONE


def test_the_same_words_from_another_page_are_not_kept_again_and_carry_on_the_draft(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    first = drafts.keep(db, worker, doc, 1, "", MINE, "a note", now=T0, seen=_fresh("laptop"))
    same = drafts.keep(db, worker, doc, 1, "", MINE, "a note", seen=_fresh("phone"))
    assert same == first  # nothing written: the phone carries on from the laptop's draft
    # Both pages now hold the same revision: whichever types first keeps, the other is told.
    drafts.keep(db, worker, doc, 1, "", PHONE, "a note", seen=drafts.Seen(same.revision, "phone"))
    with pytest.raises(drafts.DraftKeptElsewhere):
        drafts.keep(
            db, worker, doc, 1, "", MINE + [("x", "y")], seen=drafts.Seen(first.revision, "laptop")
        )


def test_a_draft_of_another_part_is_not_replaced_either(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    drafts.keep(db, worker, doc, 1, "what_matters", MINE, seen=_fresh("one"))
    steps = [("goals-0-text", "Find a flat")]
    with pytest.raises(drafts.DraftKeptElsewhere):
        drafts.keep(db, worker, doc, 1, "goals", steps, seen=_fresh("two"))
    assert (_stored(db, worker, doc).part, _stored(db, worker, doc).fields) == (
        "what_matters",
        MINE,
    )


def test_two_pages_keeping_at_once_do_not_both_find_the_draft_theirs(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    first = drafts.keep(db, worker, doc, 1, "", MINE, seen=_fresh("start"))
    barrier = Barrier(2)
    refused = []

    def keep(page, fields):
        barrier.wait()
        try:
            drafts.keep(db, worker, doc, 1, "", fields, seen=drafts.Seen(first.revision, page))
        except drafts.DraftKeptElsewhere:
            refused.append(page)

    typed = {"laptop": MINE + [("x", "laptop")], "phone": PHONE}
    threads = [Thread(target=keep, args=item) for item in typed.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(refused) == 1
    [kept] = set(typed) - set(refused)
    assert _stored(db, worker, doc).fields == typed[kept]


def test_saving_on_one_page_leaves_the_draft_kept_since_on_another(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    drafts.keep(db, worker, doc, 1, "", MINE, seen=_fresh("laptop"))
    # The phone's page, opened before, saves what it has: the laptop's words are not in it.
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "saved on the phone"}
    documents.save_version(db, worker, doc, 1, content, forget_draft=_fresh("phone"))
    assert _stored(db, worker, doc).fields == MINE
    # The laptop saving (or a page carrying on from its draft) ends it.
    content["what_matters"] = {"text": "typed on the laptop"}
    documents.save_version(db, worker, doc, 2, content, forget_draft=_fresh("laptop"))
    assert _stored(db, worker, doc) is None


def test_throwing_away_the_draft_shown_keeps_one_kept_since_elsewhere(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    shown = drafts.keep(db, worker, doc, 1, "", MINE, seen=_fresh("laptop"))
    drafts.keep(db, worker, doc, 1, "", PHONE, seen=drafts.Seen(shown.revision, "phone"))
    assert drafts.discard(db, worker, doc, shown.revision) is False
    assert _stored(db, worker, doc).fields == PHONE
    now = _stored(db, worker, doc).revision
    assert drafts.discard(db, worker, doc, now) is True
    assert _stored(db, worker, doc) is None
    assert drafts.discard(db, worker, doc, now) is True  # gone already, as the page wanted
    # A draft kept by a page from before pages had names is not taken for this page's own.
    drafts.keep(db, worker, doc, 1, "", MINE)
    assert drafts.discard(db, worker, doc, "another revision") is False
    assert _stored(db, worker, doc).fields == MINE


# A save not typed on the person's edit page (a program saving on their behalf, through the
# API) ends their draft only if it holds every change the draft made.

BROWSER = [("what_matters-text", "typed in the browser")]


def test_a_save_made_elsewhere_keeps_a_draft_holding_other_words(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    drafts.keep(db, worker, doc, 1, "what_matters", BROWSER, "my note", seen=_fresh("laptop"))
    saved = documents.save_version(
        db, worker, doc, 1, {"what_matters": {"text": "saved by a program"}}, "", (),
        "what_matters", exact=True,
    )  # fmt: skip
    assert saved.saved and saved.number == 2
    kept = _stored(db, worker, doc)
    assert (kept.fields, kept.part, kept.change_note) == (BROWSER, "what_matters", "my note")
    assert kept.base_number == 1  # on the version it was typed on: the edit page says so


def test_a_save_made_elsewhere_ends_a_draft_whose_changes_it_holds(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    drafts.keep(db, worker, doc, 1, "what_matters", BROWSER, seen=_fresh("laptop"))
    # Another part saved: the draft's words are still not.
    content = documents.open_document(db, worker, doc).content
    content["domains"]["housing"]["own_words"] = "a program changed this"
    assert documents.save_version(db, worker, doc, 1, content, exact=True).saved
    assert _stored(db, worker, doc).fields == BROWSER
    # The whole document, with the draft's words and another part changed besides.
    content["what_matters"] = {"text": "typed in the browser"}
    content["domains"]["housing"]["own_words"] = "and this too"
    assert documents.save_version(db, worker, doc, 2, content, exact=True).saved
    assert _stored(db, worker, doc) is None
    # A draft that changed nothing on the version it was typed on holds no words to lose.
    drafts.keep(db, worker, doc, 3, "what_matters", BROWSER, seen=_fresh("phone"))
    content["domains"]["housing"]["own_words"] = "changed once more"
    assert documents.save_version(db, worker, doc, 3, content, exact=True).saved
    assert _stored(db, worker, doc) is None


def test_a_draft_that_could_not_be_saved_as_it_is_stays_after_a_save_made_elsewhere(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    worker = actor_for(circle.key_worker)
    typo = [("what_matters-text", "x" * 70_000)]  # more than one version holds
    drafts.keep(db, worker, doc, 1, "what_matters", typo, seen=_fresh("laptop"))
    content = documents.open_document(db, worker, doc).content
    content["domains"]["housing"]["own_words"] = "a program changed this"
    assert documents.save_version(db, worker, doc, 1, content, exact=True).saved
    assert _stored(db, worker, doc).fields == typo


def test_words_that_change_nothing_are_no_draft_and_end_the_page_s_earlier_one(db, circle):
    # An empty form sent and refused ("fill something in first") was kept as a draft, and the
    # next edit page stayed locked until the client chose what to do with changes never made.
    client = actor_for(circle.client)
    doc = make_plan(circle.key_worker, circle.client)
    new = documents.create_document(db, client, circle.client.id)  # a second, nothing in it
    as_sent = [("what_matters-text", ""), ("goals-0-title", ""), ("review_interval_weeks", "12"),
               ("goals-0-steps-0-status", "not_started")]  # fmt: skip
    kept = drafts.keep(db, client, new, 0, "", as_sent)
    assert (kept.changes, kept.revision) == (False, "")
    assert _count(db, EditDraft) == 0
    typed = [(k, "Move" if k == "goals-0-title" else v) for k, v in as_sent]
    assert drafts.keep(db, client, new, 0, "", typed).changes

    text = documents.open_document(db, client, doc).content["what_matters"]["text"]
    page = drafts.Seen("", drafts.new_page())
    drafts.keep(db, client, doc, 1, "what_matters", [("what_matters-text", "Mine.")], seen=page)
    assert _count(db, EditDraft) == 2
    # Typed back to the version's words: this page's draft is gone, the other document's not.
    back = drafts.keep(db, client, doc, 1, "what_matters", [("what_matters-text", text)], seen=page)
    assert not back.changes
    assert documents.open_for_editing(db, client, doc).draft is None
    assert documents.open_for_editing(db, client, new).draft is not None
    # A date that cannot be read is a change: kept, to be put right later.
    step = [("goals-0-title", "Move"), ("goals-0-steps-0-due", "31/02")]
    assert drafts.keep(db, client, new, 0, "", step).changes
