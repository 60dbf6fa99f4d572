from datetime import datetime

import pytest

from careplan.domain.access import Relationship, access_to_client, as_listed, unsaved_to_offer
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


def test_unsaved_changes_are_offered_back_only_to_someone_who_may_edit():
    typed = datetime(2026, 3, 9, 14, 5)
    for role in Role:
        for rel in EVERY_RELATIONSHIP + [Relationship(incoming_key_worker=True)]:
            access = access_to_client(role, rel)
            assert unsaved_to_offer(access, typed) == (typed if access.edit else None)
            assert unsaved_to_offer(access, None) is None


@pytest.mark.parametrize(
    ("role", "reader", "client", "holder", "expected"),
    [
        (Role.CLIENT, 1, 1, 2, Relationship(is_the_client=True)),
        (Role.CLIENT, 1, 1, None, Relationship(is_the_client=True)),  # left the service
        (Role.KEY_WORKER, 2, 1, 2, Relationship(holds_caseload=True)),
        # On a key worker's list and not theirs: being handed over to them.
        (Role.KEY_WORKER, 3, 1, 2, Relationship(incoming_key_worker=True)),
        (Role.KEY_WORKER, 3, 1, None, Relationship(incoming_key_worker=True)),
        (Role.SUPERVISOR, 4, 1, 2, Relationship(supervises_team=True)),
        (Role.ADVOCATE, 5, 1, 2, Relationship(invited_as_advocate=True)),
    ],
)
def test_a_list_row_tells_how_its_reader_stands_to_the_client(
    role, reader, client, holder, expected
):
    assert as_listed(role, reader, client, holder) == expected
