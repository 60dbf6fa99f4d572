"""A schema-driven fuzz run (schemathesis) over every operation of the OpenAPI document:
whatever is sent, nothing answers 5xx, every answer matches the document, and every error has
the one documented shape. Fixed seed and few examples, so the run is short and repeatable.

Each operation is driven by its own Hypothesis strategy inside one test, against the test's
database: schemathesis's lazy pytest loader does not run under this pytest."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ERROR_KEYS, bearer

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 15  # in each of three runs below
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _check(case, headers: dict) -> None:
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert set(body["error"]) >= ERROR_KEYS, body
        assert body["error"]["status"] == response.status_code


def test_no_server_errors_and_every_error_in_shape(app, world, token_for):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a failure must show as a 500, not a traceback
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The key worker's token with every scope: the fuzzer reaches past authentication.
    headers = bearer(token_for(world.own.key_worker))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 21  # every endpoint but the document and its page

    # Ids drawn at random name nothing, so each operation is also fuzzed on real records
    # (the key worker's own client, plan and latest version), with valid and invalid data.
    real = {"client_id": world.own.client.id, "document_id": world.own_plan, "number": 2}
    runs = [
        (operation, mode, fixed)
        for operation in operations
        for mode, fixed in (
            (GenerationMode.POSITIVE, False),
            (GenerationMode.POSITIVE, True),
            (GenerationMode.NEGATIVE, True),
        )
        if not fixed or operation.path_parameters
    ]
    for operation, mode, fixed in runs:
        names = {p.name for p in operation.path_parameters}
        path = {k: v for k, v in real.items() if k in names} if fixed else None

        @seed(20261203)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(mode, path_parameters=path))
        def run(case):
            _check(case, headers)

        run()
