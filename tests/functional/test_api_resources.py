"""The /v1 resources end to end: events, trips, pledges, partner, demand, manifests."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_partner
from widget_server.extensions import db
from widget_server.models import AuditLogEntry
from widget_server.models.types import utcnow


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def partner_id(app):
    with app.app_context(), db.transaction() as session:
        return make_partner(session, "kc-chiefs").id


@pytest.fixture
def api(app, client, partner_id):
    return ApiSession(client, issue_token(app, partner_id))


def new_event(api, **fields):
    body = {
        "title": "Chiefs vs. Raiders",
        "venue": "Arrowhead",
        "starts_at": iso(utcnow() + timedelta(days=30)),
        "timezone": "America/Chicago",
    }
    body.update(fields)
    return api.post("/v1/events", json=body)


def new_trip(api, event_id, **fields):
    starts = utcnow() + timedelta(days=29)
    body = {
        "event_id": event_id,
        "origin": {"name": "Wichita", "region": "KS"},
        "stops": [
            {"name": "Union Station", "address": "1 Main St", "departs_at": iso(starts)},
            {"name": "Mall", "address": "2 Oak Rd", "departs_at": iso(starts + timedelta(hours=1))},
        ],
        "capacity": 10,
        "min_riders": 2,
        "unit_amount": 3500,
        "currency": "USD",
        "pledge_deadline": iso(utcnow() + timedelta(days=10)),
        "operator": {"name": "Coach Co", "phone": "+1 816 555 0100", "email": "ops@coach.example"},
    }
    body.update(fields)
    return api.post("/v1/trips", json=body)


def test_event_lifecycle(api):
    created = new_event(api)
    assert created.status_code == 201
    event = created.json
    assert event["id"].startswith("evt_") and event["object"] == "event"
    assert created.headers["Location"] == f"/v1/events/{event['id']}"
    assert api.get(f"/v1/events/{event['id']}").json == event
    patched = api.patch(f"/v1/events/{event['id']}", json={"venue": "GEHA Field"})
    assert patched.status_code == 200 and patched.json["venue"] == "GEHA Field"
    listed = api.get("/v1/events").json
    assert listed["object"] == "list" and [e["id"] for e in listed["data"]] == [event["id"]]
    assert listed["has_more"] is False and listed["next_cursor"] is None
    assert api.delete(f"/v1/events/{event['id']}").status_code == 204
    assert api.get(f"/v1/events/{event['id']}").status_code == 404


def test_event_validation_names_fields(api):
    response = api.post(
        "/v1/events",
        json={"title": "", "starts_at": "tomorrow", "timezone": "Mars/Base", "x": 1},
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert set(response.json["errors"]) == {"title", "venue", "starts_at", "timezone", "x"}


def test_event_with_trips_cannot_be_deleted(api):
    event = new_event(api).json
    assert new_trip(api, event["id"]).status_code == 201
    response = api.delete(f"/v1/events/{event['id']}")
    assert response.status_code == 409


def test_trip_draft_open_pledge_manifest_cancel(app, api, client):
    event = new_event(api).json
    trip = new_trip(api, event["id"]).json
    assert trip["status"] == "draft" and trip["seats_remaining"] == 10
    assert [s["name"] for s in trip["stops"]] == ["Union Station", "Mall"]
    assert trip["origin"] == {"name": "Wichita", "region": "KS"}
    assert client.get(f"/w/kc-chiefs/api/trips/{trip['id']}").status_code == 404  # draft

    opened = api.post(f"/v1/trips/{trip['id']}/open")
    assert opened.status_code == 200 and opened.json["status"] == "open"
    assert api.post(f"/v1/trips/{trip['id']}/open").status_code == 409

    for index, stop in enumerate(trip["stops"]):
        response = client.post(
            f"/w/kc-chiefs/api/trips/{trip['id']}/pledges",
            json={
                "stop_id": stop["id"],
                "seats": 1 + index,
                "name": f"=Fan {index}",
                "email": f"f{index}@x.io",
                "payment_method": "pm_card_visa",
            },
        )
        assert response.status_code == 201
    run_jobs(app)
    confirmed = api.get(f"/v1/trips/{trip['id']}").json
    assert confirmed["status"] == "confirmed" and confirmed["seats_pledged"] == 3

    pledges = api.get(f"/v1/pledges?trip_id={trip['id']}&status=paid").json["data"]
    assert len(pledges) == 2 and {p["amount"] for p in pledges} == {3500, 7000}

    manifest = api.get(f"/v1/trips/{trip['id']}/manifest").json
    assert manifest["object"] == "manifest" and manifest["seats"] == 3
    assert [len(stop["riders"]) for stop in manifest["stops"]] == [1, 1]
    as_csv = api.get(f"/v1/trips/{trip['id']}/manifest", headers={"Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [row["seats"] for row in rows] == ["1", "2"]
    assert rows[0]["name"].startswith("'=")  # no formula injection
    assert all(row["email"] == row["email"].lstrip("'") for row in rows)  # nothing to defuse

    canceled = api.post(f"/v1/trips/{trip['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json["status"] == "canceled"
    run_jobs(app)
    statuses = {p["status"] for p in api.get("/v1/pledges").json["data"]}
    assert statuses == {"refunded"}


def test_trip_rules(api):
    event = new_event(api).json
    bad = new_trip(api, event["id"], min_riders=20, stops=[], currency="XXQ")
    assert bad.status_code == 422 and {"stops", "currency"} <= set(bad.json["errors"])
    too_many = new_trip(api, event["id"], min_riders=20)
    assert too_many.status_code == 422 and "min_riders" in too_many.json["errors"]
    trip = new_trip(api, event["id"]).json
    api.post(f"/v1/trips/{trip['id']}/open")
    refused = api.patch(f"/v1/trips/{trip['id']}", json={"unit_amount": 1})
    assert refused.status_code == 409 and "unit_amount" in refused.json["detail"]
    bigger = api.patch(f"/v1/trips/{trip['id']}", json={"capacity": 12})
    assert bigger.status_code == 200 and bigger.json["capacity"] == 12


def test_capacity_and_min_riders_change_together(api):
    """Lowering both below the old min_riders is one valid change (was a 500: the capacity
    was written first and broke the min_riders <= capacity check constraint)."""
    trip = new_trip(api, new_event(api).json["id"], capacity=10, min_riders=8).json
    both = api.patch(f"/v1/trips/{trip['id']}", json={"capacity": 4, "min_riders": 2})
    assert both.status_code == 200, both.json
    assert (both.json["capacity"], both.json["min_riders"]) == (4, 2)
    alone = api.patch(f"/v1/trips/{trip['id']}", json={"capacity": 1})
    assert alone.status_code == 422 and "min_riders" in alone.json["errors"]


def test_partner_settings(api):
    partner = api.get("/v1/partner").json
    assert partner["slug"] == "kc-chiefs" and partner["object"] == "partner"
    changed = api.patch("/v1/partner", json={"branding": {"primary_color": "#E31837"}})
    assert changed.status_code == 200
    assert changed.json["branding"]["primary_color"] == "#e31837"
    assert changed.json["branding"]["font_family"] == partner["branding"]["font_family"]
    unreadable = api.patch("/v1/partner", json={"branding": {"text_color": "#ffffff"}})
    assert unreadable.status_code == 422
    assert "WCAG" in unreadable.json["errors"]["branding.text_color"][0]
    origins = api.patch("/v1/partner", json={"allowed_origins": ["http://evil.example"]})
    assert origins.status_code == 422 and "allowed_origins.0" in origins.json["errors"]
    assert api.patch("/v1/partner", json={"slug": "x"}).status_code == 422


def test_demand_by_origin(api, client):
    event = new_event(api).json
    for index, (email, origin) in enumerate(
        [("a@x.io", "Topeka"), ("b@x.io", "topeka "), ("c@x.io", "Salina")]
    ):
        client.post(
            "/w/kc-chiefs/api/demand",
            json={"event_id": event["id"], "origin": origin, "email": email},
            environ_base={"REMOTE_ADDR": f"198.51.100.{index + 1}"},
        )
    data = api.get(f"/v1/demand?event_id={event['id']}").json["data"]
    assert [(d["origin_key"], d["count"]) for d in data] == [("topeka", 2), ("salina", 1)]
    assert data[0]["has_trip"] is False


def test_writes_are_audited_with_the_client(app, api):
    new_event(api)
    with app.app_context():
        actors = db.session.scalars(
            select(AuditLogEntry.actor).where(AuditLogEntry.action == "event.created")
        ).all()
    assert len(actors) == 1 and actors[0].startswith("client:cli_")


def test_idempotent_replay_and_reuse(api):
    starts_at = iso(utcnow() + timedelta(days=30))
    body = {"title": "A", "venue": "B", "starts_at": starts_at, "timezone": "UTC"}
    first = api.post("/v1/events", json=body, headers={"Idempotency-Key": "k-1"})
    again = api.post("/v1/events", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json == again.json and again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(api.get("/v1/events").json["data"]) == 1
    other = api.post("/v1/events", json={**body, "title": "Z"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.json["type"].endswith("/idempotency-key-reused")


def test_etags_answer_304(api):
    event = new_event(api).json
    first = api.get(f"/v1/events/{event['id']}")
    etag = first.headers["ETag"]
    assert api.get(f"/v1/events/{event['id']}", headers={"If-None-Match": etag}).status_code == 304
    api.patch(f"/v1/events/{event['id']}", json={"title": "New"})
    assert api.get(f"/v1/events/{event['id']}", headers={"If-None-Match": etag}).status_code == 200


def test_pagination_while_objects_are_added(api):
    for index in range(250):
        new_event(api, title=f"E{index}")
    seen, cursor, pages = [], None, 0
    while True:
        url = "/v1/events?limit=40" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(url).json
        seen += [event["id"] for event in body["data"]]
        pages += 1
        new_event(api, title=f"added during page {pages}")
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen)) == 250
    assert pages == 7
    assert api.get("/v1/events?limit=101").status_code == 422
    assert api.get("/v1/events?cursor=%%%").status_code == 422


def test_every_cursor_of_the_documented_shape_is_a_position(api):
    """A cursor is the last id seen, so any value of its documented pattern is accepted (the
    OpenAPI promise), and anything else is a 422 naming `cursor`."""
    first = new_event(api).json["id"]
    second = new_event(api).json["id"]
    after_second = api.get(f"/v1/events?cursor={second}").json
    assert [event["id"] for event in after_second["data"]] == [first]
    assert api.get("/v1/events?cursor=zzz_" + "z" * 26).json["data"][0]["id"] == second
    assert api.get("/v1/events?cursor=aaa_" + "0" * 26).json["data"] == []
    for bad in ("", "evt_short", "EVT_" + "0" * 26, "%00"):
        refused = api.get(f"/v1/events?cursor={bad}")
        assert refused.status_code == 422 and "cursor" in refused.json["errors"], bad
    assert api.get("/v1/demand?cursor=40").status_code == 200
    for bad in ("9" * 40, "²", "-1", "1.5"):
        assert api.get(f"/v1/demand?cursor={bad}").status_code == 422, bad


def test_api_rate_limit_is_per_client(settings, migrated_engine):
    from tests.conftest import empty_all_tables
    from widget_server import create_app

    app = create_app(settings, RATELIMIT_API="3 per minute")
    try:
        with app.app_context(), db.transaction() as session:
            first_id = make_partner(session, "first").id
            second_id = make_partner(session, "second").id
        client = app.test_client()
        first = ApiSession(client, issue_token(app, first_id))
        second = ApiSession(client, issue_token(app, second_id))
        assert [first.get("/v1/events").status_code for _ in range(3)] == [200] * 3
        limited = first.get("/v1/events")
        assert limited.status_code == 429
        assert limited.mimetype == "application/problem+json"
        assert int(limited.headers["Retry-After"]) > 0
        assert second.get("/v1/events").status_code == 200
    finally:
        app.extensions["ridepledge.engine"].dispose()
        empty_all_tables(migrated_engine)


def test_demand_threshold_fires_a_webhook_once(app, api, client):
    from widget_server.models import WebhookMessage

    api.patch("/v1/partner", json={"demand_threshold": 2})
    endpoint = api.post(
        "/v1/webhook_endpoints",
        json={"url": "http://127.0.0.1:9/hooks", "events": ["demand.threshold_reached"]},
    )
    assert endpoint.status_code == 201
    event = new_event(api).json
    for index, email in enumerate(("a@x.io", "b@x.io", "c@x.io")):
        client.post(
            "/w/kc-chiefs/api/demand",
            json={"event_id": event["id"], "origin": "Topeka", "email": email},
            environ_base={"REMOTE_ADDR": f"198.51.100.{index + 1}"},  # three fans, three homes
        )
    with app.app_context():
        messages = db.session.scalars(select(WebhookMessage)).all()
    assert [m.type for m in messages] == ["demand.threshold_reached"]
    assert messages[0].payload["data"] == {
        "event_id": event["id"],
        "origin": "Topeka",
        "count": 2,
        "threshold": 2,
    }
