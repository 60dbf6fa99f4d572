"""What an API read costs in statements: a fixed number whatever the amount of data, nothing
sent twice, everything read in one transaction, and a write only for a recorded read."""

from __future__ import annotations

import pytest

from tests.api.conftest import bearer
from tests.web.test_statements_per_page import counting

# GET /api/v1/documents/<id>: the address's pause and the token (2), then what the plan page
# reads without its comments and review panel. A recorded read (supervisor, advocate) adds its
# audit event: the chain's head and the insert (on PostgreSQL the head goes with the chain's
# lock in one pipelined round trip, which the engine does not see).
DOCUMENT = {"client": 7, "key_worker": 9, "supervisor": 10, "advocate": 11}


@pytest.mark.parametrize("role", list(DOCUMENT))
def test_reading_a_document_costs_a_fixed_number_of_statements(client, db, world, token_for, role):
    token = token_for(getattr(world.own, role))
    url = f"/api/v1/documents/{world.own_plan}"
    client.get(url, headers=bearer(token))  # the first use notes the token's time of use

    with counting(db) as cost:
        response = client.get(url, headers=bearer(token))

    assert response.status_code == 200, response.get_json()
    assert not cost.repeated, cost.repeated
    assert len(cost.statements) <= DOCUMENT[role], "\n".join(cost.statements)
    assert cost.reads == 1
    assert cost.writes == (1 if role in ("supervisor", "advocate") else 0)
