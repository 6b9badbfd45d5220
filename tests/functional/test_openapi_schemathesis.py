"""schemathesis over /v1/openapi.json: generated requests to every operation get no server
error and responses that match the document (status codes, content types, bodies, headers)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.api_helpers import issue_token
from tests.factories import make_partner, make_trip
from widget_server.extensions import db


@pytest.fixture
def api_schema(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "schema-fuzz")
        make_trip(session, partner)
        partner_id = partner.id
    app.config["FUZZ_TOKEN"] = issue_token(app, partner_id)
    app.config["RATELIMIT_ENABLED"] = False
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", app)


def test_api_matches_its_openapi_document(app, api_schema):
    """Every operation, a dozen generated requests each. (schemathesis' own pytest plugin does
    not run under pytest 9 yet, so the operations are driven with hypothesis directly.)

    `positive_data_acceptance` is left out: some rules cannot be said in OpenAPI (a colour pair
    must reach WCAG contrast, a URL must not point at a private address), so schema-valid data
    can rightly get a 422."""
    headers = {"Authorization": f"Bearer {app.config['FUZZ_TOKEN']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()


def test_openapi_document_is_complete(client):
    spec = client.get("/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flows["tokenUrl"].endswith("/oauth/token")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert {"401", "403", "429"} <= set(responses), f"{method} {path}"
            assert operation.get("summary") or operation.get("description"), f"{method} {path}"
            assert operation["security"], f"{method} {path}"


def test_human_docs_are_served_locally(client):
    page = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in page and "https://" not in page.split("<body>")[1]
    with client.get("/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and asset.mimetype == "text/javascript"
