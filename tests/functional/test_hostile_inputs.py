"""Hostile input against every write endpoint of /v1 and of the widget API, enumerated from the
URL map (a new write endpoint fails here until it has a valid body below): deep nesting,
duplicate members, lone surrogates, control characters, years 0001 and 9999 and 1 MB strings
are each a 4xx problem naming the field (or `_body`), and not one row of any table changes.

A valid body per endpoint is the starting point; every string in it is replaced in turn by each
hostile value (and every timestamp by each hostile year), so each field is probed on its own.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import empty_all_tables
from tests.factories import make_partner
from tests.functional.marketplace_helpers import make_operator
from widget_server import create_app
from widget_server.db import Base
from widget_server.domain.operators import marketplace
from widget_server.extensions import db
from widget_server.models import Event, Partner, WebhookDelivery
from widget_server.models.types import rfc3339, utcnow

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
HOSTILE_TEXT = {
    "lone surrogate": "Fan \ud800",
    "NUL": "Fan\x00",
    "BEL": "Fan\x07",
    "ESC": "\x1b[31mFan",
    "RLO": "Fan\u202egnp.exe",
    "CR/LF": "Fan\r\nBcc: victim@example.com",
    "1 MB": "x" * 1_000_000,
}
HOSTILE_YEARS = {
    "year 0001": "0001-01-01T00:00:00+00:01",
    "year 9999": "9999-12-31T23:59:59-23:59",
    "year 0691": "0691-03-29T09:50:45Z",
}
TIME_KEYS = ("starts_at", "departs_at", "pledge_deadline")


def _in(days: int) -> str:
    return rfc3339(utcnow() + timedelta(days=days))


def _valid_bodies(world: dict) -> dict[str, dict | None]:
    """A body each write endpoint would accept (None: the endpoint takes no body)."""
    stop = {"name": "Union Station", "address": "1 Main St", "departs_at": _in(29)}
    return {
        "partner.patch_partner": {
            "name": "Chiefs",
            "support_email": "fans@chiefs.example",
            "terms_url": "https://chiefs.example/terms",
            "allowed_origins": ["https://www.chiefs.example"],
            "branding": {"logo_url": "https://chiefs.example/logo.png", "font_family": "system"},
            "wording": {
                "es": {"headline": "¡Al estadio en bus!", "intro": "Buses cada domingo."},
                "fr": {"headline": "Au stade en car !"},
            },
        },
        "events.create_event": {
            "title": "Chiefs vs. Raiders",
            "venue": "Arrowhead",
            "starts_at": _in(30),
            "timezone": "America/Chicago",
        },
        "events.update_event": {"title": "Chiefs vs. Broncos", "venue": "Arrowhead"},
        "events.delete_event": None,
        "trips.create_trip": {
            "event_id": world["event"],
            "origin": {"name": "Wichita", "region": "KS"},
            "stops": [stop],
            "capacity": 10,
            "min_riders": 2,
            "unit_amount": 3500,
            "currency": "USD",
            "pledge_deadline": _in(10),
            "operator": {"name": "Coach Co", "phone": "+1 816 555 0100", "email": "o@c.example"},
        },
        "trips.update_trip": {"origin": {"name": "Topeka"}, "stops": [stop]},
        "trips.open_trip": None,
        "trips.cancel_trip": None,
        "trips.add_stop": {"name": "Lawrence", "address": "9 Mass St", "departs_at": _in(29)},
        "trips.driver_link": None,
        "trips.revoke_driver_link": None,
        "pledges.cancel_pledge": None,
        "webhooks.create_endpoint": {
            "url": "http://127.0.0.1:9/hooks",
            "events": ["trip.opened"],
            "description": "ops",
        },
        "webhooks.update_endpoint": {"url": "http://127.0.0.1:9/other", "description": "ops"},
        "promo_codes.create_promo_code": {
            "code": "FANS20",
            "percent_off": 20,
            "max_redemptions": 5,
            "per_fan_limit": 1,
            "starts_at": _in(1),
            "ends_at": _in(20),
            "event_id": world["event"],
        },
        "promo_codes.update_promo_code": {"percent_off": 15, "active": False},
        "add_ons.create_trip_add_on": {"name": "Tailgate pass", "unit_amount": 1500, "quantity": 5},
        "add_ons.update_trip_add_on": {"name": "Team scarf", "quantity": 9},
        "webhooks.delete_endpoint": None,
        "webhooks.rotate_secret": None,
        "webhooks.retry_delivery": None,
        "widget_api.create_pledge": {
            "stop_id": world["stop"],
            "seats": 1,
            "name": "Pat Fan",
            "email": "pat@example.com",
            "payment_method": "pm_card_visa",
            "phone": "+1 816 555 0100",
            "attribution": {"utm_source": "newsletter"},
        },
        "widget_api.request_trip": {
            "event_id": world["event"],
            "origin": "Topeka",
            "email": "pat@example.com",
        },
        "widget_api.change_pledge": {"stop_id": world["stop"], "seats": 1},
        "widget_api.withdraw": None,
        "widget_api.update_card": {"payment_method": "pm_card_visa"},
        "widget_api.send_manage_links": {"email": "pat@example.com"},
        "widget_api.request_stop": {
            "place": "Lawrence",
            "address": "9 Mass St",
            "email": "pat@example.com",
            "locale": "en",
        },
        "widget_api.join": {
            "stop_id": world["stop"],
            "seats": 1,
            "name": "Pat Fan",
            "email": "pat@example.com",
            "locale": "en",
        },
        "fans.erase": {"email": "nobody@example.com"},
        "trip_requests.create_trip_request": {
            "event_id": world["event"],
            "origin": {"name": "Wichita", "region": "KS"},
            "departs_at": _in(29),
            "expected_riders": 40,
            "vehicle_kind": "coach",
            "operators": ["kc-coaches"],
        },
        "trip_requests.award": {"quote_id": world.get("quote", ""), "unit_amount": 4000},
    }


@pytest.fixture
def hostile_app(settings, migrated_engine):
    # Hundreds of refused writes from one address: the rate limits are not what is tested here.
    # (Not RATELIMIT_ENABLED=False: the limiter is one object, and it would stay off for the
    # apps of later tests.)
    roomy = "100000 per minute"
    app = create_app(
        settings,
        TESTING=True,
        RATELIMIT_API=roomy,
        RATELIMIT_WIDGET_WRITE=roomy,
        RATELIMIT_WIDGET_READ=roomy,
        RATELIMIT_FAN=roomy,
        RATELIMIT_CARD=roomy,
        RATELIMIT_API_UNAUTHENTICATED=roomy,
    )
    yield app
    app.extensions["ridepledge.engine"].dispose()
    empty_all_tables(migrated_engine)


@pytest.fixture
def world(hostile_app):
    """One of everything a write endpoint can name in its path."""
    app = hostile_app
    client = app.test_client()
    with app.app_context(), db.transaction() as session:
        partner_id = make_partner(session, "kc-chiefs").id
    api = ApiSession(client, issue_token(app, partner_id))
    event = api.post(
        "/v1/events", json=_valid_bodies({"event": "", "stop": ""})["events.create_event"]
    )
    assert event.status_code == 201, event.get_data(as_text=True)
    world = {"event": event.json["id"], "stop": ""}
    endpoint = api.post(
        "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/h", "events": ["*"]}
    )
    trip = api.post("/v1/trips", json=_valid_bodies(world)["trips.create_trip"])
    assert trip.status_code == 201, trip.get_data(as_text=True)
    assert api.post(f"/v1/trips/{trip.json['id']}/open").status_code == 200
    world["stop"] = trip.json["stops"][0]["id"]
    pledge = client.post(
        f"/w/kc-chiefs/api/trips/{trip.json['id']}/pledges",
        json=_valid_bodies(world)["widget_api.create_pledge"],
    )
    assert pledge.status_code == 201, pledge.get_data(as_text=True)
    promo = api.post("/v1/promo_codes", json={"code": "WORLD", "percent_off": 10})
    assert promo.status_code == 201, promo.get_data(as_text=True)
    add_on = api.post(
        f"/v1/trips/{trip.json['id']}/add_ons", json={"name": "Scarf", "unit_amount": 9}
    )
    assert add_on.status_code == 201, add_on.get_data(as_text=True)
    with app.app_context(), db.transaction() as session:
        delivery = db.session.scalar(select(WebhookDelivery.id))
        operator = make_operator(session, "kc-coaches", regions=["KS"])
        trip_request = marketplace.request_bus(
            session,
            session.get(Partner, partner_id),
            session.get(Event, event.json["id"]),
            origin={"name": "Wichita", "region": "KS"},
            departs_at=utcnow() + timedelta(days=29),
            expected_riders=40,
            vehicle_kind="coach",
            actor="test",
        )
        world["quote"] = marketplace.submit_quote(
            session,
            operator,
            trip_request,
            seats=50,
            amount=200000,
            currency="USD",
            valid_until=utcnow() + timedelta(days=3),
            actor="test",
        ).id
        trip_request_id = trip_request.id
    return world | {
        "app": app,
        "api": api,
        "path_values": {
            "partner_slug": "kc-chiefs",
            "event_id": event.json["id"],
            "trip_id": trip.json["id"],
            "pledge_id": pledge.json["pledge"]["id"],
            "endpoint_id": endpoint.json["id"],
            "delivery_id": delivery,
            "promo_code_id": promo.json["id"],
            "add_on_id": add_on.json["id"],
            "trip_request_id": trip_request_id,
            "token": pledge.json["manage_url"].rsplit("/", 1)[1],
        },
    }


def _write_rules(app):
    for rule in app.url_map.iter_rules():
        # The operators' API answers a partner's token 403 whatever the body: its hostile
        # input is probed with operators' tokens (tests/functional/test_marketplace.py).
        if rule.rule.startswith("/v1/operator/"):
            continue
        if rule.rule.startswith(("/v1/", "/w/<partner_slug>/api/")):
            for method in sorted(rule.methods & WRITE_METHODS):
                yield rule, method


def _snapshot(app) -> dict:
    """Every row of every table (the rate limiter and the job queue live elsewhere)."""
    with app.app_context():
        return {
            table.name: sorted(
                map(repr, db.session.execute(text(f"SELECT * FROM {table.name}")).all())  # noqa: S608
            )
            for table in Base.metadata.sorted_tables
        }


def _leaves(value, path=()):
    """(path, value) of every string in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, str):
        yield path, value


def _replaced(document, path, new):
    if not path:
        return new
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[path[0]] = _replaced(document[path[0]], path[1:], new)
    return copy


def _probes(body: dict | None):
    """(description, raw body, the field the refusal must name) for one endpoint."""
    yield "deep nesting", "[" * 5000 + "]" * 5000, "_body"
    yield "deep nesting in a member", '{"a": ' + "[" * 5000 + "]" * 5000 + "}", "_body"
    yield "duplicate member", '{"dup": 1, "dup": 2}', "dup"
    if body is None:
        for name, value in HOSTILE_TEXT.items():
            yield f"bodyless + {name}", json.dumps({"note": value}), "_body"
        return
    for path, _value in _leaves(body):
        field = ".".join(map(str, path))
        hostile = HOSTILE_YEARS if path[-1] in TIME_KEYS else HOSTILE_TEXT
        for name, value in hostile.items():
            expected = "_body" if name == "1 MB" else field
            yield f"{field} = {name}", json.dumps(_replaced(body, path, value)), expected


def test_every_write_endpoint_refuses_hostile_input_and_stores_nothing(world):
    app, api = world["app"], world["api"]
    bodies = _valid_bodies(world)
    before = _snapshot(app)
    probed, sent = set(), 0
    for rule, method in _write_rules(app):
        assert rule.endpoint in bodies, f"add a valid body for {rule.endpoint} to this test"
        missing = set(rule.arguments) - set(world["path_values"])
        assert not missing, f"add path values for {missing} ({rule.rule}) to this test"
        path = rule.build(world["path_values"], append_unknown=False)[1]
        for description, raw, field in _probes(bodies[rule.endpoint]):
            response = api.client.open(
                path,
                method=method,
                data=raw,
                content_type="application/json",
                headers=api._headers(None),
            )
            sent += 1
            where = f"{method} {rule.rule}: {description}"
            assert 400 <= response.status_code < 500, (where, response.status_code)
            assert response.mimetype == "application/problem+json", where
            errors = response.json.get("errors") or {}
            assert any(key == field or key.startswith(f"{field}.") for key in errors), (
                where,
                errors,
            )
        probed.add(rule.endpoint)
    assert probed == set(bodies), f"endpoints gone from the URL map: {set(bodies) - probed}"
    assert sent > 300
    assert _snapshot(app) == before, "a refused request changed the database"
