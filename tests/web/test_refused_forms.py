"""Forms refused for what was typed or left empty say so at the top of the page (where a phone
opens it), each message linking to its field, and beside each field; nothing is changed."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from careplan.db.models import Handover
from careplan.services import handovers
from careplan.services.accounts import actor_for
from tests.conftest import csrf_token, login
from tests.factories import Circle, KeyWorkerFactory


def _post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def summary(page: str) -> list[tuple[str, str]]:
    """The error summary's links: (anchor, message)."""
    found = re.search(r'<div class="error" role="alert" id="error-summary".*?</div>', page, re.S)
    assert found, page[:3000]
    return [
        (anchor, html.unescape(text))
        for anchor, text in re.findall(r'<a href="#([^"]+)">([^<]+)</a>', found.group(0))
    ]


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]+)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def test_a_handover_with_no_worker_or_no_note_is_summed_up_at_the_top(app, db):
    circle = Circle()
    KeyWorkerFactory(team_id=circle.team.id)
    supervisor = login(app.test_client(), circle.supervisor)
    url = f"/clients/{circle.client.id}/handover"

    refused = _post(supervisor, url, to_worker_id="", note="  ")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    said = summary(page)
    assert [a for a, _ in said] == ["to_worker_id", "note"]
    for anchor, message in said:
        assert field_error(page, anchor) == message  # the same words beside the field
    assert "Nothing was changed." in page
    # The form sends the browser to the summary, as the other forms do.
    assert f'action="{url}#error-summary"' in page

    only_note = _post(supervisor, url, note="Likes mornings.")
    page = only_note.get_data(as_text=True)
    assert only_note.status_code == 422 and [a for a, _ in summary(page)] == ["to_worker_id"]
    assert "Likes mornings." in page  # what was typed is kept
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Handover)) == 0


def test_a_second_handover_is_refused_above_the_form_with_the_note_kept(app, db):
    circle = Circle()
    first, second = (KeyWorkerFactory(team_id=circle.team.id) for _ in range(2))
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, first.id, "Cover")
    supervisor = login(app.test_client(), circle.supervisor)
    url = f"/clients/{circle.client.id}/handover"
    refused = _post(supervisor, url, to_worker_id=str(second.id), note="Over to you instead")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    [(anchor, message)] = summary(page)
    assert anchor == "handover-form" and "already waiting" in message
    assert "Over to you instead" in page and 'id="handover-form"' in page
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Handover)) == 1
