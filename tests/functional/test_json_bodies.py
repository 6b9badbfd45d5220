"""One strict JSON parser for every JSON route (/v1 and the widget API): deep nesting, duplicate
members, NaN, non-UTF-8, oversized bodies and other content types are refused with a problem
naming what was wrong, and nothing is stored."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.api_helpers import partner_with_open_trip, pledge_body
from widget_server.extensions import db
from widget_server.models import Event, Pledge
from widget_server.models.types import rfc3339, utcnow

IN_A_MONTH = rfc3339(utcnow() + timedelta(days=30))
EVENT = {"title": "A", "venue": "B", "starts_at": IN_A_MONTH, "timezone": "UTC"}


@pytest.fixture
def world(app, client):
    """A partner with an open trip, an API session for it and the widget's pledge URL."""
    ids = partner_with_open_trip(app, client)
    return ids | {"client": client, "pledge": pledge_body(ids["stop"])}


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _send(world, where: str, raw: bytes | str, content_type: str = "application/json"):
    if where == "api":
        return world["api"].post("/v1/events", data=raw, content_type=content_type)
    return world["client"].post(world["pledges"], data=raw, content_type=content_type)


def _body(world, where: str) -> dict:
    return dict(EVENT) if where == "api" else dict(world["pledge"])


def _assert_nothing_stored(app, before: tuple[int, int]) -> None:
    assert (_count(app, Event), _count(app, Pledge)) == before


BOTH = pytest.mark.parametrize("where", ["api", "widget"])


@BOTH
def test_deep_nesting_is_a_400_naming_the_body(app, world, where):
    before = (_count(app, Event), _count(app, Pledge))
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        raw = opener * 5000 + "1" + closer * 5000
        response = _send(world, where, raw)
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert response.json["type"].endswith("/invalid-json")
        assert "deeper than" in response.json["errors"]["_body"][0]
    nested = _body(world, where) | {"extra": json.loads("[" * 19 + "]" * 19)}
    assert _send(world, where, json.dumps(nested)).status_code == 422  # unknown member, parsed
    _assert_nothing_stored(app, before)


@BOTH
def test_duplicate_members_are_a_422_naming_the_member(app, world, where):
    before = (_count(app, Event), _count(app, Pledge))
    body = _body(world, where)
    name = "title" if where == "api" else "name"
    raw = json.dumps(body)[:-1] + f', "{name}": "Second"}}'
    response = _send(world, where, raw)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["type"].endswith("/validation-error")
    assert response.json["errors"] == {name: ["appears more than once in the same JSON object"]}
    _assert_nothing_stored(app, before)


@BOTH
@pytest.mark.parametrize(
    "raw",
    [b'{"seats": NaN}', b'{"seats": Infinity}', b'{"name": "\xff\xfe"}', b'{"a": 1', b""],
)
def test_what_is_not_json_is_a_400_naming_the_body(app, world, where, raw):
    before = (_count(app, Event), _count(app, Pledge))
    response = _send(world, where, raw)
    if raw == b"" and where == "api":
        assert response.status_code == 422  # no body: every required field is missing
    else:
        assert response.status_code == 400, response.get_data(as_text=True)
        assert set(response.json["errors"]) == {"_body"}
    _assert_nothing_stored(app, before)


@BOTH
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_other_content_types_are_a_415(app, world, where, content_type):
    before = (_count(app, Event), _count(app, Pledge))
    response = _send(world, where, json.dumps(_body(world, where)), content_type)
    assert response.status_code == 415, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"] == {"Content-Type": ["must be application/json"]}
    _assert_nothing_stored(app, before)


@BOTH
def test_json_with_a_suffix_and_a_charset_is_json(app, world, where):
    body = json.dumps(_body(world, where))
    response = _send(world, where, body, "application/merge-patch+json; charset=utf-8")
    assert response.status_code == 201, response.get_data(as_text=True)


@BOTH
def test_a_body_over_the_limit_is_a_413(app, world, where):
    before = (_count(app, Event), _count(app, Pledge))
    body = _body(world, where) | {"padding": "x" * (app.config["JSON_MAX_BYTES"] + 1)}
    response = _send(world, where, json.dumps(body))
    assert response.status_code == 413
    assert response.json["errors"]["_body"] == [f"must be at most {256 * 1024} bytes"]
    _assert_nothing_stored(app, before)


def test_bodyless_actions_need_no_content_type(app, world):
    api = world["api"]
    created = api.post(
        "/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/h", "events": ["trip.opened"]}
    )
    assert created.status_code == 201
    rotated = api.post(f"/v1/webhook_endpoints/{created.json['id']}/rotate_secret")
    assert rotated.status_code == 200, rotated.get_data(as_text=True)
    deleted = api.delete(f"/v1/webhook_endpoints/{created.json['id']}")
    assert deleted.status_code == 204
