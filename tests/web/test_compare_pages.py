"""What changed between two versions: who made the changes between them, each part's last
change by its own author, and words written where there were none read as added."""

from __future__ import annotations

import re

from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.conftest import login
from tests.factories import Circle, make_plan


def _words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _change(html: str, label: str) -> str:
    """One change's words on the page."""
    item = re.search(
        rf"<li class=\"change \w+\">\s*<strong>{re.escape(label)}</strong>.*?</li>", html, re.S
    )
    return _words(item.group(0))


def _versions_by_both(db, circle: Circle) -> int:
    """Version 1 and 2 by the key worker; 3 by the client, who writes what had been left
    empty and empties an answer; 4 by the key worker, who changes another."""
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    content = documents.open_document(db, client, doc).content
    content["domains"]["money"] = {"own_words": "Universal Credit is late again."}
    content["domains"]["housing"] = {"own_words": ""}
    documents.save_version(db, client, doc, 2, content, "money")
    content = documents.open_document(db, worker, doc).content
    content["what_matters"] = {"text": "Being listened to, and my kids."}
    documents.save_version(db, worker, doc, 3, content, "after we talked")
    return doc


def test_the_changes_over_several_versions_name_everyone_who_made_them(app, db):
    circle = Circle()
    doc = _versions_by_both(db, circle)
    kim = circle.key_worker.display_name
    page = login(app.test_client(), circle.client).get(f"/documents/{doc}/compare?older=2&newer=4")
    html = page.get_data(as_text=True)
    said = _words(html)
    assert f"Changes made in versions 3 to 4, by you and {kim}, your key worker." in said
    assert "<title>What changed: Care plan · careplan</title>" in html  # which document
    # Each part says who last changed it: not everything is the newer version's author's.
    money = _change(html, "Money and benefits: in my own words")
    assert "Last changed in version 3, by you." in money, money
    matters = _change(html, "What matters to me")
    assert f"Last changed in version 4, by {kim}, your key worker." in matters, matters
    # The key worker reads themselves as "you", and the client by the name they go by.
    page = login(app.test_client(), circle.key_worker).get(
        f"/documents/{doc}/compare?older=2&newer=4"
    )
    said = _words(page.get_data(as_text=True))
    client = documents.open_document(db, actor_for(circle.key_worker), doc).client_called
    assert f"Changes made in versions 3 to 4, by {client} and you." in said


def test_one_version_later_names_its_author_alone_and_no_part_by_part(app, db):
    circle = Circle()
    doc = _versions_by_both(db, circle)
    page = login(app.test_client(), circle.client).get(f"/documents/{doc}/compare?older=2&newer=3")
    said = _words(page.get_data(as_text=True))
    assert "Changes made in version 3, by you." in said
    assert "Last changed in version" not in said
    same = login(app.test_client(), circle.client).get(f"/documents/{doc}/compare?older=3&newer=3")
    said = _words(same.get_data(as_text=True))
    assert "These two versions are the same." in said and "Changes made" not in said


def test_words_written_where_there_were_none_read_as_added_and_emptied_ones_as_removed(app, db):
    circle = Circle()
    doc = _versions_by_both(db, circle)
    page = login(app.test_client(), circle.client).get(f"/documents/{doc}/compare?older=2&newer=3")
    html = page.get_data(as_text=True)
    money = re.search(
        r'<li class="change (\w+)">\s*<strong>Money and benefits: in my own words</strong>', html
    )
    housing = re.search(
        r'<li class="change (\w+)">\s*<strong>Housing: in my own words</strong>', html
    )
    assert money.group(1) == "added"
    assert housing.group(1) == "removed"
    said = _words(html)
    assert "Money and benefits: in my own words added" in said
    assert "Housing: in my own words removed" in said


def test_versions_asked_newer_first_are_shown_oldest_first_and_it_says_so(app, db):
    """Asking for version 4 against version 2 showed 2 to 4 without saying it had turned
    them round."""
    circle = Circle()
    doc = _versions_by_both(db, circle)
    web = login(app.test_client(), circle.client)
    said = _words(web.get(f"/documents/{doc}/compare?older=4&newer=2").get_data(as_text=True))
    assert "You asked for version 4 against version 2; shown as version 2 to version 4." in said
    assert "What changed from version 2 to version 4" in said
    said = _words(web.get(f"/documents/{doc}/compare?older=2&newer=4").get_data(as_text=True))
    assert "You asked for" not in said
    said = _words(web.get(f"/documents/{doc}/compare?older=3&newer=3").get_data(as_text=True))
    assert "You asked for" not in said
