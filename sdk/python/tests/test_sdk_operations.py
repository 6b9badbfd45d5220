"""The SDK keeps level with the API: every operation of the running server's OpenAPI document
is callable from both clients (and the SDK calls nothing the document lacks), and every member
of the API's objects is a field of the SDK's result class."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest
import requests
import ridepledge
from ridepledge.resources import Resource

METHODS = {"get", "post", "put", "patch", "delete"}

# The OpenAPI schema each result class is read from.
MODELS = {
    "PartnerOut": ridepledge.Partner,
    "LogoOut": ridepledge.Logo,
    "Event": ridepledge.Event,
    "Trip": ridepledge.Trip,
    "TripRequest": ridepledge.TripRequest,
    "PartnerQuote": ridepledge.Quote,
    "Stop": ridepledge.Stop,
    "Pledge": ridepledge.Pledge,
    "Manifest": ridepledge.Manifest,
    "ManifestStop": ridepledge.ManifestStop,
    "Rider": ridepledge.ManifestRider,
    "DriverLink": ridepledge.DriverLink,
    "StopRequest": ridepledge.StopRequest,
    "WaitlistEntry": ridepledge.WaitlistEntry,
    "Demand": ridepledge.Demand,
    "WebhookEndpointWithSecret": ridepledge.WebhookEndpoint,
    "WebhookDelivery": ridepledge.WebhookDelivery,
    "WebhookAttempt": ridepledge.WebhookAttempt,
    "FanExport": ridepledge.FanExport,
    "FanErasure": ridepledge.FanErasure,
}


@pytest.fixture
def openapi(live_server):
    answer = requests.get(f"{live_server.url}/v1/openapi.json", timeout=10)
    assert answer.status_code == 200
    return answer.json()


# The operator API (`/v1/operator`, operators' clients) is not the partner clients': it is
# for an `OperatorClient` (a connection plus its own resources, see ridepledge._client).
OPERATOR_API = "/v1/operator/"


def api_operations(document) -> set[tuple[str, str]]:
    """The partner API's operations in `document`."""
    return {
        (method.upper(), normalized(path))
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS and not path.startswith(OPERATOR_API)
    }


def normalized(template: str) -> str:
    """`/v1/trips/{trip_id}` -> `/v1/trips/{}`: parameter names may differ."""
    return re.sub(r"\{[^}]*\}", "{}", template)


def sdk_operations(client) -> dict[tuple[str, str], list[str]]:
    """(method, path) -> the `resource.method` names of `client` that send it, each checked to
    be callable on this very client."""
    found: dict[tuple[str, str], list[str]] = {}
    for attribute, resource in vars(client).items():
        if not isinstance(resource, Resource):
            continue
        for method, template, name in type(resource).operations():
            assert callable(getattr(resource, name)), (attribute, name)
            found.setdefault((method, normalized(template)), []).append(f"{attribute}.{name}")
    return found


@pytest.fixture(params=["Client", "AsyncClient"])
def client(request):
    made = getattr(ridepledge, request.param)("cli_x", "sk_x", "http://127.0.0.1:9")
    yield made
    result = made.close()
    if inspect.isawaitable(result):
        import asyncio

        asyncio.run(result)


def test_every_api_operation_is_in_both_clients_and_no_other(openapi, client):
    in_api = api_operations(openapi)
    in_sdk = sdk_operations(client)
    assert len(in_api) >= 34
    missing = sorted(in_api - set(in_sdk))
    assert missing == [], f"{type(client).__name__} cannot call {missing}"
    unknown = sorted(set(in_sdk) - in_api)
    assert unknown == [], f"{type(client).__name__} calls operations the API lacks: {unknown}"


def test_the_operations_test_sees_a_missing_resource(openapi, client):
    """The comparison fails when a client lacks a resource (here: one removed from it)."""
    del client.fans
    assert ("POST", "/v1/fans/erase") not in sdk_operations(client)
    assert ("POST", "/v1/fans/erase") in api_operations(openapi)


def test_both_clients_have_the_same_resources_and_signatures():
    sync = ridepledge.Client("cli_x", "sk_x", "http://127.0.0.1:9")
    other = ridepledge.AsyncClient("cli_x", "sk_x", "http://127.0.0.1:9")
    resources = {name for name, value in vars(sync).items() if isinstance(value, Resource)}
    assert resources == {n for n, v in vars(other).items() if isinstance(v, Resource)}
    for name in resources:
        for _, _, operation in type(getattr(sync, name)).operations():
            one = inspect.signature(getattr(getattr(sync, name), operation))
            two = inspect.signature(getattr(getattr(other, name), operation))
            assert one == two, (name, operation)
    sync.close()


@pytest.mark.parametrize("schema", sorted(MODELS))
def test_every_member_of_an_api_object_is_a_field_of_its_result(openapi, schema):
    properties = set(openapi["components"]["schemas"][schema]["properties"]) - {"object"}
    fields = {item.name for item in dataclasses.fields(MODELS[schema])}
    assert properties - fields == set(), f"{MODELS[schema].__name__} lacks them"


def test_every_argument_of_an_api_operation_is_an_argument_of_the_sdk_method(openapi):
    """Each operation's JSON body members and query parameters are keyword arguments of the
    method that sends it (path parameters are its positional arguments)."""
    client = ridepledge.Client("cli_x", "sk_x", "http://127.0.0.1:9")
    schemas = openapi["components"]["schemas"]
    by_operation = sdk_operations(client)
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method not in METHODS or path.startswith(OPERATOR_API):
                continue
            wanted = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                wanted |= set(schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]["properties"])
            for name in by_operation[(method.upper(), normalized(path))]:
                resource, python_name = name.split(".")
                function = getattr(getattr(client, resource), python_name)
                accepted = set(inspect.signature(function).parameters)
                assert wanted - accepted == set(), (name, wanted - accepted)
    client.close()
