"""Every resource of the SDK against the real server on a port."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import ridepledge
from sdk_helpers import fan_asks_for_trip, fan_pledges, new_credentials, new_event, new_trip, soon

from tests.factories import make_partner
from widget_server.extensions import db


def test_partner_retrieve_and_update(sdk):
    partner = sdk.partner.retrieve()
    assert isinstance(partner, ridepledge.Partner)
    assert partner.slug == "kc-chiefs" and partner.currency == "USD"
    assert partner.id.startswith("ptn_") and partner.raw["object"] == "partner"

    updated = sdk.partner.update(
        name="KC Chiefs Rides",
        branding={"primary_color": "#123456"},
        support_email="rides@chiefs.example",
    )
    assert updated.name == "KC Chiefs Rides"
    assert updated.branding["primary_color"] == "#123456"
    assert updated.support_email == "rides@chiefs.example"
    assert sdk.partner.retrieve() == updated

    cleared = sdk.partner.update(support_email=None)
    assert cleared.support_email is None and cleared.name == "KC Chiefs Rides"

    assert partner.logo is None and partner.wording["es"] == {"headline": None, "intro": None}
    worded = sdk.partner.update(wording={"es": {"headline": "¡Al estadio en bus!"}})
    assert worded.wording["es"] == {"headline": "¡Al estadio en bus!", "intro": None}
    with pytest.raises(ridepledge.ValidationError) as refused:
        sdk.partner.update(wording={"de": {"headline": "Zum Stadion"}})
    assert "wording.de" in refused.value.errors


def test_event_create_retrieve_update_delete(sdk):
    starts = datetime(2030, 12, 20, 13, 0, tzinfo=ZoneInfo("America/Chicago"))
    event = new_event(sdk, starts_at=starts)
    assert isinstance(event, ridepledge.Event) and event.id.startswith("evt_")
    assert event.starts_at == starts and event.starts_at.tzinfo is not None
    assert event.starts_at.utcoffset() == timedelta(0)  # the API answers in UTC
    assert event.created_at.tzinfo is not None
    assert sdk.events.retrieve(event.id) == event

    moved = sdk.events.update(event.id, venue="GEHA Field")
    assert moved.venue == "GEHA Field" and moved.title == event.title

    sdk.events.delete(event.id)
    with pytest.raises(ridepledge.NotFoundError) as caught:
        sdk.events.retrieve(event.id)
    assert caught.value.status == 404 and caught.value.code == "not-found"
    assert caught.value.request_id and caught.value.request_id.startswith("req_")


def test_naive_datetimes_are_refused_before_sending(sdk):
    with pytest.raises(ValueError, match="naive datetime"):
        sdk.events.create(title="x", venue="y", starts_at=datetime(2030, 1, 1, 12), timezone="UTC")
    assert list(sdk.events.list()) == []


def test_lists_iterate_across_pages(sdk):
    created = [new_event(sdk, title=f"Game {n}").id for n in range(5)]

    assert [event.id for event in sdk.events.list(limit=2)] == created[::-1]  # newest first
    pages = list(sdk.events.list(limit=2).iter_pages())
    assert [len(page.data) for page in pages] == [2, 2, 1]
    assert [page.has_more for page in pages] == [True, True, False]
    assert pages[-1].next_cursor is None

    first = sdk.events.list(limit=3).first_page()
    rest = sdk.events.list(limit=3, cursor=first.next_cursor)
    assert [e.id for e in first.data] + [e.id for e in rest] == created[::-1]


def test_trip_with_stops_opened_pledged_manifest_and_canceled(sdk, live_server):
    event = new_event(sdk)
    trip = new_trip(sdk, event)
    assert isinstance(trip, ridepledge.Trip) and trip.status == "draft"
    assert [stop.name for stop in trip.stops] == ["Union Station", "Mall"]
    assert all(stop.id.startswith("stp_") for stop in trip.stops)
    assert trip.origin == ridepledge.Origin(name="Wichita", region="KS")
    assert trip.operator.email == "ops@coach.example"
    assert (trip.unit_amount, trip.currency, trip.seats_remaining) == (3500, "USD", 10)
    assert (trip.seats_available, trip.waitlist_open) == (0, False)  # a draft does not sell
    assert trip.stops[0].departs_at == event.starts_at - timedelta(hours=5)

    trip = sdk.trips.update(trip.id, capacity=12, min_riders=5)
    assert (trip.capacity, trip.min_riders) == (12, 5)

    opened = sdk.trips.open(trip.id)
    assert opened.status == "open" and opened.opened_at is not None
    assert (opened.seats_available, opened.waitlist_open) == (12, False)
    with pytest.raises(ridepledge.ConflictError) as caught:
        sdk.trips.open(trip.id)
    assert caught.value.code == "illegal-transition" and caught.value.status == 409

    first = fan_pledges(live_server.url, opened, 0, seats=2, name="Ann Fan")
    second = fan_pledges(live_server.url, opened, 1, seats=1, name="=Bob Fan")

    manifest = sdk.trips.manifest(trip.id)
    assert isinstance(manifest, ridepledge.Manifest)
    assert manifest.seats == 3 and manifest.event.title == event.title
    rows = manifest.rows()
    assert [(row.stop, row.name, row.seats) for row in rows] == [
        ("Union Station", "Ann Fan", 2),
        ("Mall", "=Bob Fan", 1),
    ]
    assert rows[0].departs_at.tzinfo is not None and rows[0].pledge_id == first["id"]

    table = list(csv.DictReader(io.StringIO(sdk.trips.manifest_csv(trip.id))))
    assert [row["pledge_id"] for row in table] == [first["id"], second["id"]]
    assert table[1]["name"] == "'=Bob Fan"  # the server defuses spreadsheet formulas

    assert {t.id for t in sdk.trips.list(event_id=event.id, status="open")} == {trip.id}
    assert list(sdk.trips.list(status="draft")) == []

    pledges = list(sdk.pledges.list(trip_id=trip.id))
    assert {p.id for p in pledges} == {first["id"], second["id"]}
    pledge = sdk.pledges.retrieve(first["id"])
    assert isinstance(pledge, ridepledge.Pledge)
    assert (pledge.seats, pledge.amount, pledge.currency) == (2, 7000, "USD")
    assert pledge.status == "pledged" and pledge.created_at.tzinfo is not None

    canceled_pledge = sdk.pledges.cancel(second["id"])
    assert canceled_pledge.status == "canceled"
    assert [p.id for p in sdk.pledges.list(status="canceled")] == [second["id"]]

    canceled = sdk.trips.cancel(trip.id)
    assert canceled.status == "canceled" and canceled.canceled_at is not None
    assert sdk.pledges.retrieve(first["id"]).status == "released"


def test_validation_errors_name_each_field(sdk):
    event = new_event(sdk)
    with pytest.raises(ridepledge.ValidationError) as caught:
        new_trip(sdk, event, capacity=0, stops=[])
    error = caught.value
    assert error.status == 422
    assert {"capacity", "stops"} <= set(error.errors)
    assert "capacity" in str(error)


def test_another_partners_objects_are_not_found(sdk, app, make_sdk):
    with app.app_context(), db.transaction() as session:
        other_id = make_partner(session, "lv-raiders").id
    other = make_sdk(creds=new_credentials(app, other_id))
    event = new_event(other)
    with pytest.raises(ridepledge.NotFoundError):
        sdk.events.retrieve(event.id)


def test_demand(sdk, live_server):
    event = new_event(sdk)
    for email in ("a@example.com", "b@example.com"):
        fan_asks_for_trip(live_server.url, event.id, "Topeka", email)
    fan_asks_for_trip(live_server.url, event.id, "Lawrence", "c@example.com")

    demand = list(sdk.demand.list(event_id=event.id))
    assert [(d.origin, d.count, d.has_trip) for d in demand] == [
        ("Topeka", 2, False),
        ("Lawrence", 1, False),
    ]
    assert isinstance(demand[0], ridepledge.Demand)
    assert demand[0].first_requested_at <= demand[0].last_requested_at
    assert demand[0].last_requested_at.tzinfo is not None
    assert [len(p.data) for p in sdk.demand.list(limit=1).iter_pages()] == [1, 1]


def test_webhook_endpoints(sdk):
    created = sdk.webhook_endpoints.create(
        url="http://127.0.0.1:9/ridepledge",
        events=["pledge.created", "trip.confirmed"],
        description="CRM sync",
    )
    assert isinstance(created, ridepledge.WebhookEndpoint)
    assert created.secret and created.secret.startswith("whsec_")
    assert created.status == "enabled" and created.events == ["pledge.created", "trip.confirmed"]

    fetched = sdk.webhook_endpoints.retrieve(created.id)
    assert fetched.secret is None and fetched.url == created.url

    paused = sdk.webhook_endpoints.update(created.id, status="disabled", description=None)
    assert paused.status == "disabled" and paused.description is None

    rotated = sdk.webhook_endpoints.rotate_secret(created.id)
    assert rotated.secret and rotated.secret != created.secret

    assert [e.id for e in sdk.webhook_endpoints.list()] == [created.id]
    sdk.webhook_endpoints.delete(created.id)
    assert list(sdk.webhook_endpoints.list()) == []


def test_scope_is_enforced(app, partner_id, make_sdk):
    reader = make_sdk(creds=new_credentials(app, partner_id, "events:read"))
    assert list(reader.events.list()) == []
    with pytest.raises(ridepledge.PermissionDeniedError) as caught:
        reader.events.create(title="x", venue="y", starts_at=soon(days=3), timezone="UTC")
    assert caught.value.status == 403


def test_datetime_offsets_are_sent_as_utc(sdk):
    local = datetime(2030, 7, 4, 19, 0, tzinfo=ZoneInfo("America/New_York"))
    event = new_event(sdk, starts_at=local)
    assert event.starts_at == local
    assert event.starts_at == datetime(2030, 7, 4, 23, 0, tzinfo=UTC)


def test_fans_export_and_erase(sdk, live_server):
    trip = sdk.trips.open(new_trip(sdk, new_event(sdk)).id)
    pledge = fan_pledges(live_server.url, trip, 0, seats=2, name="Ann Fan", email="ann@x.org")

    export = sdk.fans.export(email="ann@x.org")
    assert isinstance(export, ridepledge.FanExport) and export.email == "ann@x.org"
    assert [item["id"] for item in export.pledges] == [pledge["id"]]

    erased = sdk.fans.erase(email="ann@x.org")
    assert isinstance(erased, ridepledge.FanErasure) and erased.pledges == 1
    assert sdk.fans.export(email="ann@x.org").pledges == []
    kept = sdk.pledges.retrieve(pledge["id"])
    assert (kept.seats, kept.amount) == (2, 7000) and kept.email != "ann@x.org"
    assert sdk.fans.erase(email="ann@x.org").pledges == 0  # nothing left to erase
    with pytest.raises(ridepledge.ValidationError) as refused:
        sdk.fans.export(email="not an email")
    assert "email" in refused.value.errors
