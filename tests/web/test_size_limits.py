"""Too much for one version is refused on the edit page, with the message beside the list or
the text it is about, and nothing is saved."""

from __future__ import annotations

import pytest

from careplan.domain.blocks import MAX_PEOPLE
from careplan.domain.care_plan import DOMAIN_KEYS
from careplan.domain.documents import MAX_TEXT
from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.factories import Circle, make_plan
from tests.web.test_plan_pages import _browser, _edit_form, _page


@pytest.fixture
def circle(app) -> Circle:
    return Circle()


def _refused(browser, doc: int, values: dict) -> str:
    response = browser.post(f"/documents/{doc}/edit", data=values)
    page = _page(response, 422)
    assert "Nothing was saved yet" in page.html
    return page.html


def _message_beside(html: str, name: str) -> str:
    """The message shown with id `name` (where the summary at the top links to)."""
    assert f'<a href="#{name}">' in html
    return html.split(f'id="{name}">', 1)[1].split("</p>", 1)[0]


def test_a_60000_member_care_team_is_refused_and_nothing_is_stored(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    browser = _browser(app, circle.client)
    _, form = _edit_form(browser, doc)
    values = form.values()
    for n in range(60_000):
        values[f"care_team-{n}-name"] = f"Person {n}"
    html = _refused(browser, doc, values)
    assert _message_beside(html, "care_team") == (
        f"Up to {MAX_PEOPLE} people can be listed here, and there are 60000. "
        "Please remove some, or name a team once instead of each person in it."
    )
    # The message sits in the care team's part of the form, before its first member.
    care_team = html.split("My care team", 1)[1]
    assert care_team.index('id="care_team"') < care_team.index('name="care_team-0-name"')
    # Shown again for correcting, but not all 60,000: twice the longest list allowed.
    assert 'value="Person 39"' in html and 'value="Person 40"' not in html
    assert documents.count_versions(db, doc) == 1


def test_too_much_writing_altogether_is_refused_beside_the_save_button(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    browser = _browser(app, circle.client)
    _, form = _edit_form(browser, doc)
    values = form.values()
    for key in DOMAIN_KEYS:  # each field within its own limit, but too much altogether
        values[f"domains-{key}-own_words"] = "I have a lot to say about this. " * 150
    for n in range(8):
        values[f"care_team-{n}-name"] = f"Person {n}"
        values[f"care_team-{n}-what_they_do"] = "Helps me with a great many things. " * 28
        values[f"care_team-{n}-may_see"] = "Everything in this plan, every part of it. " * 23
    values["what_matters-text"] = "Being heard. " * 380
    html = _refused(browser, doc, values)
    message = _message_beside(html, "content")
    assert message.startswith("Altogether this is ") and f"up to {MAX_TEXT:,}" in message
    assert html.index('id="content"') > html.index('name="change_note"')
    assert html.index('id="content"') < html.index('id="save"')
    page = documents.open_document(db, actor_for(circle.client), doc)
    assert page.head_number == 1


def test_a_form_larger_than_the_service_takes_gets_its_own_page(app, db, circle):
    doc = make_plan(circle.key_worker, circle.client)
    browser = _browser(app, circle.client)
    _, form = _edit_form(browser, doc)
    values = {**form.values(), "what_matters-text": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    response = browser.post(f"/documents/{doc}/edit", data=values)
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "That was more than this service takes at once (2 MB). Nothing was saved." in html
    assert documents.count_versions(db, doc) == 1
