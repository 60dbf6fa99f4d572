"""On an account's page, closing it and turning off its second step ask first, with a
reason, in a form that works without JavaScript; and the two are far apart on the page, so a
thumb reaching for one cannot press the other."""

from __future__ import annotations

import re

import pyotp
import sqlalchemy as sa

from careplan.db.models import AuditEvent, User, utcnow
from careplan.services import second_factor
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import (
    PASSWORD,
    AdminFactory,
    CaseloadLinkFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    SupervisorFactory,
    SupervisorTeamFactory,
    TeamFactory,
)


def _post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def _words(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def _active(db, user_id) -> bool:
    with db.read() as s:
        return s.get(User, user_id).active


def test_closing_an_account_asks_first_and_needs_a_reason(app, db):
    person = ClientFactory()
    admin = login(app.test_client(), AdminFactory())
    url = f"/admin/users/{person.id}/active"
    asked = _post(admin, url, active="no")
    assert asked.status_code == 200 and _active(db, person.id)
    page = _words(asked)
    assert f"Close {person.display_name}'s account?" in page
    assert 'name="confirm" value="yes"' in page and 'name="reason"' in page
    assert "Yes, close this account" in page and "No, go back" in page
    assert f'action="{url}#close-account"' in page  # the browser lands on the question

    # Confirmed without a reason: asked again, the reason's problem beside it.
    no_reason = _post(admin, url, active="no", confirm="yes", reason=" ")
    assert no_reason.status_code == 422 and _active(db, person.id)
    said = _words(no_reason)
    assert "Please say in a few words why you are closing this account" in said
    assert 'aria-invalid="true"' in said and "Yes, close this account" in said

    closed = _post(admin, url, active="no", confirm="yes", reason="Left the service in May")
    assert closed.status_code == 302 and not _active(db, person.id)
    with db.read() as s:
        assert s.scalars(
            sa.select(AuditEvent.detail).where(AuditEvent.action == "user.close")
        ).all() == [{"reason": "Left the service in May"}]
    # Opening it again only gives back: one tap.
    assert _post(admin, url, active="yes").status_code == 302 and _active(db, person.id)


def test_turning_off_a_second_step_asks_first_and_needs_a_reason(app, db):
    person = ClientFactory()
    setup = second_factor.begin(db, actor_for(person), "careplan")
    second_factor.turn_on(
        db, actor_for(person), setup.secret, pyotp.TOTP(setup.secret).now(), PASSWORD
    )
    admin = login(app.test_client(), AdminFactory())
    url = f"/admin/users/{person.id}/second-factor"

    def on() -> bool:
        with db.read() as s:
            return s.get(User, person.id).second_factor_secret is not None

    asked = _post(admin, url)
    assert asked.status_code == 200 and on()
    page = _words(asked)
    assert f"Turn off {person.display_name}'s second step?" in page
    assert "Yes, turn off their second step" in page
    assert _post(admin, url, confirm="yes").status_code == 422 and on()
    done = _post(admin, url, confirm="yes", reason="Lost their phone")
    assert done.status_code == 302 and not on()


def test_the_two_buttons_are_far_apart_on_the_page(app, db):
    person = ClientFactory()
    setup = second_factor.begin(db, actor_for(person), "careplan")
    second_factor.turn_on(
        db, actor_for(person), setup.secret, pyotp.TOTP(setup.secret).now(), PASSWORD
    )
    admin = login(app.test_client(), AdminFactory())
    page = _words(admin.get(f"/admin/users/{person.id}"))
    turn_off = page.index("Turn off their second step when signing…")
    close = page.index("Close this account…")
    # Each under its own heading, with the lists of links and e-mails between them.
    assert turn_off < page.index('<h2 id="links">') < page.index('<h2 id="emails">') < close
    assert page.index('<h2 id="second-step">') < turn_off
    assert page.index('<h2 id="close-account">') < close


def test_a_key_worker_with_clients_is_not_offered_closing_and_is_told_why(app, db):
    """Said up front, with who can hand the clients over, rather than asked for a reason and
    then refused; the service still refuses it (test_accounts)."""
    circle = Circle()
    CaseloadLinkFactory(client_id=ClientFactory().id, key_worker_id=circle.key_worker.id)
    second = SupervisorFactory()
    SupervisorTeamFactory(supervisor_id=second.id, team_id=circle.team.id)
    gone = SupervisorFactory(active=False)  # a closed account supervises nobody
    SupervisorTeamFactory(supervisor_id=gone.id, team_id=circle.team.id)
    admin = login(app.test_client(), circle.admin)
    worker = circle.key_worker
    for page in (
        admin.get(f"/admin/users/{worker.id}"),
        _post(admin, f"/admin/users/{worker.id}/active", active="no"),  # a page from before
    ):
        assert page.status_code == 200
        words = _words(page)
        assert f"<bdi>{worker.display_name}</bdi> still has 2 clients," in words
        assert "hand them over to another key worker first" in words
        assert f'<a href="/admin/teams/{circle.team.id}"><bdi>{circle.team.name}</bdi></a>' in words
        for supervisor in (circle.supervisor, second):
            assert f'<a href="/admin/users/{supervisor.id}">' in words
        assert "; its supervisors are <a" in words
        assert 'class="warning" id="cannot-close"' in words  # not the green of a success
        assert gone.display_name not in words
        assert "Close this account…" not in words and 'name="active" value="no"' not in words
        assert "Yes, close this account" not in words
    assert _active(db, worker.id)


def test_a_key_worker_with_clients_in_a_team_nobody_supervises_is_told_so(app, db):
    team = TeamFactory()
    worker = KeyWorkerFactory(team_id=team.id)
    CaseloadLinkFactory(client_id=ClientFactory().id, key_worker_id=worker.id)
    words = _words(login(app.test_client(), AdminFactory()).get(f"/admin/users/{worker.id}"))
    assert "still has 1 client," in words and "has no supervisor" in words
    assert "Close this account…" not in words


def test_a_closed_account_says_when_by_whom_and_why(app, db):
    person = ClientFactory()
    first, second = AdminFactory(), AdminFactory()
    url = f"/admin/users/{person.id}/active"
    by_first = login(app.test_client(), first)
    assert 'id="closed-why"' not in _words(by_first.get(f"/admin/users/{person.id}"))
    _post(by_first, url, active="no", confirm="yes", reason="Moved away")
    _post(by_first, url, active="yes")
    assert "Moved away" not in _words(by_first.get(f"/admin/users/{person.id}"))  # open again

    # Closed again, by someone else: the latest closing is the one said.
    by_second = login(app.test_client(), second)
    _post(by_second, url, active="no", confirm="yes", reason="Asked us to close it!")
    words = _words(by_second.get(f"/admin/users/{person.id}"))
    with app.app_context():
        day = app.jinja_env.filters["day"](utcnow())
    # The moment, not just the day, and "you" to the administrator who closed it.
    said = re.search(r'<p id="closed-why">Closed on ([^<]*?) by you: ', words)
    assert said and said.group(1).startswith(day) and said.group(1) != day, words
    assert "<bdi>“Asked us to close it!”</bdi></p>" in words
    assert "Moved away" not in words
    to_first = _words(by_first.get(f"/admin/users/{person.id}"))
    assert f" by <bdi>{second.display_name}</bdi>: <bdi>“Asked us to close it!”</bdi>" in to_first
