"""Links in the pages are remembered once built (careplan.web.page_links): they must still be
the links Flask would build, for wherever the app is mounted."""

from __future__ import annotations

from flask import render_template_string, url_for

from tests.conftest import login
from tests.factories import Circle, make_plan


def test_a_page_links_under_the_prefix_it_was_asked_under_each_time(app, client):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    login(client, circle.key_worker)
    page = f"/documents/{doc}/history"
    for prefix in ("", "/care", "", "/care"):
        html = client.get(page, base_url=f"http://localhost{prefix}").get_data(as_text=True)
        assert f'href="{prefix}/documents/{doc}/versions/1"' in html
        assert f'href="{prefix}/static/app.css"' in html
        if not prefix:
            assert 'href="/care/' not in html


def test_links_in_templates_are_the_ones_flask_builds(app):
    cases = [
        ("documents.history", {"document_id": 3, "page": 2}),  # a query string
        ("documents.compare", {"document_id": 3, "older": 1, "newer": 2}),  # in this order
        ("documents.compare", {"document_id": 3, "newer": 2, "older": 1}),
        ("documents.version", {"document_id": 3, "number": 1}),
        ("static", {"filename": "app.css"}),
        ("documents.history", {"document_id": 3, "page": ["a", "b"]}),  # not a key: built anew
    ]
    with app.test_request_context("/", base_url="http://localhost/care"):
        for endpoint, values in cases:
            for _ in range(2):  # built, then remembered
                shown = render_template_string(
                    "{{ url_for(endpoint, **values) }}", endpoint=endpoint, values=values
                )
                assert shown == str(url_for(endpoint, **values)).replace("&", "&amp;")
        external = render_template_string("{{ url_for('static', filename='a', _external=True) }}")
        assert external == "http://localhost/care/static/a"
