"""Every URL rule of the app, for every role: a record outside the person's circle answers 404.

Two tables below describe every rule (the JSON API's rules, which take bearer tokens instead
of a session, have their own matrix in tests/api/test_matrix.py). RECORD_RULES carry a client's record in the URL and say
how to point them at a record; PLAIN_RULES carry none and say what each role gets. A rule in
neither table fails `test_every_url_rule_is_in_exactly_one_table`, so a new page cannot be
added without saying who may open it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for

from careplan.db.models import AuditEvent, Base, PdfRender, RateLimitCounter
from careplan.domain.local_time import service_today
from careplan.extensions import LIBRARY_KEY
from careplan.services import accounts, contingencies, documents, drafts, handovers, signoff
from careplan.services.accounts import actor_for
from careplan.web.trouble import NOT_WRITING, is_secret
from tests.built_once import built_once
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, Circle, KeyWorkerFactory, make_plan

ROLES = ("client", "key_worker", "supervisor", "advocate", "admin")
IGNORED_METHODS = {"HEAD", "OPTIONS"}
AGREEMENT_TEMPLATE = "smi_self_referral"  # has self-referral terms and a crisis plan


@dataclass(frozen=True)
class Records:
    """The records of one circle, as URL arguments can name them. Both documents have two
    versions, so `head` is the latest version of either."""

    client_id: int
    document_id: int  # a care plan
    agreement_id: int  # a partnership agreement
    head: int = 2


@dataclass(frozen=True)
class RecordRule:
    """A rule that names a client's record: how to point it at `Records`, and what to expect.

    `expect[method][role]` is the status a person in that role gets for a record of their own
    circle; for any record outside their circle the answer is always 404. `prepare` sets up
    what the request acts on (in whichever circle is asked about) before it is sent.
    """

    path: Callable[[Records], dict]
    expect: dict[str, dict[str, int]]
    query: Callable[[Records], dict] = lambda r: {}
    form: Callable[[Records], dict] = lambda r: {}
    prepare: Callable[[object, Circle, Records], None] | None = None
    # An allowed POST that answers 200 (for a script) rather than redirecting, but changes
    # something all the same.
    answers_changed: bool = False


def _roles(client: int, key_worker: int, supervisor: int, advocate: int, admin: int) -> dict:
    return dict(zip(ROLES, (client, key_worker, supervisor, advocate, admin), strict=True))


READ = _roles(200, 200, 200, 200, 404)
PREPARING = _roles(202, 202, 202, 202, 404)  # a sealed PDF still being made
# Pages for changing things: read-only roles are told they cannot; admins see nothing clinical.
EDIT_PAGE = _roles(200, 200, 403, 403, 404)
# An allowed change redirects to its result.
EDIT = _roles(302, 302, 403, 403, 404)
COMMENT = _roles(302, 302, 403, 302, 404)  # advocates comment, supervisors only read
CLIENT_ONLY = _roles(302, 404, 404, 404, 404)


def _client(r: Records) -> dict:
    return {"client_id": r.client_id}


def _document(r: Records) -> dict:
    return {"document_id": r.document_id}


def _version(r: Records) -> dict:
    return {"document_id": r.document_id, "number": r.head}


def _agreement(r: Records) -> dict:
    return {"document_id": r.agreement_id}


def _agreed(db, circle: Circle, r: Records) -> None:
    """Both sign the care plan's latest version, which queues its sealed PDF."""
    for person in (circle.client, circle.key_worker):
        signoff.sign(db, actor_for(person), r.document_id, r.head, "signed", "", PASSWORD)


def _declined(db, circle: Circle, r: Records) -> None:
    """The client declines the care plan's latest version."""
    signoff.sign(db, actor_for(circle.client), r.document_id, r.head, "declined", "No", PASSWORD)


def _drafts_kept(db, circle: Circle, r: Records) -> None:
    """The client and the key worker each have unsaved changes to the care plan."""
    for person in (circle.client, circle.key_worker):
        drafts.keep(db, actor_for(person), r.document_id, r.head, "", [("what_matters-text", "…")])


def _agreed_but_the_pdf_failed(db, circle: Circle, r: Records) -> None:
    _agreed(db, circle, r)
    with db.write() as s:
        s.execute(
            sa.update(PdfRender)
            .where(PdfRender.document_id == r.document_id)
            .values(status="failed", attempts=3)
        )


def _start_crisis_plan(db, circle: Circle, r: Records) -> None:
    contingencies.start_contingency(
        db,
        actor_for(circle.client),
        r.agreement_id,
        "Not sleeping for three nights",
        "Called my sister",
        (service_today() + timedelta(days=5)).isoformat(),
        service_today(),
    )


TAKEN_OUT = "matrix-step"  # the id of the step `_step_taken_out` keeps


def _step_taken_out(db, circle: Circle, r: Records) -> None:
    """The client writes a step into the care plan (version 3) and the key worker takes it
    out (version 4): kept, to put back."""
    client, worker = actor_for(circle.client), actor_for(circle.key_worker)
    step = {"id": TAKEN_OUT, "text": "Ring", "owner": {"kind": "client"}, "due": "2027-01-15"}
    goals = documents.open_document(db, client, r.document_id).content["goals"]
    goals[0]["steps"].append(step)
    documents.save_version(db, client, r.document_id, r.head, {"goals": goals}, "", part="goals")
    goals[0]["steps"].pop()
    documents.save_version(
        db, worker, r.document_id, r.head + 1, {"goals": goals}, "", part="goals"
    )


def _handover_waiting(db, circle: Circle, r: Records) -> None:
    """A handover of the client to another worker of the same team, not yet acknowledged."""
    incoming = KeyWorkerFactory(team_id=circle.team.id)
    handovers.start(db, actor_for(circle.supervisor), r.client_id, incoming.id, "Over to you")


# The client's current key worker or a supervisor of the team may hand over; with no new worker
# chosen the form comes back with a message (422), which shows the page was reached.
HAND_OVER = _roles(404, 422, 422, 404, 404)
NOBODY = _roles(404, 404, 404, 404, 404)

RECORD_RULES: dict[str, RecordRule] = {
    "clients.handover": RecordRule(
        _client,
        {"GET": _roles(404, 200, 200, 404, 404), "POST": HAND_OVER},
        form=lambda r: {"note": "The new worker needs to know this."},
    ),
    # Only the incoming worker acknowledges, and they are in nobody's circle yet.
    "clients.acknowledge_handover": RecordRule(
        _client, {"POST": NOBODY}, prepare=_handover_waiting
    ),
    "clients.cancel_handover": RecordRule(
        _client, {"POST": _roles(404, 302, 302, 404, 404)}, prepare=_handover_waiting
    ),
    # The same people may record that the client has left the service; with no note the form
    # comes back with a message (422), so nothing ends in the matrix.
    "clients.leaving_service": RecordRule(
        _client, {"GET": _roles(404, 200, 200, 404, 404), "POST": HAND_OVER}
    ),
    "clients.records": RecordRule(_client, {"GET": READ}),
    "clients.new_care_plan": RecordRule(_client, {"POST": EDIT}),
    "agreements.new": RecordRule(
        _client, {"POST": EDIT}, form=lambda r: {"template_id": "general"}
    ),
    "documents.show": RecordRule(_document, {"GET": READ}),
    "documents.version": RecordRule(
        lambda r: {"document_id": r.document_id, "number": 1}, {"GET": READ}
    ),
    "documents.history": RecordRule(_document, {"GET": READ}),
    "documents.compare": RecordRule(
        _document, {"GET": READ}, query=lambda r: {"older": 1, "newer": r.head}
    ),
    "documents.edit": RecordRule(
        _document,
        {"GET": EDIT_PAGE, "POST": EDIT},
        form=lambda r: {
            "base_number": str(r.head),
            "what_matters-text": "Written through the access matrix.",
            "change_note": "matrix",
        },
    ),
    "documents.keep_draft": RecordRule(
        _document,
        {"POST": _roles(200, 200, 403, 403, 404)},
        form=lambda r: {"base_number": str(r.head), "what_matters-text": "Typing…"},
        answers_changed=True,
    ),
    "documents.discard_draft": RecordRule(_document, {"POST": EDIT}, prepare=_drafts_kept),
    # Only a document with nothing saved in it goes, for whoever started it
    # (tests/web/test_empty_documents_pages.py): this one has versions, so the two who may
    # edit are told no, and it stays.
    "documents.remove_empty": RecordRule(_document, {"POST": _roles(400, 400, 403, 403, 404)}),
    # The two who may edit put back what was taken out, as a save.
    "documents.put_back": RecordRule(
        lambda r: {"document_id": r.document_id, "record_id": TAKEN_OUT},
        {"POST": EDIT},
        form=lambda r: {"base_version": str(r.head + 2)},
        prepare=_step_taken_out,
    ),
    "documents.comment": RecordRule(
        _document,
        {"POST": COMMENT},
        form=lambda r: {
            "section_key": "what_matters",
            "version_number": str(r.head),
            "body": "A comment from the access matrix.",
        },
    ),
    "signoff.sign": RecordRule(
        _version,
        {"POST": EDIT},
        # The person's own, correct password: only the relationship may stop them.
        form=lambda r: {"outcome": "signed", "comment": "", "password": PASSWORD},
    ),
    "signoff.ask_advocate": RecordRule(_version, {"POST": CLIENT_ONLY}),
    # The two who sign may offer a declined version again; nobody else may.
    "signoff.offer_again": RecordRule(_version, {"POST": EDIT}, prepare=_declined),
    "pdfs.draft": RecordRule(_version, {"GET": READ}),
    "exports.fhir_bundle": RecordRule(_version, {"GET": READ}),
    # Everything held about a client is for the client alone.
    "exports.archive": RecordRule(_client, {"GET": _roles(200, 404, 404, 404, 404)}),
    "pdfs.signed": RecordRule(_version, {"GET": PREPARING}, prepare=_agreed),
    # Whether it is made yet, for the page waiting for it: whoever may read the document.
    "pdfs.signed_state": RecordRule(_version, {"GET": READ}, prepare=_agreed),
    # The client and their key worker may ask for a failed PDF to be tried again.
    "pdfs.retry": RecordRule(_version, {"POST": EDIT}, prepare=_agreed_but_the_pdf_failed),
    "reminders.request_review": RecordRule(
        _document,
        {"POST": EDIT},
        form=lambda r: {
            "wanted_by": (service_today() + timedelta(days=7)).isoformat(),
            "reason": "Things have changed at home.",
        },
        prepare=_agreed,
    ),
    "reminders.reviewed_no_changes": RecordRule(
        _version, {"POST": EDIT}, form=lambda r: {"password": PASSWORD}, prepare=_agreed
    ),
    "agreements.crisis": RecordRule(_agreement, {"GET": READ}),
    "agreements.start_contingency": RecordRule(
        _agreement,
        {"POST": EDIT},
        form=lambda r: {
            "observed": "Not sleeping",
            "actions_taken": "Called the team",
            "ends_on": (service_today() + timedelta(days=5)).isoformat(),
        },
    ),
    "agreements.end_contingency": RecordRule(
        _agreement,
        {"POST": EDIT},
        form=lambda r: {"end_note": "Feeling better."},
        prepare=_start_crisis_plan,
    ),
    # A crisis alert: everyone who reads the records sees it; the key worker and the team's
    # supervisor respond (the team's other key workers too, who are in no circle here).
    "agreements.alert": RecordRule(_agreement, {"GET": READ}, prepare=_start_crisis_plan),
    "agreements.respond": RecordRule(
        _agreement,
        {"POST": _roles(403, 302, 302, 403, 404)},
        form=lambda r: {"note": "I will phone you at 3pm."},
        prepare=_start_crisis_plan,
    ),
    "agreements.self_referral": RecordRule(
        _agreement,
        {"POST": EDIT},
        form=lambda r: {"nights": "2", "last_discharge_on": "", "note": "From the matrix."},
    ),
}


@dataclass(frozen=True)
class Outcome:
    status: int
    # Where a redirect goes, given the person's own circle (None: not a redirect).
    location: Callable[[Circle], str] | None = None
    # Extra checks on the page, given (html, own circle, other circle).
    check: Callable[[str, Circle, Circle], None] | None = None


def _go(path: str) -> Callable[[Circle], str]:
    return lambda circle: path


def _shows_only_own_client(html: str, own: Circle, other: Circle) -> None:
    assert own.client.display_name in html
    assert other.client.display_name not in html


def _lists_accounts(html: str, own: Circle, other: Circle) -> None:
    assert own.client.email in html and other.client.email in html


_ACCOUNT_OF_CLIENT = {"user_id": lambda c: c.client.id}


def _client_account(circle: Circle) -> str:
    return f"/admin/users/{circle.client.id}"


def _everyone(outcome: Outcome) -> dict[str, Outcome]:
    return {role: outcome for role in ROLES}


def _only(role: str, allowed: Outcome, others: Outcome) -> dict[str, Outcome]:
    return {r: allowed if r == role else others for r in ROLES}


def _signers(allowed: Outcome, others: Outcome) -> dict[str, Outcome]:
    return {r: allowed if r in ("client", "key_worker") else others for r in ROLES}


@dataclass(frozen=True)
class PlainRule:
    """A rule that names no record: what each signed-in role gets, and what to post."""

    expect: dict[str, dict[str, Outcome]]
    form: Callable[[Circle], dict] = field(default=lambda c: {})
    # What anonymous people get; None: they are sent to sign in.
    anonymous: dict[str, int] | None = None
    # URL arguments that name no client's record: an account (for administrators, who see
    # every account but no clinical content) or a secret link; each given the own circle.
    values: dict[str, Callable[[Circle], object]] = field(default_factory=dict)

    def url_values(self, circle: Circle) -> dict:
        return {name: value(circle) for name, value in self.values.items()}


NOT_FOUND = Outcome(404)


def _in_days(days: int) -> str:
    return (service_today() + timedelta(days=days)).isoformat()


PLAIN_RULES: dict[str, PlainRule] = {
    "auth.login": PlainRule(
        # Signed in already: the sign-in page sends people to their start page.
        {"GET": _everyone(Outcome(302, _go("/"))), "POST": _everyone(Outcome(302, _go("/")))},
        form=lambda c: {"email": c.client.email, "password": "not the password"},
        anonymous={"GET": 200, "POST": 401},
    ),
    "auth.logout": PlainRule({"POST": _everyone(Outcome(302, _go("/login")))}),
    "home.index": PlainRule(
        {
            "GET": {
                "client": Outcome(302, lambda c: f"/clients/{c.client.id}"),
                "key_worker": Outcome(200, check=_shows_only_own_client),
                "supervisor": Outcome(200, check=_shows_only_own_client),
                "advocate": Outcome(200, check=_shows_only_own_client),
                "admin": Outcome(302, _go("/admin/users")),
            }
        }
    ),
    "me.advocates": PlainRule({"GET": _only("client", Outcome(200), NOT_FOUND)}),
    "me.change_advocate": PlainRule(
        {"POST": _only("client", Outcome(302, _go("/me/advocates")), NOT_FOUND)},
        form=lambda c: {"advocate_id": str(c.advocate.id), "action": "invite", "confirm": "yes"},
    ),
    "admin.users": PlainRule(
        {"GET": _only("admin", Outcome(200, check=_lists_accounts), NOT_FOUND)}
    ),
    "admin.templates": PlainRule({"GET": _only("admin", Outcome(200), NOT_FOUND)}),
    "admin.seal": PlainRule({"GET": _only("admin", Outcome(200), NOT_FOUND)}),
    "admin.emails": PlainRule({"GET": _only("admin", Outcome(200), NOT_FOUND)}),
    "admin.emails_try_again": PlainRule(
        {"POST": _only("admin", Outcome(302, _go("/admin/emails")), NOT_FOUND)}
    ),
    "admin.teams": PlainRule(
        {
            "GET": _only("admin", Outcome(200), NOT_FOUND),
            "POST": _only("admin", Outcome(302, _go("/admin/teams")), NOT_FOUND),
        },
        form=lambda c: {"name": "A team made through the access matrix"},
    ),
    "admin.team": PlainRule(
        {
            "GET": _only("admin", Outcome(200), NOT_FOUND),
            "POST": _only("admin", Outcome(302, _go("/admin/teams")), NOT_FOUND),
        },
        form=lambda c: {"name": "A team renamed through the access matrix"},
        values={"team_id": lambda c: c.team.id},
    ),
    "admin.new_user": PlainRule(
        {
            "GET": _only("admin", Outcome(200), NOT_FOUND),
            "POST": _only("admin", Outcome(302), NOT_FOUND),
        },
        form=lambda c: {"name": "New Person", "email": "new@example.org", "role": "client"},
    ),
    "admin.user": PlainRule(
        {"GET": _only("admin", Outcome(200), NOT_FOUND)}, values=_ACCOUNT_OF_CLIENT
    ),
    "admin.user_details": PlainRule(
        {"POST": _only("admin", Outcome(302, _client_account), NOT_FOUND)},
        form=lambda c: {"name": "Renamed Person", "email": c.client.email, "team_id": ""},
        values=_ACCOUNT_OF_CLIENT,
    ),
    # The client has a key worker: closing their account is refused until they have left.
    "admin.user_active": PlainRule(
        {"POST": _only("admin", Outcome(400), NOT_FOUND)},
        form=lambda c: {"active": "no", "confirm": "yes", "reason": "Left the service"},
        values=_ACCOUNT_OF_CLIENT,
    ),
    "admin.user_password_link": PlainRule(
        {"POST": _only("admin", Outcome(302, _client_account), NOT_FOUND)},
        values=_ACCOUNT_OF_CLIENT,
    ),
    # The client has a key worker already: changing one is a handover, so the page says so.
    "admin.user_key_worker": PlainRule(
        {"POST": _only("admin", Outcome(400), NOT_FOUND)},
        form=lambda c: {"key_worker_id": str(c.key_worker.id)},
        values=_ACCOUNT_OF_CLIENT,
    ),
    "admin.user_supervision": PlainRule(
        {
            "POST": _only(
                "admin", Outcome(302, lambda c: f"/admin/users/{c.supervisor.id}"), NOT_FOUND
            )
        },
        form=lambda c: {"team_id": str(c.team.id), "supervises": "no"},
        values={"user_id": lambda c: c.supervisor.id},
    ),
    "me.account": PlainRule({"GET": _everyone(Outcome(200))}),
    # The second step when signing: for the people who sign. A setup that is not one is
    # refused with a message on the account page; nobody here has the step on to turn off
    # or backup codes to replace.
    "me.second_factor": PlainRule({"GET": _signers(Outcome(200), NOT_FOUND)}),
    "me.second_factor_on": PlainRule(
        {"POST": _signers(Outcome(302, _go("/me/account")), NOT_FOUND)},
        form=lambda c: {"secret": "not-a-key", "code": "123456", "password": "not it"},
    ),
    "me.second_factor_off": PlainRule(
        {"POST": _everyone(Outcome(302, _go("/me/account")))},
        form=lambda c: {"off_password": "not it", "off_code": "123456"},
    ),
    # The page a new set of backup codes is shown on once; with none carried to it, it says
    # they are shown only once.
    "me.backup_codes": PlainRule({"GET": _signers(Outcome(200), NOT_FOUND)}),
    "me.new_backup_codes": PlainRule(
        {"POST": _everyone(Outcome(302, _go("/me/account")))},
        form=lambda c: {"codes_password": "not it", "codes_code": "abcde-fghjk"},
    ),
    # The client has no second step: confirmed, the page says there is none to turn off.
    "admin.user_second_factor": PlainRule(
        {"POST": _only("admin", Outcome(400), NOT_FOUND)},
        form=lambda c: {"confirm": "yes", "reason": "Lost their phone"},
        values=_ACCOUNT_OF_CLIENT,
    ),
    # Anyone who sees records may make access tokens for themselves; a token's secret is
    # shown once, on the page the POST redirects to. An administrator sees none, so is offered
    # no scope and refused one.
    "me.tokens": PlainRule({"GET": _everyone(Outcome(200))}),
    "me.create_token": PlainRule(
        {"POST": {**_everyone(Outcome(302, _go("/me/tokens"))), "admin": Outcome(422)}},
        form=lambda c: {"name": "matrix", "scopes": "read", "expires_on": _in_days(30)},
    ),
    # Only its owner revokes a token; nobody owns this one.
    "me.revoke_token": PlainRule(
        {"POST": _everyone(NOT_FOUND)}, values={"token_id": lambda c: 987_654_321}
    ),
    "me.save_profile": PlainRule(
        {"POST": _everyone(Outcome(302, _go("/me/account")))},
        form=lambda c: {"preferred_name": "Sam", "pronouns": "they/them"},
    ),
    # The current password is not the right one: the form comes back (422) and nothing changes.
    "me.change_password": PlainRule(
        {"POST": _everyone(Outcome(422))},
        form=lambda c: {
            "current_password": "not the password",
            "password": "a new long password",
            "password_again": "a new long password",
        },
    ),
    # Asking for a link answers the same whoever asks, signed in or not (here for an address
    # with no account, so nothing is made; tests/web/test_accounts.py covers the rest).
    "auth.forgot_password": PlainRule(
        {"GET": _everyone(Outcome(200)), "POST": _everyone(Outcome(200))},
        form=lambda c: {"email": "nobody-here@example.org"},
        anonymous={"GET": 200, "POST": 200},
    ),
    "auth.set_password": PlainRule(
        {"GET": _everyone(NOT_FOUND), "POST": _everyone(NOT_FOUND)},
        form=lambda c: {"password": "a new long password", "password_again": "a new long password"},
        anonymous={"GET": 404, "POST": 404},
        values={"token": lambda c: "not-a-link-we-sent"},
    ),
    # The review-date audit is the supervisors' own; nobody else has one.
    "supervision.dashboard": PlainRule({"GET": _only("supervisor", Outcome(200), NOT_FOUND)}),
    "supervision.charts": PlainRule({"GET": _only("supervisor", Outcome(200), NOT_FOUND)}),
    "supervision.export": PlainRule({"GET": _only("supervisor", Outcome(200), NOT_FOUND)}),
    # Only clients have an access log: it lists who looked at their records.
    "me.access_log": PlainRule({"GET": _only("client", Outcome(200), NOT_FOUND)}),
    "reminders.notifications": PlainRule({"GET": _everyone(Outcome(200))}),
    "documents.language_check": PlainRule(
        {"POST": _everyone(Outcome(200))}, form=lambda c: {"text": "an addict"}
    ),
    "auth.keep_alive": PlainRule({"POST": _everyone(Outcome(204))}),
    "reminders.mark_read": PlainRule({"POST": _everyone(Outcome(302, _go("/me/notifications")))}),
    # Review dates and a calendar of them: everyone's but the administrators', who see nothing
    # clinical.
    "reminders.settings": PlainRule({"GET": {**_everyone(Outcome(200)), "admin": NOT_FOUND}}),
    "reminders.choose_channel": PlainRule(
        {"POST": _only("client", Outcome(302, _go("/me/reminders")), NOT_FOUND)},
        form=lambda c: {"channel": "app"},
    ),
    "reminders.calendar_address": PlainRule(
        {"POST": {**_everyone(Outcome(302, _go("/me/reminders"))), "admin": NOT_FOUND}},
        form=lambda c: {"action": "stop"},
    ),
    # The private calendar feed: no sign-in (calendar apps cannot), the secret key in the
    # address is the only way in, and without one there is nothing.
    "reminders.calendar_feed": PlainRule({"GET": _everyone(NOT_FOUND)}, anonymous={"GET": 404}),
    # For monitoring: no sign-in, and nothing about anyone. No scheduler runs here, so its
    # check says so.
    # What a browser asks for on a page with no icon link: the icon, for anyone.
    "favicon": PlainRule(
        {"GET": _everyone(Outcome(301, _go("/static/favicon.svg")))}, anonymous={"GET": 301}
    ),
    "health.app_health": PlainRule({"GET": _everyone(Outcome(200))}, anonymous={"GET": 200}),
    "health.scheduler_health": PlainRule({"GET": _everyone(Outcome(503))}, anonymous={"GET": 503}),
    "admin.scheduler": PlainRule({"GET": _only("admin", Outcome(200), NOT_FOUND)}),
    # Checking a PDF someone holds is public: it names no record until a genuine one is given.
    "pdfs.verify": PlainRule(
        {"GET": _everyone(Outcome(200)), "POST": _everyone(Outcome(200))},
        form=lambda c: {"code": "ABCD-EFGH-JKLM"},
        anonymous={"GET": 200, "POST": 200},
    ),
}


# --- the world: two circles in different teams ----------------------------------------------


@dataclass(frozen=True)
class World:
    own: Circle
    other: Circle
    own_records: Records
    other_records: Records


# Ids no record has: a record outside the circle must look exactly like one of these.
MISSING = Records(client_id=987_654_321, document_id=987_654_321, agreement_id=987_654_322)


def _agreement_with_two_versions(app, db, circle: Circle) -> int:
    library = app.extensions[LIBRARY_KEY].current()
    worker = actor_for(circle.key_worker)
    doc = documents.create_document(
        db, worker, circle.client.id, "agreement", template=library.templates[AGREEMENT_TEMPLATE]
    )
    for n in (1, 2):
        raw = {"sections": {"contingencies": {"warning_signs": {"text": f"I stop sleeping ({n})"}}}}
        documents.save_version(db, worker, doc, n - 1, raw, f"change {n}", library.terms)
    return doc


def _records(app, db, circle: Circle) -> Records:
    return Records(
        circle.client.id,
        make_plan(circle.key_worker, circle.client, versions=2),
        _agreement_with_two_versions(app, db, circle),
    )


@pytest.fixture
def world(app, db) -> World:
    def build() -> World:
        own, other = Circle(), Circle()
        assert own.team.id != other.team.id
        return World(own, other, _records(app, db, own), _records(app, db, other))

    return built_once("web access matrix", db, build)


# Records of attempts, not of anything changed: a refused sign-in is logged and counted.
NOT_STATE = {AuditEvent.__tablename__, RateLimitCounter.__tablename__}


def _state(db) -> tuple:
    """Every row of every table but the audit log and the attempt counters: what a refused
    request must not change."""
    with db.read() as s:
        return tuple(
            (
                table.name,
                tuple(
                    repr(tuple(row))
                    for row in s.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    ).all()
                ),
            )
            for table in Base.metadata.sorted_tables
            if table.name not in NOT_STATE
        )


def _reads_of(db, client_id: int) -> int:
    with db.read() as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.client_id == client_id, AuditEvent.action == "read")
        )


def _url(app, endpoint: str, **values) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def _send_record(app, client, endpoint: str, method: str, records: Records, token: str):
    rule = RECORD_RULES[endpoint]
    url = _url(app, endpoint, **rule.path(records), **rule.query(records))
    if method == "GET":
        return client.get(url)
    assert method == "POST", method
    return client.post(url, data={**rule.form(records), "csrf_token": token})


def _prepare(db, endpoint: str, circle: Circle, records: Records) -> None:
    prepare = RECORD_RULES[endpoint].prepare
    if prepare is not None:
        prepare(db, circle, records)


_TOKEN = re.compile(r'name="csrf_token" value="[^"]*"')
# The idle sign-out's countdown counts down between two requests: on a busy machine the second
# can come a second later. It says how long the session has left, nothing of any record.
_IDLE_LEFT = re.compile(r'data-idle-seconds-left="\d+"')


def _without_tokens(response) -> str:
    return _IDLE_LEFT.sub("", _TOKEN.sub("", response.get_data(as_text=True)))


def _location_path(response) -> str:
    return urlsplit(response.headers["Location"]).path


RECORD_CASES = [
    pytest.param(endpoint, method, role, id=f"{endpoint}-{method}-{role}")
    for endpoint, rule in RECORD_RULES.items()
    for method in rule.expect
    for role in ROLES
]
PLAIN_CASES = [
    pytest.param(endpoint, method, role, id=f"{endpoint}-{method}-{role}")
    for endpoint, rule in PLAIN_RULES.items()
    for method in rule.expect
    for role in ROLES
]
ANONYMOUS_CASES = [
    pytest.param(endpoint, method, id=f"{endpoint}-{method}")
    for table in (RECORD_RULES, PLAIN_RULES)
    for endpoint, rule in table.items()
    for method in rule.expect
]


# --- the tables cover the app ----------------------------------------------------------------


def test_every_url_rule_is_in_exactly_one_table(app):
    seen: set[str] = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if rule.endpoint.startswith("api."):
            # The JSON API signs in with bearer tokens, not the session these tests use: its
            # own matrix of every endpoint by role is tests/api/test_matrix.py.
            continue
        where = f"{rule.rule} ({rule.endpoint})"
        in_records, in_plain = rule.endpoint in RECORD_RULES, rule.endpoint in PLAIN_RULES
        assert in_records or in_plain, (
            f"{where} is not in RECORD_RULES or PLAIN_RULES of {__name__}: "
            "say who may open it before adding it"
        )
        assert not (in_records and in_plain), f"{where} is in both tables"
        entry = RECORD_RULES.get(rule.endpoint) or PLAIN_RULES[rule.endpoint]
        assert set(entry.expect) == set(rule.methods) - IGNORED_METHODS, (
            f"{where} answers {sorted(set(rule.methods) - IGNORED_METHODS)} "
            f"but the table tries {sorted(entry.expect)}"
        )
        for method, by_role in entry.expect.items():
            assert set(by_role) == set(ROLES), f"{where} {method}: every role needs an answer"
        if in_records:
            assert rule.arguments, f"{where} names no record; move it to PLAIN_RULES"
            assert set(rule.arguments) <= set(entry.path(MISSING)), (
                f"{where}: the table does not say how to fill {sorted(rule.arguments)}"
            )
        else:
            assert set(rule.arguments) <= set(entry.values), (
                f"{where} names a record; move it to RECORD_RULES"
            )
        seen.add(rule.endpoint)
    stale = (set(RECORD_RULES) | set(PLAIN_RULES)) - seen
    assert not stale, f"the tables describe rules the app no longer has: {sorted(stale)}"


# --- records ---------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint, method, role", RECORD_CASES)
def test_a_record_outside_the_circle_answers_404(app, client, db, world, endpoint, method, role):
    _prepare(db, endpoint, world.other, world.other_records)
    login(client, getattr(world.own, role))
    token = csrf_token(client)
    before = _state(db)
    reads_before = _reads_of(db, world.other.client.id)

    response = _send_record(app, client, endpoint, method, world.other_records, token)

    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    assert _state(db) == before, "a refused request changed something"
    assert _reads_of(db, world.other.client.id) == reads_before, "a refused read was logged"
    # Indistinguishable from a record that does not exist: no oracle for guessing ids.
    missing = _send_record(app, client, endpoint, method, MISSING, token)
    assert missing.status_code == 404
    assert _without_tokens(response) == _without_tokens(missing)


@pytest.mark.parametrize("endpoint, method, role", RECORD_CASES)
def test_a_record_in_the_circle_answers_by_role(app, client, db, world, endpoint, method, role):
    expected = RECORD_RULES[endpoint].expect[method][role]
    _prepare(db, endpoint, world.own, world.own_records)
    login(client, getattr(world.own, role))
    token = csrf_token(client)
    before = _state(db)

    response = _send_record(app, client, endpoint, method, world.own_records, token)

    assert response.status_code == expected, response.get_data(as_text=True)[:300]
    if expected == 302:
        assert _location_path(response).startswith(("/documents/", "/clients/"))
        assert _state(db) != before, "an allowed change was not made"
    elif expected == 200 and RECORD_RULES[endpoint].answers_changed:
        assert _state(db) != before, "an allowed change was not made"
    else:
        assert _state(db) == before
    if expected == 403:
        assert "You cannot change this" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "ended", ["advocate_revoked", "caseload_handed_over"], ids=lambda e: e.replace("_", "-")
)
@pytest.mark.parametrize("endpoint", ["clients.records", "documents.show", "documents.history"])
def test_access_ends_with_the_relationship(app, client, db, world, endpoint, ended):
    own = world.own
    if ended == "advocate_revoked":
        accounts.revoke_advocate(db, actor_for(own.client), own.advocate.id)
        former = [own.advocate]
    else:
        # The client moves to the other team's key worker: their old worker and the old
        # team's supervisor lose access; the new ones gain it.
        accounts.link_caseload(db, own.client.email, world.other.key_worker.email)
        former = [own.key_worker, own.supervisor]
        for newcomer in (world.other.key_worker, world.other.supervisor):
            login(client, newcomer)
            response = _send_record(app, client, endpoint, "GET", world.own_records, "")
            assert response.status_code == 200, newcomer.display_name
            client.post("/logout", data={"csrf_token": csrf_token(client)})
    for person in former:
        login(client, person)
        response = _send_record(app, client, endpoint, "GET", world.own_records, "")
        assert response.status_code == 404, person.display_name
        client.post("/logout", data={"csrf_token": csrf_token(client)})


# --- rules without a record ------------------------------------------------------------------


@pytest.mark.parametrize("endpoint, method, role", PLAIN_CASES)
def test_a_rule_without_a_record_answers_by_role(app, client, db, world, endpoint, method, role):
    rule = PLAIN_RULES[endpoint]
    outcome = rule.expect[method][role]
    login(client, getattr(world.own, role))
    url = _url(app, endpoint, **rule.url_values(world.own))
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={**rule.form(world.own), "csrf_token": csrf_token(client)})

    assert response.status_code == outcome.status, response.get_data(as_text=True)[:300]
    if outcome.location is not None:
        assert _location_path(response) == outcome.location(world.own)
    if outcome.check is not None:
        outcome.check(response.get_data(as_text=True), world.own, world.other)


# --- anonymous people ------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint, method", ANONYMOUS_CASES)
def test_anonymous_people_are_sent_to_sign_in(app, client, db, world, endpoint, method):
    token = csrf_token(client)  # an anonymous session has a token too, so CSRF is not the refusal
    if endpoint in RECORD_RULES:
        _prepare(db, endpoint, world.own, world.own_records)
        rule = RECORD_RULES[endpoint]
        url = _url(app, endpoint, **rule.path(world.own_records), **rule.query(world.own_records))
        form = rule.form(world.own_records)
        expected = None
    else:
        plain = PLAIN_RULES[endpoint]
        url, form = _url(app, endpoint, **plain.url_values(world.own)), plain.form(world.own)
        expected = (plain.anonymous or {}).get(method)
    before = _state(db)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={**form, "csrf_token": token})

    if expected is not None:  # the sign-in page itself
        assert response.status_code == expected
    elif method == "POST" and _has_writing(form):
        # Someone's words, sent after their session ended: given back to copy, not saved.
        assert response.status_code == 401
        page = response.get_data(as_text=True)
        assert "You were signed out: nothing was saved" in page
        assert 'href="/login?next=' in page
    else:
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login"
        if method == "GET":
            assert parse_qs(location.query)["next"] == [url]
    assert _state(db) == before


def _has_writing(form: dict) -> bool:
    return any(
        str(value).strip()
        for name, value in form.items()
        if name not in NOT_WRITING and not is_secret(name)
    )
