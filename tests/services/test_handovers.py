import pytest
import sqlalchemy as sa

from careplan.db.models import AuditEvent
from careplan.domain.errors import ContentInvalid
from careplan.domain.signoff import State
from careplan.services import documents, handovers, signoff
from careplan.services.accounts import actor_for
from careplan.services.errors import Invalid, NotFound
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, Circle, KeyWorkerFactory, make_plan


@pytest.fixture
def setup(app, db):
    circle = Circle()
    doc = make_plan(circle.key_worker, circle.client, versions=2)
    signoff.sign(db, actor_for(circle.client), doc, 2, "signed", "", PASSWORD)
    signoff.sign(db, actor_for(circle.key_worker), doc, 2, "signed", "", PASSWORD)
    new_worker = KeyWorkerFactory(team_id=circle.team.id)
    return circle, doc, new_worker


def test_handover_end_to_end_through_the_web(app, db, setup):
    circle, doc, new_worker = setup
    supervisor = login(app.test_client(), circle.supervisor)
    token = csrf_token(supervisor)
    page = supervisor.get(f"/clients/{circle.client.id}/handover").get_data(as_text=True)
    assert (
        new_worker.display_name in page
        and circle.key_worker.display_name not in page.split("<select")[1]
    )
    refused = supervisor.post(
        f"/clients/{circle.client.id}/handover",
        data={"csrf_token": token, "to_worker_id": new_worker.id, "note": ""},
    )
    assert refused.status_code == 422 and "handover note" in refused.get_data(as_text=True)
    started = supervisor.post(
        f"/clients/{circle.client.id}/handover",
        data={
            "csrf_token": token,
            "to_worker_id": new_worker.id,
            "note": "Script is collected on Mondays.",
        },
    )
    assert started.status_code == 302
    assert "Handovers waiting" in supervisor.get("/").get_data(as_text=True)

    client = login(app.test_client(), circle.client)
    told = client.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    assert f"{new_worker.display_name} will be your new key worker" in told

    incoming = login(app.test_client(), new_worker)
    token = csrf_token(incoming)
    records = incoming.get(f"/clients/{circle.client.id}").get_data(as_text=True)
    assert "Script is collected on Mondays." in records and "not opened yet" in records
    early = incoming.post(
        f"/clients/{circle.client.id}/handover/acknowledge", data={"csrf_token": token}
    )
    assert early.status_code == 400 and "Please open and read these first" in early.get_data(
        as_text=True
    )
    # Reading is allowed before taking over; editing and signing are not.
    assert incoming.get(f"/documents/{doc}/versions/2").status_code == 200
    assert incoming.get(f"/documents/{doc}/edit").status_code == 403
    done = incoming.post(
        f"/clients/{circle.client.id}/handover/acknowledge", data={"csrf_token": token}
    )
    assert done.status_code == 302

    old = login(app.test_client(), circle.key_worker)
    for url in (f"/clients/{circle.client.id}", f"/documents/{doc}", f"/documents/{doc}/history"):
        assert old.get(url).status_code == 404
    assert incoming.get(f"/documents/{doc}/edit").status_code == 200
    with db.read() as s:
        actions = s.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("handover%"))
        ).all()
    assert actions == ["handover.start", "handover.complete"]


def test_the_new_workers_signature_is_needed_on_the_next_agreed_version(db, setup):
    circle, doc, new_worker = setup
    handovers.start(
        db, actor_for(circle.key_worker), circle.client.id, new_worker.id, "Over to you"
    )
    documents.open_document(db, actor_for(new_worker), doc, 2)
    handovers.acknowledge(db, actor_for(new_worker), circle.client.id)
    page = documents.open_document(db, actor_for(circle.client), doc)
    assert (
        page.signoff.state is State.AWAITING_SIGNATURE
    )  # the old worker's signature no longer counts
    assert page.signoff.agreed is None or page.signoff.agreed.number == 2
    assert (
        signoff.sign(db, actor_for(new_worker), doc, 2, "signed", "", PASSWORD).state
        is State.AGREED
    )


def test_who_may_hand_over_and_to_whom(db, setup):
    circle, _, new_worker = setup
    other_team_worker = KeyWorkerFactory()
    for outsider in (circle.advocate, circle.client, circle.admin, Circle().supervisor, new_worker):
        with pytest.raises(NotFound):
            handovers.workers_to_choose(db, actor_for(outsider), circle.client.id)
    with pytest.raises(ContentInvalid):
        handovers.start(
            db, actor_for(circle.supervisor), circle.client.id, other_team_worker.id, "note"
        )
    handovers.start(db, actor_for(circle.supervisor), circle.client.id, new_worker.id, "note")
    with pytest.raises(Invalid):
        handovers.start(db, actor_for(circle.supervisor), circle.client.id, new_worker.id, "again")
    with pytest.raises(NotFound):
        handovers.acknowledge(db, actor_for(circle.key_worker), circle.client.id)
    handovers.cancel(db, actor_for(circle.key_worker), circle.client.id)
    with pytest.raises(NotFound):
        documents.client_records(db, actor_for(new_worker), circle.client.id)
