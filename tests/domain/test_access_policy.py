import pytest

from careplan.domain.access import Relationship, access_to_client
from careplan.domain.roles import Role

EVERY_RELATIONSHIP = [
    Relationship(is_the_client=True),
    Relationship(holds_caseload=True),
    Relationship(supervises_team=True),
    Relationship(invited_as_advocate=True),
    Relationship(),
]


@pytest.mark.parametrize("role", list(Role))
def test_no_relationship_means_no_access(role):
    assert not access_to_client(role, Relationship()).read


def test_each_role_gets_exactly_its_rights():
    client = access_to_client(Role.CLIENT, Relationship(is_the_client=True))
    worker = access_to_client(Role.KEY_WORKER, Relationship(holds_caseload=True))
    supervisor = access_to_client(Role.SUPERVISOR, Relationship(supervises_team=True))
    advocate = access_to_client(Role.ADVOCATE, Relationship(invited_as_advocate=True))
    assert client.edit and client.sign and not client.read_is_logged
    assert worker.edit and worker.sign and not worker.read_is_logged
    assert (
        supervisor.read
        and not supervisor.edit
        and not supervisor.comment
        and supervisor.read_is_logged
    )
    assert advocate.read and advocate.comment and not advocate.edit and not advocate.sign
    assert advocate.read_is_logged


@pytest.mark.parametrize("rel", EVERY_RELATIONSHIP)
def test_admins_never_see_clinical_content(rel):
    assert not access_to_client(Role.ADMIN, rel).read


def test_a_role_cannot_borrow_another_roles_relationship():
    assert not access_to_client(Role.SUPERVISOR, Relationship(holds_caseload=True)).read
    assert not access_to_client(Role.ADVOCATE, Relationship(is_the_client=True)).read
    assert not access_to_client(Role.KEY_WORKER, Relationship(invited_as_advocate=True)).read
