"""`/v1/operator/trips` over HTTP: an operator lists its trips of two partners and reads a
manifest; another operator's trip, or nobody's, is 404 on every route; assignment's hostile
inputs; the driver's link; the partner side's tokens are refused."""

import json

import pytest

from tests.api_helpers import ApiSession, issue_token
from tests.functional.operator_trip_helpers import operator_world
from tests.functional.test_operator_trips import FAN_PRIVATE, keys_of
from widget_server.domain.clients import create_client
from widget_server.extensions import db
from widget_server.models import Operator, OutboundEmail, Trip

READ, WRITE = "operator_trips:read", "operator_trips:write"


def operator_token(app, operator_id: str, scope: str = f"{READ} {WRITE}") -> str:
    with app.app_context(), db.transaction() as session:
        client, secret = create_client(
            session, session.get(Operator, operator_id), scope, "tests", actor="test"
        )
        client_id = client.id
    answer = app.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.json["access_token"]


@pytest.fixture
def world(app, client):
    ids = operator_world(app)
    ids["api"] = ApiSession(client, operator_token(app, ids["operator"]))
    return ids


def routes(trip_id: str) -> list[tuple[str, str, dict | None]]:
    base = f"/v1/operator/trips/{trip_id}"
    return [
        ("get", base, None),
        ("get", f"{base}/manifest", None),
        ("post", f"{base}/assignment", {"vehicle_id": None}),
        ("post", f"{base}/driver_link", None),
    ]


def call(api, method, path, body):
    return api.get(path) if method == "get" else api.post(path, json=body)


def test_trips_of_two_partners_and_a_manifest(world):
    api = world["api"]
    listed = api.get("/v1/operator/trips")
    assert listed.status_code == 200, listed.json
    trips = {trip["id"]: trip for trip in listed.json["data"]}
    assert set(trips) == {world["confirmed"], world["royals_trip"]}
    assert {trip["partner"]["slug"] for trip in trips.values()} == {"kc-chiefs", "kc-royals"}
    confirmed = trips[world["confirmed"]]
    assert confirmed["status"] == "confirmed" and confirmed["confirmed"] is True
    assert (confirmed["seats_pledged"], confirmed["min_riders"], confirmed["capacity"]) == (
        3,
        3,
        40,
    )
    assert confirmed["departs_at"].endswith("Z")
    assert trips[world["royals_trip"]]["confirmed"] is False
    page = api.get("/v1/operator/trips?limit=1")
    assert len(page.json["data"]) == 1 and page.json["has_more"] is True
    rest = api.get(f"/v1/operator/trips?limit=1&cursor={page.json['next_cursor']}")
    assert len(rest.json["data"]) == 1 and rest.json["has_more"] is False

    manifest = api.get(f"/v1/operator/trips/{world['confirmed']}/manifest")
    assert manifest.status_code == 200
    riders = [rider for stop in manifest.json["stops"] for rider in stop["riders"]]
    assert sorted(r["name"] for r in riders) == ["Ana Paid", "Bo Paid", "Cy Paid"]
    assert not keys_of(manifest.json) & FAN_PRIVATE
    assert "@" not in json.dumps(manifest.json)


def test_other_tenants_trips_are_404_on_every_route(app, client, world):
    api = world["api"]
    for trip_id in (world["others_trip"], world["nobodys_trip"], "trp_01jzzzzzzzzzzzzzzzzzzzzzzz"):
        for method, path, body in routes(trip_id):
            answer = call(api, method, path, body)
            assert answer.status_code == 404, (path, answer.status_code)
            assert answer.headers["Content-Type"] == "application/problem+json"
    with app.app_context():
        assert db.session.get(Trip, world["others_trip"]).vehicle_id is None
    # A partner's token, even the partner's own trip: the operator API is not for it.
    partner = ApiSession(client, issue_token(app, world["partners"]["kc-chiefs"]))
    for method, path, body in routes(world["confirmed"]):
        assert call(partner, method, path, body).status_code in (403, 404)
    # And the operator's token opens no partner route.
    assert api.get(f"/v1/trips/{world['confirmed']}").status_code in (403, 404)


def test_scopes(app, client, world):
    reader = ApiSession(client, operator_token(app, world["operator"], READ))
    assert reader.get(f"/v1/operator/trips/{world['confirmed']}").status_code == 200
    for method, path, body in routes(world["confirmed"])[2:]:
        assert call(reader, method, path, body).status_code == 403


def test_assignment_and_its_hostile_inputs(app, world):
    api, trip = world["api"], world["confirmed"]
    url = f"/v1/operator/trips/{trip}/assignment"
    hostile = [
        ({}, "vehicle_id"),
        ({"vehicle_id": world["other_vehicle"]}, "vehicle_id"),
        ({"driver_id": world["other_driver"]}, "driver_id"),
        ({"vehicle_id": "veh_01jzzzzzzzzzzzzzzzzzzzzzzz"}, "vehicle_id"),
        ({"vehicle_id": 7}, "vehicle_id"),
        ({"vehicle_id": ["veh_x"]}, "vehicle_id"),
        ({"vehicle_id": {"id": "veh_x"}}, "vehicle_id"),
        ({"vehicle_id": "veh_\ud800"}, "vehicle_id"),
        ({"vehicle_id": "veh_" + "x" * 5000}, "vehicle_id"),
        ({"driver_id": "\u0000"}, "driver_id"),
        ({"vehicle_id": world["vehicles"][0], "seats": 99}, "seats"),
    ]
    for body, field in hostile:
        answer = api.post(url, json=body)
        assert answer.status_code == 422, (body, answer.status_code)
        assert field in answer.json["errors"], (body, answer.json)
    deep = api.post(url, data="[" * 50 + "]" * 50, headers={"Content-Type": "application/json"})
    assert deep.status_code in (400, 422)
    assert (
        api.post(url, data="not json", headers={"Content-Type": "application/json"}).status_code
        == 400
    )

    small = api.post(url, json={"vehicle_id": world["vehicles"][1]})  # 4 seats, 3 pledged
    assert small.status_code == 200 and "sells up to 40" in small.json["warnings"][0]
    assert small.json["trip"]["vehicle_id"] == world["vehicles"][1]
    both = api.post(url, json={"vehicle_id": world["vehicles"][0], "driver_id": world["driver"]})
    assert both.status_code == 200 and both.json["warnings"] == []
    assert both.json["trip"]["driver_id"] == world["driver"]
    with app.app_context():
        assert db.session.query(OutboundEmail).filter_by(kind="driver_link").count() == 1


def test_the_driver_link_is_reissued_and_ends_the_old(app, client, world):
    api = world["api"]
    url = f"/v1/operator/trips/{world['confirmed']}/driver_link"
    first = api.post(url)
    assert first.status_code == 201, first.json
    second = api.post(url)
    base = "http://127.0.0.1:8000"
    assert client.get(first.json["url"].removeprefix(base)).status_code == 404
    assert client.get(second.json["url"].removeprefix(base)).status_code == 200
    draft = api.post(f"/v1/operator/trips/{world['royals_trip']}/driver_link")
    assert draft.status_code == 201  # open trips have links too
