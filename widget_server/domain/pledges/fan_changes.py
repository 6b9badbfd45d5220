"""What a fan may change on a live pledge: withdraw it before the trip confirms, move it to
another stop before departure. Every face asks `can_withdraw` / `can_change_stop`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import (
    IllegalTransition,
    ValidationFailed,
)
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.pledges.sales import SELLING_STATUSES
from widget_server.domain.pledges.transitions import transition
from widget_server.models import Pledge, Trip
from widget_server.models.pledges import LIVE_STATUSES
from widget_server.models.types import utcnow


def can_withdraw(pledge: Pledge) -> bool:
    """Whether the fan may take the pledge back now: a `pledged` pledge (nothing charged) on a
    trip still `open` (not confirmed). Every face asks this; `withdraw_pledge` re-checks the
    trip's status under its row lock."""
    return pledge.status == "pledged" and pledge.trip.status == "open"


def withdraw_pledge(session: Session, pledge: Pledge, *, actor: str = "fan") -> Pledge:
    """The fan takes back a pledge before the trip confirms (`can_withdraw`); nothing was
    charged."""
    if pledge.status != "pledged":
        raise IllegalTransition(f"a {pledge.status} pledge cannot be withdrawn")
    # Holding the trip row (status still open) keeps the trip from confirming meanwhile.
    held = session.execute(
        update(Trip)
        .where(Trip.id == pledge.trip_id, Trip.status == "open")
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if held.rowcount != 1:
        raise IllegalTransition("the trip is confirmed; pledges can no longer be withdrawn")
    transition(session, pledge, "canceled", actor=actor, reason="withdrawn by the fan")
    queue_pledge_email(session, pledge, "pledge_canceled")
    return pledge


def can_change_stop(pledge: Pledge, now: datetime | None = None) -> bool:
    """Whether the fan may move this pledge to another stop now: a live pledge on a trip that
    still runs and has not departed, with another stop to move to. Every face asks this."""
    now = now or utcnow()
    trip = pledge.trip
    return (
        pledge.status in LIVE_STATUSES
        and trip.status in SELLING_STATUSES
        and not (trip.departs_at and trip.departs_at <= now)
        and len(trip.stops) > 1
    )


def change_stop(
    session: Session, pledge: Pledge, stop_id: str, *, actor: str = "fan", now=None
) -> Pledge:
    """Move a live pledge to another stop of its trip before departure."""
    now = now or utcnow()
    trip = pledge.trip
    stop = next((stop for stop in trip.stops if stop.id == stop_id), None)
    if stop is None:
        raise ValidationFailed.field("stop_id", "is not a stop of this trip")
    if stop.id == pledge.stop_id:
        return pledge  # nothing to change
    if not can_change_stop(pledge, now):
        raise IllegalTransition(f"this {pledge.status} pledge cannot change stop now")
    previous = pledge.stop_id
    pledge.stop_id = stop.id
    session.flush()
    record(
        session,
        pledge.partner_id,
        actor,
        "pledge.stop_changed",
        "pledge",
        pledge.id,
        {"from": previous, "to": stop.id},
    )
    return pledge
