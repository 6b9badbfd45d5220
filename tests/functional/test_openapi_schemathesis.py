"""schemathesis's own CLI (`st run`) against the real server on a loopback port, with a seeded
partner, OAuth client, event, trips, pledges, a webhook endpoint and its deliveries: every
phase (examples, coverage, fuzzing, stateful through the document's links), every check the
document can honour, a fixed seed, time-boxed. Zero failures is the bar.

What the run leaves out, and why (also in docs/api.md):

- `positive_data_acceptance` is relaxed to also accept 422 on the operations listed in
  `RULES_BEYOND_THE_SCHEMA`: each has a rule OpenAPI 3.0 cannot state (a time window relative
  to now, one field against another, a URL whose host must resolve to public addresses, WCAG
  contrast between two colours, a phone number a numbering plan must know, an id that must
  exist). Each operation's description names its rules. Everywhere else, schema-valid input
  must be accepted.

Two partners take part, each with its own OAuth client and data, given to schemathesis as a
Web Fuzzing Commons auth file, so `object_level_authorization` replays one partner's reads
with the other's token (and must get 404s).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.api_helpers import issue_token
from tests.conftest import LiveServer
from tests.factories import make_partner, make_trip
from tests.functional.marketplace_helpers import make_operator
from widget_server.domain.operators import marketplace
from widget_server.extensions import db
from widget_server.models.types import utcnow

ST = Path(sys.executable).with_name("st")

# operation label -> the rules its description names that the schema cannot express.
RULES_BEYOND_THE_SCHEMA = {
    "PATCH /v1/partner": "WCAG contrast of colour pairs, exact origins, https logo URL",
    "POST /v1/events": "starts_at within the accepted window from now",
    "PATCH /v1/events/{event_id}": "starts_at within the window; after the trips' stops",
    "POST /v1/trips": "event_id must exist; deadline < departures < event start; "
    "min_riders <= capacity; phone numbering plans; time windows",
    "PATCH /v1/trips/{trip_id}": "the same as creating, plus what the status allows",
    "POST /v1/webhook_endpoints": "the URL's host must resolve to public addresses",
    "POST /v1/trip_requests": "event_id must exist; departs_at before the event; an operator "
    "serving the region (or operators that exist)",
    "POST /v1/trip_requests/{trip_request_id}/award": "quote_id must be a quote of the request",
    "PATCH /v1/webhook_endpoints/{endpoint_id}": "the URL's host must resolve to public addresses",
}
SEED = 20261202
MAX_EXAMPLES = 6
RUN_TIMEOUT = 150  # seconds for the subprocess; the run itself is bounded by --max-time


def _config(auth_file: Path, peers: list[str]) -> str:
    """schemathesis.toml: the two partners as peers that must not see each other's objects;
    per operation, 422 is an accepted answer to schema-valid data."""
    blocks = [f"[auth.wfc]\npath = {json.dumps(str(auth_file))}\npeers = {json.dumps(peers)}\n"]
    for label, why in RULES_BEYOND_THE_SCHEMA.items():
        method, path = label.split(" ", 1)
        blocks.append(
            textwrap.dedent(
                f"""\
                # {why}
                [[operations]]
                include-method = "{method}"
                include-path = "{path}"
                checks.positive_data_acceptance.expected-statuses = [
                  "2xx", "401", "403", "404", "409", "422", "429"]
                """
            )
        )
    return "\n".join(blocks)


@pytest.fixture
def seeded(app):
    """A partner with an open and a draft trip, pledges from the widget, a webhook endpoint
    (loopback, allowed in tests) and the deliveries those pledges made; a real token."""
    app.config["RATELIMIT_API"] = "100000 per minute"
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "schema-fuzz")
        trip = make_trip(session, partner, capacity=30, min_riders=5)
        make_trip(session, partner, status="draft")
        seeded = {"partner": partner.id, "trip": trip.id, "stop": trip.stops[0].id}
        # A request for a bus with a quote, from an operator serving KS.
        operator = make_operator(session, "schema-fuzz-coaches", regions=["KS"])
        trip_request = marketplace.request_bus(
            session,
            partner,
            trip.event,
            origin={"name": "Wichita", "region": "KS"},
            departs_at=trip.event.starts_at - timedelta(hours=4),
            expected_riders=40,
            vehicle_kind="coach",
            actor="test",
        )
        marketplace.submit_quote(
            session,
            operator,
            trip_request,
            seats=50,
            amount=200000,
            currency="USD",
            valid_until=utcnow() + timedelta(days=3),
            actor="test",
        )
        other = make_partner(session, "schema-fuzz-other")
        make_trip(session, other)
        other_id = other.id
    server = LiveServer(app).start()
    token = issue_token(app, seeded["partner"])
    other_token = issue_token(app, other_id)
    headers = {"Authorization": f"Bearer {token}"}
    endpoint = requests.post(
        f"{server.url}/v1/webhook_endpoints",
        json={"url": f"{server.url}/hooks", "events": ["*"]},
        headers=headers,
        timeout=10,
    )
    assert endpoint.status_code == 201, endpoint.text
    for number in range(3):
        answer = requests.post(
            f"{server.url}/w/schema-fuzz/api/trips/{seeded['trip']}/pledges",
            json={
                "stop_id": seeded["stop"],
                "seats": 1,
                "name": f"Fan {number}",
                "email": f"fan{number}@example.com",
                "payment_method": "pm_card_visa",
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
    yield server, {"schema-fuzz": token, "schema-fuzz-other": other_token}
    server.stop()


def _auth_file(tokens: dict[str, str]) -> str:
    """Web Fuzzing Commons auth: one identity per partner, each with its bearer token."""
    identities = [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
        for name, token in tokens.items()
    ]
    return json.dumps({"schemaVersion": "0.2.0", "auth": identities})


def test_st_run_reports_no_failures(seeded, tmp_path):
    server, tokens = seeded
    auth = tmp_path / "auth.json"
    auth.write_text(_auth_file(tokens))
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(auth, list(tokens)))
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{server.url}/v1/openapi.json",
        "--url",
        server.url,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        "110",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        "--no-color",
        "--warnings",
        "off",
    ]
    result = subprocess.run(  # noqa: S603 (our own command line)
        command,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        cwd=tmp_path,
        check=False,
    )
    report = result.stdout + result.stderr
    print(report)  # shown with -s, and by pytest when the test fails
    assert result.returncode == 0, report[-20000:]
    summary = report[report.index("SUMMARY") :]
    # Every phase ran, and the stateful phase followed links.
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in summary, summary
    assert re.search(r"API Links: +[1-9]\d* covered", report), report[-5000:]


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_openapi_document_is_complete(client):
    spec = client.get("/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flows["tokenUrl"].endswith("/oauth/token")
    operation_ids = []
    for path, method, operation in _operations(spec):
        label = f"{method} {path}"
        responses = operation["responses"]
        assert {"401", "403", "429"} <= set(responses), label
        assert "default" not in responses, f"{label}: every status is listed, no catch-all"
        assert operation.get("summary") or operation.get("description"), label
        assert operation["security"], label
        operation_ids.append(operation["operationId"])
        for status, response in responses.items():
            if "$ref" in response:
                response = spec["components"]["responses"][response["$ref"].rpartition("/")[2]]
            if status.startswith("4"):
                assert "application/problem+json" in response["content"], f"{label} {status}"
        if "201" in responses:
            assert responses["201"]["headers"]["Location"]["required"] is True, label
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= set(responses), label
        if "{" in path:
            assert "404" in responses, label
    assert len(operation_ids) == len(set(operation_ids)) >= 27
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert "errors" in problem["properties"]


def test_every_operation_with_an_id_is_reached_by_a_link(client):
    """Stateful testing (and generated clients) can reach every operation with real ids:
    each path or filter id has an incoming link from an operation that returns such ids."""
    spec = client.get("/v1/openapi.json").json
    incoming = {}
    for _path, _method, operation in _operations(spec):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                incoming.setdefault(link["operationId"], []).append(link)
    for path, method, operation in _operations(spec):
        if "{" not in path:
            continue
        links = incoming.get(operation["operationId"], [])
        assert links, f"{method} {path} has no link"
        names = {name for link in links for name in link.get("parameters", {})}
        assert all(name.startswith("path.") for name in names), names
    created = spec["paths"]["/v1/trips"]["post"]["responses"]["201"]["links"]
    assert created["get_trip"]["parameters"] == {"path.trip_id": "$response.body#/id"}
    assert {"update_trip", "open_trip", "cancel_trip", "manifest", "list_pledges"} <= set(created)
    event_links = spec["paths"]["/v1/events"]["post"]["responses"]["201"]["links"]
    assert event_links["create_trip"]["requestBody"] == {"event_id": "$response.body#/id"}


def test_constraints_are_in_the_document(client):
    schemas = client.get("/v1/openapi.json").json["components"]["schemas"]
    trip = schemas["TripCreate"]
    assert trip["additionalProperties"] is False
    assert trip["properties"]["capacity"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert trip["properties"]["stops"]["minItems"] == 1
    assert trip["properties"]["pledge_deadline"]["format"] == "date-time"
    assert "USD" in trip["properties"]["currency"]["enum"]
    event = schemas["EventCreate"]
    assert "America/Chicago" in event["properties"]["timezone"]["enum"]
    assert event["properties"]["title"]["maxLength"] == 200
    webhook = schemas["WebhookEndpointCreate"]["properties"]["events"]
    assert "pledge.created" in webhook["items"]["enum"] and webhook["minItems"] == 1


def test_human_docs_are_served_locally(client):
    page = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in page and "https://" not in page.split("<body>")[1]
    with client.get("/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and asset.mimetype == "text/javascript"
