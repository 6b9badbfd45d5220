"""What a fan may change on a live pledge: withdraw it before the trip confirms, move it to
another stop before departure, change its seats before the trip confirms (re-priced by the one
rule). Every face asks `can_withdraw` / `can_change_stop` / `can_change_seats`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from widget_server.domain.audit import record
from widget_server.domain.errors import (
    IllegalTransition,
    ValidationFailed,
)
from widget_server.domain.limits import MAX_SEATS_PER_PLEDGE
from widget_server.domain.notify import queue_pledge_email
from widget_server.domain.pledges.planning import fan_key_of
from widget_server.domain.pledges.sales import SELLING_STATUSES, sale_closed
from widget_server.domain.pledges.seat_taking import (
    ensure_can_sell,
    ensure_within_cap,
    give_back_seats,
    take_seats,
)
from widget_server.domain.pledges.transitions import transition
from widget_server.domain.pledges.trip_outcomes import confirm_trip
from widget_server.domain.pricing import PriceBreakdown, price_pledge
from widget_server.domain.pricing.add_ons import locked_add_on_lines
from widget_server.domain.pricing.promos import locked_terms
from widget_server.models import Partner, Pledge, Trip
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


def can_change_seats(pledge: Pledge, now: datetime | None = None) -> bool:
    """Whether the fan may change the number of seats of this pledge now: the window of a
    withdrawal (a `pledged` pledge, nothing charged, on a trip still `open`), while the trip
    still sells (before its pledge deadline and departure). Once the trip confirms, the pledge
    is charged its locked amount; changing it then would need a second charge or a partial
    refund, which the product does not do. More seats are a sale, so not after the cutoff.
    Every face asks this; `change_seats` re-checks the trip under its row lock."""
    trip = pledge.trip
    return (
        pledge.status == "pledged"
        and trip.status == "open"
        and sale_closed(trip, now or utcnow()) is None
    )


def repriced(session: Session, pledge: Pledge, seats: int, now: datetime) -> PriceBreakdown:
    """The pledge's price for `seats` seats by the one rule (`pricing.price_pledge`) with what
    it locked when it was made: its price per seat (an early-bird price stays), its promo code
    (applied per seat; no new use is taken) and its extras (as bought). Only the group tier
    follows the new seats (the trip's tiers now): what a fresh quote with those inputs gives."""
    return price_pledge(
        pledge.trip,
        seats,
        now,
        locked_terms(session, pledge),
        locked_add_on_lines(pledge),
        locked_unit_amount=pledge.unit_amount,
    )


def _check_seats_change(session: Session, pledge: Pledge, seats: int, now: datetime) -> None:
    """Raise unless `seats` are allowed (1 to the per-pledge limit, 422) on a pledge that may
    change its seats now (409); more seats must be on sale now (409 sold-out) and within the
    fan's cap (409 seat-limit). The cheap early checks of a new pledge: `change_seats` decides
    under the trip's row lock."""
    if not 1 <= seats <= MAX_SEATS_PER_PLEDGE:
        raise ValidationFailed.field("seats", f"must be from 1 to {MAX_SEATS_PER_PLEDGE}")
    if not can_change_seats(pledge, now):
        raise IllegalTransition(f"the seats of this {pledge.status} pledge cannot change now")
    more = seats - pledge.seats
    if more > 0:
        ensure_can_sell(pledge.trip, more, now)
        _ensure_fan_may_add(session, pledge, more)


def _ensure_fan_may_add(session: Session, pledge: Pledge, more: int) -> None:
    """The partner's per-fan cap, counting the seats the fan holds already (this pledge's too)."""
    cap = session.get(Partner, pledge.partner_id).max_seats_per_fan
    ensure_within_cap(session, cap, pledge.trip, fan_key_of(pledge.email), more)


def preview_seats_change(
    session: Session, pledge: Pledge, seats: int, *, now: datetime | None = None
) -> PriceBreakdown:
    """The pledge's new price with `seats` seats, saving nothing: what `change_seats` then
    stores (barring another fan taking the seats meanwhile). Raises what it would raise."""
    now = now or utcnow()
    _check_seats_change(session, pledge, seats, now)
    return repriced(session, pledge, seats, now)


def change_seats(
    session: Session, pledge: Pledge, seats: int, *, actor: str = "fan", now=None
) -> Pledge:
    """Change the seats of a pledge before its trip confirms (`can_change_seats`), re-priced by
    `repriced`. More seats are taken as a new pledge takes them (the seat-taking UPDATE: never
    past capacity, the waitlist first; SoldOut otherwise, and nothing changes), and may tip
    the trip at its threshold; fewer are given back and offered to the waitlist as a
    withdrawal's are. The pledge's stored price (amount, discount, breakdown) is the new one,
    which is what the charge takes. Audited as `pledge.seats_changed`."""
    if seats == pledge.seats:
        return pledge  # nothing to change (a PATCH moving the stop may repeat the seats)
    now = now or utcnow()
    _check_seats_change(session, pledge, seats, now)
    before = {"seats": pledge.seats, "amount": pledge.amount}
    trip = pledge.trip
    more = seats - pledge.seats
    if more > 0:
        locked = take_seats(session, trip, more, now)
        if locked.status == "open":  # held under the row lock: the cap as a new pledge's
            _ensure_fan_may_add(session, pledge, more)
    else:
        locked = give_back_seats(session, trip, -more, now, only_if_open=True)
    if locked is None or locked.status != "open":  # confirmed meanwhile: rolled back
        raise IllegalTransition("the trip is confirmed; the seats can no longer change")
    price = repriced(session, pledge, seats, now)
    _store_price(session, pledge, price, now)
    record(
        session,
        pledge.partner_id,
        actor,
        "pledge.seats_changed",
        "pledge",
        pledge.id,
        {"from": before, "to": {"seats": seats, "amount": price.amount}},
    )
    if locked.seats_pledged >= locked.min_riders:
        confirm_trip(session, trip, now=now)  # the pledge is charged its new amount
    return pledge


def _store_price(session: Session, pledge: Pledge, price: PriceBreakdown, now: datetime) -> None:
    """Write the pledge's new seats and price if it is still `pledged` (a partner canceling it
    at this moment wins: IllegalTransition, and the seats taken roll back)."""
    values = {
        "seats": price.seats,
        "discount_amount": price.discount_amount,
        "amount": price.amount,
        "price_breakdown": price.as_json(),
        "updated_at": now,
    }
    changed = session.execute(
        update(Pledge)
        .where(Pledge.id == pledge.id, Pledge.status == "pledged")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        session.refresh(pledge)
        raise IllegalTransition(f"the pledge changed meanwhile; it is now {pledge.status}")
    for name, value in values.items():
        set_committed_value(pledge, name, value)
