"""Words written right to left (Hebrew, Arabic) read right to left on the pages: each place that
shows or takes a person's own words lets the browser choose the direction from the words."""

from __future__ import annotations

import re

from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.conftest import login
from tests.factories import PASSWORD, Circle, plan_content

HOUSING = "אני גר אצל אחותי כרגע."  # "I live with my sister for now."
MATTERS = "أن يستمع إلي الناس."  # "That people listen to me."
NOTE = "טיוטה ראשונה"  # "A first draft"


def _plan_in_other_scripts(db, circle: Circle) -> int:
    actor = actor_for(circle.client)
    doc = documents.create_document(db, actor, circle.client.id)
    content = plan_content(
        domains={"housing": {"own_words": HOUSING}}, what_matters={"text": MATTERS}
    )
    documents.save_version(db, actor, doc, 0, content, NOTE)
    return doc


def test_right_to_left_words_are_shown_and_edited_in_their_own_direction(app, db):
    circle = Circle()
    doc = _plan_in_other_scripts(db, circle)
    browser = login(app.test_client(), circle.client)

    shown = browser.get(f"/documents/{doc}").get_data(as_text=True)
    for words in (HOUSING, MATTERS):
        assert f'<p class="words" dir="auto">{words}</p>' in shown
    assert f"<bdi>“{NOTE}”</bdi>" in shown

    history = browser.get(f"/documents/{doc}/history").get_data(as_text=True)
    assert f'<td data-label="Note" dir="auto">{NOTE}</td>' in history

    edit = browser.get(f"/documents/{doc}/edit").get_data(as_text=True)
    areas = re.findall(r"<textarea[^>]*>", edit)
    assert areas and all('dir="auto"' in a for a in areas), areas
    texts = re.findall(r'<input[^>]*type="text"[^>]*>', edit)
    assert texts and all('dir="auto"' in t for t in texts), texts
    assert re.search(rf'<textarea id="domains-housing-own_words"[^>]*>{HOUSING}</textarea>', edit)


CALLED = "Cally 🌙 كال"  # a preferred name that ends in Arabic letters


def test_a_right_to_left_name_beside_a_date_is_kept_apart_from_it(app, db):
    """A name ending in Arabic letters, followed by ", 6 December 2026", would take the date
    into its own direction ("Cally ☽ 6 ,كال December"): each such name is in its own <bdi>."""
    from careplan.db.models import User
    from careplan.services import comments
    from tests.web.test_plan_pages import _edit_form, _post

    circle = Circle()
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = CALLED
    doc = _plan_in_other_scripts(db, circle)
    worker = login(app.test_client(), circle.key_worker)
    _, form = _edit_form(worker, doc)
    content = plan_content(domains={"housing": {"own_words": HOUSING}})
    documents.save_version(db, actor_for(circle.client), doc, 1, content, "")
    comments.add_comment(db, actor_for(circle.client), doc, "goals", 2, "Looks right to me.")

    conflict = _post(worker, form, form.typed({"what_matters-text": "Being listened to."}))
    assert conflict.status_code == 409
    assert f"Version 2 by <bdi>{CALLED}</bdi>, " in conflict.get_data(as_text=True)
    shown = worker.get(f"/documents/{doc}").get_data(as_text=True)
    assert f"saved by <bdi>{CALLED}</bdi> on " in shown
    assert f'<p class="meta"><bdi>{CALLED}</bdi>, ' in shown  # the comment's writer


def test_the_wording_filters_keep_an_isolated_name_and_escape_everything_else(app):
    from flask import render_template_string

    with app.test_request_context():
        said = render_template_string(
            "{{ named('kim, your key worker', 'kim')|sentence|closed }} "
            "{{ [named('كال', 'كال'), '<b>']|everyone }} {{ 'you & me'|sentence }}"
        )
    assert said == "<bdi>Kim</bdi>, your key worker, <bdi>كال</bdi> and &lt;b&gt; You &amp; me"


def test_a_right_to_left_name_is_kept_apart_from_the_date_of_a_review_it_confirmed(app, db):
    """The review panel's "confirmed by Cally ☽ كال on 6 December 2026": the name in its own
    <bdi>, as on the other pages where a date follows a name."""
    from careplan.db.models import User
    from careplan.services import reviews
    from tests.services.test_reminders import agreed_plan

    circle = Circle()
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = CALLED
    doc = agreed_plan(db, circle, due_on=None)
    reviews.confirm_no_changes(db, actor_for(circle.client), doc, 1, PASSWORD)
    worker = login(app.test_client(), circle.key_worker)
    shown = worker.get(f"/documents/{doc}").get_data(as_text=True)
    assert re.search(f"confirmed by <bdi>{re.escape(CALLED)}</bdi>(, [^<]*)? on ", shown), shown


def test_a_right_to_left_name_is_kept_apart_from_the_date_a_handover_was_started(app, db):
    """The records page's "started by Cally ☽ كال on 6 December 2026" of a handover waiting."""
    from careplan.db.models import User
    from careplan.services import handovers
    from tests.factories import KeyWorkerFactory

    circle = Circle()
    with db.write() as s:
        s.get(User, circle.key_worker.id).display_name = CALLED
    new = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.key_worker), circle.client.id, new.id, "Cover")
    client = login(app.test_client(), circle.client)
    shown = client.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    assert re.search(f"started by <bdi>{re.escape(CALLED)}</bdi>(, [^<]*)? on ", shown), shown


def test_a_right_to_left_name_is_kept_apart_from_the_date_a_crisis_plan_was_started(app, db):
    """The crisis page's "Started by Cally ☽ كال on 6 December 2026", in effect and ended."""
    from datetime import timedelta

    from careplan.db.models import User
    from careplan.domain.local_time import service_today
    from careplan.services import contingencies
    from tests.web.test_crisis_page import _agreed_for

    circle = Circle()
    with db.write() as s:
        s.get(User, circle.key_worker.id).display_name = CALLED
    doc = _agreed_for(db, circle)
    worker, today = actor_for(circle.key_worker), service_today()
    ends = (today + timedelta(days=3)).isoformat()
    contingencies.start_contingency(db, worker, doc, "Not sleeping", "", ends, today)
    client = login(app.test_client(), circle.client)
    started = re.compile(f"Started by <bdi>{re.escape(CALLED)}</bdi>(, [^<]*)? on ")
    shown = client.get(f"/documents/{doc}/crisis-plan").get_data(as_text=True)
    assert started.search(shown), shown
    contingencies.end_contingency(db, worker, doc, "", today)
    shown = client.get(f"/documents/{doc}/crisis-plan").get_data(as_text=True)
    assert started.search(shown), shown
