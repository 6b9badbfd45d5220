"""The manifest: who boards where."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.models import Pledge, Trip
from widget_server.models.types import rfc3339

ON_MANIFEST = ("pledged", "charging", "paid", "action_required")


def build_manifest(session: Session, trip: Trip) -> dict:
    """Riders per stop in stop order; riders sorted by name. Seats of live pledges only."""
    pledges = list(
        session.scalars(
            select(Pledge)
            .where(Pledge.trip_id == trip.id, Pledge.status.in_(ON_MANIFEST))
            .order_by(Pledge.name, Pledge.id)
        )
    )
    stops = []
    for stop in trip.stops:
        riders = [
            {
                "pledge_id": p.id,
                "name": p.name,
                "email": p.email,
                "phone": p.phone,
                "seats": p.seats,
                "status": p.status,
            }
            for p in pledges
            if p.stop_id == stop.id
        ]
        stops.append(
            {
                "id": stop.id,
                "name": stop.name,
                "address": stop.address,
                "departs_at": rfc3339(stop.departs_at),
                "seats": sum(r["seats"] for r in riders),
                "riders": riders,
            }
        )
    return {
        "object": "manifest",
        "trip_id": trip.id,
        "trip_status": trip.status,
        "event": {"id": trip.event.id, "title": trip.event.title, "venue": trip.event.venue},
        "operator": {"name": trip.operator_name, "phone": trip.operator_phone},
        "seats": sum(stop["seats"] for stop in stops),
        "stops": stops,
    }
