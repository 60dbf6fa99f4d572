"""On the edit form, beside every part someone can write (What matters, a goal, a step, an
agreement's list items, as beside "My life, in my own words"), the reader is told when their
words were changed and what they had written, or whose words they are, in a note of its own
beside the box whose answer changed; what changing someone else's words does is said once, at
the top of the form."""

from __future__ import annotations

import copy
import html
import re
from datetime import date, timedelta

from careplan.db.models import User
from careplan.services import documents
from careplan.services.accounts import actor_for
from tests.factories import Circle, make_agreement, make_plan
from tests.web.test_plan_pages import _browser, _page


def _save(db, person, doc: int, change) -> None:
    """`person` saves the latest version after `change(content)` edits a copy of it."""
    actor = actor_for(person)
    latest = documents.open_document(db, actor, doc)
    content = copy.deepcopy(latest.content)
    change(content)
    documents.save_version(db, actor, doc, latest.head_number, content, "changed")


def _plan_changes(what_matters: str, title: str, step: str, due: str = "2027-01-15"):
    """Changes to Housing, What matters, the first goal's title and its first step (by
    default the step's date as `make_plan` has it)."""

    def change(content: dict) -> None:
        content["domains"]["housing"]["own_words"] = f"{title}, for now."
        content["what_matters"]["text"] = what_matters
        goal = content["goals"][0]
        goal["title"] = title
        goal["steps"][0].update(text=step, due=due)

    return change


def _hints(app, user, doc: int) -> dict[str, str]:
    """The note for the reader beside each box of `user`'s edit form, by the box's name, as
    read out: a note of its own, not the question's hint, that each box names
    (aria-describedby); no box has two."""
    page = _page(_browser(app, user).get(f"/documents/{doc}/edit"))
    hints = {}
    for found in re.finditer(
        r'<p class="notice note" id="([^"]+)-note">(.*?)</p>', page.html, re.S
    ):
        name, words = found.group(1), found.group(2)
        hints[name] = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", words)).split())
    for name in hints:
        _, attrs = page.by_id[name]
        assert f"{name}-note" in attrs.get("aria-describedby", "").split(), name
    assert len(re.findall(r'id="([^"]+-note)"', page.html)) == len(hints)
    return hints


_ONCE = (
    "Parts someone else wrote say whose they are. If you change them, the person who wrote them "
    "is shown what you changed before they sign."
)


def _said_once(app, user, doc: int) -> int:
    """How often `user`'s edit form says what changing someone else's words does."""
    page = _page(_browser(app, user).get(f"/documents/{doc}/edit"))
    said = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.html)).split())
    return said.count("shown what you changed")


def _in_words(app, iso: str) -> str:
    with app.app_context():
        return app.jinja_env.filters["when"](iso)


def test_a_writer_is_told_beside_what_matters_a_goal_and_a_step_what_they_had_written(app, db):
    circle = Circle()
    doc = make_plan(circle.client)  # the client writes it all
    _save(db, circle.key_worker, doc, _plan_changes("Work.", "Move", "Ring them", "2027-03-01"))
    kim = circle.key_worker.display_name
    changed = f"{kim}, your key worker, changed what you wrote here. You had written:"

    hints = _hints(app, circle.client, doc)
    assert hints["what_matters-text"] == f"{changed} “Being listened to (revision 1).”"
    assert hints["goals-0-title"] == f"{changed} What to achieve: “Find a flat”"
    assert hints["goals-0-steps-0-text"] == (
        f"{changed} “Call the council”; by when: {_in_words(app, '2027-01-15')}"
    )

    # The worker, who did not write them, is told whose they first were, by the client's name,
    # and that the words now there are their own change; and once, at the top of the form,
    # what changing them does.
    client = circle.client.display_name
    hints = _hints(app, circle.key_worker, doc)
    for name in ("what_matters-text", "goals-0-title", "goals-0-steps-0-text"):
        assert hints[name] == f"You changed this last. {client} first wrote it.", name
    assert _said_once(app, circle.key_worker, doc) == 1


def test_a_change_saved_over_is_told_to_its_changer_once_with_what_changing_it_again_does(app, db):
    """Kim wrote it, the client changed it, Kim saved over the client's change: the client is
    told their words were changed, and once, at the top of the form, what changing them again
    does; not also that Kim wrote it, as if that were another matter."""
    circle = Circle()
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = make_plan(circle.key_worker, circle.client)
    _save(db, circle.client, doc, _plan_changes("My kids.", "A flat of my own", "Ask"))
    _save(db, circle.key_worker, doc, _plan_changes("Family.", "Housing", "Phone", "2027-02-01"))
    kim = circle.key_worker.display_name

    hints = _hints(app, circle.client, doc)
    assert hints["domains-housing-own_words"] == (
        f"{kim}, your key worker, changed what you wrote here. You had written: “A flat of my own, for now.”"
    )
    assert hints["what_matters-text"] == (
        f"{kim}, your key worker, changed what you wrote here. You had written: “My kids.”"
    )
    assert hints["goals-0-title"] == (
        f"{kim}, your key worker, changed what you wrote here. You had written: What to achieve: “A flat of my own”"
    )
    assert hints["goals-0-steps-0-text"] == (
        f"{kim}, your key worker, changed what you wrote here. You had written: “Ask”"
    )
    assert _said_once(app, circle.client, doc) == 1

    # The other way round: the client wrote it, the worker's change the client saved over.
    theirs = make_plan(circle.client)
    _save(db, circle.key_worker, theirs, _plan_changes("Work.", "Move", "Ring", "2027-03-01"))
    _save(db, circle.client, theirs, _plan_changes("Being heard.", "Near my sister", "Call"))
    hints = _hints(app, circle.key_worker, theirs)
    assert hints["goals-0-title"] == (
        "Al changed what you wrote here. You had written: What to achieve: “Move”"
    )
    assert hints["goals-0-steps-0-text"] == (
        "Al changed what you wrote here. You had written: “Ring”; "
        f"by when: {_in_words(app, '2027-03-01')}"
    )


def test_an_agreements_list_items_carry_the_same_note(app, db):
    circle = Circle()
    sister = {"name": "My sister", "how_to_contact": "07700 900000"}
    until = (date.today() + timedelta(days=200)).isoformat()  # ahead: a past day is refused
    decision = {"decision": "Money", "to_whom": "My sister", "until": until}
    sections = {"contingencies": {"contacts": [sister], "handed_over": [decision]}}
    doc = make_agreement(circle.client, circle.client, sections)

    def worker_changes(content: dict) -> None:
        part = content["sections"]["contingencies"]
        part["contacts"][0]["how_to_contact"] = "07700 900111"
        part["handed_over"][0]["until"] = (date.today() + timedelta(days=170)).isoformat()

    _save(db, circle.key_worker, doc, worker_changes)
    kim = circle.key_worker.display_name
    hints = _hints(app, circle.client, doc)
    # Beside the box whose answer was changed, not the item's first.
    assert hints["sections-contingencies-contacts-0-how_to_contact"] == (
        f"{kim}, your key worker, changed what you wrote here. You had written: How to contact them: “07700 900000”"
    )
    assert hints["sections-contingencies-handed_over-0-until"] == (
        f"{kim}, your key worker, changed what you wrote here. You had written: Until when: {_in_words(app, until)}"
    )
    assert "sections-contingencies-contacts-0-name" not in hints
    assert "sections-contingencies-handed_over-0-decision" not in hints

    # The client puts their number back: the worker's is saved over, and they are told.
    def client_changes(content: dict) -> None:
        content["sections"]["contingencies"]["contacts"][0]["how_to_contact"] = "07700 900222"

    _save(db, circle.client, doc, client_changes)
    client = circle.client.display_name
    hints = _hints(app, circle.key_worker, doc)
    assert hints["sections-contingencies-contacts-0-how_to_contact"] == (
        f"{client} changed what you wrote here. You had written: How to contact them: "
        "“07700 900111”"
    )


def test_the_document_page_gives_a_date_someone_had_written_in_words(app, db):
    circle = Circle()
    doc = make_plan(circle.client)  # the client's step is due on 15 January 2027
    _save(db, circle.key_worker, doc, _plan_changes("Work.", "Move", "Ring", "2027-03-01"))
    _save(db, circle.client, doc, _plan_changes("Being heard.", "Near my sister", "Call"))
    on_the_day = _in_words(app, "2027-03-01")

    for reader in (circle.client, circle.key_worker):
        page = _page(_browser(app, reader).get(f"/documents/{doc}")).html
        seen = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
        assert f"By when: {on_the_day}" in seen, seen
        assert "2027-03-01" not in seen


def test_a_note_is_its_own_element_beside_the_box_changed_and_the_rule_is_said_once(app, db):
    """The client's plan, with their words in Housing and What matters, a goal and a step,
    and a contact whose number the worker changed: the client's note is beside the number,
    the question's hint stays the question's; the worker's long form says once what
    changing the client's words does."""
    circle = Circle()
    doc = make_plan(circle.client)
    _save(db, circle.key_worker, doc, _plan_changes("Work.", "Move", "Ring", "2027-03-01"))
    page = _page(_browser(app, circle.client).get(f"/documents/{doc}/edit"))
    hint = re.search(r'id="domains-housing-own_words-hint">([^<]*)<', page.html)
    assert hint and "changed what you wrote" not in hint.group(1)
    _, attrs = page.by_id["domains-housing-own_words"]
    described = attrs.get("aria-describedby", "").split()
    assert described[:2] == ["domains-housing-own_words-hint", "domains-housing-own_words-note"]

    theirs = make_plan(circle.client)  # each part is the client's
    worker = _page(_browser(app, circle.key_worker).get(f"/documents/{theirs}/edit"))
    said = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", worker.html)).split())
    assert said.count(_ONCE) == 1 and said.count("shown what you changed") == 1
    assert said.count(f"{circle.client.display_name} wrote this.") >= 4
    mine = make_plan(circle.key_worker, circle.client)  # the worker's own words: nothing to say
    worker = _page(_browser(app, circle.key_worker).get(f"/documents/{mine}/edit"))
    assert "shown what you changed" not in worker.html

    sister = {"name": "My sister", "how_to_contact": "07700 900789"}
    agreement = make_agreement(
        circle.client, circle.client, {"contingencies": {"contacts": [sister]}}
    )

    def changes_the_number(content: dict) -> None:
        content["sections"]["contingencies"]["contacts"][0]["how_to_contact"] = "07700 900000"

    _save(db, circle.key_worker, agreement, changes_the_number)
    page = _page(_browser(app, circle.client).get(f"/documents/{agreement}/edit"))
    note = re.search(
        r'id="sections-contingencies-contacts-0-how_to_contact-note">([^<]*)<', page.html
    )
    assert note and "You had written: How to contact them:" in html.unescape(note.group(1))
    assert 'id="sections-contingencies-contacts-0-name-note"' not in page.html


def test_a_box_holding_other_words_than_someone_else_s_quotes_theirs(app, db):
    """The key worker saves a box the client changed meanwhile: the page that answers (a newer
    version was saved) holds the key worker's words on top of the client's, and its note
    quotes the client's, which the box no longer shows and saving replaces, rather than say
    "wrote this" above words the client never wrote. A box as the client left it still says
    whose it is; one emptied says saving takes the client's words out."""
    from tests.web.test_plan_pages import _post

    circle = Circle()
    doc = make_plan(circle.client)
    worker = _browser(app, circle.key_worker)
    edit = f"/documents/{doc}/edit"
    form = _page(worker.get(edit)).form(edit)

    def client_changes(content: dict) -> None:
        content["domains"]["physical_health"]["own_words"] = "My knee hurts. A brace helps."
        content["domains"]["money"]["own_words"] = "Rent is paid."

    _save(db, circle.client, doc, client_changes)
    typed = form.typed(
        {
            "domains-physical_health-own_words": "Knee pain; GP review booked.",
            "what_matters-text": "",
        }
    )
    answer = _post(worker, form, typed)
    assert answer.status_code == 409
    page = _page(answer, 409)
    notes = {
        m.group(1): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split())
        for m in re.finditer(r'<p class="notice note" id="([^"]+)-note">(.*?)</p>', page.html, re.S)
    }
    client = circle.client.display_name
    assert notes["domains-physical_health-own_words"] == (
        f"{client} wrote “My knee hurts. A brace helps.” here. What is in this box now replaces "
        "it when you save."
    )
    assert notes["domains-money-own_words"] == f"{client} wrote this."
    assert notes["what_matters-text"] == (
        f"{client} wrote “Being listened to (revision 1).” here. This box is empty now: saving "
        "takes it out."
    )


def test_words_the_reader_changed_last_are_not_said_to_be_the_first_writer_s(app, db):
    # Kim wrote it and the client changed it: to the client the words are their own now, as
    # the plan page says ("Last changed by you · first written by Kim"); the note said
    # "Kim, your key worker, wrote this."
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    _save(db, circle.client, doc, _plan_changes("Seeing my sister.", "Move", "Ring them"))
    kim = f"{circle.key_worker.display_name}, your key worker,"
    hints = _hints(app, circle.client, doc)
    for name in ("what_matters-text", "goals-0-title", "goals-0-steps-0-text"):
        assert hints[name] == f"You changed this last. {kim} first wrote it.", name
    assert hints["domains-housing-own_words"] == f"You changed this last. {kim} first wrote it."
    assert hints["care_team-0-name"] == f"{kim} wrote this."  # untouched: still Kim's words


def test_words_the_reader_saved_in_another_window_are_theirs_on_the_conflict_page(app, db):
    from tests.web.test_plan_pages import _post

    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client)
    client = _browser(app, circle.client)
    edit = f"/documents/{doc}/edit"
    form = _page(client.get(edit)).form(edit)  # one window; the other saves first

    def in_the_other_window(content: dict) -> None:
        content["domains"]["housing"]["own_words"] = "I have a flat now."

    _save(db, circle.client, doc, in_the_other_window)
    typed = form.typed({"domains-housing-own_words": "I have a flat now, near my sister."})
    page = _page(_post(client, form, typed), 409)
    notes = {
        m.group(1): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split())
        for m in re.finditer(r'<p class="notice note" id="([^"]+)-note">(.*?)</p>', page.html, re.S)
    }
    assert notes["domains-housing-own_words"] == (
        "You saved “I have a flat now.” here last. What is in this box now replaces "
        "it when you save."
    )
