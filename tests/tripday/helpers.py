"""Shared by the trip-day tests: a confirmed trip with paid, pledged and canceled fans."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from widget_server.domain.pledges import planning, recording
from widget_server.extensions import db
from widget_server.models import OutboundEmail, Pledge, Trip


def fan_request(trip, name: str, *, seats: int = 1, stop: int = 0, card: str = "pm_card_visa"):
    return planning.PledgeRequest(
        stop_id=trip.stops[stop].id,
        seats=seats,
        name=name,
        email=f"{name.split()[0].lower()}@example.com",
        payment_method=card,
    )


def confirmed_trip(app, slug: str = "kc-chiefs", *, names=("Ana Paid", "Bo Paid", "Cy Paid")):
    """A trip confirmed by `names` (all paid after the jobs run), plus its ids."""
    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, slug)
        trip = make_trip(session, partner, capacity=10, min_riders=len(names))
        ids = {"partner": partner.slug, "partner_id": partner.id, "trip": trip.id}
        ids["stops"] = [stop.id for stop in trip.stops]
        ids["pledges"] = [
            recording.create_pledge(
                session, provider, partner, trip.id, fan_request(trip, name, stop=i % 2)
            ).id
            for i, name in enumerate(names)
        ]
    run_jobs(app)
    return ids


def pledge_row(app, pledge_id: str) -> Pledge:
    with app.app_context():
        return db.session.get(Pledge, pledge_id)


def emails_of_kind(app, kind: str) -> list[OutboundEmail]:
    with app.app_context():
        return list(db.session.scalars(select(OutboundEmail).where(OutboundEmail.kind == kind)))


def add_union_station(app, api, trip_id: str):
    """The partner adds the stop "Union Station" ten minutes after the trip's last one, through
    the API; returns the answer (201 with the trip)."""
    with app.app_context():
        departs = db.session.get(Trip, trip_id).stops[-1].departs_at + timedelta(minutes=10)
    return api.post(
        f"/v1/trips/{trip_id}/stops",
        json={
            "name": "Union Station",
            "address": "30 W Pershing Rd",
            "departs_at": departs.isoformat().replace("+00:00", "Z"),
        },
    )
