"""The console's first page: the partner's events with their trips filling up."""

from __future__ import annotations

from flask import g, render_template
from sqlalchemy import select

from widget_server.admin import bp
from widget_server.admin.auth import requires
from widget_server.extensions import db
from widget_server.models import Event, Trip


@bp.get("/")
@requires("view")
def home():
    """Events (soonest first) and each one's trips with progress, status, seats and deadline."""
    events = list(
        db.session.scalars(
            select(Event).where(Event.partner_id == g.partner.id).order_by(Event.starts_at)
        )
    )
    trips = db.session.scalars(
        select(Trip).where(Trip.partner_id == g.partner.id).order_by(Trip.pledge_deadline)
    )
    by_event: dict[str, list[Trip]] = {}
    for trip in trips:
        by_event.setdefault(trip.event_id, []).append(trip)
    return render_template("admin/home.html", events=events, trips_by_event=by_event)
