"""Demo events and trips for the example partners, so `make demo` shows a living product."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from widget_server.domain.catalog import create_event, create_trip, open_trip
from widget_server.domain.pledges.planning import PledgeRequest
from widget_server.domain.pledges.recording import create_pledge
from widget_server.domain.pricing.add_ons import create_add_on
from widget_server.domain.sponsors import set_sponsor
from widget_server.models import Event, Partner
from widget_server.models.types import utcnow

DEMO_SCHEDULE = {
    "demo": {
        "event": {
            "title": "Demo City FC vs. Riverside United",
            "venue": "Harbor Stadium",
            "timezone": "America/Chicago",
        },
        # Local times in the event's zone: a Saturday evening game, buses 4 hours before.
        "kickoff": time(19, 0),
        "trips": [
            ("Springfield", "IL", 40, 25, 3500, [("Union Station", "500 W Adams St")]),
            (
                "Lakeside",
                "WI",
                30,
                20,
                4200,
                [("Lakeside Mall, lot C", "12 Shore Dr"), ("Park & Ride North", "88 Route 9")],
            ),
            ("Oak Ridge", "IN", 50, 35, 2900, [("Oak Ridge High School", "1 School Rd")]),
        ],
    },
    "demo-away": {
        "event": {
            "title": "Atlético Visitante - Real Demo",
            "venue": "Estadio del Puerto",
            "timezone": "Europe/Madrid",
        },
        "kickoff": time(21, 0),  # a late Spanish kick-off; the buses leave at 17:00
        "trips": [
            ("Valencia", "VC", 55, 30, 2500, [("Estación del Norte", "Carrer de Xàtiva 24")]),
            (
                "Zaragoza",
                "AR",
                45,
                25,
                3000,
                [
                    ("Plaza del Pilar", "Plaza del Pilar 1"),
                    ("Estación Delicias", "Av. de Navarra 80"),
                ],
            ),
        ],
    },
}


# Seats already pledged on each demo trip, so progress bars show life: Springfield is 2 seats
# from confirming, Zaragoza has confirmed (its fans get charged by the worker).
DEMO_PLEDGED_SEATS = {
    "Springfield": 23,
    "Lakeside": 12,
    "Oak Ridge": 0,
    "Valencia": 18,
    "Zaragoza": 27,
}
# Fans asking for trips from towns without one (the console's demand page): origin -> how many
# fans, each from their own network. Below the demo partners' demand thresholds.
DEMO_DEMAND = {
    "demo": {"Riverton": 7, "Millbrook": 4, "Oak Ridge": 2},
    "demo-away": {"Alicante": 5, "Murcia": 3},
}
# Buses leave this long before kick-off (the second stop 30 minutes after the first).
DEPARTURE_BEFORE_KICKOFF = timedelta(hours=4)
DEMO_FANS = ["Alex Rivera", "Sam Chen", "Jordan Lee", "Maria Lopez", "Chris Novak", "Taylor Kim"]


# What the demo shows of sponsors and add-ons (docs/pricing.md): the demo partner's game is
# presented by a sponsor, and its trips sell a tailgate pass and a scarf.
DEMO_EXTRAS = {
    "demo": {
        "sponsor": {"name": "Demo Tire & Auto", "url": "https://www.example.com/"},
        "add_ons": (
            {"name": "Tailgate pass", "unit_amount": 1500, "quantity": 40},
            {"name": "Team scarf", "unit_amount": 2500, "quantity": None},
        ),
    }
}


def seed_demo(session: Session, provider=None) -> list[str]:
    """Give each example partner that has no events yet one event with open trips.

    Idempotent: a partner with events is left alone. Returns what was created, for printing.
    """
    created = []
    now = utcnow().replace(second=0, microsecond=0)
    for slug, plan in DEMO_SCHEDULE.items():
        partner = session.scalar(select(Partner).where(Partner.slug == slug))
        if partner is None:
            continue
        has_events = session.scalar(select(func.count()).where(Event.partner_id == partner.id))
        if has_events:
            continue
        starts_at = saturday_at(now, plan["event"]["timezone"], plan["kickoff"])
        event = create_event(session, partner, starts_at=starts_at, actor="demo", **plan["event"])
        extras = DEMO_EXTRAS.get(slug, {})
        if extras.get("sponsor"):
            set_sponsor(session, event, extras["sponsor"], actor="demo")
        for origin, region, capacity, min_riders, price, stops in plan["trips"]:
            first_departure = starts_at - DEPARTURE_BEFORE_KICKOFF
            trip = create_trip(
                session,
                partner,
                event,
                origin={"name": origin, "region": region},
                stops=[
                    {
                        "name": name,
                        "address": address,
                        "departs_at": first_departure + timedelta(minutes=30 * index),
                    }
                    for index, (name, address) in enumerate(stops)
                ],
                capacity=capacity,
                min_riders=min_riders,
                unit_amount=price,
                currency=partner.currency,
                pledge_deadline=starts_at - timedelta(weeks=1),  # a week before, same hour
                operator={
                    "name": "Demo Coach Lines",
                    "phone": "+1 816 555 0100",
                    "email": "dispatch@coach.example",
                },
                actor="demo",
            )
            open_trip(session, trip, actor="demo", now=now)
            for add_on in extras.get("add_ons", ()):
                create_add_on(session, trip, add_on, actor="demo")
            if provider is not None:
                _seed_pledges(session, provider, partner, trip, DEMO_PLEDGED_SEATS.get(origin, 0))
            created.append(f"{partner.slug}: {event.title} <- {origin} ({trip.id})")
        _seed_demand(session, partner, event)
    return created


def saturday_at(now: datetime, zone: str, at: time, weeks_ahead: int = 3) -> datetime:
    """The Saturday at least `weeks_ahead` weeks after `now`, at local time `at` in `zone`,
    in UTC: a game at a time fans of that city would expect, whenever the demo is started."""
    local_day: date = now.astimezone(ZoneInfo(zone)).date() + timedelta(weeks=weeks_ahead)
    local_day += timedelta(days=(5 - local_day.weekday()) % 7)
    return datetime.combine(local_day, at, ZoneInfo(zone)).astimezone(UTC)


def _seed_demand(session: Session, partner: Partner, event: Event) -> None:
    from widget_server.domain.demand import record_demand

    for origin, fans in DEMO_DEMAND.get(partner.slug, {}).items():
        for index in range(fans):
            record_demand(
                session,
                partner,
                event_id=event.id,
                origin=origin,
                email=f"{origin.lower().replace(' ', '')}.{index}@fans.example",
                # Opaque like the HMAC of a real network (domain/demand.address_key).
                address_key=f"demo-network-{origin}-{index}",
                locale=partner.locale,
            )


def _seed_pledges(session: Session, provider, partner: Partner, trip, seats: int) -> None:
    """Pledges of 1-3 seats by demo fans (test card 4242...) until `seats` are taken."""
    index = 0
    while seats > 0:
        taking = min(seats, 1 + index % 3)
        fan = DEMO_FANS[index % len(DEMO_FANS)]
        request = PledgeRequest(
            stop_id=trip.stops[index % len(trip.stops)].id,
            seats=taking,
            name=fan,
            email=f"{fan.split()[0].lower()}.{index}@fans.example",
            payment_method="pm_card_visa",
            locale=partner.locale,
        )
        create_pledge(session, provider, partner, trip.id, request, actor="demo")
        seats -= taking
        index += 1
