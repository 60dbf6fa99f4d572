"""Signing through the document page: once signed, the page says so instead of offering the form
again, and a form sent twice (a second tap, or "back" and send) is refused with a message."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from careplan.db.models import (
    AdvocateInvitation,
    AdvocateReviewRequest,
    Document,
    Notification,
    SignatureRecord,
)
from careplan.domain.local_time import long_date, service_today
from careplan.services import admin_accounts, documents, signoff
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    AdvocateFactory,
    AdvocateInvitationFactory,
    Circle,
    make_agreement,
    make_plan,
)
from tests.web.test_plan_pages import _browser, _page, _post


@pytest.fixture
def circle(app) -> Circle:
    return Circle()


def _words(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _stored(db, doc: int) -> tuple:
    with db.read() as s:
        signatures = s.execute(
            sa.select(SignatureRecord.user_id, SignatureRecord.outcome).order_by(SignatureRecord.id)
        ).all()
        state = s.execute(
            sa.select(Document.signoff_state, Document.agreed_version).where(Document.id == doc)
        ).one()
    return [tuple(r) for r in signatures], tuple(state)


def test_a_signed_person_sees_their_signature_instead_of_the_form(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    sign_url = f"/documents/{doc}/versions/1/sign"
    client = _browser(app, circle.client)
    form = _page(client.get(f"/documents/{doc}")).form(sign_url)
    # Nothing is chosen for the person: agreeing is their choice, not the page's.
    assert "outcome" not in form.values()
    unchosen = _page(_post(client, form, form.typed({"password": PASSWORD})), 422)
    assert "Please choose: sign, sign with a comment, or decline." in _words(unchosen.html)
    # Said inside the group of choices and tied to each, for a screen reader landing on one.
    assert '<p class="field-error" id="outcome-error">Please choose: sign,' in unchosen.html
    for choice in ("signed", "comment", "declined"):
        assert re.search(
            rf'id="outcome-{choice}"[^>]* aria-invalid="true" aria-describedby="outcome-error"',
            unchosen.html,
        ), choice
    assert _stored(db, doc)[0] == []
    values = form.typed({"outcome": "signed", "password": PASSWORD})
    assert _post(client, form, values).status_code == 302

    page = _page(client.get(f"/documents/{doc}"))
    assert sign_url not in [f.action for f in page.forms]
    words = _words(page.html)
    assert "You signed version 1 on" in words
    # Its details say what a fingerprint is, for a reader who never met one.
    assert "Details of this signature" in words
    assert "A fingerprint of the exact words signed: if a single letter of version 1" in words
    assert (
        f"It becomes agreed when your key worker, {circle.key_worker.display_name}, signs it too."
        in words
    )

    # The same form sent again (a second tap on a slow phone): the first counted, and the
    # answer says so, not as a refusal; nothing added.
    again = client.post(sign_url, data=values)
    assert again.status_code == 302 and again.headers["Location"].endswith("#sign-off")
    landed = _words(_page(client.get(f"/documents/{doc}")).html)
    assert "You have already signed version 1: it counts once. It is agreed once the other " in (
        landed
    )
    assert _stored(db, doc) == ([(circle.client.id, "signed")], ("awaiting_signature", None))

    # Another outcome on the version they signed: refused beside the signatures.
    again = client.post(sign_url, data={**values, "outcome": "declined", "comment": "No"})
    refused = _page(again, 409)
    assert "You have already signed version 1. A signature is given once" in _words(refused.html)
    # Under the summary's "Nothing was changed." the message does not say it again.
    summary = re.search(r'id="error-summary".*?</div>', refused.html, re.S).group(0)
    assert _words(summary).count("Nothing was changed.") == 1, _words(summary)
    assert sign_url not in [f.action for f in refused.forms]
    assert _stored(db, doc) == ([(circle.client.id, "signed")], ("awaiting_signature", None))

    # The key worker has not signed yet, so they are offered the form.
    worker = _browser(app, circle.key_worker)
    worker_page = _page(worker.get(f"/documents/{doc}"))
    assert f"It becomes agreed when {circle.client.display_name}" not in _words(worker_page.html)
    worker_form = worker_page.form(sign_url)
    assert (
        _post(
            worker, worker_form, worker_form.typed({"outcome": "signed", "password": PASSWORD})
        ).status_code
        == 302
    )

    # Agreed: both see it, neither is offered the form, and declining now is refused.
    # Each reads it said to them: the client is "you" to the client, the worker to the worker.
    worker_name = circle.key_worker.display_name
    said_to = {
        # (the name in its own <bdi>, which these words leave a space after)
        client: f"version 1 was signed by you and {worker_name} , your key worker. It stays",
        worker: f"version 1 was signed by {circle.client.display_name} and you. It stays",
    }
    for browser in (client, worker):
        page = _page(browser.get(f"/documents/{doc}"))
        assert sign_url not in [f.action for f in page.forms]
        words = _words(page.html)
        assert said_to[browser] in words and "Agreed on " in words
        assert "There is nothing more to sign." in words
    declined = worker.post(
        sign_url,
        data=worker_form.typed(
            {"outcome": "declined", "comment": "I no longer agree", "password": PASSWORD}
        ),
    )
    assert declined.status_code == 409
    assert "Version 1 is agreed and stays in force, so it can no longer be declined." in _words(
        declined.get_data(as_text=True)
    )
    assert _stored(db, doc) == (
        [(circle.client.id, "signed"), (circle.key_worker.id, "signed")],
        ("agreed", 1),
    )


def test_a_person_who_declined_is_told_how_to_move_on(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    sign_url = f"/documents/{doc}/versions/1/sign"
    client = _browser(app, circle.client)
    form = _page(client.get(f"/documents/{doc}")).form(sign_url)
    values = form.typed(
        {"outcome": "declined", "comment": "Goal 1 is not mine", "password": PASSWORD}
    )
    assert _post(client, form, values).status_code == 302
    page = _page(client.get(f"/documents/{doc}"))
    assert sign_url not in [f.action for f in page.forms]
    words = _words(page.html)
    assert "You declined to sign version 1 on" in words
    assert "A decline stays on the record and cannot be changed." in words
    assert "signature is given once" not in words  # a decline is not a signature
    assert "the new version can then be signed by both of you" in words
    assert "is waiting for" not in words  # a declined version waits for nobody
    assert "declined to sign version 1 on" not in words.replace("You declined", "")
    assert "Not agreed: you declined to sign" in words  # the status line names who
    assert "Details of this decline" in words and "Details of this signature" not in words
    assert "A fingerprint of the exact words declined" in words

    name = circle.client.display_name
    words = _words(_browser(app, circle.key_worker).get(f"/documents/{doc}").get_data(True))
    assert f"{name} declined to sign version 1 on" in words
    assert f"Not agreed: {name} declined to sign" in words
    assert "Version 1 cannot become agreed as it is. Edit it to propose a new version" in words
    assert "is waiting for" not in words and "Someone" not in words


def test_a_declined_version_after_an_agreed_one_is_not_called_a_draft_to_sign(app, db, circle):
    """The client who declined version 2 read "The latest version, 2, is a draft until both of
    you sign it", which neither of them can now do."""
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    doc = make_plan(circle.key_worker, circle.client)
    for who in (client, worker):
        signoff.sign(db, who, doc, 1, "signed", "", PASSWORD)
    content = documents.open_document(db, client, doc).content
    content["what_matters"]["text"] = "Something new"
    documents.save_version(db, worker, doc, 1, content, "new words")
    signoff.sign(db, client, doc, 2, "declined", "Not these words.", PASSWORD)

    for person in (circle.client, circle.key_worker):
        words = _words(_browser(app, person).get(f"/documents/{doc}").get_data(True))
        assert "Version 1 is the agreed version and stays in force" in words
        said = "The latest version, 2, was declined, so it cannot become agreed as it is."
        assert said in words and "is a draft until" not in words
        assert words.count("cannot become agreed as it is") == 1
        # The status at the top and the agreed version beside the draft say the same.
        assert "Version 1 is agreed and in force; version 2 was declined" in words
        assert "stays in force: version 2 was declined." in words
        assert "version 2 is a draft" not in words and "until both of you sign" not in words


def test_before_signing_the_client_is_told_where_their_words_were_changed(app, db, circle):
    """Workers propose; the client's signature accepts. The sign form names the sections where
    someone else last changed words the client wrote, and the worker's form names none."""
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    doc = documents.create_document(db, client, circle.client.id, "care_plan")
    content = documents.open_document(db, client, doc).content
    content["domains"]["housing"] = {"own_words": "The flat is damp and I cannot sleep."}
    documents.save_version(db, client, doc, 0, content, "my words")
    content = documents.open_document(db, worker, doc).content
    content["domains"]["housing"]["own_words"] = "Housing is damp."
    documents.save_version(db, worker, doc, 1, content, "shorter")

    page = _words(_browser(app, circle.client).get(f"/documents/{doc}").get_data(as_text=True))
    assert "Someone else changed words you wrote." in page
    assert (
        f"My life, in my own words — Housing: last changed by {circle.key_worker.display_name}"
        in page
    )
    theirs = _browser(app, circle.key_worker).get(f"/documents/{doc}").get_data(as_text=True)
    assert "Someone else changed words you wrote" not in theirs


def test_a_signer_can_see_what_changed_since_they_last_signed(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "A new line from Kim"}
    documents.save_version(db, worker, doc, 1, content, "one more thing")

    link = f"/documents/{doc}/compare?older=1&amp;newer=2"
    page = _browser(app, circle.client).get(f"/documents/{doc}").get_data(as_text=True)
    assert link in page and "What changed since you signed version 1" in page
    # The key worker never signed: nothing to compare with.
    theirs = _browser(app, circle.key_worker).get(f"/documents/{doc}").get_data(as_text=True)
    assert "What changed since you signed" not in theirs


def _summary(page) -> list[tuple[str, str]]:
    """(anchor, message) of each line of the summary at the top of the page."""
    block = re.search(
        r'<div class="error" role="alert" id="error-summary".*?</div>', page.html, re.S
    )
    assert block, "no summary of what went wrong"
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', block.group(0))


def test_what_went_wrong_on_the_document_page_is_summed_up_at_its_top(app, db, circle):
    """On a phone the document's forms are screens below its top: each refused form's message
    is repeated first, linking to a field that is on the page."""
    doc = make_plan(circle.key_worker, circle.client)
    client = _browser(app, circle.client)
    page = _page(client.get(f"/documents/{doc}"))
    assert "error-summary" not in page.by_id

    sign = page.form(f"/documents/{doc}/versions/1/sign")
    refused = _page(
        _post(client, sign, sign.typed({"outcome": "signed", "password": "not it"})), 422
    )
    [(anchor, message)] = _summary(refused)
    assert anchor == "password" and "Nothing was signed" in message
    assert refused.html.index('id="error-summary"') < refused.html.index('id="sign-off"')

    declined = sign.typed({"outcome": "declined", "password": PASSWORD})
    refused = _page(_post(client, sign, declined), 422)
    assert [a for a, _ in _summary(refused)] == ["comment"]

    comment = next(f for f in page.forms if f.action == f"/documents/{doc}/comments")
    refused = _page(_post(client, comment, comment.values()), 422)
    [(anchor, _)] = _summary(refused)
    assert anchor == f"body-{comment.values()['section_key']}" and anchor in refused.by_id

    assert _stored(db, doc) == ([], ("draft", None))  # nothing was signed or declined

    # An earlier review asked for by a date in the past, on an agreed plan.
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    page = _page(client.get(f"/documents/{doc}"))
    review = page.form(f"/documents/{doc}/review-request")
    past = review.typed({"wanted_by": "2020-02-02", "reason": "Things changed."})
    refused = _page(_post(client, review, past), 422)
    [(anchor, message)] = _summary(refused)
    assert anchor == "wanted_by" and anchor in refused.by_id and "past" in message


def test_a_comment_typed_with_a_plain_signature_is_refused_not_dropped(app, db, circle):
    """The comment box stays on the form whatever is chosen, and says who will read it:
    words typed there with "I agree and sign" were once dropped while the page said "You
    signed". Now nothing is signed, the message stands by the box and the words stay in it."""
    doc = make_plan(circle.key_worker, circle.client)
    sign_url = f"/documents/{doc}/versions/1/sign"
    client = _browser(app, circle.client)
    form = _page(client.get(f"/documents/{doc}")).form(sign_url)
    words = "Goal 2 is for when I have a flat"
    values = form.typed({"outcome": "signed", "comment": words, "password": PASSWORD})
    refused = _page(_post(client, form, values), 422)
    [(anchor, message)] = _summary(refused)
    assert anchor == "comment" and "comment" in refused.invalid_ids()
    assert "I agree and sign, with a comment" in message and "empty the box" in message
    assert refused.by_id["comment-error"][0] == "p"  # beside the box, not only at the top
    kept = refused.form(sign_url).values()
    assert (kept["comment"], kept["outcome"]) == (words, "signed")
    assert _stored(db, doc) == ([], ("draft", None))

    with_comment = form.typed(
        {"outcome": "signed_with_comment", "comment": words, "password": PASSWORD}
    )
    assert _post(client, form, with_comment).status_code == 302
    with db.read() as s:
        kept = s.execute(sa.select(SignatureRecord.outcome, SignatureRecord.comment)).all()
    assert kept == [("signed_with_comment", words)]


def test_an_advocate_whose_account_is_closed_is_not_offered_nor_asked(app, db, circle):
    admin_accounts.set_active(
        db, actor_for(circle.admin), circle.advocate.id, False, "Left the advocacy service"
    )
    doc = make_plan(circle.key_worker, circle.client)
    client = _browser(app, circle.client)
    shown = _page(client.get(f"/documents/{doc}"))
    assert "Ask my advocate to look at it first" not in shown.html
    assert "Choose an advocate" in shown.html
    # Asked all the same (a page opened before the account closed): nobody is asked, and the
    # client is told why, not that their advocate was asked.
    page = _page(
        client.post(
            f"/documents/{doc}/versions/1/ask-advocate", data={"csrf_token": csrf_token(client)}
        ),
        409,
    )
    assert "Your advocate's account has been closed, so nobody was asked." in _words(page.html)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AdvocateReviewRequest)) == 0
        assert (
            s.scalar(sa.select(sa.func.count()).where(Notification.user_id == circle.advocate.id))
            == 0
        )
    # "My advocate" says where they went (it listed only open accounts: they vanished), and
    # their access can still be stopped, which reopening the account would otherwise give back.
    mine = _page(client.get("/me/advocates"))
    words = _words(mine.html)
    assert circle.advocate.display_name in words
    assert "Their account has been closed, so they cannot see your records" in words
    stop = mine.form("")  # posts back to its own page
    stopped = client.post("/me/advocates", data={**stop.values(), "action": "revoke"})
    assert stopped.status_code == 302
    with db.read() as s:
        invitation = s.scalar(
            sa.select(AdvocateInvitation).where(AdvocateInvitation.client_id == circle.client.id)
        )
        assert invitation.revoked_at is not None
    assert circle.advocate.display_name not in _words(_page(client.get("/me/advocates")).html)


def test_asking_an_advocate_when_none_is_chosen_says_how_on_the_document(app, db, circle):
    with db.write() as s:  # this client has chosen no advocate
        s.execute(
            sa.delete(AdvocateInvitation).where(AdvocateInvitation.client_id == circle.client.id)
        )
    doc = make_plan(circle.key_worker, circle.client)
    client = _browser(app, circle.client)
    # Not offered without an advocate (the page says how to choose one); asked all the same,
    # the service refuses and says how.
    shown = _page(client.get(f"/documents/{doc}"))
    assert "Ask my advocate to look at it first" not in shown.html
    page = _page(
        client.post(
            f"/documents/{doc}/versions/1/ask-advocate", data={"csrf_token": csrf_token(client)}
        ),
        409,
    )
    words = _words(page.html)
    assert "You have not chosen an advocate yet, so nobody was asked." in words
    assert "on “My advocate” in the menu" in words
    assert "Nothing was changed. Please look again at:" in words  # the summary at the top
    assert page.form(f"/documents/{doc}/versions/1/sign")  # still on the document, can sign


def test_after_a_decline_the_two_who_sign_are_offered_the_same_words_again(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "declined", "Wrong button", PASSWORD)
    offer = "Offer the same words again for signing"
    advocate = login(app.test_client(), circle.advocate)
    assert offer not in advocate.get(f"/documents/{doc}").get_data(as_text=True)
    web = login(app.test_client(), circle.client)
    page = web.get(f"/documents/{doc}").get_data(as_text=True)
    assert offer in page and "either of you can offer them again as version 2" in page
    url = f"/documents/{doc}/versions/1/offer-again"
    done = web.post(url, data={"csrf_token": csrf_token(web)}, follow_redirects=True)
    shown = done.get_data(as_text=True)
    assert "The same words are now version 2, for both of you to sign." in shown
    assert offer not in shown  # version 2 is declined by nobody
    again = web.post(url, data={"csrf_token": csrf_token(web)})
    assert again.status_code == 409
    assert "Version 1 is no longer the latest" in again.get_data(as_text=True)
    history = [e.what for e in documents.history(db, actor_for(circle.client), doc).events]
    assert history[0] == "offered the words of version 1 again for signing (version 2)"


def test_a_reader_who_does_not_sign_is_told_who_sets_the_review_date(app, db):
    """A supervisor once read "It is set when you have both signed", and a "Paper copies"
    heading with nothing under it."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    who = circle.client.display_name
    for reader in (circle.supervisor, circle.advocate):
        page = login(app.test_client(), reader).get(f"/documents/{doc}").get_data(as_text=True)
        said = f"No review date yet. It is set when both {who} and their key worker have signed"
        assert said in page and "you have both" not in page, reader.role
    for reader in (circle.client, circle.key_worker):
        page = login(app.test_client(), reader).get(f"/documents/{doc}").get_data(as_text=True)
        assert "It is set when you have both signed the same version." in page, reader.role

    empty = documents.create_document(db, actor_for(circle.key_worker), circle.client.id)
    for reader in (circle.supervisor, circle.client):
        page = login(app.test_client(), reader).get(f"/documents/{empty}").get_data(as_text=True)
        assert "Nothing has been written yet." in page and "Paper copies" not in page
    page = login(app.test_client(), circle.supervisor).get(f"/documents/{doc}").get_data(True)
    assert "<h3>Paper copies</h3>" in page and "as a draft PDF" in page


def test_an_agreed_version_says_which_parts_were_left_blank_on_purpose(app, db, circle):
    """The document page said "Nobody listed yet" of parts both signers had confirmed were
    left blank on purpose, where the signed PDF and the crisis page say so."""
    doc = make_agreement(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)

    def words(path: str = "") -> str:
        return _words(web.get(f"/documents/{doc}{path}").get_data(as_text=True))

    draft = words()
    assert "Who can I contact out of hours? Nobody listed yet." in draft
    assert "Left blank on purpose." not in draft
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    agreed = words()
    assert "Who can I contact out of hours? Left blank on purpose." in agreed
    assert "Who should be contacted? Left blank on purpose." in agreed
    assert "What helps me? Nothing written yet." in agreed  # nobody was asked to confirm it

    # A draft after it, with the same parts empty, is not agreed: they are not written yet.
    content = documents.open_document(db, actor_for(circle.client), doc).content
    content["sections"]["contingencies"]["what_helps"] = {"text": "Quiet."}
    documents.save_version(db, actor_for(circle.client), doc, 1, content, "")
    assert "Who should be contacted? Nobody listed yet." in words()
    assert "Who should be contacted? Left blank on purpose." in words("/versions/1")


def test_the_sign_form_names_the_parts_of_a_section_someone_else_changed(app, db, circle):
    """ "My life, in my own words" holds nine life domains, "Goals and steps" every goal: the
    sign form names the ones changed, so the client need not open each to find them."""
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    doc = documents.create_document(db, client, circle.client.id, "care_plan")
    content = documents.open_document(db, client, doc).content
    content["domains"]["housing"] = {"own_words": "The flat is damp."}
    content["domains"]["money"] = {"own_words": "I owe rent."}
    content["domains"]["legal"] = {"own_words": "Nothing."}
    content["goals"] = [
        {
            "title": "Find a flat",
            "steps": [
                {"text": "Call the council", "owner": {"kind": "client"}, "due": "2027-01-01"}
            ],
        }
    ]
    documents.save_version(db, client, doc, 0, content, "my words")
    content = documents.open_document(db, worker, doc).content
    content["domains"]["housing"]["own_words"] = "Damp flat."
    content["domains"]["money"]["own_words"] = "Rent arrears."
    content["goals"][0]["steps"][0]["text"] = "Call the council housing team"
    documents.save_version(db, worker, doc, 1, content, "shorter")

    page = _browser(app, circle.client).get(f"/documents/{doc}").get_data(as_text=True)
    listed = re.search(r'<div class="notice" id="changed-words">(.*?)</div>', page, re.DOTALL)
    assert listed, "the sign form does not list the parts"
    words, kim = _words(listed.group(1)), circle.key_worker.display_name
    assert f"My life, in my own words — Housing, Money and benefits: last changed by {kim}" in words
    assert (
        f"Goals and steps — a step of goal “Find a flat” (“Call the council housing team”): "
        f"last changed by {kim}"
    ) in words
    assert "Legal" not in words


def test_the_client_sees_whom_they_asked_to_look_and_is_not_offered_to_ask_them_again(
    app, db, circle
):
    """After asking, the page looked as before, the same button asking again for nothing."""
    doc = make_plan(circle.key_worker, circle.client)
    client = _browser(app, circle.client)
    ask = f"/documents/{doc}/versions/1/ask-advocate"
    asked = client.post(ask, data={"csrf_token": csrf_token(client)})
    assert asked.status_code == 302
    words = _words(_page(client.get(f"/documents/{doc}")).html)
    today = long_date(service_today())
    name = circle.advocate.display_name
    assert f"You asked {name} to look at version 1 before you sign, on {today}." in words
    assert "Ask my advocate to look at it first" not in words
    # A second advocate chosen since has not been asked: the offer is back, for them.
    second = AdvocateFactory()
    AdvocateInvitationFactory(client_id=circle.client.id, advocate_id=second.id)
    words = _words(_page(client.get(f"/documents/{doc}")).html)
    assert f"You asked {name} to look at version 1" in words
    assert "Ask my advocate to look at it first" in words
    # Once the client has signed, nothing more is said of it: nothing left to ask about.
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    assert "You asked" not in _words(_page(client.get(f"/documents/{doc}")).html)


def test_the_sign_form_says_who_reads_a_reason_and_its_button_what_it_does(app, db, circle):
    """It said "everyone who can see this document will read it", and its one button said
    "Confirm" whether the choice was to sign or to decline."""
    doc = make_plan(circle.key_worker, circle.client)
    client = login(app.test_client(), circle.client)
    raw = client.get(f"/documents/{doc}").get_data(as_text=True)
    page = _words(raw)
    assert (
        "Your comment or reason (your key worker, their team's supervisors and any advocate you "
        "choose will read it)"
    ) in page
    # And beside every comment box, before anything is sent.
    assert (
        "Your key worker, their team's supervisors and any advocate you choose will read it. Up to"
        in page
    )
    assert ">Confirm my choice</button>" in raw
    labels = re.search(r'data-label-by="outcome" data-labels="([^"]+)"', raw)
    said = html.unescape(labels.group(1))
    assert '"declined": "Decline to sign, and send my reason"' in said
    assert '"signed": "Sign version 1"' in said
    # Given back (no password typed): the button says what the choice made does.
    refused = client.post(
        f"/documents/{doc}/versions/1/sign",
        data={
            "outcome": "declined",
            "comment": "",
            "password": "",
            "csrf_token": csrf_token(client),
        },
    )
    assert refused.status_code == 422
    assert ">Decline to sign, and send my reason</button>" in refused.get_data(as_text=True)
    worker = login(app.test_client(), circle.key_worker)
    page = _words(worker.get(f"/documents/{doc}").get_data(as_text=True))
    # The key worker is told of their own team's supervisors, not of "their key worker".
    assert (
        "(the client, your team's supervisors and any advocate the client chooses will read it)"
    ) in page
    advocate = login(app.test_client(), circle.advocate)  # comments, and signs nothing
    page = _words(advocate.get(f"/documents/{doc}").get_data(as_text=True))
    assert (
        "The client, their key worker, the team's supervisors and any advocate the client "
        "chooses will read it."
    ) in page


def test_after_declining_what_happens_next_comes_before_offering_the_same_words_again(app, db):
    """The first thing under a client's decline was a large "Offer the same words again for
    signing" button: it read as the way to take the decline back."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "declined", "Not my words", PASSWORD)
    client = login(app.test_client(), circle.client)
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    declined, offered = page.index("You declined to sign"), page.index('class="offer-again"')
    folded = page.index('<details class="offer-again-later">')
    assert declined < folded < offered
    assert "Your reason is kept with the document, where your key worker, their team" in page
    # The other side, who did not decline, is offered it as before, unfolded.
    worker = login(app.test_client(), circle.key_worker)
    page = worker.get(f"/documents/{doc}").get_data(as_text=True)
    assert 'class="offer-again"' in page and "offer-again-later" not in page
