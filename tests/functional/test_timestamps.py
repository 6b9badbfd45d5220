"""Timestamps in: RFC 3339 with an offset, from now to five years ahead, and a trip's deadline
before its first departure before its event; out: RFC 3339 UTC with a four-digit year."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_event, make_partner, make_trip
from widget_server.extensions import db
from widget_server.models import Event, Partner, Trip
from widget_server.models.types import rfc3339, utcnow

RFC3339_UTC = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")


@pytest.fixture
def api(app, client):
    with app.app_context(), db.transaction() as session:
        partner_id = make_partner(session, "kc-chiefs").id
    return ApiSession(client, issue_token(app, partner_id))


def _event(**fields):
    starts = rfc3339(utcnow() + timedelta(days=30))
    return {"title": "A", "venue": "B", "starts_at": starts, "timezone": "UTC"} | fields


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9999-12-31T23:59:59-23:59", "outside the years"),
        ("0001-01-01T00:00:00+00:01", "outside the years"),
        ("0691-03-29T09:50:45Z", "past"),
        ("2000-01-01T00:00:00Z", "past"),
        ("2030-02-30T00:00:00Z", "real date"),
        ("2030-01-01T24:00:00Z", "real date"),
        ("2030-01-01T10:00:00+24:00", "real date"),
        ("2030-01-01", "RFC 3339"),
        ("2030-01-01T10:00:00", "RFC 3339"),  # no offset
        ("2030-01-01 10:00:00Z", "RFC 3339"),
        ("20300101T100000Z", "RFC 3339"),
        ("2030-W01-1T10:00:00Z", "RFC 3339"),
        ("\u0662030-01-01T10:00:00Z", "RFC 3339"),  # an Arabic-Indic digit
    ],
)
def test_bad_or_out_of_window_times_are_a_422_naming_the_field(app, api, value, message):
    response = api.post("/v1/events", json=_event(starts_at=value))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert list(response.json["errors"]) == ["starts_at"]
    assert message in response.json["errors"]["starts_at"][0]
    assert _count(app, Event) == 0


def test_the_window_is_now_to_five_years_ahead(app, api):
    too_far = rfc3339(utcnow() + timedelta(days=5 * 366 + 2))
    response = api.post("/v1/events", json=_event(starts_at=too_far))
    assert response.json["errors"] == {"starts_at": ["must be at most 5 years from now"]}
    past = rfc3339(utcnow() - timedelta(minutes=1))
    assert api.post("/v1/events", json=_event(starts_at=past)).status_code == 422
    soon = (utcnow() + timedelta(days=4 * 365)).astimezone(
        datetime.now().astimezone().tzinfo
    )  # an offset other than Z: converted to UTC
    ok = api.post("/v1/events", json=_event(starts_at=soon.isoformat()))
    assert ok.status_code == 201
    assert ok.json["starts_at"] == rfc3339(soon)
    year = utcnow().year + 2
    fractional = api.post(
        "/v1/events", json=_event(starts_at=f"{year}-06-01T10:00:00.123456789+02:00")
    )
    assert fractional.status_code == 201
    assert fractional.json["starts_at"] == f"{year}-06-01T08:00:00Z"


def _trip_body(event_id: str, **fields):
    starts = utcnow() + timedelta(days=29)
    body = {
        "event_id": event_id,
        "origin": {"name": "Wichita"},
        "stops": [{"name": "S", "address": "1 Main", "departs_at": rfc3339(starts)}],
        "capacity": 10,
        "min_riders": 2,
        "unit_amount": 3500,
        "pledge_deadline": rfc3339(utcnow() + timedelta(days=10)),
    }
    return body | fields


def test_deadline_before_departure_before_the_event(app, api):
    event = api.post("/v1/events", json=_event()).json
    first = utcnow() + timedelta(days=29)
    for fields, field in [
        ({"pledge_deadline": rfc3339(first)}, "pledge_deadline"),
        ({"pledge_deadline": rfc3339(first + timedelta(hours=1))}, "pledge_deadline"),
        (
            {
                "stops": [
                    {"name": "S", "address": "1", "departs_at": rfc3339(first + timedelta(days=2))}
                ]
            },
            "stops.0.departs_at",
        ),
    ]:
        response = api.post("/v1/trips", json=_trip_body(event["id"], **fields))
        assert response.status_code == 422, response.get_data(as_text=True)
        assert list(response.json["errors"]) == [field]
    assert _count(app, Trip) == 0
    trip = api.post("/v1/trips", json=_trip_body(event["id"]))
    assert trip.status_code == 201, trip.get_data(as_text=True)
    moved = api.patch(
        f"/v1/events/{event['id']}", json={"starts_at": rfc3339(first - timedelta(hours=1))}
    )
    assert moved.status_code == 422 and list(moved.json["errors"]) == ["starts_at"]
    late = api.patch(
        f"/v1/trips/{trip.json['id']}",
        json={"pledge_deadline": rfc3339(first + timedelta(minutes=1))},
    )
    assert late.status_code == 422 and list(late.json["errors"]) == ["pledge_deadline"]


def test_every_emitted_timestamp_has_a_four_digit_year(app, api, client):
    """Stored times from before year 1000 (old rows, partner data) still go out as RFC 3339."""
    with app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner))
        event = make_event(session, partner)
        trip = make_trip(session, partner, event)
        event.updated_at = datetime(691, 3, 29, 9, 50, 45, tzinfo=UTC)
        event_id, trip_id = event.id, trip.id
    got = api.get(f"/v1/events/{event_id}").json
    assert got["updated_at"] == "0691-03-29T09:50:45Z"
    trip_json = api.get(f"/v1/trips/{trip_id}").json
    widget = client.get(f"/w/kc-chiefs/api/trips/{trip_id}").json
    for document in (got, trip_json, widget):
        for value in _timestamps(document):
            assert RFC3339_UTC.match(value), value


def _timestamps(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_at") and isinstance(item, str):
                yield item
            else:
                yield from _timestamps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item)


def test_rfc3339_formats_every_year_with_four_digits():
    assert rfc3339(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"
    assert rfc3339(datetime(691, 3, 29, 9, 50, 45, 999, tzinfo=UTC)) == "0691-03-29T09:50:45Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"  # naive is UTC
    assert rfc3339(None) is None
