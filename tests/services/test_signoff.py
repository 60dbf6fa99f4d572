import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from careplan.db.models import (
    AccountEmail,
    AdvocateReviewRequest,
    AuditEvent,
    Document,
    Notification,
    PdfRender,
    SignatureRecord,
    Version,
)
from careplan.domain.errors import ContentInvalid
from careplan.domain.signoff import State
from careplan.reminders import account_mail
from careplan.reminders.messages import indiscretions
from careplan.services import accounts, documents, pdfs, reminders, signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid, NotFound, ReadOnly
from tests.factories import PASSWORD, Circle, KeyWorkerFactory, make_plan


@pytest.fixture
def circle(app):
    return Circle()


def sign(db, user, doc, number, outcome="signed", comment="", password=PASSWORD):
    return signoff.sign(db, actor_for(user), doc, number, outcome, comment, password)


def test_agreed_only_when_both_sign_the_same_version_and_then_a_pdf_is_queued(db, circle):
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    assert sign(db, circle.client, doc, 2).state is State.AWAITING_SIGNATURE
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(PdfRender)) == 0
    assert sign(db, circle.key_worker, doc, 2).state is State.AGREED
    with db.read() as s:
        render = s.scalar(sa.select(PdfRender))
        actions = s.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert (render.version_number, render.status) == (2, "pending")
    assert actions[-3:] == ["sign", "sign", "agreed"]


def test_whoever_signed_first_is_told_when_the_other_s_signature_makes_it_agreed(db, circle):
    # Their signature waited on the other's; nothing else said it was done, or that its
    # signed PDF could now be downloaded.
    def messages(user) -> list[tuple[str, str]]:
        with db.read() as s:
            rows = s.execute(
                sa.select(Notification.text, Notification.link).where(
                    Notification.user_id == user.id
                )
            )
            return [tuple(r) for r in rows]

    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.client, doc, 1)
    assert messages(circle.client) == []
    sign(db, circle.key_worker, doc, 1)
    kim = circle.key_worker.display_name
    assert messages(circle.client) == [(
        f"{kim}, your key worker, signed version 1 of your care plan too: it is agreed by you "
        "both now. Its signed PDF can be downloaded from its page.",
        f"/documents/{doc}#sign-off",
    )]  # fmt: skip
    assert messages(circle.key_worker) == messages(circle.advocate) == []

    other = make_plan(circle.key_worker, circle.client)
    sign(db, circle.key_worker, other, 1)
    sign(db, circle.client, other, 1)
    [(text, _)] = messages(circle.key_worker)
    assert text.startswith(f"{circle.client.display_name} signed version 1 of their care plan")


def test_editing_an_agreed_document_starts_a_draft_and_old_signatures_do_not_carry_over(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.client, doc, 1)
    sign(db, circle.key_worker, doc, 1)
    page = documents.open_document(db, actor_for(circle.client), doc)
    page.content["what_matters"] = {"text": "Something new"}
    documents.save_version(db, actor_for(circle.client), doc, 1, page.content)
    draft = documents.open_document(db, actor_for(circle.client), doc).signoff
    assert draft.state is State.DRAFT and draft.agreed.number == 1
    assert draft.waiting_for == ("client", "key worker")


def test_decline_and_comment_are_recorded_for_everyone_to_see(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    # Signed first: once one of them has declined, the other can only decline too.
    sign(db, circle.key_worker, doc, 1, "signed_with_comment", "Let us talk")
    sign(db, circle.client, doc, 1, "declined", "Goal 1 is not mine")
    seen = documents.open_document(db, actor_for(circle.advocate), doc).signoff
    assert seen.state is State.DECLINED
    assert [(s.name, s.outcome, s.comment) for s in seen.signatures] == [  # newest first
        (circle.client.display_name, "declined", "Goal 1 is not mine"),
        (circle.key_worker.display_name, "signed_with_comment", "Let us talk"),
    ]


def test_a_declined_version_can_be_offered_again_unchanged_and_then_agreed(db, circle):
    """Declined by mistake, or after talking it through: the same words as the next version,
    without inventing a change. The decline stays on the version it was given to."""
    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.key_worker, doc, 1)
    with pytest.raises(Invalid, match="Nobody has declined version 1"):
        documents.offer_again(db, actor_for(circle.client), doc, 1)
    sign(db, circle.client, doc, 1, "declined", "I pressed the wrong one")
    for who in (circle.advocate, circle.supervisor):
        with pytest.raises(ReadOnly):
            documents.offer_again(db, actor_for(who), doc, 1)
    with pytest.raises(NotFound):
        documents.offer_again(db, actor_for(Circle().key_worker), doc, 1)

    assert documents.offer_again(db, actor_for(circle.client), doc, 1) == 2
    with pytest.raises(Invalid, match="no longer the latest"):  # the other one, a tap later
        documents.offer_again(db, actor_for(circle.key_worker), doc, 1)
    with db.read() as s:
        one, two = s.scalars(sa.select(Version).where(Version.document_id == doc)
                             .order_by(Version.number)).all()  # fmt: skip
    assert (two.content, two.content_hash, two.parent_id) == (one.content, one.content_hash, one.id)
    assert "offered again for signing after version 1 was declined" in two.change_note
    page = documents.open_document(db, actor_for(circle.client), doc)
    assert page.signoff.state is State.DRAFT and page.signoff.waiting_for == (
        "client",
        "key worker",
    )
    assert [(x.version_number, x.outcome) for x in page.signoff.signatures if x.user_id ==
            circle.client.id] == [(1, "declined")]  # fmt: skip

    sign(db, circle.client, doc, 2)
    assert sign(db, circle.key_worker, doc, 2).state is State.AGREED


def _signatures_and_state(db, doc):
    with db.read() as s:
        rows = s.execute(
            sa.select(SignatureRecord.user_id, SignatureRecord.outcome).order_by(SignatureRecord.id)
        ).all()
        stored = s.execute(
            sa.select(Document.signoff_state, Document.agreed_version).where(Document.id == doc)
        ).one()
    return list(rows), tuple(stored)


def test_nobody_signs_the_same_version_twice_and_a_refusal_changes_nothing(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.client, doc, 1)
    before = _signatures_and_state(db, doc)
    for outcome, comment in (("signed", ""), ("declined", "Changed my mind")):
        with pytest.raises(Invalid) as err:
            sign(db, circle.client, doc, 1, outcome, comment)
        assert "You have already signed version 1" in str(err.value)
    assert _signatures_and_state(db, doc) == before
    assert before[1] == ("awaiting_signature", None)


def test_an_agreed_version_cannot_be_declined_or_signed_again(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.client, doc, 1)
    sign(db, circle.key_worker, doc, 1)
    before = _signatures_and_state(db, doc)
    with db.read() as s:
        events = s.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        code = s.scalar(sa.select(PdfRender.short_code))
    for person in (circle.client, circle.key_worker):
        with pytest.raises(Invalid) as err:
            sign(db, person, doc, 1, "declined", "I no longer agree")
        assert "can no longer be declined" in str(err.value)
        with pytest.raises(Invalid):
            sign(db, person, doc, 1)
    assert _signatures_and_state(db, doc) == (before[0], ("agreed", 1))
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events
    page = documents.open_document(db, actor_for(circle.client), doc)
    assert page.signoff.state is State.AGREED and page.signoff.agreed.number == 1
    assert not page.can_sign_now
    assert pdfs.verify_code(db, code).genuine


def test_signing_needs_the_password_and_the_latest_version(db, circle):
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    with pytest.raises(ContentInvalid) as err:
        sign(db, circle.client, doc, 2, password="wrong")
    assert "password" in err.value.errors
    with pytest.raises(Invalid):
        sign(db, circle.client, doc, 1)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 0


@pytest.mark.parametrize("outcome", ["signed", "declined"])
def test_a_version_that_does_not_exist_is_not_there_to_sign(db, circle, outcome):
    empty = documents.create_document(db, actor_for(circle.key_worker), circle.client.id)
    with pytest.raises(NotFound):  # nothing written yet: there is no version 0
        sign(db, circle.client, empty, 0, outcome, "Not this.")
    doc = make_plan(circle.key_worker, circle.client)
    for number in (0, 2, -1):
        with pytest.raises(NotFound):
            sign(db, circle.client, doc, number, outcome, "Not this.")
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 0


def test_nobody_signs_for_the_client(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    for reader in (circle.advocate, circle.supervisor):
        with pytest.raises(ReadOnly):
            sign(db, reader, doc, 1)
    for outsider in (circle.admin, Circle().key_worker):
        with pytest.raises(NotFound):
            sign(db, outsider, doc, 1)


def test_a_handed_over_client_needs_the_new_workers_signature(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.key_worker, doc, 1)
    new_worker = KeyWorkerFactory(team_id=circle.team.id)
    accounts.link_caseload(db, circle.client.email, new_worker.email)
    assert sign(db, circle.client, doc, 1).state is State.AWAITING_SIGNATURE
    assert sign(db, new_worker, doc, 1).state is State.AGREED


def test_a_version_agreed_before_the_key_worker_changes_stays_agreed(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.client, doc, 1)
    sign(db, circle.key_worker, doc, 1)
    new_worker = KeyWorkerFactory(team_id=circle.team.id)
    accounts.link_caseload(db, circle.client.email, new_worker.email)
    page = documents.open_document(db, actor_for(new_worker), doc)
    assert (page.signoff.state, page.signoff.agreed.number) == (State.AGREED, 1)
    assert _signatures_and_state(db, doc)[1] == ("agreed", 1)


@pytest.mark.parametrize(
    "statement", ["UPDATE signatures SET outcome = 'declined'", "DELETE FROM signatures"]
)
def test_no_one_can_change_or_delete_a_signature_even_in_the_database(db, circle, statement):
    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.client, doc, 1)
    with pytest.raises(DatabaseError), db.write() as s:
        s.execute(sa.text(statement))
    with db.read() as s:
        assert s.scalar(sa.select(SignatureRecord.outcome)) == "signed"


def test_the_client_cannot_ask_their_advocate_to_look_first_at_a_version_declined(db, circle):
    """It was offered, and taken, on a version the key worker had declined: one that can
    only be declined now, never signed."""
    doc = make_plan(circle.key_worker, circle.client)
    sign(db, circle.key_worker, doc, 1, "declined", "Goal 2 needs a date")
    with pytest.raises(Invalid, match="Version 1 was declined, so it cannot be signed as it is"):
        signoff.ask_advocate_to_look(db, actor_for(circle.client), doc, 1)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AdvocateReviewRequest)) == 0


def test_the_client_can_ask_their_advocate_to_look_first(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    assert signoff.ask_advocate_to_look(db, actor_for(circle.client), doc, 1) == 1
    assert documents.open_document(db, actor_for(circle.advocate), doc).advocate_asked_about == [1]
    # The advocate is told, in a message that links to the plan; nobody else is.
    with db.read() as s:
        messages = s.execute(sa.select(Notification.user_id, Notification.text, Notification.link))
        [(to, text, link)] = messages.all()
    assert (to, link) == (circle.advocate.id, f"/documents/{doc}")
    assert text.startswith(f"{circle.client.display_name} asked you to look at version 1 of their")
    with pytest.raises(NotFound):
        signoff.ask_advocate_to_look(db, actor_for(circle.key_worker), doc, 1)
    # And by e-mail, kept until sent, saying nothing of what or whose: an advocate has no
    # reminders, and heard of it only on signing in.
    with db.read() as s:
        [kept] = s.scalars(sa.select(AccountEmail)).all()
    assert (kept.recipient_id, kept.to_address, kept.kind) == (
        circle.advocate.id,
        circle.advocate.email,
        "asked_to_look",
    )
    email = account_mail.account_email(kept.kind, kept.detail, kept.created_at, "https://x.org")
    assert f"https://x.org/documents/{doc}" in email.body and indiscretions(email.body) == []
    assert circle.client.display_name not in email.body + email.subject
    # A second press (a double tap) asks nobody twice.
    assert signoff.ask_advocate_to_look(db, actor_for(circle.client), doc, 1) == 1
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(AdvocateReviewRequest)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(AccountEmail)) == 1
        asked = sa.select(sa.func.count()).where(AuditEvent.action == "advocate.review_request")
        assert s.scalar(asked) == 1
    # Stopped from seeing the records, the advocate has nothing new waiting there: the
    # message stayed "New" on a start page saying nobody had them as their advocate.
    assert reminders.unread_count(db, actor_for(circle.advocate)) == 1
    accounts.revoke_advocate(db, actor_for(circle.client), circle.advocate.id)
    assert reminders.unread_count(db, actor_for(circle.advocate)) == 0


def test_two_taps_at_the_same_moment_ask_the_advocate_once(db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    start, counts = threading.Barrier(2), []

    def tap():
        start.wait()
        counts.append(signoff.ask_advocate_to_look(db, actor_for(circle.client), doc, 1))

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == [1, 1]
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AdvocateReviewRequest)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
