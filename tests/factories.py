"""Building test data through the domain functions, so tests see the same rules as the app."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from widget_server.domain.catalog import create_event, create_trip, open_trip
from widget_server.domain.partners import PartnerSchema, upsert_partner
from widget_server.models import Event, Partner, Trip
from widget_server.models.types import utcnow


def make_partner(session: Session, slug: str = "kc-chiefs", **fields) -> Partner:
    data = PartnerSchema().load({"slug": slug, "name": slug.replace("-", " ").title(), **fields})
    partner, _ = upsert_partner(session, data, actor="test")
    return partner


def make_event(session: Session, partner: Partner, **fields) -> Event:
    values = {
        "title": "Chiefs vs. Raiders",
        "venue": "Arrowhead Stadium",
        "starts_at": utcnow() + timedelta(days=30),
        "timezone": "America/Chicago",
    }
    values.update(fields)
    return create_event(session, partner, actor="test", **values)


def make_trip(
    session: Session,
    partner: Partner,
    event: Event | None = None,
    *,
    status: str = "open",
    stops: int = 2,
    **fields,
) -> Trip:
    event = event or make_event(session, partner)
    first = event.starts_at - timedelta(hours=5)
    values = {
        "origin": {"name": "Wichita", "region": "KS"},
        "stops": [
            {
                "name": f"Stop {index + 1}",
                "address": f"{index + 1} Main St",
                "departs_at": first + timedelta(minutes=30 * index),
            }
            for index in range(stops)
        ],
        "capacity": 40,
        "min_riders": 20,
        "unit_amount": 3500,
        "currency": partner.currency,
        "pledge_deadline": utcnow() + timedelta(days=10),
        "operator": {"name": "Coach Co", "phone": "+1 816 555 0100", "email": "ops@coach.example"},
    }
    values.update(fields)
    trip = create_trip(session, partner, event, actor="test", **values)
    if status == "open":
        open_trip(session, trip, actor="test")
    return trip


def make_demand(session: Session, partner: Partner, event: Event, origin: str, fans: int) -> None:
    """`fans` requests for a trip from `origin` to `event`, each fan from its own network."""
    from widget_server.domain.demand import record_demand

    for index in range(fans):
        record_demand(
            session,
            partner,
            event_id=event.id,
            origin=origin,
            email=f"fan{index}@{origin.replace(' ', '').lower()}.example",
            address_key=f"network-{origin}-{index}",
        )


def make_operator(session: Session, slug: str = "prairie-coach", **fields):
    """An operator (a bus company) with an owner `owner@SLUG.example` (no password), in
    Kansas and Missouri, compliant (USDOT number, insurance for a year)."""
    from widget_server.domain.operators.operators import create_operator

    data = {
        "slug": slug,
        "name": slug.replace("-", " ").title(),
        "regions": ["KS", "MO"],
        "usdot_number": "1234567",
        "insurance_expires_on": (utcnow() + timedelta(days=365)).date().isoformat(),
        **fields,
    }
    operator, _owner = create_operator(
        session, data, owner_email=f"owner@{slug}.example", actor="test"
    )
    return operator
