"""A request that cannot be finished (the database out of reach or busy past the lock wait,
or a failure nobody foresaw) answers with the service's own page in plain words, and what
the person sent is not lost: the page carries it back, to send again with one press. The
same with the real database held up, over gunicorn: tests/integration/test_trouble_over_http.py."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from careplan.services import accounts, documents, signoff
from careplan.web.trouble import kept_from
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, Circle, make_plan
from tests.web.test_plan_pages import Page

WORDS = "Seeing my sister on Sundays <and> the allotment"


def _database_gone(*_args, **_kwargs):
    raise OperationalError("SELECT 1", {}, Exception("could not connect to server"))


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def circle(app):
    return Circle()


def _edit_form(web, doc: int) -> dict[str, str]:
    page = Page(_text(web.get(f"/documents/{doc}/edit", query_string={"part": "what_matters"})))
    return page.form(f"/documents/{doc}/edit").typed(
        {"what_matters-text": WORDS, "change_note": "After talking on Tuesday"}
    )


def test_a_save_the_database_could_not_take_comes_back_whole_and_goes_with_one_press(
    app, db, circle, monkeypatch
):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    sent = _edit_form(web, doc)
    saving = documents.save_version
    monkeypatch.setattr(documents, "save_version", _database_gone)

    failed = web.post(f"/documents/{doc}/edit", data=sent)

    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "30"
    assert failed.headers["Cache-Control"] == "no-store"  # the security headers still apply
    html = _text(failed)
    assert "Please try again in a minute" in html and "Internal Server Error" not in html
    assert "Nothing you sent has been saved yet" in html
    # The words to copy, escaped as any page escapes them.
    assert "Seeing my sister on Sundays &lt;and&gt; the allotment" in html
    assert "After talking on Tuesday" in html
    # Everything the form sent, in a form that sends it to the same address again.
    again = Page(html).form(f"/documents/{doc}/edit")
    assert again.method == "post" and again.values() == sent
    assert documents.open_document(db, circle.actor(circle.client), doc).head_number == 1

    monkeypatch.setattr(documents, "save_version", saving)
    saved = web.post(f"/documents/{doc}/edit", data=again.values())
    assert saved.status_code == 302
    page = documents.open_document(db, circle.actor(circle.client), doc)
    assert page.head_number == 2 and page.content["what_matters"]["text"] == WORDS


def test_a_password_is_never_written_into_the_page_and_its_form_is_not_offered_again(
    app, db, circle, monkeypatch
):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    monkeypatch.setattr(signoff, "sign", _database_gone)
    failed = web.post(
        f"/documents/{doc}/versions/1/sign",
        data={
            "csrf_token": csrf_token(web),
            "outcome": "signed",
            "comment": "Agreed after our talk",
            "password": PASSWORD,
        },
    )
    assert failed.status_code == 503
    html = _text(failed)
    assert PASSWORD not in html and 'name="password"' not in html
    assert "Agreed after our talk" in html
    assert "passwords and codes are never kept on a page" in html
    assert "Send it again" not in html and not Page(html).forms


def test_a_page_that_cannot_be_read_says_so_plainly_even_when_the_person_cannot_be(
    app, circle, monkeypatch
):
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    # Every request reads the signed-in person first: the page must not need the database.
    monkeypatch.setattr(accounts, "load_signed_in", _database_gone)
    failed = web.get(f"/documents/{doc}/history?older=1")
    assert failed.status_code == 503
    html = _text(failed)
    assert "The service could not reach its records just now" in html
    assert f'<a class="tap" href="/documents/{doc}/history?older=1">Try again</a>' in html
    assert "Nothing you sent" not in html  # nothing was sent


def test_a_failure_nobody_foresaw_gets_the_services_page_and_keeps_the_words(
    app, db, circle, monkeypatch
):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, not a raise

    def broken(*_args, **_kwargs):
        raise RuntimeError("a fault in the code")

    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    sent = _edit_form(web, doc)
    monkeypatch.setattr(documents, "save_version", broken)
    failed = web.post(f"/documents/{doc}/edit", data=sent)
    assert failed.status_code == 500
    html = _text(failed)
    assert "Something went wrong on our side" in html and "Internal Server Error" not in html
    assert "a fault in the code" not in html  # what failed inside is for the log, not the page
    assert Page(html).form(f"/documents/{doc}/edit").values() == sent


def test_after_part_was_saved_the_page_does_not_offer_to_send_it_again(
    app, db, circle, monkeypatch
):
    """A request whose write committed before the failure: sending it again could save it
    twice, so the page says to look first."""
    doc = make_plan(circle.key_worker, circle.client)
    web = login(app.test_client(), circle.client)
    sent = _edit_form(web, doc)
    saving = documents.save_version

    def saved_then_gone(*args, **kwargs):
        saving(*args, **kwargs)
        _database_gone()

    monkeypatch.setattr(documents, "save_version", saved_then_gone)
    failed = web.post(f"/documents/{doc}/edit", data=sent)
    assert failed.status_code == 503
    html = _text(failed)
    assert "Part of what you sent may have been saved" in html
    assert not Page(html).forms and WORDS.replace("<", "&lt;").replace(">", "&gt;") in html


def test_the_api_answers_database_trouble_in_its_own_shape(app, db, circle, monkeypatch):
    from datetime import timedelta

    from careplan.domain.api_tokens import SCOPES
    from careplan.domain.local_time import service_today
    from careplan.services import api_tokens

    expires = service_today() + timedelta(days=30)
    token = api_tokens.create(
        db, circle.actor(circle.key_worker), "tests", tuple(SCOPES), expires
    ).secret
    doc = make_plan(circle.key_worker, circle.client)
    monkeypatch.setattr(documents, "document_screen", _database_gone)
    answer = app.test_client().get(
        f"/api/v1/documents/{doc}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    assert answer.get_json()["error"]["message"].startswith("The service could not reach")


def test_what_a_form_sent_is_kept_apart_from_passwords_codes_and_files():
    from werkzeug.datastructures import FileStorage, MultiDict

    form = MultiDict(
        [("csrf_token", "t"), ("base_number", "3"), ("goals-0-what", "Sleep better"),
         ("goals-0-what", "twice"), ("current_password", "pw"), ("code", "123456"),
         ("secret", "S3CR3T"), ("empty", "  ")]
    )  # fmt: skip
    kept = kept_from(form, MultiDict())
    assert kept.fields == [("csrf_token", "t"), ("base_number", "3"),
                           ("goals-0-what", "Sleep better"), ("goals-0-what", "twice"),
                           ("empty", "  ")]  # fmt: skip
    # Each named where it was on the form; an id, a choice, a yes/no and the values an
    # account page showed are nobody's words, so not among them.
    assert kept.writing == [("goal 1: what", "Sleep better"), ("goal 1: what", "twice")]
    chosen = MultiDict([("goals-0-id", "65be21a1df28"), ("goals-0-steps-0-status", "done"),
                        ("goals-0-steps-0-owner-kind", "client"), ("was_name", "Al"),
                        ("version_number", "3"), ("confirm", "yes"), ("comment", "Thanks")])  # fmt: skip
    assert kept_from(chosen, MultiDict()).writing == [("Your comment", "Thanks")]
    assert kept_from(chosen, MultiDict()).had_choices  # said, so they are made again
    assert not kept.had_choices
    on_a_part = MultiDict([("section_key", "goals"), ("body", "Thanks")])
    assert kept_from(on_a_part, MultiDict(), {"goals": "Goals and steps"}).writing == [
        ("Your comment on “Goals and steps”", "Thanks")
    ]
    assert kept.had_secret and not kept.can_send_again
    no_secret = kept_from(MultiDict([("password", "")]), MultiDict())
    assert not no_secret.had_secret and no_secret.can_send_again  # an empty one hid nothing
    upload = MultiDict([("file", FileStorage(filename="agreement.pdf"))])
    assert not kept_from(MultiDict(), upload).can_send_again
