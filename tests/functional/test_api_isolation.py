"""Tenant walls and scopes, checked over the whole /v1 URL map (a new endpoint is covered
automatically) and over the OpenAPI document (schemathesis)."""

import re

import pytest
from flask import Flask

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.functional.marketplace_helpers import make_operator
from widget_server.domain.operators import marketplace
from widget_server.domain.scopes import SCOPES
from widget_server.extensions import db

PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>")


def v1_operations(app: Flask):
    """(method, rule) for every /v1 route but the OpenAPI document."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1/") and not rule.rule.endswith("openapi.json"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule


@pytest.fixture
def victim(app, client):
    """Partner A's objects: event, trip, pledge (paid), webhook endpoint and delivery, promo
    code."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "team-a", support_email="secret-a@a.example")
        trip = make_trip(session, partner, min_riders=1)
        ids = {"event_id": trip.event_id, "trip_id": trip.id, "partner_id": partner.id}
        coaches = make_operator(session, "a-coaches", regions=["KS"])
        trip_request = marketplace.request_bus(
            session,
            partner,
            trip.event,
            origin={"name": "Wichita", "region": "KS"},
            departs_at=trip.stops[0].departs_at,
            expected_riders=40,
            vehicle_kind="coach",
            actor="test",
        )
        ids["trip_request_id"] = trip_request.id
        ids["quote_id"] = marketplace.submit_quote(
            session,
            coaches,
            trip_request,
            seats=50,
            amount=200000,
            currency="USD",
            valid_until=trip.stops[0].departs_at,
            actor="test",
        ).id
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    endpoint = api.post(
        "/v1/webhook_endpoints",
        json={"url": "http://127.0.0.1:9/hook", "events": ["pledge.created"]},
    )
    if endpoint.status_code == 201:
        ids["endpoint_id"] = endpoint.json["id"]
    add_on = api.post(f"/v1/trips/{trip.id}/add_ons", json={"name": "Scarf", "unit_amount": 900})
    ids["add_on_id"] = add_on.json["id"]
    promo = api.post("/v1/promo_codes", json={"code": "TEAMA", "percent_off": 10})
    if promo.status_code == 201:
        ids["promo_code_id"] = promo.json["id"]
    pledge = client.post(
        f"/w/team-a/api/trips/{trip.id}/pledges",
        json={
            "stop_id": trip.stops[0].id,
            "seats": 1,
            "name": "Alice A",
            "email": "a@a.example",
            "payment_method": "pm_card_visa",
        },
    )
    ids["pledge_id"] = pledge.json["pledge"]["id"]
    deliveries = api.get("/v1/webhook_deliveries")
    if deliveries.status_code == 200 and deliveries.json["data"]:
        ids["delivery_id"] = deliveries.json["data"][0]["id"]
    run_jobs(app)
    return ids


@pytest.fixture
def intruder(app, client):
    with app.app_context(), db.transaction() as session:
        partner_id = make_partner(session, "team-b").id
    return ApiSession(client, issue_token(app, partner_id))


def test_no_endpoint_shows_or_touches_another_partners_objects(app, victim, intruder):
    checked = 0
    for method, rule in v1_operations(app):
        names = PLACEHOLDER.findall(rule)
        path = PLACEHOLDER.sub(lambda m: victim[m.group(1)], rule)
        response = getattr(intruder, method.lower())(path, json={})
        body = response.get_data(as_text=True)
        others_ids = [value for value in victim.values() if value not in path]  # echo is fine
        for secret in ("Alice A", "a@a.example", "secret-a@a.example", *others_ids):
            assert secret not in body, f"{method} {rule} leaked {secret}"
        if names:
            # A partner's token on the operators' API is refused whatever the id (403).
            expected = 403 if rule.startswith("/v1/operator/") else 404
            assert response.status_code == expected, f"{method} {rule} -> {response.status_code}"
            assert response.mimetype == "application/problem+json"
        checked += 1
    assert checked >= 20


def test_every_operation_requires_its_documented_scope(app, victim):
    spec = app.test_client().get("/v1/openapi.json").json
    operations = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "patch", "delete", "put"):
                continue
            if path.startswith("/v1/operator/"):
                continue  # operators' routes: tests/functional/operators/test_operator_clients
            operations += 1
            (scope,) = operation["security"][0]["oauth2"]
            assert scope in SCOPES
            others = " ".join(s for s in SCOPES if s != scope)
            client = app.test_client()
            api = ApiSession(client, issue_token(app, victim["partner_id"], scope=others))
            url = re.sub(r"\{(\w+)\}", lambda m: victim.get(m.group(1), "x"), path)
            response = getattr(api, method)(url, json={})
            assert response.status_code == 403, f"{method} {path} without {scope}"
            assert "insufficient_scope" in response.headers["WWW-Authenticate"]
            anonymous = getattr(client, method)(url, json={})
            assert anonymous.status_code == 401
            assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert operations >= 20
