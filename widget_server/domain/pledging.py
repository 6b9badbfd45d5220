"""Pledging: taking seats, pledge state transitions, withdrawing and changing stop.

Capacity is protected by one atomic conditional UPDATE on the trip row
(`seats_pledged + n <= capacity`), never by reading and then writing, so it holds under any
concurrency on SQLite (one writer at a time) and PostgreSQL (row lock, re-checked predicate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import (
    Conflict,
    IllegalTransition,
    NotFound,
    SoldOut,
    ValidationFailed,
)
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.work import schedule
from widget_server.ids import new_id
from widget_server.models import Partner, Pledge, PledgeStatusChange, Trip
from widget_server.models.pledges import LIVE_STATUSES
from widget_server.models.types import utcnow
from widget_server.payments import CardDeclined, PaymentError, PaymentProvider
from widget_server.webhooks.outbox import emit

# Pledge statuses partners hear about by webhook (`pledge.<status>`).
NOTIFIED_STATUSES = ("canceled", "paid", "action_required", "dropped", "refunded")

MAX_SEATS_PER_PLEDGE = 10

# Which status may follow which (product spec, "Pledge lifecycle and money").
ALLOWED_TRANSITIONS = {
    None: {"pledged"},
    "pledged": {"charging", "canceled", "released"},
    "charging": {"paid", "action_required", "released"},
    "action_required": {"charging", "dropped", "released", "canceled"},
    "paid": {"refunded"},
    "dropped": set(),
    "canceled": set(),
    "released": set(),
    "refunded": set(),
}


class PaymentsUnavailable(Conflict):
    status = 503
    title = "Payments unavailable"
    type = "payments-unavailable"


class CardRefused(ValidationFailed):
    title = "Card declined"
    type = "card-declined"


@dataclass
class PledgeRequest:
    stop_id: str
    seats: int
    name: str
    email: str
    payment_method: str
    phone: str | None = None
    locale: str = "en"
    attribution: dict = field(default_factory=dict)


def get_trip(session: Session, partner: Partner, trip_id: str) -> Trip:
    trip = session.scalar(select(Trip).where(Trip.id == trip_id, Trip.partner_id == partner.id))
    if trip is None:
        raise NotFound(f"no trip {trip_id}")
    return trip


def transition(
    session: Session,
    pledge: Pledge,
    to_status: str,
    *,
    actor: str,
    reason: str | None = None,
    **changes,
) -> Pledge:
    """Move `pledge` to `to_status` if nobody moved it first; frees its seats when it stops
    being live; records history and audit. Raises IllegalTransition otherwise."""
    from_status = pledge.status
    if to_status not in ALLOWED_TRANSITIONS[from_status]:
        raise IllegalTransition(f"a {from_status} pledge cannot become {to_status}")
    now = utcnow()
    result = session.execute(
        update(Pledge)
        .where(Pledge.id == pledge.id, Pledge.status == from_status)
        .values(status=to_status, updated_at=now, **changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(pledge)
        raise IllegalTransition(f"the pledge changed meanwhile; it is now {pledge.status}")
    if from_status in LIVE_STATUSES and to_status not in LIVE_STATUSES:
        session.execute(
            update(Trip)
            .where(Trip.id == pledge.trip_id)
            .values(seats_pledged=Trip.seats_pledged - pledge.seats, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        session.expire(pledge.trip)
        # Freed seats go to the waitlist first (domain.waitlist), after this commits.
        schedule(session, "refresh_waitlist", pledge.trip_id)
    session.add(
        PledgeStatusChange(
            pledge_id=pledge.id,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            actor=actor,
            created_at=now,
        )
    )
    record(
        session,
        pledge.partner_id,
        actor,
        f"pledge.{to_status}",
        "pledge",
        pledge.id,
        {"from": from_status, "reason": reason},
    )
    session.flush()
    session.refresh(pledge)
    if to_status in NOTIFIED_STATUSES:
        emit(session, pledge.partner_id, f"pledge.{to_status}", pledge)
    return pledge


def ensure_can_sell(trip: Trip, seats: int, now: datetime, *, held: bool = False) -> None:
    """Raise unless the trip takes pledges now and has `seats` free (a cheap early check; the
    seat-taking UPDATE is what decides under concurrency). `held`: the seats are already held
    for this fan by a waitlist offer."""
    if trip.status == "open" and trip.pledge_deadline <= now:
        raise Conflict("the pledge deadline for this trip has passed")
    if trip.status == "confirmed" and trip.departs_at and trip.departs_at <= now:
        raise Conflict("this trip has departed")
    if trip.status not in ("open", "confirmed"):
        raise Conflict(f"this trip is {trip.status} and takes no pledges")
    if not held and trip.seats_remaining < seats:
        raise SoldOut(_sold_out_detail(trip.seats_remaining, seats))


def _sold_out_detail(remaining: int, seats: int) -> str:
    if remaining <= 0:
        return "this trip is sold out"
    return f"only {remaining} seat(s) left; you asked for {seats}"


def create_pledge(
    session: Session,
    provider: PaymentProvider,
    partner: Partner,
    trip_id: str,
    request: PledgeRequest,
    *,
    actor: str = "fan",
    now: datetime | None = None,
    waitlist_offer: str | None = None,
) -> Pledge:
    """Save the fan's card, take the seats, record the pledge; tip the trip at its threshold.

    The card is saved before the seats are taken so that no seat is held during a call to the
    payment provider; if the seats are gone by then, the fan gets SoldOut and no money moved.
    `waitlist_offer`: the id of the fan's waitlist offer, whose held seats this pledge takes.
    """
    now = now or utcnow()
    trip = get_trip(session, partner, trip_id)
    stop = next((stop for stop in trip.stops if stop.id == request.stop_id), None)
    if stop is None:
        raise ValidationFailed.field("stop_id", "is not a stop of this trip")
    if not 1 <= request.seats <= MAX_SEATS_PER_PLEDGE:
        raise ValidationFailed.field("seats", f"must be from 1 to {MAX_SEATS_PER_PLEDGE}")
    ensure_can_sell(trip, request.seats, now, held=waitlist_offer is not None)

    pledge_id = new_id("plg")
    try:
        card = provider.save_card(
            pledge_id=pledge_id,
            email=request.email,
            name=request.name,
            payment_method=request.payment_method,
            key=f"pledge-{pledge_id}-setup",
        )
    except CardDeclined as exc:
        raise CardRefused(exc.message, errors={"payment_method": [exc.message]}) from exc
    except PaymentError as exc:
        raise PaymentsUnavailable(
            "we could not reach the payment provider; nothing was saved, please try again"
        ) from exc

    if waitlist_offer is not None:
        from widget_server.domain.waitlist import take_held_seats

        seats_now, trip_status = take_held_seats(session, trip, waitlist_offer, now)
    else:
        seats_now, trip_status = _take_seats(session, trip, request.seats, now)
    pledge = Pledge(
        id=pledge_id,
        partner_id=partner.id,
        trip_id=trip.id,
        stop_id=stop.id,
        seats=request.seats,
        unit_amount=trip.unit_amount,
        amount=trip.unit_amount * request.seats,
        currency=trip.currency,
        name=request.name,
        email=request.email,
        phone=request.phone,
        locale=request.locale,
        status="pledged",
        attribution=request.attribution,
        payment_method_ref=card.payment_method_ref,
        payment_customer_ref=card.customer_ref,
        payment_setup_ref=card.setup_ref,
        charge_attempts=0,
        created_at=now,
    )
    session.add(pledge)
    session.add(PledgeStatusChange(pledge=pledge, to_status="pledged", actor=actor, created_at=now))
    session.flush()
    if waitlist_offer is not None:
        from widget_server.domain.waitlist import link_pledge

        link_pledge(session, waitlist_offer, pledge.id)
    record(
        session, partner.id, actor, "pledge.created", "pledge", pledge.id, {"seats": pledge.seats}
    )
    queue_pledge_email(session, pledge, "pledge_received")
    emit(session, partner.id, "pledge.created", pledge)
    if trip_status == "open" and seats_now >= trip.min_riders:
        confirm_trip(session, trip, now=now)
    elif trip_status == "confirmed":
        schedule(session, "charge_pledge", pledge.id)
    return pledge


def _take_seats(session: Session, trip: Trip, seats: int, now: datetime) -> tuple[int, str]:
    """Atomically add `seats` to the trip if they fit beside the seats held for waitlist
    offers, and nobody waits in line for them; returns (seats_pledged, status)."""
    from widget_server.domain.waitlist import waiting_exists

    row = session.execute(
        update(Trip)
        .where(
            Trip.id == trip.id,
            Trip.seats_pledged + Trip.seats_held + seats <= Trip.capacity,
            ~waiting_exists(Trip.id),
            or_(
                Trip.status == "confirmed",
                (Trip.status == "open") & (Trip.pledge_deadline > now),
            ),
        )
        .values(seats_pledged=Trip.seats_pledged + seats, updated_at=now)
        .returning(Trip.seats_pledged, Trip.status)
        .execution_options(synchronize_session=False)
    ).first()
    session.expire(trip)
    if row is None:
        ensure_can_sell(trip, seats, now)  # explains why: closed, deadline, or seats gone
        raise SoldOut(_sold_out_detail(0, seats))  # the seats left are for the waitlist
    return row.seats_pledged, row.status


def confirm_trip(session: Session, trip: Trip, *, now: datetime) -> bool:
    """open -> confirmed, once: the pledge that reaches min_riders tips it and every pledge on
    it gets charged by jobs. Returns False if it was not open (someone else tipped it)."""
    result = session.execute(
        update(Trip)
        .where(Trip.id == trip.id, Trip.status == "open", Trip.seats_pledged >= Trip.min_riders)
        .values(status="confirmed", confirmed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire(trip)
    if result.rowcount != 1:
        return False
    record(session, trip.partner_id, "system", "trip.confirmed", "trip", trip.id)
    emit(session, trip.partner_id, "trip.confirmed", trip)
    schedule(session, "charge_trip", trip.id)
    return True


def withdraw_pledge(session: Session, pledge: Pledge, *, actor: str = "fan") -> Pledge:
    """The fan takes back a pledge before the trip confirms; nothing was charged."""
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


def change_stop(
    session: Session, pledge: Pledge, stop_id: str, *, actor: str = "fan", now=None
) -> Pledge:
    """Move a live pledge to another stop of its trip before departure."""
    now = now or utcnow()
    if pledge.status not in LIVE_STATUSES:
        raise IllegalTransition(f"a {pledge.status} pledge cannot change stop")
    trip = pledge.trip
    if trip.status not in ("open", "confirmed"):
        raise IllegalTransition(f"the trip is {trip.status}")
    stop = next((stop for stop in trip.stops if stop.id == stop_id), None)
    if stop is None:
        raise ValidationFailed.field("stop_id", "is not a stop of this trip")
    if trip.departs_at and trip.departs_at <= now:
        raise IllegalTransition("the trip has departed")
    if stop.id != pledge.stop_id:
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
