"""Editing without losing work: one part at a time, drafts kept through the idle sign-out,
and the wording check before saving (for browsers without scripts too)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from careplan.db.models import SignatureRecord, User
from careplan.domain.idle_sessions import recording_interval
from careplan.domain.local_time import service_today
from careplan.domain.nested import unflatten
from careplan.services import documents, drafts, handovers, leaving, signoff
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, Circle, KeyWorkerFactory, make_plan
from tests.gunicorn import given_back
from tests.web.test_plan_pages import Page, _field_with_error, _section


@pytest.fixture
def circle(app):
    return Circle()


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_one_part_is_edited_on_its_own_page(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    show = _text(web.get(f"/documents/{doc}"))
    assert f'href="/documents/{doc}/edit?part=what_matters"' in show

    page = _text(web.get(f"/documents/{doc}/edit", query_string={"part": "what_matters"}))
    assert "What matters most to you?" in page and "<h2>Goals and steps</h2>" not in page
    assert "<h2>Goals and steps</h2>" in _text(web.get(f"/documents/{doc}/edit"))
    assert web.get(f"/documents/{doc}/edit", query_string={"part": "nope"}).status_code == 404

    before = documents.open_document(db, actor_for(circle.client), doc).content
    saved = web.post(f"/documents/{doc}/edit", data={
        "csrf_token": csrf_token(web), "base_number": "1", "part": "what_matters",
        "what_matters-text": "My dog and my garden",
    })  # fmt: skip
    assert saved.status_code == 302
    after = documents.open_document(db, actor_for(circle.client), doc).content
    assert after["what_matters"]["text"] == "My dog and my garden"
    # Every other part is as it was, with who wrote it (empty parts too: see attribute()).
    assert after["goals"] == before["goals"]
    assert after["domains"] == before["domains"]


def test_words_sent_again_from_a_page_gone_back_to_are_based_on_their_own_save(app, db, circle):
    """The edit page's script marks words the browser put back on a page that had sent them
    (sent_before): typed on version 1, they are version 2, saved from that page. Based on
    version 1 they stood against the key worker's version 3 as a change made again."""
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    mine = {"part": "what_matters", "what_matters-text": "My dog and my garden"}
    sent = {"csrf_token": csrf_token(web), "base_number": "1", **mine}
    assert web.post(f"/documents/{doc}/edit", data=sent).status_code == 302
    kim = actor_for(circle.key_worker)
    content = documents.open_document(db, kim, doc).content
    content["what_matters"]["text"] = "Kim's newer words"
    documents.save_version(db, kim, doc, 2, content, "")

    def form_after(extra: dict) -> str:
        answer = web.post(f"/documents/{doc}/edit", data={**sent, **extra})
        assert answer.status_code == 409  # nothing saved: the conflict page
        return _text(answer)

    again = form_after({"sent_before": "yes"})
    assert "You had not changed anything." in again
    assert ">Kim&#39;s newer words</textarea>" in again and "You both changed" not in again
    # Not marked (another tab's words, typed on version 1): a change of their own, said so.
    other_tab = form_after({})
    assert "You changed the same part twice" not in other_tab
    assert "You both changed the same part" in other_tab
    assert ">My dog and my garden</textarea>" in other_tab
    # Marked, but the next version is someone else's (the save was refused): as typed.
    assert documents.base_of_words_sent_again(db, actor_for(circle.client), doc, 2) == 2
    assert documents.base_of_words_sent_again(db, actor_for(circle.client), doc, 1) == 2
    # The last number the column holds has no next one to look for (PostgreSQL would refuse).
    top = 2**31 - 1
    assert documents.base_of_words_sent_again(db, actor_for(circle.client), doc, top) == top
    assert documents.open_document(db, kim, doc).head_number == 3


def test_a_refused_form_comes_back_with_the_words_typed_in_it(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"

    def post(**fields):
        data = {"csrf_token": csrf_token(web), "part": "what_matters",
                "what_matters-text": "Words I do not want to type again", **fields}  # fmt: skip
        return web.post(url, data=data)

    # An old page that names a version that does not exist (or a forged one).
    for action in ("save", "check"):  # saving, or checking the wording first
        stale = post(base_number="7", action=action)
        assert stale.status_code == 400
        page = " ".join(_text(stale).split())
        assert "There is no version 7: the latest is version 1." in page
        assert "Words I do not want to type again</textarea>" in page
    # A change note too long: said beside the note, the writing kept.
    long = post(base_number="1", change_note="n" * 1001)
    assert long.status_code == 422
    page = _text(long)
    assert 'id="change_note-error">Please keep the note about your change to 1,000' in page
    assert "Words I do not want to type again</textarea>" in page
    # A form that cannot be read at all gets the service's own page, not a bare one.
    unreadable = post(base_number="")
    assert unreadable.status_code == 400 and "Nothing was saved" in _text(unreadable)
    assert documents.open_document(db, actor_for(circle.client), doc).head_number == 1


def test_checking_the_wording_first_shows_suggestions_and_saves_nothing(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.key_worker)
    response = web.post(f"/documents/{doc}/edit", data={
        "csrf_token": csrf_token(web), "base_number": "1", "part": "what_matters",
        "what_matters-text": "Both tests were dirty", "action": "check",
    })  # fmt: skip
    page = _text(response)
    assert response.status_code == 200
    assert "Suggestions about wording" in page and "were dirty" in page
    assert "Both tests were dirty</textarea>" in page  # the words stay on the page to change
    assert documents.open_document(db, actor_for(circle.key_worker), doc).head_number == 1


def test_live_suggestions_for_one_piece_of_writing(app, circle):
    web = login(app.test_client(), circle.client)
    found = web.post(
        "/language-check", data={"text": "clean samples", "csrf_token": csrf_token(web)}
    ).get_json()
    assert [f["found"] for f in found["findings"]] == ["clean samples"]
    # Two choices are said as two, not as "not using / negative test result".
    assert [f["could_write"] for f in found["findings"]] == [
        "“not using” or “negative test result”"
    ]


def test_a_save_after_the_idle_sign_out_is_kept_as_a_draft_to_carry_on_with(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    token = csrf_token(web)
    with web.session_transaction() as session:
        idle = 60 * app.config["IDLE_TIMEOUT_MINUTES"]
        session["last_seen"] -= idle + recording_interval(idle) + 1
    late = web.post(f"/documents/{doc}/edit", data={
        "csrf_token": token, "base_number": "1", "what_matters-text": "Written slowly",
        "change_note": "my words",
    })  # fmt: skip
    assert late.status_code == 302
    assert late.headers["Location"].endswith(f"/login?next=/documents/{doc}/edit#confirmation")
    assert documents.open_document(db, actor_for(circle.client), doc).head_number == 1

    login(web, circle.client)
    page = _text(web.get(f"/documents/{doc}/edit"))
    assert "You have changes that were not saved yet" in page
    restored = _text(web.get(f"/documents/{doc}/edit", query_string={"draft": "restore"}))
    assert "Written slowly</textarea>" in restored and "my words</textarea>" in restored


def test_a_save_after_the_password_changed_elsewhere_gives_the_words_back(app, db, circle):
    """The session was ended on purpose (perhaps this phone was lost): nothing it sends is
    kept, but the words it sent are shown back to it, to copy before signing in again."""
    doc = make_plan(circle.key_worker, circle.client)
    here, elsewhere = (login(app.test_client(), circle.client) for _ in range(2))
    token = csrf_token(here)
    changed = elsewhere.post("/me/account/password", data={
        "csrf_token": csrf_token(elsewhere), "current_password": PASSWORD,
        "password": "a brand new password here", "password_again": "a brand new password here",
    })  # fmt: skip
    assert changed.status_code == 302
    url = f"/documents/{doc}/edit?part=what_matters"
    late = here.post(url, data={
        "csrf_token": token, "base_number": "1", "part": "what_matters",
        "what_matters-text": "Seeing my sister <b>again</b>", "change_note": "after the call",
        "goals-0-id": "65be21a1df28", "goals-0-steps-0-status": "in_progress",
        "goals-0-steps-0-text": "Ring the council",
    }, headers={"Referer": f"http://localhost{url}"})  # fmt: skip
    assert late.status_code == 401
    page = " ".join(_text(late).split())
    assert "<h1>You were signed out: nothing was saved</h1>" in page
    assert "You were signed out because your password was changed." in page
    # Each answer named where it was on the form; ids and choices are not anyone's words.
    assert given_back(page) == {
        "What matters to me": "Seeing my sister <b>again</b>",
        "What did you change?": "after the call",
        "Goals and steps, goal 1, step 1": "Ring the council",
    }
    assert "Seeing my sister &lt;b&gt;again" in page  # escaped as every page escapes words
    assert "65be21a1df28" not in page and "in_progress" not in page
    assert "Choices you made on the form, such as who will do a step" in page
    assert (
        f'href="/login?next=%2Fdocuments%2F{doc}%2Fedit%3Fpart%3Dwhat_matters" target="_blank"'
        in page
    )
    assert documents.open_document(db, actor_for(circle.client), doc).head_number == 1
    with db.read() as s:
        assert drafts.draft_in(s, circle.client.id, doc) is None
    # Only a form with words: one of choices goes to sign in, as a page opened does, and a
    # page's script keeping a draft is answered as before (it tells the person itself).
    plain = here.post(f"/documents/{doc}/draft/discard", data={"csrf_token": token})
    assert plain.status_code == 302 and "/login?next=" in plain.headers["Location"]
    by_script = here.post(f"/documents/{doc}/draft", data={
        "csrf_token": token, "base_number": "1", "what_matters-text": "Typed on",
    }, headers={"X-Requested-With": "fetch"})  # fmt: skip
    assert by_script.status_code == 302 and "/login?next=" in by_script.headers["Location"]


def test_words_from_a_page_older_than_the_session_are_given_back_only_to_this_site(app, db, circle):
    """Signed out in another tab, or signed in again there: the form's CSRF token is no
    longer the session's. Its words are shown back when the browser says the form was one of
    this site's pages; from anywhere else the words could be another site's, and are not."""
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    old_token = csrf_token(web)
    url = f"/documents/{doc}/edit"
    form = {
        "csrf_token": old_token, "base_number": "1", "what_matters-text": "Back to college",
    }  # fmt: skip
    web.post("/logout", data={"csrf_token": old_token})
    here = {"Sec-Fetch-Site": "same-origin", "Referer": f"http://localhost{url}"}

    signed_out = web.post(url, data=form, headers=here)
    assert signed_out.status_code == 401
    page = " ".join(_text(signed_out).split())
    assert "You had been signed out before this was sent." in page
    assert (
        given_back(page) == {"What matters to me": "Back to college"}
        and 'href="/login?next=%2Fdocuments' in page
    )

    login(web, circle.client)
    again = web.post(url, data=form, headers=here)
    assert again.status_code == 400
    page = " ".join(_text(again).split())
    assert "<h1>This page was from before you signed in again: nothing was saved</h1>" in page
    assert given_back(page) == {"What matters to me": "Back to college"}
    assert f'href="{url}" target="_blank" rel="noopener">Open the page again in a new tab' in page
    by_origin = web.post(url, data=form, headers={"Origin": "http://localhost"})
    assert given_back(_text(by_origin)) == {"What matters to me": "Back to college"}

    for elsewhere in (
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
        {"Origin": "http://other.example"},
        {},
    ):
        refused = web.post(url, data=form, headers=elsewhere)
        assert refused.status_code == 400
        assert "Back to college" not in _text(refused)
        assert "This form had expired or was sent from somewhere else." in _text(refused)
    assert documents.open_document(db, actor_for(circle.client), doc).head_number == 1


def test_the_document_page_says_the_writer_has_unsaved_changes_and_links_to_them(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    drafts.keep(db, actor_for(circle.client), doc, 1, "", [("what_matters-text", "unsure")])
    web = login(app.test_client(), circle.client)
    page = _text(web.get(f"/documents/{doc}"))
    assert "You have changes that are not saved yet." in page
    assert "You last typed on " in page
    assert f'href="/documents/{doc}/edit?draft=restore">Carry on with your changes' in page
    # Not to anyone else who reads it, and not once the changes are saved.
    worker = _text(login(app.test_client(), circle.key_worker).get(f"/documents/{doc}"))
    assert "not saved yet" not in worker
    restored = _text(web.get(f"/documents/{doc}/edit", query_string={"draft": "restore"}))
    url = f"/documents/{doc}/edit"
    saved = web.post(url, data=Page(restored).form(url).typed({}))
    assert saved.status_code == 302 and documents.count_versions(db, doc) == 2
    assert "not saved yet" not in _text(web.get(f"/documents/{doc}"))


def test_a_draft_can_be_thrown_away(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    drafts.keep(db, actor_for(circle.client), doc, 1, "", [("what_matters-text", "unsure")])
    web = login(app.test_client(), circle.client)
    assert (
        web.post(
            f"/documents/{doc}/draft/discard", data={"csrf_token": csrf_token(web)}
        ).status_code
        == 302
    )
    assert "not saved yet" not in _text(web.get(f"/documents/{doc}/edit"))
    assert documents.open_for_editing(db, actor_for(circle.client), doc).draft is None


def test_the_page_keeps_drafts_through_a_script_and_warns_before_the_idle_sign_out(app, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    page = _text(web.get(f"/documents/{doc}/edit"))
    assert f'data-draft-url="/documents/{doc}/draft"' in page
    assert re.search(r'data-idle-seconds="900"', page)
    kept = web.post(f"/documents/{doc}/draft", data={
        "csrf_token": csrf_token(web), "base_number": "1", "what_matters-text": "typing",
    })  # fmt: skip
    assert kept.status_code == 200 and "kept_at" in kept.get_json()


@pytest.mark.parametrize("how", ["handed_over", "left"])
def test_a_worker_whose_client_moves_on_mid_edit_is_told_and_gets_their_words_back(
    app, db, circle, how
):
    with db.write() as s:  # told of by the name they go by
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.key_worker)
    token = csrf_token(web)
    web.get(f"/documents/{doc}/edit")  # the page is open ...
    if how == "handed_over":  # ... when a supervisor hands the client over
        new = KeyWorkerFactory(team_id=circle.team.id)
        handovers.start(db, actor_for(circle.supervisor), circle.client.id, new.id, "Cover")
        handovers.acknowledge(db, actor_for(new), circle.client.id)
    else:  # ... or records that they have left the service
        leaving.record(db, actor_for(circle.supervisor), circle.client.id, "Moved", service_today())

    saved = web.post(f"/documents/{doc}/edit", data={
        "csrf_token": token, "base_number": "1", "part": "what_matters",
        "what_matters-text": "Alex wants to try the allotment & the choir",
        "domains-housing-own_words": "I live with my sister for now.",  # as it was
        "change_note": "From Tuesday's visit",
    })  # fmt: skip
    page = _text(saved)
    assert saved.status_code == 403 and "Your changes were not saved" in page
    assert "Al is no longer on your caseload" in page
    assert "pass it on to Al's key worker" in page
    assert circle.client.display_name not in page
    assert "Alex wants to try the allotment &amp; the choir" in page
    assert "What matters to me" in page and "the change note" in page
    assert "From Tuesday&#39;s visit" in page
    # Only their own words: nothing of the record they may no longer read.
    assert "I live with my sister" not in page
    assert documents.open_document(db, actor_for(circle.client), doc).head_number == 1

    signed = web.post(f"/documents/{doc}/versions/1/sign", data={
        "csrf_token": token, "outcome": "signed", "password": PASSWORD,
    })  # fmt: skip
    assert signed.status_code == 403 and "Nothing was signed" in _text(signed)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 0


def test_a_worker_who_never_held_the_client_still_gets_not_found(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    stranger = login(app.test_client(), KeyWorkerFactory(team_id=circle.team.id))
    saved = stranger.post(f"/documents/{doc}/edit", data={
        "csrf_token": csrf_token(stranger), "base_number": "1", "part": "what_matters",
        "what_matters-text": "Anything",
    })  # fmt: skip
    assert saved.status_code == 404 and "Anything" not in _text(saved)
    signed = stranger.post(f"/documents/{doc}/versions/1/sign", data={
        "csrf_token": csrf_token(stranger), "outcome": "signed", "password": PASSWORD,
    })  # fmt: skip
    assert signed.status_code == 404


def test_a_former_key_worker_learns_nothing_written_after_they_lost_the_client(app, db, circle):
    """Neither that a document made since exists (404, as for any other), nor, by which of
    their guesses come back, what a version made since says."""
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.key_worker)
    token = csrf_token(web)
    new = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new.id, "Cover")
    handovers.acknowledge(db, actor_for(new), circle.client.id)
    secret = "I told nobody but Jo about March."
    content = documents.open_document(db, actor_for(new), doc).content
    content["what_matters"] = {"text": secret}
    documents.save_version(db, actor_for(new), doc, 1, content)
    made_since = make_plan(new, circle.client)

    for target in (made_since, 424242):
        for path in (f"/documents/{target}/edit", f"/documents/{target}/versions/1/sign"):
            answer = web.post(path, data={
                "csrf_token": token, "base_number": "1", "outcome": "signed",
                "password": PASSWORD, "what_matters-text": "A guess",
            })  # fmt: skip
            assert answer.status_code == 404, path
            assert circle.client.display_name not in _text(answer)

    guesses = [secret, "I told nobody about April."]
    form = MultiDict([("csrf_token", token), ("base_number", "2")])
    form.setlist("what_matters-text", guesses)
    page = _text(web.post(f"/documents/{doc}/edit", data=form))
    assert "Your changes were not saved" in page
    assert all(guess in page for guess in guesses)  # version 2 is not theirs to compare with


def test_a_client_who_left_reads_that_no_key_worker_can_sign_yet(app, db, circle):
    """Not "waiting for your key worker": they have none until they come back, and the one
    who signed before is their former key worker."""
    doc = make_plan(circle.key_worker, circle.client)
    client = actor_for(circle.client)
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD)
    content = documents.open_document(db, client, doc).content
    content["what_matters"] = {"text": "Seeing my daughter on Sundays"}
    documents.save_version(db, client, doc, 1, content)
    signoff.sign(db, client, doc, 2, "signed", "", PASSWORD)
    signed_by_worker = make_plan(circle.key_worker, circle.client)
    signoff.sign(db, actor_for(circle.key_worker), signed_by_worker, 1, "signed", "", PASSWORD)
    web = login(app.test_client(), circle.client)
    name = circle.key_worker.display_name
    before = _text(web.get(f"/documents/{doc}"))
    assert f"waiting for your key worker {name}&#39;s signature" in before
    assert "You have no key worker at the moment" not in before
    assert f"<bdi>{name}</bdi>, your key worker,</strong> signed version 1" in before
    asked = "is waiting for your signature: read it and sign, or say why not."
    assert asked in _text(web.get("/", follow_redirects=True))  # the one the worker signed

    leaving.record(db, actor_for(circle.key_worker), circle.client.id, "Moved", service_today())
    page = _text(web.get(f"/documents/{doc}"))
    assert "Version 2 is waiting for a key worker&#39;s signature." in page
    assert "You have no key worker at the moment" in page
    assert "It becomes agreed when a key worker signs it too." in page
    assert f"<bdi>{name}</bdi>, your former key worker,</strong> signed version 1" in page
    home = _text(web.get("/", follow_redirects=True))
    assert "Version 2 is waiting for a signature: a key worker&#39;s." in home
    assert "You have no key worker at the moment. You can still start a plan" in home
    assert asked not in home  # nobody can sign it with them until they come back
    assert "You have no key worker at the moment" not in _text(
        login(app.test_client(), Circle().client).get("/", follow_redirects=True)
    )
    missing = web.get("/documents/999999")  # the note for staff is not for clients
    assert missing.status_code == 404 and "their records close" not in _text(missing)
    # A version the key worker signed before the client left now needs a new key worker's.
    page = _text(web.get(f"/documents/{signed_by_worker}"))
    assert f"<bdi>{name}</bdi> signed version 1 as key worker before you left the service" in page
    assert "before the handover" not in page


# --- a form that comes back: what was typed, and one spare row to add another ------------------


def _lists(values: dict[str, str]) -> dict:
    """The repeatable lists of a care plan's edit form as a browser would post it: each goal's
    title with its steps' words, and the care team's names (a spare row reads as "")."""
    content = unflatten(values.items())
    return {
        "goals": [
            (goal.get("title"), [step.get("text") for step in goal.get("steps", [])])
            for goal in content.get("goals", [])
        ],
        "care_team": [m.get("name") for m in content.get("care_team", [])],
    }


@pytest.mark.parametrize("action", ["save", "check"])
def test_a_form_that_comes_back_offers_one_spare_row_in_each_list_however_often(
    app, db, circle, action
):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url))).form(url)
    # Typed into the spare rows the page offers: a step for goal 1, a new goal with a step,
    # someone new in the care team. A refused save has an answer to look at again.
    values = form.typed({
        "goals-0-steps-1-text": "Go to a viewing", "goals-0-steps-1-due": "2027-04-01",
        "goals-1-title": "Learn to cook", "goals-1-steps-0-text": "Find a class",
        "goals-1-steps-0-due": "2027-05-01", "care_team-1-name": "Sam Jones",
        "review_interval_weeks": "0" if action == "save" else "8",
    })  # fmt: skip
    expected = {
        "goals": [
            ("Find a flat", ["Call the council", "Go to a viewing", ""]),
            ("Learn to cook", ["Find a class", ""]),
            ("", ["", ""]),  # the spare goal, with two spare steps
        ],
        "care_team": ["Dr Patel", "Sam Jones", ""],
    }
    for _ in range(3):  # each time the page's own form is sent again as it stands
        response = web.post(url, data={**values, "action": action})
        assert response.status_code == (422 if action == "save" else 200)
        page = Page(_text(response))
        values = page.form(url).values()
        assert _lists(values) == expected
        if action == "save":
            assert page.invalid_ids() == {"review_interval_weeks"}
        else:
            assert "No suggestions about wording." in page.html
    assert documents.count_versions(db, doc) == 1


def test_one_part_refused_then_stale_still_offers_one_spare_step(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web, worker = (
        login(app.test_client(), circle.client),
        login(app.test_client(), circle.key_worker),
    )
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url, query_string={"part": "goals"}))).form(url)
    # A new step without its date: the message is beside that step's date box, not another.
    values = form.typed({"goals-0-steps-1-text": "Go to a viewing"})
    for _ in range(2):
        page = Page(_text(response := web.post(url, data=values)))
        assert response.status_code == 422
        assert page.invalid_ids() == {"goals-0-steps-1-due"}
        values = page.form(url).values()
        assert _lists(values)["goals"] == [
            ("Find a flat", ["Call the council", "Go to a viewing", ""]),
            ("", ["", ""]),
        ]
    # Meanwhile the key worker saves; the client's fixed save comes back as a conflict.
    theirs = Page(_text(worker.get(url))).form(url)
    saved = worker.post(url, data=theirs.typed({"what_matters-text": "My kids."}))
    assert saved.status_code == 302
    response = web.post(url, data=values | {"goals-0-steps-1-due": "2027-04-01"})
    assert response.status_code == 409
    values = Page(_text(response)).form(url).values()
    assert _lists(values)["goals"] == [
        ("Find a flat", ["Call the council", "Go to a viewing", ""]),
        ("", ["", ""]),
    ]
    assert web.post(url, data=values).status_code == 302
    steps = documents.open_document(db, actor_for(circle.client), doc).content["goals"][0]["steps"]
    assert [s["text"] for s in steps] == ["Call the council", "Go to a viewing"]


def test_a_goal_without_its_title_keeps_its_steps_and_one_spare(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url, query_string={"part": "goals"}))).form(url)
    values = form.typed(
        {"goals-1-steps-0-text": "Find a class", "goals-1-steps-0-due": "2027-05-01"}
    )
    for _ in range(2):
        page = Page(_text(response := web.post(url, data=values)))
        assert response.status_code == 422 and page.invalid_ids() == {"goals-1-title"}
        values = page.form(url).values()
        assert _lists(values)["goals"] == [
            ("Find a flat", ["Call the council", ""]),
            ("", ["Find a class", ""]),
            ("", ["", ""]),
        ]


def test_checking_the_wording_of_a_form_with_a_wrong_answer_says_both(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.key_worker)
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url))).form(url)
    values = form.typed(
        {"what_matters-text": "Both tests were dirty", "review_interval_weeks": "0"}
    )
    response = web.post(url, data={**values, "action": "check"})
    assert response.status_code == 422
    page = Page(_text(response))
    assert page.invalid_ids() == {"review_interval_weeks"}
    wording = " ".join(_section(page.html, 'id="wording-checked"', "</div>").split())
    assert "Suggestions about wording" in wording
    assert "In “What matters to me”: “were dirty”." in wording
    assert "save as it is" not in wording  # it cannot be saved as it is
    # Words already in the version are not checked again (the plan's own words have none here,
    # so a clean form with an answer to fix says there is nothing about wording).
    response = web.post(url, data={**form.typed({"review_interval_weeks": "0"}), "action": "check"})
    assert response.status_code == 422 and "No suggestions about wording." in _text(response)
    assert documents.count_versions(db, doc) == 1


def test_one_part_s_forms_keep_the_part_and_the_wording_check_lands_at_its_answer(app, circle):
    """The wording check posted to `edit#error-summary`, which its answer does not have
    when nothing needs another look, and both buttons left `?part=` out of the address, so
    reloading the page showed every part."""
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    html = _text(web.get(f"/documents/{doc}/edit", query_string={"part": "what_matters"}))
    here = f"/documents/{doc}/edit?part=what_matters"
    assert f'action="{here}#error-summary"' in html
    assert f'formaction="{here}#wording-checked"' in html
    values = Page(html).form(f"/documents/{doc}/edit").values()
    checked = _text(web.post(here, data={**values, "action": "check"}))
    assert 'id="wording-checked"' in checked and 'id="error-summary"' not in checked


def test_a_date_left_out_is_asked_for_without_a_format_the_date_box_does_not_show(app, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url, query_string={"part": "goals"}))).form(url)
    page = Page(_text(web.post(url, data=form.typed({"goals-0-steps-0-due": ""}))))
    assert _field_with_error(
        page.html, "goals-0-steps-0-due", "Please give a whole date: day, month and year."
    )
    assert "2027-03-01" not in page.html and "YYYY" not in page.html


def test_a_step_date_years_ahead_is_refused_beside_its_box_and_named_in_the_summary(
    app, db, circle
):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url, query_string={"part": "goals"}))).form(url)
    refused = web.post(url, data=form.typed({"goals-0-steps-0-due": "9999-12-31"}))
    page = _text(refused)
    said = "That date is more than 10 years away. Please check the year."
    assert refused.status_code == 422
    assert _field_with_error(page, "goals-0-steps-0-due", said)
    assert f"Goals and steps, goal 1, step 1: by when — {said}" in page
    assert 'value="9999-12-31"' in page  # what was typed is kept to correct
    assert documents.count_versions(db, doc) == 1


def test_a_date_years_ahead_is_said_with_every_other_problem_in_one_answer(app, db, circle):
    """Not only once everything else is right: a person fixing one answer learns of the date
    in the same answer, beside its box and in the summary, in the order of the form."""
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url, query_string={"part": "goals"}))).form(url)
    typed = {"goals-0-steps-0-text": "", "goals-0-steps-0-due": "9999-12-31"}
    refused = web.post(url, data=form.typed({**typed, "change_note": "n" * 1001}))
    page = _text(refused)
    far = "That date is more than 10 years away. Please check the year."
    fill = "Please say what the step is. To take the step out, empty its date as well."
    note = (
        "Please keep the note about your change to 1,000 characters or fewer: it has 1,001. "
        "Nothing "
        "was lost: it is still here."
    )
    assert refused.status_code == 422
    assert _field_with_error(page, "goals-0-steps-0-text", fill)
    assert _field_with_error(page, "goals-0-steps-0-due", far)
    assert 'id="change_note-error">' + note in page
    summary = re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', page)
    assert summary == [
        ("goals-0-steps-0-text", f"Goals and steps, goal 1, step 1 — {fill}"),
        ("goals-0-steps-0-due", f"Goals and steps, goal 1, step 1: by when — {far}"),
        ("change_note", f"What did you change? — {note}"),  # by the box's own question
    ]
    assert 'value="9999-12-31"' in page
    # Checking the wording first says the same, all at once.
    checked = _text(web.post(url, data={**form.typed(typed), "action": "check"}))
    assert _field_with_error(checked, "goals-0-steps-0-text", fill)
    assert _field_with_error(checked, "goals-0-steps-0-due", far)
    assert documents.count_versions(db, doc) == 1


def test_changes_carried_on_from_a_draft_offer_one_spare_row(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    form = Page(_text(web.get(url))).form(url)
    # The page's script keeps the whole form as it stands, spare rows and all.
    typed = form.typed({"goals-0-steps-1-text": "Go to a viewing", "care_team-1-name": "Sam"})
    fields = [(k, v) for k, v in typed.items() if k not in ("csrf_token", "base_number")]
    for _ in range(2):
        drafts.keep(db, actor_for(circle.client), doc, 1, "", fields)
        page = Page(_text(web.get(url, query_string={"draft": "restore"})))
        values = page.form(url).values()
        assert _lists(values) == {
            "goals": [("Find a flat", ["Call the council", "Go to a viewing", ""]), ("", ["", ""])],
            "care_team": ["Dr Patel", "Sam", ""],
        }
        fields = [(k, v) for k, v in values.items() if k not in ("csrf_token", "base_number")]


def _saving_means(page: str) -> str:
    found = re.search(r'<p class="notice" id="saving-means">(.*?)</p>', page, re.S)
    # A name is in its own <bdi> (so a right-to-left one cannot turn the number after it
    # round); the words read the same without it.
    return " ".join(re.sub(r"</?bdi>", "", found.group(1)).split()) if found else ""


def test_the_edit_page_says_what_saving_does_to_the_signatures(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    url = f"/documents/{doc}/edit"
    worker = login(app.test_client(), circle.key_worker)
    client = login(app.test_client(), circle.client)
    called = documents.open_document(db, actor_for(circle.key_worker), doc).client_called
    assert _saving_means(_text(worker.get(url))) == ""  # nobody has signed: nothing to lose

    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD)
    assert _saving_means(_text(worker.get(url))) == (
        f"{called} has signed version 1. If you save, their signature stays with version 1"
        " and the new version needs both of you to sign it."
    )
    assert _saving_means(_text(client.get(url))) == (
        "You have signed version 1. If you save, your signature stays with version 1"
        " and the new version needs both of you to sign it."
    )

    # The key worker's changes, kept while they typed; then they sign the version as it is.
    drafts.keep(db, actor_for(circle.key_worker), doc, 1, "", [("what_matters-text", "More")])
    signoff.sign(db, actor_for(circle.key_worker), doc, 1, "signed", "", PASSWORD)
    page = _text(worker.get(url))
    waiting = " ".join(re.search(r'id="draft-waiting">(.*?)</div>', page, re.S).group(1).split())
    assert ". Version 1 has been agreed since.</p>" in waiting
    assert _saving_means(page) == (
        "Version 1 is agreed. Saving makes a new version for both of you to sign;"
        " version 1 stays in force until then."
    )
    # Saving does what the page said: a new version, waiting for both, version 1 in force.
    restored = _text(worker.get(url, query_string={"draft": "restore"}))
    assert worker.post(url, data=Page(restored).form(url).typed({})).status_code == 302
    shown = documents.open_document(db, actor_for(circle.key_worker), doc)
    assert shown.head_number == 2 and shown.signoff.agreed.number == 1
    assert shown.signoff.signed_now(2) == [] and len(shown.signoff.signed_now(1)) == 2


# The same person with the document open on two pages (two tabs, or a phone and a laptop).


def _open(web, url: str, **query) -> dict[str, str]:
    """The edit form as one page (tab) holds it."""
    return Page(_text(web.get(url, query_string=query))).form(url).values()


def _keep(web, doc: int, page: dict[str, str], words: str):
    """What the page's script sends as the person types."""
    return web.post(f"/documents/{doc}/draft", data={**page, "what_matters-text": words})


def test_a_draft_kept_on_another_tab_is_not_replaced_and_the_page_is_told(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    laptop, phone = _open(web, url, part="what_matters"), _open(web, url, part="what_matters")
    assert laptop["draft_revision"] == phone["draft_revision"] == ""
    assert laptop["draft_page"] != phone["draft_page"]

    kept = _keep(web, doc, laptop, "Typed on the laptop")
    assert kept.status_code == 200
    # When, as every page says a time (the service's clock, 24-hour), not the phone's way.
    assert re.fullmatch(r"\d\d:\d\d", kept.get_json()["kept_said"])
    laptop["draft_revision"] = kept.get_json()["revision"]  # as the script does

    refused = _keep(web, doc, phone, "Typed on the phone")
    assert refused.status_code == 409
    assert refused.get_json() == {
        "message": "You have changed this document in another tab or on another device since. "
        "What you type here is not being kept as a draft: save it as a version, or open the "
        "latest draft.",
        "latest": f"/documents/{doc}/edit?draft=restore",
    }
    draft = documents.open_for_editing(db, actor_for(circle.client), doc).draft
    assert dict(draft.fields)["what_matters-text"] == "Typed on the laptop"
    # The laptop carries on keeping its draft, and the draft it kept is the one offered.
    assert _keep(web, doc, laptop, "Typed on the laptop, and more").status_code == 200
    restored = _text(web.get(url, query_string={"draft": "restore"}))
    assert "Typed on the laptop, and more</textarea>" in restored


def test_a_page_carrying_on_from_the_draft_keeps_it_and_the_older_page_is_told(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    laptop = _open(web, url)
    laptop["draft_revision"] = _keep(web, doc, laptop, "Laptop").get_json()["revision"]
    # Opened on the phone, the draft waits; carrying on with it starts from its revision.
    waiting = Page(_text(web.get(url, query_string={"draft": "discard"})))
    discard = waiting.form(f"/documents/{doc}/draft/discard").values()
    assert discard["draft_revision"] == laptop["draft_revision"]
    phone = _open(web, url, draft="restore")
    assert phone["draft_revision"] == laptop["draft_revision"]
    assert _keep(web, doc, phone, "Phone").status_code == 200
    assert _keep(web, doc, laptop, "Laptop, later").status_code == 409
    # The laptop's "Throw those changes away", from before, throws away nothing newer.
    thrown = web.post(f"/documents/{doc}/draft/discard", data=discard)
    assert thrown.status_code == 302
    page = _text(web.get(url))
    assert "Those changes were not thrown away" in page and "not saved yet" in page
    draft = documents.open_for_editing(db, actor_for(circle.client), doc).draft
    assert dict(draft.fields)["what_matters-text"] == "Phone"


def test_saving_on_one_tab_leaves_the_draft_kept_on_another(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    laptop, phone = _open(web, url), _open(web, url)
    laptop["draft_revision"] = _keep(web, doc, laptop, "Laptop").get_json()["revision"]
    # The phone saves what it has (without scripts, or straight away): the laptop's words are
    # not in that version, and stay its draft.
    saved = web.post(url, data={**phone, "what_matters-text": "Saved on the phone"})
    assert saved.status_code == 302 and documents.count_versions(db, doc) == 2
    assert "You have changes that were not saved yet" in _text(web.get(url))
    # Saved from the laptop's page, the draft it kept became the version.
    laptop["base_number"] = "2"
    saved = web.post(url, data={**laptop, "what_matters-text": "Laptop"})
    assert saved.status_code == 302 and documents.count_versions(db, doc) == 3
    assert documents.open_for_editing(db, actor_for(circle.client), doc).draft is None


def test_a_form_given_back_is_the_same_page_carrying_on_with_its_draft(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    laptop = _open(web, url)
    laptop["draft_revision"] = _keep(web, doc, laptop, "Laptop").get_json()["revision"]
    checked = web.post(url, data={**laptop, "what_matters-text": "Laptop", "action": "check"})
    again = Page(_text(checked)).form(url).values()
    assert (again["draft_revision"], again["draft_page"]) == (
        laptop["draft_revision"],
        laptop["draft_page"],
    )
    assert _keep(web, doc, again, "Laptop, checked").status_code == 200


def test_a_save_after_the_idle_sign_out_does_not_replace_a_draft_kept_on_another_tab(
    app, db, circle
):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    laptop, phone = _open(web, url), _open(web, url)
    _keep(web, doc, laptop, "Laptop")
    with web.session_transaction() as session:
        idle = 60 * app.config["IDLE_TIMEOUT_MINUTES"]
        session["last_seen"] -= idle + recording_interval(idle) + 1
    late = web.post(url, data={**phone, "what_matters-text": "Phone, late"})
    assert late.status_code == 302
    assert late.headers["Location"].endswith(f"/login?next=/documents/{doc}/edit#confirmation")
    signed_out = _text(web.get("/login"))
    assert "in another tab or on another device since" in signed_out
    assert "The changes you were making are kept" not in signed_out
    draft = documents.open_for_editing(db, actor_for(circle.client), doc).draft
    assert dict(draft.fields)["what_matters-text"] == "Laptop"


def test_throwing_a_draft_away_from_one_part_goes_back_to_that_part(app, db, circle):
    """It landed on the whole edit form, not the part the person was in."""
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    url = f"/documents/{doc}/edit"
    _keep(web, doc, _open(web, url, part="what_matters"), "Not wanted after all")
    waiting = _text(web.get(url, query_string={"part": "what_matters"}))
    # One tap asks first (a slip just under "Carry on" lost someone's words).
    assert '/draft/discard"' not in waiting and "/draft/discard?" not in waiting
    ask = f"{url}?part=what_matters&amp;draft=discard#draft-waiting"
    assert f'href="{ask}">Throw those changes away…</a>' in waiting
    asking = _text(web.get(url, query_string={"part": "what_matters", "draft": "discard"}))
    assert "Throw away the changes you made on" in asking
    assert "They cannot be brought back." in asking
    assert "No, carry on with those changes</a>" in asking
    assert documents.open_for_editing(db, actor_for(circle.client), doc).draft is not None
    form = Page(asking).form(f"/documents/{doc}/draft/discard")
    assert form.action == f"/documents/{doc}/draft/discard?part=what_matters"
    thrown = web.post(form.action, data=form.values())
    assert thrown.headers["Location"].startswith(f"/documents/{doc}/edit?part=what_matters")
    assert documents.open_for_editing(db, actor_for(circle.client), doc).draft is None


@pytest.mark.parametrize(
    "outcome, said",
    [
        ("declined", ["You were declining to sign version 1: nothing was recorded.",
                      "<li>There, choose “I do not sign, and I say why” again, paste your reason "
                      "and confirm.</li>"]),
        ("signed_with_comment", ["You were signing version 1 with a comment: nothing was signed.",
                                 "<li>There, choose “I agree and sign, with a comment” again"]),
    ],
)  # fmt: skip
def test_a_reason_sent_after_signing_out_says_what_it_was_for(app, db, circle, outcome, said):
    """The page gave back "Your comment" and said to paste it in: not that it was a decline,
    to be chosen again."""
    doc = make_plan(circle.key_worker, circle.client)
    here = login(app.test_client(), circle.client)
    token = csrf_token(here)
    here.post("/logout", data={"csrf_token": token})
    url = f"/documents/{doc}/versions/1/sign"
    late = here.post(url, data={
        "csrf_token": token, "outcome": outcome, "comment": "Not the flat part", "password": "x",
    }, headers={"Referer": f"http://localhost/documents/{doc}", "Sec-Fetch-Site": "same-origin"})  # fmt: skip
    page = " ".join(_text(late).split())
    assert late.status_code in (400, 401) and all(s in page for s in said), page
    assert "save them" not in page  # a decline or signature is confirmed, not saved
    assert "Not the flat part" in page


def test_the_client_is_told_once_and_plainly_that_their_own_words_are_theirs_to_keep(
    app, db, circle
):
    """A client describing themselves ("I am an addict and I say it how it is") was told the
    words were stigmatising when they checked, and again after saving: corrected, as they are
    so often. They are offered other words while writing and when they check, and the choice
    is said to be theirs; a key worker is told after saving too."""
    doc = make_plan(circle.key_worker, circle.client)
    edit = f"/documents/{doc}/edit"
    url = f"{edit}?part=what_matters"

    def send(person, words: str, action: str = "save"):
        web = login(app.test_client(), person)
        form = Page(_text(web.get(url))).form(edit)
        sent = web.post(url, data={**form.typed({"what_matters-text": words}), "action": action})
        return web, sent

    _, checked = send(circle.client, "I am an addict and I say it how it is.", "check")
    said = " ".join(_section(_text(checked), 'id="wording-checked"', "</div>").split())
    assert "This is your plan: keep your words if they are right for you" in said
    assert "In “What matters to me”: “addict”. Other words: “person who uses drugs”." in said
    assert "stigmatising" not in said and 'data-own-words="yes"' in _text(checked)
    web, saved = send(circle.client, "I am an addict and I say it how it is.")
    shown = _text(web.get(saved.headers["Location"]))
    assert "Saved as version 2." in shown and "suggestion about wording" not in shown

    web, saved = send(circle.key_worker, "Both tests were dirty.")
    shown = " ".join(_text(web.get(saved.headers["Location"])).split())
    assert "A suggestion about wording in “What matters to me”: “were dirty” can feel" in shown
    assert 'data-own-words="yes"' not in _text(web.get(url))
