"""The service's own pages: the landing page and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import select, text

from widget_server.demo_credentials import credentials_path, load_credentials
from widget_server.demo_data import DEMO_SCHEDULE
from widget_server.demo_site import host_site_url
from widget_server.extensions import db
from widget_server.fan.trip_state import PUBLIC_TRIP_STATUSES
from widget_server.models import Event, Partner, Trip
from widget_server.models.types import utcnow
from widget_server.security_headers import site_policy

bp = Blueprint("site", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        current_app.logger.exception("health check: database does not answer")
        return jsonify({"status": "unavailable", "database": "down"}), 503
    return jsonify({"status": "ok"})


@bp.get("/")
def landing():
    """What is running here. In demo mode (`ridepledge demo`), also the demo partners with
    their games and public trips; otherwise nothing about any partner: no drafts, no data a
    partner has not published, nothing about fans."""
    settings = current_app.config["SETTINGS"]
    context = {"settings": settings, "demo": settings.demo_mode}
    if settings.demo_mode:
        context.update(_demo_listing())
    page = render_template("landing.html", **context)
    return page, 200, {"Content-Security-Policy": site_policy()}


def _demo_listing() -> dict:
    """The demo partners (the shipped `demo` and `demo-away`), their upcoming games and their
    public trips (never drafts)."""
    partners = db.session.scalars(
        select(Partner).where(Partner.slug.in_(list(DEMO_SCHEDULE))).order_by(Partner.slug)
    ).all()
    partner_ids = [partner.id for partner in partners]
    events = db.session.scalars(
        select(Event)
        .where(Event.partner_id.in_(partner_ids), Event.starts_at > utcnow())
        .order_by(Event.starts_at)
    ).all()
    trips = db.session.scalars(
        select(Trip)
        .where(Trip.partner_id.in_(partner_ids), Trip.status.in_(PUBLIC_TRIP_STATUSES))
        .order_by(Trip.created_at)
    ).all()
    stored = load_credentials(credentials_path(current_app.config["SETTINGS"].instance_path))
    return {
        "driver_link": stored.get("driver_link"),
        "partners": partners,
        "events_by_partner": _group(events, "partner_id"),
        "trips_by_event": _group(trips, "event_id"),
        "partner_site_url": host_site_url,
    }


def _group(rows, key: str) -> dict:
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped
