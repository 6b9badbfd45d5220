"""Shared state read for metrics and readiness: the queue in Redis (or SQLite), the backlog in
the database. Every host reads the same numbers."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from widget_server.extensions import db
from widget_server.models import OutboundEmail, Pledge, Trip, WebhookDelivery
from widget_server.models.types import utcnow


def queue_depth(app: Flask) -> int:
    """Jobs waiting in huey's queue, ready now or scheduled for later."""
    huey = app.extensions["ridepledge.huey"]
    return huey.pending_count() + huey.scheduled_count()


def work_ages() -> dict[str, float]:
    """Seconds the oldest due item of each kind of background work has waited (0 when none):
    what a stuck or too small worker fleet shows first."""
    now = utcnow()
    oldest = {
        "charge": db.session.scalar(
            select(func.min(Trip.confirmed_at))
            .join(Pledge, Pledge.trip_id == Trip.id)
            .where(Trip.status == "confirmed", Pledge.status == "pledged")
        ),
        "email": db.session.scalar(
            select(func.min(OutboundEmail.created_at)).where(OutboundEmail.status == "pending")
        ),
        "webhook": db.session.scalar(
            select(func.min(WebhookDelivery.next_attempt_at)).where(
                WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now
            )
        ),
    }
    db.session.rollback()  # read-only; end the transaction so no snapshot is held
    return {
        kind: max((now - _aware(since)) / timedelta(seconds=1), 0.0) if since else 0.0
        for kind, since in oldest.items()
    }


def sweep_lag_seconds() -> float | None:
    """Seconds since the last minute sweep started on any worker (None: never ran)."""
    from widget_server.jobs.periodic import seconds_since_start

    try:
        return seconds_since_start(db.session, "sweep")
    finally:
        db.session.rollback()


def _aware(value):
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)
