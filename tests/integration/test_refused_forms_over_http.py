"""Refused forms over real HTTP under gunicorn: every problem said at the top and beside its
field, and nothing made or changed."""

from __future__ import annotations

import re
import time

import lxml.html
import pyotp
import pytest
import sqlalchemy as sa

from careplan.db.models import Handover, RateLimitCounter, SignatureRecord, User
from careplan.services import documents
from tests.factories import (
    PASSWORD,
    Circle,
    KeyWorkerFactory,
    TeamFactory,
    make_agreement,
    make_plan,
)
from tests.gunicorn import Browser, landed, refused

pytestmark = pytest.mark.slow


def test_a_refused_account_and_a_refused_handover_change_nothing(db, gunicorn_url):
    circle = Circle()
    team = TeamFactory()
    KeyWorkerFactory(team_id=circle.team.id)
    with db.read() as s:
        accounts = s.scalar(sa.select(sa.func.count()).select_from(User))

    admin = Browser(gunicorn_url)
    admin.sign_in(circle.admin)
    page = admin.get("/admin/users/new").read().decode()
    empty = {"name": "", "email": "", "role": "", "team_id": ""}
    status, said = refused(lambda: admin.post("/admin/users/new", empty, page))
    assert status == 422 and 'id="error-summary"' in said
    for anchor in ("name", "email", "role"):
        assert f'<a href="#{anchor}">' in said and f'id="{anchor}-error"' in said
    assert "Please give their e-mail address" in said
    # The form as a browser sends it with the role left as the page gives it: none is chosen.
    [form] = [
        f for f in lxml.html.fromstring(page).forms if f.action.split("#")[0] == "/admin/users/new"
    ]
    sent = {**dict(form.form_values()), "name": "Dee Novak", "email": "dee@example.org"}
    assert sent["role"] == ""
    status, said = refused(lambda: admin.post("/admin/users/new", sent, page))
    assert status == 422 and '<a href="#role">Please choose a role for this account.</a>' in said
    client_in_team = {"name": "Dee", "email": "dee@example.org", "role": "client",
                      "team_id": str(team.id)}  # fmt: skip
    status, said = refused(lambda: admin.post("/admin/users/new", client_in_team, page))
    assert status == 422 and "Only key workers belong to a team." in said
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(User)) == accounts

    supervisor = Browser(gunicorn_url)
    supervisor.sign_in(circle.supervisor)
    url = f"/clients/{circle.client.id}/handover"
    page = supervisor.get(url).read().decode()
    status, said = refused(lambda: supervisor.post(url, {"to_worker_id": "", "note": ""}, page))
    assert status == 422 and 'id="error-summary"' in said
    assert '<a href="#to_worker_id">' in said and '<a href="#note">' in said
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Handover)) == 0


def test_a_save_with_a_date_years_ahead_says_every_problem_at_once(db, gunicorn_url):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    web = Browser(gunicorn_url)
    web.sign_in(circle.client)
    url = f"/documents/{doc}/edit"
    page = web.get(f"{url}?part=goals").read().decode()
    [form] = [
        f for f in lxml.html.fromstring(page).forms if f.action.split("#")[0].split("?")[0] == url
    ]
    sent = {**dict(form.form_values()), "goals-0-steps-0-text": "", "goals-0-steps-0-due": "9999-12-31"}  # fmt: skip
    status, said = refused(lambda: web.post(url, sent, page))
    far = "That date is more than 10 years away. Please check the year."
    assert status == 422 and 'id="error-summary"' in said
    assert '<a href="#goals-0-steps-0-text">' in said and 'id="goals-0-steps-0-text-error"' in said
    assert '<a href="#goals-0-steps-0-due">' in said
    assert f'id="goals-0-steps-0-due-error">{far}</p>' in said
    assert documents.count_versions(db, doc) == 1
    # Both put right in the one go: saved.
    sent |= {"goals-0-steps-0-text": "Ring the council", "goals-0-steps-0-due": "2027-03-01"}
    where, shown = landed(web.post(url, sent, said))
    assert where == f"/documents/{doc}" and "Saved as version 2." in shown
    assert documents.count_versions(db, doc) == 2


def _sign_form(page: str, doc: int) -> dict:
    """The sign form's fields as the page gives them (the browser adds the CSRF token)."""
    [form] = [
        f for f in lxml.html.fromstring(page).forms
        if f.action.split("#")[0] == f"/documents/{doc}/versions/1/sign"
    ]  # fmt: skip
    return {k: v for k, v in form.form_values() if k != "csrf_token"}


def _client_on_their_plan(gunicorn_url) -> tuple:
    """A client signed in on the page of a plan waiting for their signature: (circle, plan,
    browser, page)."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    web = Browser(gunicorn_url)
    web.sign_in(circle.client)
    return circle, doc, web, web.get(f"/documents/{doc}").read().decode()


def test_a_comment_with_a_plain_signature_is_refused_and_kept_in_its_box(db, gunicorn_url):
    _, doc, web, page = _client_on_their_plan(gunicorn_url)
    words = "Goal 2 is for when I have a flat"
    sent = {**_sign_form(page, doc), "outcome": "signed", "comment": words, "password": PASSWORD}
    status, said = refused(lambda: web.post(f"/documents/{doc}/versions/1/sign", sent, page))
    assert status == 422 and 'id="error-summary"' in said
    assert '<a href="#comment">' in said and 'id="comment-error"' in said
    assert "I agree and sign, with a comment" in said
    assert _sign_form(said, doc)["comment"] == words  # the words typed are still in the box
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 0


def test_a_wrong_password_is_named_and_counted_beside_empty_parts(db, gunicorn_url):
    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)  # its key parts are empty
    web = Browser(gunicorn_url)
    web.sign_in(circle.client)
    page = web.get(f"/documents/{doc}").read().decode()
    url = f"/documents/{doc}/versions/1/sign"
    sent = {**_sign_form(page, doc), "outcome": "signed", "password": "not the password"}
    assert "confirm_blank" not in sent  # the box as the page gives it: not ticked
    status, said = refused(lambda: web.post(url, sent, page))
    assert status == 422 and 'id="error-summary"' in said
    for anchor in ("confirm_blank", "password"):
        assert f'<a href="#{anchor}">' in said and f'id="{anchor}-error"' in said
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 0
        # Counted as a wrong password, for the account and for the address.
        assert s.scalars(sa.select(RateLimitCounter.count)).all() == [1, 1]
    right = {**sent, "password": PASSWORD, "confirm_blank": "yes"}
    where, shown = landed(web.post(url, right, said))
    assert where == f"/documents/{doc}" and "You signed version 1." in shown


def test_an_empty_password_box_is_asked_for_and_not_counted(db, gunicorn_url):
    _, doc, web, page = _client_on_their_plan(gunicorn_url)
    url = f"/documents/{doc}/versions/1/sign"
    sent = {**_sign_form(page, doc), "outcome": "signed", "password": ""}
    status, said = refused(lambda: web.post(url, sent, page))
    assert status == 422
    assert '<a href="#password">Please type your password. Nothing was signed.</a>' in said
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SignatureRecord)) == 0
        assert s.scalars(sa.select(RateLimitCounter.count)).all() == []  # no attempt
    where, shown = landed(web.post(url, {**sent, "password": PASSWORD}, said))
    assert where == f"/documents/{doc}" and "You signed version 1." in shown


def test_a_first_version_with_nothing_filled_in_is_refused_and_nothing_is_made(db, gunicorn_url):
    circle = Circle()
    web = Browser(gunicorn_url)
    web.sign_in(circle.key_worker)
    records = f"/clients/{circle.client.id}"
    where, page = landed(web.post(f"{records}/care-plans", {}, web.get(records).read().decode()))
    url = where
    [form] = [f for f in lxml.html.fromstring(page).forms if f.action.split("#")[0] == url]
    sent = {k: v for k, v in form.form_values() if k != "csrf_token"}
    status, said = refused(lambda: web.post(url, sent, page))
    assert status == 422
    assert "Nothing is filled in yet, so there is nothing to save as a version." in said
    doc = int(re.search(r"/documents/(\d+)/edit", url).group(1))
    assert documents.count_versions(db, doc) == 0
    sent["what_matters-text"] = "Seeing my kids at weekends."
    where, shown = landed(web.post(url, sent, said))
    assert where == f"/documents/{doc}" and "Saved as version 1." in shown


def test_a_refused_second_step_setup_is_said_at_the_top_of_its_page(db, gunicorn_url):
    circle = Circle()
    web = Browser(gunicorn_url)
    web.sign_in(circle.client)
    page = web.get("/me/second-factor").read().decode()
    secret = re.search(r'name="secret" value="([A-Z2-7]{32})"', page).group(1)
    wrong = pyotp.TOTP(secret).at(time.time() + 600)  # a real code, but not of now
    sent = {"secret": secret, "code": wrong, "password": PASSWORD}
    status, said = refused(lambda: web.post("/me/second-factor", sent, page))
    assert status == 422 and '<a href="#code">That code does not match.' in said
    assert said.index('id="error-summary"') < said.index("<svg")
    with db.read() as s:
        assert s.get(User, circle.client.id).second_factor_secret is None


def test_a_decision_handed_over_until_a_past_day_is_refused_beside_it(db, gunicorn_url):
    """A decision handed over "until" a day already gone by was saved, then could be signed
    and sealed. Refused beside its box, nothing saved; put right, it saves."""
    from datetime import timedelta

    from careplan.domain.local_time import service_today

    circle = Circle()
    doc = make_agreement(circle.key_worker, circle.client)
    web = Browser(gunicorn_url)
    web.sign_in(circle.client)
    url = f"/documents/{doc}/edit"
    page = web.get(f"{url}?part=contingencies").read().decode()
    [form] = [
        f for f in lxml.html.fromstring(page).forms if f.action.split("#")[0].split("?")[0] == url
    ]
    box = "sections-contingencies-handed_over-0"
    yesterday = (service_today() - timedelta(days=1)).isoformat()
    sent = {
        **dict(form.form_values()),
        f"{box}-decision": "My money",
        f"{box}-to_whom": "My sister",
        f"{box}-until": yesterday,
    }
    status, said = refused(lambda: web.post(url, sent, page))
    assert status == 422 and 'id="error-summary"' in said
    assert f'<a href="#{box}-until">' in said
    assert f'id="{box}-until-error">That day has already passed.' in said
    assert documents.count_versions(db, doc) == 1
    sent[f"{box}-until"] = (service_today() + timedelta(days=30)).isoformat()
    where, shown = landed(web.post(url, sent, said))
    assert where == f"/documents/{doc}" and "Saved as version 2." in shown
