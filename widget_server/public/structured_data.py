"""schema.org JSON-LD for a public trip page: the trip as a `BusTrip` about the game, a
`SportsEvent` (Google rejects trips marked up as events, so the game is its own node)."""

from __future__ import annotations

from widget_server.domain.pledges.sales import trip_sales_cutoff
from widget_server.domain.pricing.rules import decimal_text, next_step_at, unit_amount_at
from widget_server.models import Trip
from widget_server.models.types import utcnow
from widget_server.representations import UTCDateTime

_iso = UTCDateTime()._serialize
SCHEMA = "https://schema.org/"
# The sale decision's state (pledges/sales.py, through trip_state) -> schema.org ItemAvailability.
AVAILABILITY = {
    "open": "InStock",
    "confirmed": "InStock",
    "sold_out": "SoldOut",
}


def trip_json_ld(
    trip: Trip,
    *,
    state: str,
    page_url: str,
    event_url: str,
    pledge_url: str,
    in_language: str,
    sponsor: dict | None = None,
) -> dict:
    """The page's JSON-LD graph: the BusTrip and the SportsEvent it is about. `sponsor`: the
    trip's sponsor as `fan.sponsors.trip_sponsor` gives it (absolute URLs), or None."""
    event, partner = trip.event, trip.event.partner
    first = trip.stops[0]
    now = utcnow()
    steps_at = next_step_at(trip, now)
    game_id = f"{event_url}#game"
    venue = {"@type": "Place", "name": event.venue, "address": event.venue}
    bus_trip = {
        "@type": "BusTrip",
        "@id": f"{page_url}#trip",
        "name": f"{trip.origin_name} → {event.title}",
        "url": page_url,
        "inLanguage": in_language,
        "departureBusStop": {"@type": "BusStop", "name": first.name, "address": first.address},
        "arrivalBusStop": {"@type": "BusStop", "name": event.venue, "address": event.venue},
        "departureTime": _iso(first.departs_at, None, None),
        # Trips carry no arrival time; the bus arrives for the game, so its start bounds it.
        "arrivalTime": _iso(event.starts_at, None, None),
        "provider": {
            "@type": "Organization",
            "name": trip.operator_name or partner.name,
            **({"telephone": trip.operator_phone} if trip.operator_phone else {}),
        },
        "offers": {
            "@type": "Offer",
            # The price a fan pledging now pays, and (early-bird steps) the day it changes.
            "price": decimal_text(unit_amount_at(trip, now), trip.currency),
            "priceCurrency": trip.currency,
            **({"priceValidUntil": steps_at.date().isoformat()} if steps_at else {}),
            "availability": SCHEMA + AVAILABILITY.get(state, "Discontinued"),
            # When sales close (the deadline while open, departure once confirmed).
            "validThrough": _iso(trip_sales_cutoff(trip) or trip.pledge_deadline, None, None),
            "url": pledge_url,
            "seller": {"@type": "Organization", "name": partner.name},
        },
        "about": {"@id": game_id},
    }
    if len(trip.stops) > 1:
        bus_trip["itinerary"] = [
            {"@type": "BusStop", "name": stop.name, "address": stop.address} for stop in trip.stops
        ]
    if sponsor is not None:
        bus_trip["sponsor"] = sponsor_json_ld(sponsor)
    game = {
        "@type": "SportsEvent",
        "@id": game_id,
        "name": event.title,
        "url": event_url,
        "startDate": _iso(event.starts_at, None, None),
        "eventStatus": SCHEMA + "EventScheduled",
        "location": venue,
        "organizer": {"@type": "Organization", "name": partner.name},
    }
    return {"@context": "https://schema.org", "@graph": [bus_trip, game]}


def sponsor_json_ld(sponsor: dict) -> dict:
    """A sponsor (`{"name", "url", "logo_url"}`) as a schema.org `Organization`."""
    node = {"@type": "Organization", "name": sponsor["name"]}
    if sponsor["url"]:
        node["url"] = sponsor["url"]
    if sponsor["logo_url"]:
        node["logo"] = sponsor["logo_url"]
    return node
