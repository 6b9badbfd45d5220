"""`client.add_ons` and sponsors through the SDK (sync and async) against the real server."""

from __future__ import annotations

import pytest
import ridepledge
from sdk_helpers import new_event, new_trip


def test_add_ons_create_list_update_and_show_on_the_trip(sdk):
    trip = new_trip(sdk, new_event(sdk))
    created = sdk.add_ons.create(trip.id, name="Tailgate pass", unit_amount=1500, quantity=20)
    assert isinstance(created, ridepledge.AddOn) and created.id.startswith("addon_")
    assert (created.sold, created.remaining, created.active, created.currency) == (
        0,
        20,
        True,
        "USD",
    )
    assert sdk.add_ons.retrieve(trip.id, created.id) == created
    assert [item.id for item in sdk.add_ons.list(trip.id)] == [created.id]
    off = sdk.add_ons.update(trip.id, created.id, active=False, quantity=None)
    assert (off.active, off.quantity, off.remaining) == (False, None, None)
    shown = sdk.trips.retrieve(trip.id)
    assert [item.name for item in shown.add_ons] == ["Tailgate pass"]
    with pytest.raises(ridepledge.ValidationError) as refused:
        sdk.add_ons.create(trip.id, name="", unit_amount=-1)
    assert {"name", "unit_amount"} <= set(refused.value.errors)


def test_sponsors_of_events_and_trips(sdk):
    event = sdk.events.update(
        new_event(sdk).id, sponsor={"name": "Acme Tires", "url": "https://acme.example/"}
    )
    assert event.sponsor == ridepledge.Sponsor("Acme Tires", "https://acme.example/", None)
    trip = new_trip(sdk, event, sponsor={"name": "Bolt Energy"})
    assert trip.sponsor.name == "Bolt Energy" and trip.sponsor.url is None
    assert sdk.trips.update(trip.id, sponsor=None).sponsor is None
    with pytest.raises(ridepledge.ValidationError) as refused:
        sdk.events.update(event.id, sponsor={"name": "Acme", "url": "http://acme.example/"})
    assert "sponsor.url" in refused.value.errors
