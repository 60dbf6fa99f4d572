import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from careplan.agreement_library import AgreementLibrary
from careplan.db.models import AuditEvent, CrisisAlert, Document, Notification, User
from careplan.domain.contingency import NOTHING_AGREED
from careplan.domain.errors import ContentInvalid
from careplan.domain.local_time import service_today
from careplan.services import comments, contingencies, documents, signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import NotFound, ReadOnly
from tests.factories import PASSWORD, Circle, plan_content

SHIPPED = Path(__file__).resolve().parents[2] / "agreements"
TODAY = service_today()


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "agreements"
    shutil.copytree(SHIPPED, folder)
    return AgreementLibrary(folder)


@pytest.fixture
def circle(app):
    return Circle()


def start(db, circle, library, template_id="smi_self_referral"):
    worker = actor_for(circle.key_worker)
    template = library.current().templates[template_id]
    doc = documents.create_document(db, worker, circle.client.id, "agreement", template=template)
    raw = {"sections": {"contingencies": {"warning_signs": {"text": "I stop sleeping"}}}}
    documents.save_version(db, worker, doc, 0, raw, "first", library.current().terms)
    return doc


def test_a_broken_file_is_reported_and_the_others_still_load(library):
    (library.folder / "broken.toml").write_text(
        'id = "broken"\nversion = 1\nname = "x"\n[[sections]]\nkey = "review"\n'
    )
    current = library.current()
    assert set(current.templates) == {"general", "ost_primary_care", "smi_self_referral"}
    assert current.errors["broken.toml"].startswith("broken.toml: sections")
    (library.folder / "bad_syntax.toml").write_text("id = ")
    assert "not valid TOML" in library.current().errors["bad_syntax.toml"]


def test_a_services_own_template_is_picked_up_without_code_change(library):
    library.current()  # the app is running when the file is dropped in
    copy = (library.folder / "general.toml").read_text().replace('id = "general"', 'id = "ours"')
    # A copy under the same name could not be told apart from the original in the list.
    (library.folder / "ours.toml").write_text(copy)
    current = library.current()
    assert "ours" not in current.templates and set(current.templates) >= {"general"}
    assert current.errors["ours.toml"] == (
        "ours.toml: the name 'Partnership agreement' is already used by general.toml; "
        "give this template a name of its own"
    )
    named = copy.replace('name = "Partnership agreement"', 'name = "Our agreement"')
    (library.folder / "ours.toml").write_text(named)
    current = library.current()
    assert current.templates["ours"]["name"] == "Our agreement" and not current.errors


def test_later_template_edits_never_change_an_existing_agreement(db, circle, library):
    doc = start(db, circle, library)
    shipped = library.current().templates["smi_self_referral"]["version"]
    path = library.folder / "smi_self_referral.toml"
    path.write_text(
        path.read_text()
        .replace(f"version = {shipped}", f"version = {shipped + 1}")
        .replace('prompt = "What are my early warning signs?"', 'prompt = "Signs"')
    )
    assert library.current().templates["smi_self_referral"]["version"] == shipped + 1
    page = documents.open_document(db, actor_for(circle.client), doc)
    assert page.template["version"] == shipped
    prompts = [f["prompt"] for s in page.template["sections"] for f in s["fields"]]
    assert "What are my early warning signs?" in prompts and "Signs" not in prompts
    assert page.content["template"]["version"] == shipped


def test_language_suggestions_come_back_but_the_words_are_kept(db, circle, library):
    worker = actor_for(circle.key_worker)
    doc = start(db, circle, library)
    page = documents.open_document(db, worker, doc)
    page.content["sections"]["contingencies"]["what_helps"] = {
        "text": "Being treated as more than an addict"
    }
    result = documents.save_version(db, worker, doc, 1, page.content, "", library.current().terms)
    assert result.saved and [f.term for f in result.language] == ["addict"]
    saved = documents.open_document(db, worker, doc).content
    assert (
        saved["sections"]["contingencies"]["what_helps"]["text"]
        == "Being treated as more than an addict"
    )


def test_client_key_worker_and_advocate_comment_supervisor_cannot(db, circle, library):
    doc = start(db, circle, library)
    for person in (circle.client, circle.key_worker, circle.advocate):
        comments.add_comment(
            db, actor_for(person), doc, "boundaries", 1, f"from {person.display_name}"
        )
    with pytest.raises(ReadOnly):
        comments.add_comment(db, actor_for(circle.supervisor), doc, "boundaries", 1, "no")
    with pytest.raises(ContentInvalid) as err:
        comments.add_comment(db, actor_for(circle.client), doc, "nonsense", 9, "")
    assert set(err.value.errors) == {"section_key", "body", "version_number"}
    seen = comments.comments_on(db, actor_for(circle.supervisor), doc)["boundaries"]
    assert [c.author_name for c in seen] == [
        circle.client.display_name,
        circle.key_worker.display_name,
        circle.advocate.display_name,
    ]
    assert all(c.version_number == 1 for c in seen)
    with pytest.raises(NotFound):
        comments.comments_on(db, actor_for(Circle().client), doc)


def test_a_comment_is_a_message_to_whoever_of_the_two_did_not_write_it(db, circle, library):
    """The key worker's message calls the client by the name they go by, as the document's
    pages do (it once gave their full name)."""
    with db.write() as s:
        s.get(User, circle.client.id).preferred_name = "Al"
    doc = start(db, circle, library)
    comments.add_comment(db, actor_for(circle.client), doc, "boundaries", 1, "Not on Fridays.")
    comments.add_comment(db, actor_for(circle.advocate), doc, "contingencies", 1, "Ask first.")
    with pytest.raises(ContentInvalid):  # refused: nobody is told anything
        comments.add_comment(db, actor_for(circle.key_worker), doc, "boundaries", 1, " ")
    with db.read() as s:
        sent = s.execute(
            sa.select(Notification.user_id, Notification.text, Notification.link).order_by(
                Notification.id
            )
        ).all()
    client, worker, advocate = (circle.client, circle.key_worker, circle.advocate)
    boundaries, unwell = (
        f"/documents/{doc}#comments-boundaries",
        f"/documents/{doc}#comments-contingencies",
    )
    agreement = "partnership agreement (with asking for a short stay)"
    assert sent == [
        (worker.id, f"Al commented on “Boundaries, both sides” in version 1 of Al's "
                    f"{agreement}.", boundaries),
        (client.id, f"{advocate.display_name}, your advocate, commented on “When I am not "
                    f"well” in version 1 of your {agreement}.", unwell),
        (worker.id, f"{advocate.display_name}, Al's advocate, commented on “When I am not "
                    f"well” in version 1 of Al's {agreement}.", unwell),
    ]  # fmt: skip
    assert client.display_name not in str(sent)
    assert "Fridays" not in str(sent) and "Ask first" not in str(sent)


def test_advocates_never_edit(db, circle, library):
    doc = start(db, circle, library)
    with pytest.raises(ReadOnly):
        documents.save_version(db, actor_for(circle.advocate), doc, 1, {})


def test_contingency_in_use_is_temporary_and_lands_in_the_history(db, circle, library):
    doc = start(db, circle, library)
    client = actor_for(circle.client)
    ends = (TODAY + timedelta(days=10)).isoformat()
    contingencies.start_contingency(
        db, client, doc, "Not sleeping", "Called my sister", ends, TODAY
    )
    with pytest.raises(ContentInvalid):  # only one at a time
        contingencies.start_contingency(db, client, doc, "Again", "", ends, TODAY)
    record = contingencies.crisis_record(db, client, doc, TODAY)
    assert record.active.observed == "Not sleeping"
    assert record.active.review_due == TODAY + timedelta(days=17)
    contingencies.end_contingency(db, actor_for(circle.key_worker), doc, "Feeling better", TODAY)
    record = contingencies.crisis_record(db, actor_for(circle.supervisor), doc, TODAY)
    assert record.active is None and record.activations[0].end_note == "Feeling better"
    assert record.activations[0].review_due == TODAY + timedelta(days=7)
    with pytest.raises(ReadOnly):
        contingencies.start_contingency(db, actor_for(circle.supervisor), doc, "x", "", ends, TODAY)


def test_a_contingency_may_not_outlast_the_agreed_limit(db, circle, library):
    doc = start(db, circle, library)  # this template allows at most 14 days
    too_long = (TODAY + timedelta(days=15)).isoformat()
    with pytest.raises(ContentInvalid) as err:
        contingencies.start_contingency(db, actor_for(circle.client), doc, "x", "", too_long, TODAY)
    assert "at most 14 days" in err.value.errors["ends_on"]


def test_self_referral_is_checked_against_the_agreed_terms_and_recorded(db, circle, library):
    doc = start(db, circle, library)
    client = actor_for(circle.client)
    for who in (client, actor_for(circle.key_worker)):
        signoff.sign(db, who, doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    inside = contingencies.request_self_referral(db, client, doc, "3", "", "", TODAY)
    outside = contingencies.request_self_referral(
        db, client, doc, "3", (TODAY - timedelta(days=3)).isoformat(), "", TODAY
    )
    assert inside.within_terms and not outside.within_terms
    record = contingencies.crisis_record(db, client, doc, TODAY)
    assert [r.within_terms for r in record.self_referrals] == [False, True]


def test_terms_nobody_agreed_are_no_right_but_the_request_still_reaches_the_team(
    db, circle, library
):
    """The client declined version 1, the only one: "up to 5 nights" is not agreed, so a
    request that would fit it is a plain request, and the team is asked all the same."""
    doc = start(db, circle, library)  # proposes up to 5 nights
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    signoff.sign(db, worker, doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    signoff.sign(db, client, doc, 1, "declined", "Not yet", PASSWORD)
    assert not contingencies.crisis_record(db, client, doc, TODAY).terms.agreed

    asked = contingencies.request_self_referral(db, client, doc, "3", "", "", TODAY)
    assert (asked.within_terms, asked.agreed, asked.reasons) == (False, False, (NOTHING_AGREED,))
    request = contingencies.crisis_record(db, client, doc, TODAY).self_referrals[0]
    assert (request.within_terms, request.agreed) == (False, False)
    with db.read() as s:
        alerts = s.scalars(sa.select(CrisisAlert.kind).where(CrisisAlert.document_id == doc))
        assert list(alerts) == ["self_referral"]


def test_starting_the_plan_while_it_is_in_effect_says_so_before_anything_else(db, circle, library):
    """The other person started it while this form was open: whatever this form says, the
    answer is that the plan is already in effect (not, say, "the date is in the past")."""
    doc = start(db, circle, library)
    ends = (TODAY + timedelta(days=3)).isoformat()
    contingencies.start_contingency(
        db, actor_for(circle.client), doc, "Not sleeping", "", ends, TODAY
    )
    with pytest.raises(ContentInvalid) as err:
        contingencies.start_contingency(
            db, actor_for(circle.key_worker), doc, "", "", "not a date", TODAY
        )
    assert err.value.errors == {"observed": contingencies.ALREADY_IN_EFFECT}
    assert "already in effect" in contingencies.ALREADY_IN_EFFECT


def test_a_draft_after_the_agreement_does_not_change_the_terms_in_force(db, circle, library):
    """The crisis plan's limit and the self-referral terms are those both signed: a later
    draft proposing others has no effect until it is agreed in its turn."""
    doc = start(db, circle, library)  # at most 14 days; up to 5 nights
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    for who in (client, worker):
        signoff.sign(db, who, doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    content = documents.open_document(db, client, doc).content
    content["terms"]["contingency_max_days"] = 28
    content["terms"]["self_referral"]["max_nights"] = 30
    documents.save_version(db, client, doc, 1, content, "more nights")
    record = contingencies.crisis_record(db, client, doc, TODAY)
    assert (record.max_days, record.terms.max_nights) == (14, 5)
    asked = contingencies.request_self_referral(db, client, doc, "20", "", "", TODAY)
    assert not asked.within_terms
    in_20_days = (TODAY + timedelta(days=20)).isoformat()
    with pytest.raises(ContentInvalid) as err:
        contingencies.start_contingency(db, client, doc, "x", "", in_20_days, TODAY)
    assert "at most 14 days" in err.value.errors["ends_on"]
    # Once both sign the new terms, they apply.
    for who in (client, worker):
        signoff.sign(db, who, doc, 2, "signed", "", PASSWORD, confirm_blank=True)
    record = contingencies.crisis_record(db, client, doc, TODAY)
    assert (record.max_days, record.terms.max_nights) == (28, 30)
    assert contingencies.request_self_referral(db, client, doc, "20", "", "", TODAY).within_terms


def test_the_crisis_plan_and_self_referral_land_in_the_history(db, circle, library):
    doc = start(db, circle, library)
    client = actor_for(circle.client)
    contingencies.start_contingency(
        db, client, doc, "Not sleeping", "", (TODAY + timedelta(days=3)).isoformat(), TODAY
    )
    contingencies.request_self_referral(db, client, doc, "2", "", "", TODAY)
    contingencies.end_contingency(db, actor_for(circle.key_worker), doc, "", TODAY)
    events = [e.what for e in documents.history(db, client, doc).events]
    assert events[:3] == [
        "ended the plan for when you are not well",  # the client reads their own history
        # Nothing is agreed yet: no terms were checked, and the history does not say so.
        "asked for a short stay of 2 nights while nothing was agreed (a request, not checked)",
        "put the plan for when you are not well into effect",
    ]
    assert events[-1] == "started the document"
    name = circle.client.display_name
    events = [e.what for e in documents.history(db, actor_for(circle.key_worker), doc).events]
    assert (events[0], events[2]) == (
        f"ended the plan for when {name} is not well",
        f"put the plan for when {name} is not well into effect",
    )
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    contingencies.request_self_referral(db, client, doc, "2", "", "", TODAY)
    latest = documents.history(db, client, doc).events[0].what
    assert latest == "asked for a short stay of 2 nights (within the agreed terms)"


def test_a_short_stay_asked_for_says_who_asked_for_whom_and_how_it_stood(db, circle, library):
    """The history told the client "You checked a self-referral request against the agreed
    terms": they had asked, and the app did the checking. A key worker can send a request
    for the client; the line says it was for them."""
    doc = start(db, circle, library)  # up to 5 nights
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    for who in (client, worker):
        signoff.sign(db, who, doc, 1, "signed", "", PASSWORD, confirm_blank=True)
    contingencies.request_self_referral(db, client, doc, "1", "", "", TODAY)
    contingencies.request_self_referral(db, worker, doc, "20", "", "", TODAY)
    name = circle.client.display_name

    def lines(reader) -> list[str]:
        events = documents.history(db, actor_for(reader), doc).events
        return [e.what for e in events if e.what.startswith("asked")]

    assert lines(circle.client) == [
        "asked for a short stay of 20 nights for you (outside the agreed terms)",
        "asked for a short stay of 1 night (within the agreed terms)",
    ]
    for reader in (circle.key_worker, circle.supervisor):
        assert lines(reader) == [
            f"asked for a short stay of 20 nights for {name} (outside the agreed terms)",
            "asked for a short stay of 1 night (within the agreed terms)",
        ]
    # The key worker's own request pages nobody: the history does not call that a reply.
    events = documents.history(db, actor_for(circle.client), doc).events
    answers = [(e.who, e.what) for e in events if "repl" in e.what]
    assert answers == [
        (circle.key_worker.display_name, "dealt with it directly: nobody else was asked to reply")
    ]


def test_starting_again_opens_the_empty_one_already_started_not_a_look_alike(db, circle, library):
    worker, client = actor_for(circle.key_worker), actor_for(circle.client)
    templates = library.current().templates
    plan = documents.create_document(db, worker, circle.client.id)
    # A second tap, or the client starting one too: the same, still empty, plan.
    assert documents.create_document(db, worker, circle.client.id) == plan
    assert documents.create_document(db, client, circle.client.id) == plan
    smi = documents.create_document(
        db, worker, circle.client.id, "agreement", template=templates["smi_self_referral"]
    )
    ost = documents.create_document(
        db, worker, circle.client.id, "agreement", template=templates["ost_primary_care"]
    )
    assert len({plan, smi, ost}) == 3  # another kind, another template: its own document
    assert (
        documents.create_document(
            db, worker, circle.client.id, "agreement", template=templates["ost_primary_care"]
        )
        == ost
    )
    with db.read() as s:
        created = s.scalars(
            sa.select(AuditEvent.object_id).where(AuditEvent.action == "document.create")
        ).all()
    assert sorted(created) == sorted([plan, smi, ost])
    # Once something is written in it, starting again starts a new one.
    documents.save_version(db, worker, plan, 0, plan_content(), "first")
    assert documents.create_document(db, worker, circle.client.id) not in (plan, smi, ost)
    # Another client's empty plan is theirs alone.
    other = Circle()
    assert documents.create_document(db, actor_for(other.key_worker), other.client.id) != plan


def test_two_people_starting_a_plan_at_the_same_moment_get_the_same_one(db, circle):
    people = [actor_for(circle.client), actor_for(circle.key_worker)]
    start, started = threading.Barrier(2), []

    def press(actor):
        start.wait()
        started.append(documents.create_document(db, actor, circle.client.id))

    threads = [threading.Thread(target=press, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 2 and started[0] == started[1]
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Document)) == 1
