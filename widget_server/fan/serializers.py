"""What the widget shows fans: public fields only, never another fan's data."""

from __future__ import annotations

from datetime import datetime

from widget_server.domain.pledges.sales import decide
from widget_server.domain.pricing import PriceBreakdown, price_lines, unit_amount_at
from widget_server.domain.pricing.add_ons import on_sale
from widget_server.domain.pricing.rules import next_step_at, tiers_of
from widget_server.models import AddOn, Event, Pledge, Stop, Trip
from widget_server.models.types import rfc3339, utcnow


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z."""
    return rfc3339(value)


def public_event(event: Event) -> dict:
    return {
        "id": event.id,
        "title": event.title,
        "venue": event.venue,
        "starts_at": iso(event.starts_at),
        "timezone": event.timezone,
    }


def public_stop(stop: Stop) -> dict:
    return {
        "id": stop.id,
        "name": stop.name,
        "address": stop.address,
        "departs_at": iso(stop.departs_at),
    }


def public_trip(trip: Trip, now: datetime | None = None) -> dict:
    decision = decide(trip)
    now = now or utcnow()
    return {
        "id": trip.id,
        "event_id": trip.event_id,
        "origin": {"name": trip.origin_name, "region": trip.origin_region},
        "status": trip.status,
        "capacity": trip.capacity,
        "min_riders": trip.min_riders,
        "seats_pledged": trip.seats_pledged,
        "seats_remaining": trip.seats_remaining,
        # The one sale decision (pledges/sales.py): what a pledge or a waitlist join then gets.
        "seats_available": decision.seats_available,
        "waitlist_open": decision.waitlist_open,
        # The price per seat a fan pledging now pays (domain/pricing), and until when.
        "unit_amount": unit_amount_at(trip, now),
        "price_valid_until": iso(next_step_at(trip, now)),
        "group_tiers": tiers_of(trip),
        "currency": trip.currency,
        "pledge_deadline": iso(trip.pledge_deadline),
        "confirmed_at": iso(trip.confirmed_at),
        "operator": {"name": trip.operator_name},
        "stops": [public_stop(stop) for stop in trip.stops],
        "add_ons": [public_add_on(add_on) for add_on in on_sale(trip)],
    }


def public_add_on(add_on: AddOn) -> dict:
    """An extra on sale with the seats: `remaining` None when unlimited, 0 when sold out."""
    return {
        "id": add_on.id,
        "name": add_on.name,
        "unit_amount": add_on.unit_amount,
        "remaining": add_on.remaining,
    }


def fan_pledge(pledge: Pledge) -> dict:
    """The fan's own pledge, as shown to the fan (reached only through their signed link)."""
    return {
        "id": pledge.id,
        "trip_id": pledge.trip_id,
        "stop_id": pledge.stop_id,
        "seats": pledge.seats,
        "unit_amount": pledge.unit_amount,
        "discount_amount": pledge.discount_amount,
        "promo_code": pledge.promo_code,
        "amount": pledge.amount,
        "price_breakdown": price_lines(pledge),
        "currency": pledge.currency,
        "name": pledge.name,
        "email": pledge.email,
        "status": pledge.status,
        "grace_expires_at": iso(pledge.grace_expires_at)
        if pledge.status == "action_required"
        else None,
        "created_at": iso(pledge.created_at),
    }


def price_json(price: PriceBreakdown) -> dict:
    """A price quote as the widget reads it: every line, and until when the unit price holds."""
    return {
        "object": "price",
        **price.as_json(),
        "price_valid_until": iso(price.price_valid_until),
    }
