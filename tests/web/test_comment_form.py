"""The comment form: its limit said before sending, and a refused comment given back as typed."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from careplan.db.models import Comment, Notification, utcnow
from careplan.services import accounts, comments
from careplan.services.accounts import actor_for
from careplan.services.comments import MAX_COMMENT
from tests.factories import Circle, make_plan
from tests.gunicorn import given_back
from tests.web.test_plan_pages import _browser, _page, _post


def _comment_forms(page, doc: int) -> dict:
    return {
        f.values()["section_key"]: f for f in page.forms if f.action == f"/documents/{doc}/comments"
    }


def test_a_comment_too_long_is_refused_and_given_back_as_typed(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = _browser(app, circle.client)
    page = _page(client.get(f"/documents/{doc}"))
    assert f"Up to {MAX_COMMENT:,} characters." in page.html
    forms = _comment_forms(page, doc)
    section, form = next(iter(forms.items()))
    body = ("Ich möchte das selbst schreiben, אני רוצה לכתוב בעצמי. " * 80).strip()
    assert len(body) > MAX_COMMENT

    refused = _page(_post(client, form, form.typed({"body": body})), 422)

    given_back = _comment_forms(refused, doc)
    assert given_back[section].values()["body"] == body
    others = [f.values()["body"] for key, f in given_back.items() if key != section]
    assert others and all(v == "" for v in others)  # only the form it was written in
    assert (
        f"Please keep your comment to 3,000 characters or fewer: it has {len(body):,}."
        in refused.html
    )
    assert "Nothing was lost" in refused.html
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_a_comment_added_lands_where_it_is_shown(app, db):
    """It went to "#comments", which nothing on the page is: a long page opened at its top,
    far from the comment."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = _browser(app, circle.client)
    page = _page(client.get(f"/documents/{doc}"))
    section, form = list(_comment_forms(page, doc).items())[-1]
    sent = _post(client, form, form.typed({"body": "That is me."}))
    assert sent.status_code == 302
    place = sent.headers["Location"].partition("#")[2]
    assert place == f"comments-{section}"
    shown = _page(client.get(f"/documents/{doc}")).html
    at = shown.index(f'id="{place}"')
    assert "That is me." in shown[at : shown.index("</div>", at)]


def test_an_empty_comment_is_said_at_the_top_with_the_part_it_was_for(app, db):
    """'Please write your comment.' did not say which of the page's comment boxes it meant."""
    import re

    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = _browser(app, circle.client)
    form = _comment_forms(_page(client.get(f"/documents/{doc}")), doc)["what_matters"]
    refused = _page(_post(client, form, form.typed({"body": "   "})), 422)
    summary = re.search(r'id="error-summary".*?</div>', refused.html, re.S).group(0)
    assert '<a href="#body-what_matters">Your comment on “What matters to me” — ' in summary


def test_a_comment_sent_after_the_advocate_was_stopped_is_given_back_with_not_found(app, db):
    """The client stopped their advocate while the advocate typed: the comment is refused as
    for any record not theirs, and its words come back to copy (this site's own form only)."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    advocate = _browser(app, circle.advocate)
    form = _comment_forms(_page(advocate.get(f"/documents/{doc}")), doc)["goals"]
    accounts.revoke_advocate(db, actor_for(circle.client), circle.advocate.id)
    sent = form.typed({"body": "Ask about the <b>housing</b> band"})
    here = advocate.post(form.action, data=sent, headers={"Sec-Fetch-Site": "same-origin"})
    assert here.status_code == 404
    page = here.get_data(as_text=True)
    assert "Page not found" in page and "What you sent was not saved." in page
    assert given_back(page) == {
        "Your comment on “Goals and steps”": "Ask about the <b>housing</b> band"
    }
    elsewhere = advocate.post(form.action, data=sent)  # the browser did not say where from
    assert elsewhere.status_code == 404 and "housing" not in elsewhere.get_data(as_text=True)


def test_the_same_comment_sent_twice_is_kept_once_and_the_second_answer_says_so(app, db):
    """A second tap on a slow phone sent the form again: two comments, two messages to the
    key worker, neither removable."""
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = _browser(app, circle.client)
    page = _page(client.get(f"/documents/{doc}"))
    section, form = next(iter(_comment_forms(page, doc).items()))
    for _ in range(2):
        assert _post(client, form, form.typed({"body": "Mondays suit me."})).status_code == 302
    shown = _page(client.get(f"/documents/{doc}")).html
    assert "Your comment was added at " in shown and "and once only: it was sent twice" in shown
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Comment)) == 1
        told = s.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == circle.key_worker.id)
        )
    assert told == 1
    # Other words, or the same words on another part, are other comments.
    other_section, other = list(_comment_forms(page, doc).items())[1]
    assert other_section != section
    _post(client, other, other.typed({"body": "Mondays suit me."}))
    _post(client, form, form.typed({"body": "Tuesdays too."}))
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Comment)) == 3


def test_the_same_words_later_are_a_new_comment(app, db, monkeypatch):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    section = "what_matters"
    assert comments.add_comment(db, actor_for(circle.client), doc, section, 1, "Yes.") is None
    later = utcnow() + comments.SAME_COMMENT_WITHIN + timedelta(seconds=1)
    monkeypatch.setattr(comments, "utcnow", lambda: later)
    assert comments.add_comment(db, actor_for(circle.client), doc, section, 1, "Yes.") is None
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Comment)) == 2


def test_the_same_comment_sent_twice_at_once_is_kept_once(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    start = threading.Barrier(2)
    answers = []

    def send():
        start.wait()
        answers.append(
            comments.add_comment(db, actor_for(circle.client), doc, "what_matters", 1, "Both.")
        )

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a is None for a in answers) == [False, True]
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Comment)) == 1
