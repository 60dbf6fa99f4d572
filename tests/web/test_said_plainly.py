"""Words on pages a tester found hard to read: the client's own signature said to them, two
versions' times in one sentence, the access log without double brackets, no request to an
advocate the client has not chosen, why a session ended, and the template's edition kept
apart from the document's versions."""

from __future__ import annotations

import re

import sqlalchemy as sa

from careplan.db.models import AdvocateInvitation, SignatureRecord, User
from careplan.domain.second_factor import METHOD_WITH_BACKUP_CODE, METHOD_WITH_CODE, method_said
from careplan.services import audit, documents, signoff
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, Circle, make_agreement, make_plan
from tests.services.test_second_factor import turned_on_with_codes


def _words(html: str) -> str:
    html = re.sub(r"</?bdi>", "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def test_how_a_signature_was_confirmed_is_said_to_its_signer_as_theirs():
    assert method_said(METHOD_WITH_CODE, to_signer=True) == (
        "password re-entered and a code from your authenticator app"
    )
    assert method_said(METHOD_WITH_BACKUP_CODE, to_signer=True) == (
        "password re-entered and one of your backup codes"
    )
    assert method_said(METHOD_WITH_BACKUP_CODE, to_signer=False) == METHOD_WITH_BACKUP_CODE


def test_the_client_reads_your_backup_codes_about_their_own_signature(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    _, codes = turned_on_with_codes(db, circle.client)
    signoff.sign(db, actor_for(circle.client), doc, 1, "signed", "", PASSWORD, code=codes[0])
    with db.read() as s:
        assert s.scalar(sa.select(SignatureRecord.method)) == METHOD_WITH_BACKUP_CODE
    mine = _words(login(app.test_client(), circle.client).get(f"/documents/{doc}").get_data(True))
    assert "Confirmed by password re-entered and one of your backup codes." in mine
    theirs = _words(
        login(app.test_client(), circle.key_worker).get(f"/documents/{doc}").get_data(True)
    )
    assert "Confirmed by password re-entered and one of their backup codes." in theirs


def test_the_compare_page_says_when_each_version_was_saved_in_a_sentence(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    opened = documents.open_document(db, actor_for(circle.client), doc)
    content = dict(opened.content)
    content["what_matters"] = {"text": "Being listened to."}
    documents.save_version(db, actor_for(circle.client), doc, 1, content, "")
    page = login(app.test_client(), circle.client).get(f"/documents/{doc}/compare?older=1&newer=2")
    said = _words(page.get_data(as_text=True))
    assert re.search(
        r"Version 1 was saved on \d+ \w+ \d{4}, \d\d:\d\d\. Version 2 was saved on \d+ \w+ \d{4},"
        r" \d\d:\d\d\.",
        said,
    ), said


def test_the_access_log_names_an_agreement_with_its_title_whole_and_last(app, db):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    title = documents.open_document(db, actor_for(circle.client), doc).title
    assert "(" in title  # a title with brackets of its own, as the shipped templates have
    documents.open_document(db, actor_for(circle.supervisor), doc)
    [entry] = [e for e in audit.access_log(db, actor_for(circle.client)) if "read" in e.what]
    assert entry.what == f"read version 1 of your {title.lower()}"
    assert ") (" not in entry.what


def test_asking_an_advocate_is_offered_only_to_a_client_who_has_one(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = login(app.test_client(), circle.client)
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert "Ask my advocate to look at it first" in page
    with db.write() as s:
        s.execute(sa.delete(AdvocateInvitation))
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert "Ask my advocate to look at it first" not in page
    assert 'href="/me/advocates">Choose an advocate</a>, then you can ask them' in page


def test_a_session_ended_by_a_password_change_elsewhere_says_so(app, db):
    circle = Circle()
    here, elsewhere = (login(app.test_client(), circle.client) for _ in range(2))
    changed = elsewhere.post(
        "/me/account/password",
        data={
            "csrf_token": csrf_token(elsewhere),
            "current_password": PASSWORD,
            "password": "a brand new password here",
            "password_again": "a brand new password here",
        },
    )
    assert changed.status_code == 302
    landed = here.get("/me/account", follow_redirects=True).get_data(as_text=True)
    assert "You were signed out because your password was changed." in landed
    assert "Please sign in to see that page." not in landed

    stranger = app.test_client().get("/me/account", follow_redirects=True).get_data(True)
    assert "Please sign in to see that page." in stranger  # no session: no reason to give


def test_the_template_s_edition_is_not_called_a_version(app, db):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    said = _words(login(app.test_client(), circle.client).get(f"/documents/{doc}").get_data(True))
    assert re.search(r"Made from the template “[^”]+” \(template edition \d+\)\.", said), said
    with db.read() as s:
        assert s.get(User, circle.client.id) is not None


def test_an_administrator_is_told_where_to_change_their_own_name_not_to_ask_one(app, db):
    from tests.factories import AdminFactory

    admin = AdminFactory()
    web = login(app.test_client(), admin)
    page = " ".join(web.get("/me/account").get_data(as_text=True).split())
    assert f'href="/admin/users/{admin.id}">your own account in Accounts</a>' in page
    assert "ask an administrator" not in page
    messages = web.get("/me/notifications").get_data(as_text=True)
    assert "Reminders about reviews and signatures" not in messages
