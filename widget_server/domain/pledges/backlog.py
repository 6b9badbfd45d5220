"""The backlog: work the database says is due (what a lost job would have done), for the
periodic sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.domain.operators.payouts import payouts_to_pay
from widget_server.domain.pledges.card_recovery import REMINDER_BEFORE
from widget_server.domain.pledges.charge_claims import CHARGED_TRIP_STATUSES
from widget_server.domain.pledges.claims import claim_is_free
from widget_server.domain.pledges.trip_outcomes import pledges_of
from widget_server.models import Event, Pledge, Trip
from widget_server.models.types import utcnow


@dataclass
class Backlog:
    """Work the database says is due; what a lost job would have done."""

    overdue_trips: list[str]
    finished_trips: list[str]
    to_charge: list[str]
    to_refund: list[str]
    grace_expired: list[str]
    card_retries: list[str]
    card_reminders: list[str]
    to_pay: list[str]  # operators' payouts


def find_backlog(session: Session, *, now: datetime | None = None) -> Backlog:
    """Everything due at `now`. Charges cover confirmed *and* completed trips, so a trip that
    completed while the worker was behind still has every pledge charged."""
    now = now or utcnow()
    ids = lambda query: list(session.scalars(query.order_by(None)))  # noqa: E731
    charged_trips = select(Trip.id).where(Trip.status.in_(CHARGED_TRIP_STATUSES))
    return Backlog(
        overdue_trips=ids(
            select(Trip.id).where(Trip.status == "open", Trip.pledge_deadline <= now)
        ),
        finished_trips=ids(
            select(Trip.id)
            .join(Event, Event.id == Trip.event_id)
            .where(Trip.status == "confirmed", Event.starts_at <= now)
        ),
        to_charge=ids(
            select(Pledge.id).where(
                ((Pledge.status == "pledged") & Pledge.trip_id.in_(charged_trips))
                | ((Pledge.status == "charging") & claim_is_free(now))
            )
        ),
        to_refund=ids(
            select(Pledge.id).where(
                Pledge.status == "paid",
                Pledge.refund_requested_at.is_not(None),
                claim_is_free(now),
            )
        ),
        grace_expired=ids(
            select(Pledge.id).where(
                Pledge.status == "action_required", Pledge.grace_expires_at <= now
            )
        ),
        card_retries=ids(
            select(Pledge.id).where(
                Pledge.status == "action_required",
                Pledge.card_retry_at <= now,
                Pledge.grace_expires_at > now,
            )
        ),
        card_reminders=ids(
            select(Pledge.id).where(
                Pledge.status == "action_required",
                Pledge.card_reminded_at.is_(None),
                Pledge.grace_expires_at > now,
                Pledge.grace_expires_at <= now + REMINDER_BEFORE,
            )
        ),
        to_pay=payouts_to_pay(session, now=now),
    )


def pledges_to_charge(session: Session, trip_id: str) -> list[str]:
    """The pledges of a confirmed trip still waiting for their charge."""
    return [p.id for p in pledges_of(session, trip_id, "pledged")]
