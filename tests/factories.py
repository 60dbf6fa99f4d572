"""factory-boy factories over the real models and database.

Documents with content are made through the service layer (`make_plan`), so versions in tests
obey the same rules as versions made by people.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from unittest import mock

import factory
import sqlalchemy as sa

from careplan.db.engine import Database
from careplan.db.models import (
    AdvocateInvitation,
    CaseloadLink,
    Document,
    Notification,
    SupervisorTeam,
    Team,
    User,
)
from careplan.domain.care_plan import CARE_PLAN, DEFAULT_REVIEW_WEEKS
from careplan.domain.roles import Role
from careplan.services import documents, passwords
from careplan.services.accounts import actor_for

PASSWORD = "correct horse battery"

_db: Database | None = None
_hash_cache: dict[str, str] = {}


def bind(db: Database) -> None:
    global _db
    _db = db


def unbind() -> None:
    global _db
    _db = None


def _session():
    if _db is None:
        raise RuntimeError("factories are not bound to a database (use the `app` fixture)")
    return _db._sessions()


def _password_hash() -> str:
    # Hashing is deliberately slow; one hash serves every factory user.
    if PASSWORD not in _hash_cache:
        _hash_cache[PASSWORD] = passwords.hash_password(PASSWORD)
    return _hash_cache[PASSWORD]


class Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = _session
        sqlalchemy_session_persistence = "commit"


class TeamFactory(Base):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    role = Role.CLIENT.value
    password_hash = factory.LazyFunction(_password_hash)


class ClientFactory(UserFactory):
    role = Role.CLIENT.value
    display_name = factory.Sequence(lambda n: f"Client {n}")


class KeyWorkerFactory(UserFactory):
    role = Role.KEY_WORKER.value
    display_name = factory.Sequence(lambda n: f"Worker {n}")
    team_id = factory.LazyAttribute(lambda o: TeamFactory().id)


class SupervisorFactory(UserFactory):
    role = Role.SUPERVISOR.value
    display_name = factory.Sequence(lambda n: f"Supervisor {n}")


class AdvocateFactory(UserFactory):
    role = Role.ADVOCATE.value
    display_name = factory.Sequence(lambda n: f"Advocate {n}")


class AdminFactory(UserFactory):
    role = Role.ADMIN.value
    display_name = factory.Sequence(lambda n: f"Admin {n}")


class CaseloadLinkFactory(Base):
    class Meta:
        model = CaseloadLink

    client_id = factory.LazyFunction(lambda: ClientFactory().id)
    key_worker_id = factory.LazyFunction(lambda: KeyWorkerFactory().id)


class SupervisorTeamFactory(Base):
    class Meta:
        model = SupervisorTeam

    supervisor_id = factory.LazyFunction(lambda: SupervisorFactory().id)
    team_id = factory.LazyFunction(lambda: TeamFactory().id)


class AdvocateInvitationFactory(Base):
    class Meta:
        model = AdvocateInvitation

    client_id = factory.LazyFunction(lambda: ClientFactory().id)
    advocate_id = factory.LazyFunction(lambda: AdvocateFactory().id)


class DocumentFactory(Base):
    """An empty document (no versions yet)."""

    class Meta:
        model = Document

    client_id = factory.LazyFunction(lambda: ClientFactory().id)
    kind = "care_plan"
    title = "Care plan"
    head_number = 0
    created_by_id = factory.SelfAttribute("client_id")

    @factory.post_generation
    def client_has_care_plan(obj, create, extracted, **kwargs):
        """As services.documents keeps it when a care plan's first version is saved."""
        if create and obj.head_number > 0 and obj.kind == "care_plan":
            with _session() as session:
                session.execute(
                    sa.update(User).where(User.id == obj.client_id).values(has_care_plan=True)
                )
                session.commit()


class NotificationFactory(Base):
    """A notice shown to one person in the app."""

    class Meta:
        model = Notification

    user_id = factory.LazyFunction(lambda: ClientFactory().id)
    text = factory.Sequence(lambda n: f"Notice {n}")
    link = ""


class Circle:
    """A client with everyone who may (and may not) see their records."""

    def __init__(self, team=None):
        self.team = team or TeamFactory()
        self.client = ClientFactory()
        self.key_worker = KeyWorkerFactory(team_id=self.team.id)
        CaseloadLinkFactory(client_id=self.client.id, key_worker_id=self.key_worker.id)
        self.supervisor = SupervisorFactory()
        SupervisorTeamFactory(supervisor_id=self.supervisor.id, team_id=self.team.id)
        self.advocate = AdvocateFactory()
        AdvocateInvitationFactory(client_id=self.client.id, advocate_id=self.advocate.id)
        self.admin = AdminFactory()

    def actor(self, user):
        return actor_for(user)


def plan_content(**overrides) -> dict:
    content = {
        "domains": {"housing": {"own_words": "I live with my sister for now."}},
        "goals": [
            {
                "title": "Find a flat",
                "steps": [
                    {"text": "Call the council", "owner": {"kind": "client"}, "due": "2027-01-15"},
                ],
            }
        ],
        "care_team": [{"name": "Dr Patel", "role": "GP"}],
        "what_matters": {"text": "Being listened to."},
        "review_interval_weeks": DEFAULT_REVIEW_WEEKS,
    }
    content.update(overrides)
    return content


def make_plan(author: User, client: User | None = None, versions: int = 1) -> int:
    """A care plan with `versions` versions written by `author`, through the service layer."""
    client = client or author
    actor = actor_for(author)
    doc_id = documents.create_document(_db, actor, client.id)
    content = plan_content()
    for n in range(versions):
        content["what_matters"] = {"text": f"Being listened to (revision {n + 1})."}
        documents.save_version(_db, actor, doc_id, n, content, f"change {n + 1}")
        if n == 0:  # later versions keep the ids the first one gave each item
            content = documents.open_document(_db, actor, doc_id).content
    return doc_id


def forget_messages() -> None:
    """Every in-app message so far: those a test's setting up sent (a plan agreed tells the
    first signer), where the test counts the messages that follow."""
    with _db.write() as s:
        s.execute(sa.delete(Notification))


def plan_with_a_step_taken_out(circle: Circle) -> tuple[int, str]:
    """The client's plan (their step "Call the council"), the step taken out by their key
    worker in version 2: the plan and the id of the record kept of the step."""
    doc = make_plan(circle.client)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(_db, worker, doc).content
    content["goals"][0]["steps"] = []
    documents.save_version(_db, worker, doc, 1, content, "Took out a step")
    [record] = documents.open_document(_db, worker, doc).content["goals"][0]["removed_items"]
    return doc, record["id"]


@contextmanager
def saved_before_care_team_credit() -> Iterator[None]:
    """Saves made inside are as they were before care team members said who wrote them (as
    versions saved then hold them): members record nobody, and nothing is kept of one taken
    out. The versions are made as people made them, through the services."""
    kind = type(CARE_PLAN)
    attributable, item_lists = kind.attributable, kind.item_lists

    def without_team_credit(self, content):
        return ((k, n) for k, n in attributable(self, content) if not k.startswith("team:"))

    def without_team_list(self, content):
        return ((s, n, i) for s, n, i in item_lists(self, content) if s != "care_team")

    with (
        mock.patch.object(kind, "attributable", without_team_credit),
        mock.patch.object(kind, "item_lists", without_team_list),
    ):
        yield


def plan_with_a_member_taken_out(circle: Circle) -> tuple[int, str]:
    """The client's plan (they listed "Dr Patel"), the member taken out by their key worker in
    version 2: the plan and the id of the record kept of the member."""
    doc = make_plan(circle.client)
    worker = actor_for(circle.key_worker)
    content = documents.open_document(_db, worker, doc).content
    content["care_team"] = []
    documents.save_version(_db, worker, doc, 1, content, "Took out Dr Patel")
    [record] = documents.open_document(_db, worker, doc).content["removed_items"]
    return doc, record["id"]


def make_agreement(
    author: User,
    client: User,
    sections: dict | None = None,
    template_id: str = "smi_self_referral",
    today: date | None = None,
) -> int:
    """A partnership agreement from a shipped template, with one version, through the services:
    saved on `today` (the service's day unless given), as its dates are checked against it."""
    from careplan.agreement_library import AgreementLibrary
    from careplan.paths import PROJECT_ROOT

    library = AgreementLibrary(PROJECT_ROOT / "agreements").current()
    actor = actor_for(author)
    doc_id = documents.create_document(
        _db, actor, client.id, "agreement", template=library.templates[template_id]
    )
    if sections is None:
        sections = {"contingencies": {"warning_signs": {"text": "I stop sleeping."}}}
    documents.save_version(
        _db, actor, doc_id, 0, {"sections": sections}, "first", library.terms, today=today
    )
    return doc_id
