"""The service's own pages: the landing page and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import select, text

from widget_server.demo_data import DEMO_SCHEDULE
from widget_server.demo_site import host_site_url
from widget_server.extensions import db
from widget_server.models import Event, Partner, Trip
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
    """What is running here, and the demo partners with their events and trips."""
    settings = current_app.config["SETTINGS"]
    partners = db.session.scalars(select(Partner).order_by(Partner.slug)).all()
    events = db.session.scalars(select(Event).order_by(Event.starts_at)).all()
    trips = db.session.scalars(select(Trip).order_by(Trip.created_at)).all()
    page = render_template(
        "landing.html",
        settings=settings,
        partners=partners,
        events_by_partner=_group(events, "partner_id"),
        trips_by_event=_group(trips, "event_id"),
        partner_site_url=host_site_url,
        demo_slugs=DEMO_SCHEDULE,
    )
    return page, 200, {"Content-Security-Policy": site_policy()}


def _group(rows, key: str) -> dict:
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped
