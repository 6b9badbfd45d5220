"""The SDK's trip-day calls: boarding codes on pledges, driver links, boarded counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
import ridepledge
from sdk_helpers import fan_pledges, new_event, new_trip

from tests.conftest import run_jobs


def test_driver_link_boarding_code_and_boarded_counts(sdk, app, live_server):
    trip = new_trip(sdk, new_event(sdk))
    sdk.trips.update(trip.id, min_riders=3)
    opened = sdk.trips.open(trip.id)
    fan = fan_pledges(live_server.url, opened, 0, seats=2, name="Ann Fan")
    assert sdk.pledges.retrieve(fan["id"]).boarding_code is None  # not paid yet
    fan_pledges(live_server.url, opened, 1, seats=1, name="Bob Fan")  # confirms the trip
    run_jobs(app)
    pledge = sdk.pledges.retrieve(fan["id"])
    assert pledge.status == "paid" and len(pledge.boarding_code) == 14

    link = sdk.trips.create_driver_link(trip.id)
    assert isinstance(link, ridepledge.DriverLink) and link.expires_at > datetime.now(UTC)
    # A check-in's time lies after its link was issued (docs/trip-day.md): now.
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"code": pledge.boarding_code, "id": str(uuid.uuid4()), "at": now}
    # The SDK names the server by PUBLIC_BASE_URL; the test server listens elsewhere.
    url = live_server.url + "/d/" + link.url.rsplit("/d/", 1)[1]
    assert requests.post(f"{url}/checkins", json=body, timeout=10).json()["result"] == "ok"

    manifest = sdk.trips.manifest(trip.id)
    assert manifest.boarded_seats == 2 and manifest.stops[0].boarded_seats == 2
    assert manifest.stops[1].boarded_seats == 0
    rider = manifest.stops[0].riders[0]
    assert rider.boarding_code == pledge.boarding_code and rider.boarded_at is not None

    sdk.trips.revoke_driver_link(trip.id)
    assert requests.get(url, timeout=10).status_code == 404


def test_stop_requests_and_add_stop(sdk, app, live_server):
    trip = sdk.trips.open(new_trip(sdk, new_event(sdk)).id)
    fan_pledges(live_server.url, trip, 0, name="Ann Fan")
    for email in ("ann@example.com", "zed@example.com"):
        answer = requests.post(
            f"{live_server.url}/w/kc-chiefs/api/trips/{trip.id}/stop_requests",
            json={"place": "Old Town Square", "address": "1 Old Town Sq", "email": email},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text

    (place,) = sdk.trips.stop_requests(trip.id)
    assert isinstance(place, ridepledge.StopRequest)
    # Two emails from one network are one request (counted per network, as demand is).
    assert (place.place, place.count, place.stop_id) == ("Old Town Square", 1, None)

    departs = trip.stops[-1].departs_at + timedelta(minutes=15)
    updated = sdk.trips.add_stop(
        trip.id, name="Old Town Square", address="1 Old Town Sq", departs_at=departs
    )
    assert [stop.name for stop in updated.stops][-1] == "Old Town Square"
    assert sdk.trips.stop_requests(trip.id)[0].stop_id == updated.stops[-1].id


def test_waitlist_of_a_sold_out_trip(sdk, live_server):
    trip = sdk.trips.open(new_trip(sdk, new_event(sdk), capacity=3).id)
    fan_pledges(live_server.url, trip, 0, seats=3, name="Ann Fan")
    answer = requests.post(
        f"{live_server.url}/w/kc-chiefs/api/trips/{trip.id}/waitlist",
        json={"stop_id": trip.stops[1].id, "seats": 2, "name": "Zed Fan", "email": "zed@x.org"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    (entry,) = sdk.trips.waitlist(trip.id)
    assert isinstance(entry, ridepledge.WaitlistEntry)
    assert (entry.name, entry.seats, entry.status, entry.position) == ("Zed Fan", 2, "waiting", 1)


def test_share_links_referrals_and_site_url(sdk, live_server):
    trip = sdk.trips.open(new_trip(sdk, new_event(sdk)).id)
    with pytest.raises(ridepledge.ValidationError) as refused:
        sdk.partner.update(site_url="https://not-ours.example/rides")
    assert "site_url" in refused.value.errors
    sdk.partner.update(allowed_origins=["https://www.kc.example"])
    partner = sdk.partner.update(site_url="https://www.kc.example/rides")
    assert partner.site_url == "https://www.kc.example/rides"

    first = _widget_pledge(live_server.url, trip, "Ann Fan", seats=1)
    share = first["share_url"]
    assert share.startswith("https://www.kc.example/rides?rp=kc-chiefs&")
    ref = share.rsplit("rp_ref=", 1)[1]
    friend = _widget_pledge(live_server.url, trip, "Bob Fan", seats=2, ref=ref)["pledge"]

    bob = sdk.pledges.retrieve(friend["id"])
    assert bob.referred_by == first["pledge"]["id"] and bob.referrals == 0
    assert sdk.pledges.retrieve(first["pledge"]["id"]).referrals == 1
    brought = list(sdk.pledges.list(referred_by=first["pledge"]["id"]))
    assert [p.id for p in brought] == [bob.id]
    manifest = sdk.trips.manifest(trip.id)
    assert (manifest.referred_pledges, manifest.referred_seats) == (1, 2)
    riders = {r.pledge_id: r for stop in manifest.stops for r in stop.riders}
    assert riders[first["pledge"]["id"]].referrals == 1
    assert riders[bob.id].referred_by == first["pledge"]["id"]


def _widget_pledge(base_url: str, trip, name: str, **fields) -> dict:
    """A fan pledges at the trip's second stop through the widget API; its whole answer."""
    body = {
        "stop_id": trip.stops[1].id,
        "name": name,
        "email": f"{name.split()[0].lower()}@example.com",
        "payment_method": "pm_card_visa",
        **fields,
    }
    answer = requests.post(
        f"{base_url}/w/kc-chiefs/api/trips/{trip.id}/pledges", json=body, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return answer.json()
