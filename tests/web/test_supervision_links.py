"""The review-date dashboard's links: the download and the other pages carry the filters the
page used, never one it refused and ignored, so the spreadsheet is what is on screen."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from careplan.services import supervision
from tests.conftest import login
from tests.factories import (
    CaseloadLinkFactory,
    Circle,
    ClientFactory,
    KeyWorkerFactory,
    SupervisorTeamFactory,
    TeamFactory,
    make_plan,
)


def _link(page: str, text: str) -> str:
    match = re.search(r'<a href="([^"]+)">' + re.escape(text), page)
    assert match, text
    return html.unescape(match.group(1))


def _table(csv_text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(csv_text.removeprefix("\ufeff"))))
    return rows[1 : rows.index([])]


def _clients_on(page: str) -> list[str]:
    return re.findall(r'<td data-label="Client"><a href="[^"]+">([^<,]+)', page)


@pytest.fixture
def team(app, db):
    circle = Circle()
    make_plan(circle.key_worker, circle.client)
    for _ in range(2):
        other = ClientFactory()
        CaseloadLinkFactory(client_id=other.id, key_worker_id=circle.key_worker.id)
        make_plan(circle.key_worker, other)
    return circle


@pytest.mark.parametrize(
    "refused",
    [
        "due_from=2027-03-01&due_to=2027-01-01",  # a range that ends before it starts
        "team=999",  # not one of theirs
        "key_worker=999&sort=client",
        "state=nonsense",
    ],
)
def test_the_download_after_a_refused_filter_is_what_the_page_shows(app, db, team, refused):
    web = login(app.test_client(), team.supervisor)
    response = web.get(f"/supervision?{refused}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "could not be used and were ignored" in page
    link = _link(page, "Download these as a spreadsheet (CSV)")
    assert "999" not in link and "2027" not in link and "nonsense" not in link
    export = web.get(link)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    shown = _clients_on(page)
    assert len(shown) == 3
    assert [row[0] for row in _table(export.get_data(as_text=True))] == shown


def test_the_other_pages_leave_a_refused_filter_out_and_keep_the_ones_used(
    app, db, team, monkeypatch
):
    monkeypatch.setattr(supervision, "PAGE_SIZE", 2)
    web = login(app.test_client(), team.supervisor)
    page = web.get("/supervision?team=999&sort=client").get_data(as_text=True)
    following = _link(page, "Next page")
    # The refused team is left out; the order asked for, which was not refused, is kept.
    assert "team" not in following and following.endswith("?sort=client&page=2#results")
    # Nothing refused: every filter used travels with the links.
    used = f"team={team.team.id}&sort=client"
    page = web.get(f"/supervision?{used}").get_data(as_text=True)
    # Each lands at the list (#results), not at the filters that fill a phone's first screen.
    assert _link(page, "Next page") == f"/supervision?{used}&page=2#results"
    assert 'action="#results"' in page and 'id="results"' in page
    assert _link(page, "Download these as a spreadsheet (CSV)") == (
        f"/supervision/export.csv?{used}"
    )
    second = web.get(_link(page, "Next page")).get_data(as_text=True)
    assert "Previous page" in second
    assert _link(second, "Previous page") == f"/supervision?{used}&page=1#results"


@pytest.mark.parametrize(
    "refused, said",
    [
        # A range that ends before it starts: neither end is used.
        ("due_from=2027-03-01&due_to=2027-01-01", "so neither date could be used"),
        ("state=nonsense", "Please choose a state from the list."),
        # Not one of theirs: refused by the service, not by reading the address.
        ("key_worker=999", "Please choose a key worker in your teams from the list."),
    ],
)
def test_a_refused_filter_is_ignored_alone_and_the_team_chosen_kept(app, db, team, refused, said):
    """A supervisor who chose their team and mistyped a filter sees their team, not all."""
    other_team = TeamFactory()
    SupervisorTeamFactory(supervisor_id=team.supervisor.id, team_id=other_team.id)
    elsewhere = ClientFactory(display_name="Elsewhere Client")
    worker = KeyWorkerFactory(team_id=other_team.id)
    CaseloadLinkFactory(client_id=elsewhere.id, key_worker_id=worker.id)
    make_plan(worker, elsewhere)
    web = login(app.test_client(), team.supervisor)
    assert "Elsewhere Client" in _clients_on(web.get("/supervision").get_data(as_text=True))

    response = web.get(f"/supervision?team={team.team.id}&{refused}")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "could not be used and were ignored" in page
    assert said in page and "Elsewhere Client" not in page
    shown = _clients_on(page)
    assert len(shown) == 3 and team.client.display_name in shown
    assert f'<option value="{team.team.id}" selected>' in page
    link = _link(page, "Download these as a spreadsheet (CSV)")
    assert link == f"/supervision/export.csv?team={team.team.id}"
    export = web.get(link)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert [row[0] for row in _table(export.get_data(as_text=True))] == shown


def test_a_client_with_no_document_shows_on_the_page_and_in_its_download(app, db, team):
    cal = ClientFactory(display_name="Cal Noplan")
    CaseloadLinkFactory(client_id=cal.id, key_worker_id=team.key_worker.id)
    web = login(app.test_client(), team.supervisor)
    page = web.get("/supervision").get_data(as_text=True)
    assert _clients_on(page)[0] == "Cal Noplan"
    assert 'No care plan yet <span class="meta">(a client since' in page
    assert '<option value="no_plan">no care plan yet</option>' in page
    only = web.get("/supervision?state=no_plan").get_data(as_text=True)
    assert _clients_on(only) == ["Cal Noplan"]
    export = web.get(_link(only, "Download these as a spreadsheet (CSV)"))
    assert [row[:3] for row in _table(export.get_data(as_text=True))] == [
        ["Cal Noplan", "none yet", "no care plan yet"]
    ]
