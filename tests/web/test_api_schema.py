"""schemathesis over the dashboard's OpenAPI document: generated requests never cause a server error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from confiance.web.app import Settings, create_app
from tests.web.hostile import hostile_world

schemathesis = pytest.importorskip("schemathesis")
#: The in-process ASGI client calls itself "testserver": allowed like a reverse proxy's name would be.
TEST_HOST = "testserver"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    ws = hostile_world(tmp_path_factory.mktemp("api-schema"))
    app = create_app(Settings(snapshot=ws.publish_snapshot(), extra_hosts=(TEST_HOST,)))
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


def test_every_operation_survives_generated_requests(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/tables/{key}", "/api/map", "/api/accounts/{platform}/{ref}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call()
            assert response.status_code < 500, (case.path, case.path_parameters, case.query, response.text[:300])
            case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])

        run()
