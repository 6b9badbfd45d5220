"""Pledging: taking seats, pledge state transitions, withdrawing and changing stop.

Capacity is protected by one atomic conditional UPDATE on the trip row
(`seats_pledged + n <= capacity`), never by reading and then writing, so it holds under any
concurrency on SQLite (one writer at a time) and PostgreSQL (row lock, re-checked predicate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached, undefer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.expression import ClauseElement

from widget_server.domain import sales
from widget_server.domain.audit import record, record_at_once
from widget_server.domain.errors import (
    Conflict,
    IllegalTransition,
    NotFound,
    SoldOut,
    ValidationFailed,
)
from widget_server.domain.limits import MAX_SEATS_PER_PLEDGE, pledge_seat_limit
from widget_server.domain.notify import queue_pledge_email, queue_pledge_received, unqueue_email
from widget_server.domain.referrals import referrer_for
from widget_server.domain.sales import SELLING_STATUSES, sale_closed
from widget_server.domain.text import fan_email_key
from widget_server.domain.waitlist import link_pledge, take_held_seats
from widget_server.domain.work import schedule
from widget_server.ids import new_id
from widget_server.models import Partner, Pledge, PledgeStatusChange, Stop, Trip
from widget_server.models.pledges import LIVE_STATUSES, boarding_lookup
from widget_server.models.types import utcnow
from widget_server.payments import CardDeclined, PaymentError, PaymentProvider, SavedCard
from widget_server.webhooks.outbox import emit, has_endpoints

# Re-exported: faces read the limit and the sale rules from here too.
__all__ = ["MAX_SEATS_PER_PLEDGE", "SELLING_STATUSES", "sale_closed"]

# Pledge statuses partners hear about by webhook (`pledge.<status>`).
NOTIFIED_STATUSES = ("canceled", "paid", "action_required", "dropped", "refunded")

# Which status may follow which (product spec, "Pledge lifecycle and money").
ALLOWED_TRANSITIONS = {
    None: {"pledged"},
    "pledged": {"charging", "canceled", "released"},
    "charging": {"paid", "action_required", "released", "dropped"},
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


class SeatLimitReached(Conflict):
    """The fan would hold more seats on the trip than the partner allows one fan."""

    title = "Seat limit reached"
    type = "seat-limit"


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
    # The referral code of the share link the fan came by (domain/referrals.py), if any.
    ref: str | None = None


# Built once: the queries of every pledge, with their values bound at execution (building a
# statement costs more CPU than running a cached one).
_TRIP_WITH_STOPS = (
    select(Trip)
    .options(joinedload(Trip.stops), undefer(Trip.smallest_waiting_party))
    .where(Trip.id == bindparam("trip_id"), Trip.partner_id == bindparam("partner_id"))
)


_INSERT_STATUS_CHANGE = insert(PledgeStatusChange.__table__)


def _insert_status_change(
    session: Session,
    pledge_id: str,
    from_status: str | None,
    to_status: str,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """One row of the pledge's status history, written at once (a Core INSERT: every pledge
    and every charge writes one or two, and the unit of work costs far more CPU)."""
    session.execute(
        _INSERT_STATUS_CHANGE,
        {
            "pledge_id": pledge_id,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason,
            "actor": actor,
            "created_at": now,
        },
    )


def get_trip(session: Session, partner: Partner, trip_id: str) -> Trip:
    """The partner's trip with its stops (one query), or NotFound."""
    trip = (
        session.scalars(_TRIP_WITH_STOPS, {"trip_id": trip_id, "partner_id": partner.id})
        .unique()
        .first()
    )
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
    changed = session.execute(
        update(Pledge)
        .where(Pledge.id == pledge.id, Pledge.status == from_status)
        .values(status=to_status, updated_at=now, **changes)
        .returning(has_endpoints(Pledge.partner_id))
        .execution_options(synchronize_session=False)
    ).first()
    if changed is None:
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
    _insert_status_change(session, pledge.id, from_status, to_status, actor, now, reason)
    record_at_once(
        session,
        pledge.partner_id,
        actor,
        f"pledge.{to_status}",
        "pledge",
        pledge.id,
        {"from": from_status, "reason": reason},
    )
    _updated(session, pledge, {"status": to_status, "updated_at": now, **changes})
    if to_status in NOTIFIED_STATUSES and changed.has_webhooks:
        emit(session, pledge.partner_id, f"pledge.{to_status}", pledge)
    return pledge


def _updated(session: Session, pledge: Pledge, values: dict) -> None:
    """The pledge as the UPDATE above left it: the values written, without reading the row back
    (SQL expressions among them are read back)."""
    if any(isinstance(value, ClauseElement) for value in values.values()):
        session.refresh(pledge)
        return
    for name, value in values.items():
        set_committed_value(pledge, name, value)


def ensure_can_sell(trip: Trip, seats: int, now: datetime, *, held: bool = False) -> None:
    """Raise unless the sale decision (domain.sales) lets a new fan pledge `seats` now (a cheap
    early check; the seat-taking UPDATE, whose predicate is the same rule, decides under
    concurrency). `held`: the seats are already held for this fan by a waitlist offer."""
    sales.decide(trip, now).ensure_sells(seats, held=held)


@dataclass(frozen=True)
class CardSetup:
    """One card to save with the provider, under its idempotency key."""

    pledge_id: str
    email: str
    name: str
    payment_method: str
    key: str
    # The fan's pledge attempt (the digest of its Idempotency-Key and request), when it came
    # with a key: the provider's records name the attempt, not the pledge id, which a re-run of
    # the attempt makes anew (the provider must see the very same request again).
    attempt: str | None = None

    @property
    def reference(self) -> str:
        return f"pledge-attempt-{self.attempt}" if self.attempt else self.pledge_id


@dataclass(frozen=True)
class PledgePlan:
    """A pledge checked against its trip, waiting for its card to be saved."""

    pledge_id: str
    partner_id: str
    trip_id: str
    request: PledgeRequest
    card: CardSetup
    # The fan's waitlist offer whose held seats this pledge takes (domain.waitlist).
    waitlist_offer: str | None = None
    # The pledge whose share link brought this fan (domain.referrals), if it applies.
    referred_by: str | None = None
    # The trip as checked, with its stops (kept here, so the session's identity map keeps it):
    # its price and min_riders change only while it is a draft, which takes no pledges.
    trip: Trip | None = field(default=None, repr=False, compare=False)
    # The partner's seat cap per fan, re-checked by record_pledge under the trip row lock.
    max_seats_per_fan: int = 0


def plan_pledge(
    session: Session,
    partner: Partner,
    trip_id: str,
    request: PledgeRequest,
    *,
    now: datetime | None = None,
    waitlist_offer: str | None = None,
    secret: str = "",
    attempt: str | None = None,
) -> PledgePlan:
    """Check the request against the trip (stop, seats, still selling, referral code) before
    any card is saved, and fix the new pledge's id and card key. `waitlist_offer`: the id of
    the fan's waitlist offer, whose held seats the pledge will take. `secret`: SECRET_KEY,
    which checks the request's referral code (a forged one is a 422 on `ref`). `attempt`: the
    digest of the fan's Idempotency-Key (`idempotency.Claim.attempt`), which keys the card's
    saving (`pledge-attempt-<digest>-setup`), so a retried attempt saves it once."""
    now = now or utcnow()
    fan = _fan_key(request.email)
    trip, fan_seats = _trip_for_plan(session, partner, trip_id, fan)
    if not any(stop.id == request.stop_id for stop in trip.stops):
        raise ValidationFailed.field("stop_id", "is not a stop of this trip")
    if not 1 <= request.seats <= MAX_SEATS_PER_PLEDGE:
        raise ValidationFailed.field("seats", f"must be from 1 to {MAX_SEATS_PER_PLEDGE}")
    referrer = (
        referrer_for(session, secret, trip, request.ref, fan_key=fan) if request.ref else None
    )
    _ensure_cap(partner.max_seats_per_fan, fan_seats, request.seats)
    ensure_can_sell(trip, request.seats, now, held=waitlist_offer is not None)
    pledge_id = new_id("plg")
    card = CardSetup(
        pledge_id,
        request.email,
        request.name,
        request.payment_method,
        f"pledge-attempt-{attempt}-setup" if attempt else f"pledge-{pledge_id}-setup",
        attempt,
    )
    referred_by = referrer.id if referrer else None
    return PledgePlan(
        pledge_id,
        partner.id,
        trip.id,
        request,
        card,
        waitlist_offer,
        referred_by,
        trip=trip,
        max_seats_per_fan=partner.max_seats_per_fan,
    )


def save_card(provider: PaymentProvider, card: CardSetup) -> SavedCard:
    """Save the card with the provider (no money moves). Call it with no transaction open:
    a refused card is a 422 on `payment_method`, an unreachable provider a 503."""
    try:
        return provider.save_card(
            reference=card.reference,
            email=card.email,
            name=card.name,
            payment_method=card.payment_method,
            key=card.key,
        )
    except CardDeclined as exc:
        raise CardRefused(exc.message, errors={"payment_method": [exc.message]}) from exc
    except PaymentError as exc:
        raise PaymentsUnavailable(
            "we could not reach the payment provider; nothing was saved, please try again"
        ) from exc


def record_pledge(
    session: Session,
    plan: PledgePlan,
    card: SavedCard,
    *,
    actor: str = "fan",
    now: datetime | None = None,
) -> Pledge:
    """Take the seats and record the pledge whose card is saved; tip the trip at its
    threshold. On a trip that is already confirmed the pledge's charge job is queued.

    If the seats are gone since `plan_pledge`, the fan gets SoldOut and no money moved (the
    saved card is simply unused): no seat is ever held during a call to the provider.

    The hot write path, so its rows are written by Core INSERTs (the same rows the unit of work
    would write, at a fraction of the CPU) and the trip is not read again: its price, currency
    and stops are the plan's (they change only while it is a draft), and what other
    transactions change (seats, status, deadline) comes back from the seat-taking UPDATE.
    """
    now = now or utcnow()
    request, trip = plan.request, plan.trip
    fan = _fan_key(request.email)
    pledge = _insert_pledge(session, plan, card, fan, actor, now)
    record_at_once(
        session,
        plan.partner_id,
        actor,
        "pledge.created",
        "pledge",
        pledge.id,
        {"seats": pledge.seats, "referred_by": pledge.referred_by},
    )
    # On a trip that is open when planned (the hot path: written before the seat lock).
    received = queue_pledge_received(session, pledge, trip.status)
    # The seats last: every pledge of a trip waits for this row lock until the one holding it
    # commits, so as little as possible happens between taking it and the commit (on a busy
    # trip the time the lock is held is what bounds pledges per second). If the seats are gone,
    # SoldOut rolls all of the above back. emit() comes after it so that every path locks the
    # trip row before the endpoint rows (no deadlock).
    if plan.waitlist_offer is not None:
        # A waitlist offer's held seats become this pledge's (the offer is claimed with them).
        locked = take_held_seats(session, trip, plan.waitlist_offer, now, _LOCKED_TRIP)
        # The same re-check as `_take_seats`, on the row as this transaction locked it: a
        # partner canceling (or the deadline passing) while the card was saved rolls it all
        # back, the "pledge received" email with it.
        _ensure_still_selling(locked, now)
        link_pledge(session, plan.waitlist_offer, pledge.id)
    else:
        locked = _take_seats(session, trip, request.seats, now)
    # Again now that this transaction holds the trip row: a pledge of the same fan racing this
    # one has committed by now (or waits for us), so the cap holds under concurrency too.
    ensure_within_cap(session, plan.max_seats_per_fan, trip, fan, request.seats, pledge.id)
    if locked.has_webhooks:  # partners without webhooks skip emit() and its endpoint locks
        emit(session, plan.partner_id, "pledge.created", pledge)
    tipped = False
    if locked.status == "open" and locked.seats_pledged >= locked.min_riders:
        tipped = confirm_trip(session, trip, now=now)
    elif locked.status == "confirmed":
        schedule(session, "charge_pledge", pledge.id)
    if received is not None and (tipped or locked.status != "open"):
        # The trip confirmed with this pledge (or just before it): it is charged now, and the
        # charge's email is the fan's one email. Rare, so it may cost a statement under the lock.
        unqueue_email(session, received)
    return pledge


# The new pledge's row comes back from its INSERT (RETURNING every column), column defaults
# and server defaults included, so the object built from it has nothing left to load.
_INSERT_PLEDGE = insert(Pledge.__table__).returning(*Pledge.__table__.columns)


def _insert_pledge(
    session: Session, plan: PledgePlan, card: SavedCard, fan: str, actor: str, now: datetime
) -> Pledge:
    """Write the new pledge and its first status change (Core INSERTs), and return the pledge
    as a persistent object of the session, as if it had been loaded (no query): its trip is
    the plan's, its other relationships load when read. Only the columns with a value are
    written: every other column gets its default, never an explicit NULL."""
    request, trip = plan.request, plan.trip
    values = dict(
        id=plan.pledge_id,
        partner_id=plan.partner_id,
        trip_id=trip.id,
        stop_id=request.stop_id,
        seats=request.seats,
        unit_amount=trip.unit_amount,
        amount=trip.unit_amount * request.seats,
        currency=trip.currency,
        name=request.name,
        email=request.email,
        email_key=fan,
        phone=request.phone,
        locale=request.locale,
        status="pledged",
        attribution=request.attribution,
        referred_by=plan.referred_by,
        payment_method_ref=card.payment_method_ref,
        payment_customer_ref=card.customer_ref,
        payment_setup_ref=card.setup_ref,
        charge_attempts=0,
        provider_failures=0,
        boarding_ref=boarding_lookup(trip.id, plan.pledge_id),
        boarding_code_legacy=False,
        created_at=now,
        updated_at=utcnow(),
    )
    row = session.execute(
        _INSERT_PLEDGE, {key: value for key, value in values.items() if value is not None}
    ).one()
    _insert_status_change(session, plan.pledge_id, None, "pledged", actor, now)
    pledge = Pledge(**row._asdict())
    set_committed_value(pledge, "trip", trip)
    make_transient_to_detached(pledge)
    session.add(pledge)
    return pledge


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
    secret: str = "",
) -> Pledge:
    """plan_pledge, save_card and record_pledge in the caller's one session: for seeding
    (the demo) and tests. Requests use `placing.place_pledge`, which saves the card
    between two transactions so that no transaction is open during the provider call."""
    plan = plan_pledge(
        session, partner, trip_id, request, now=now, waitlist_offer=waitlist_offer, secret=secret
    )
    card = save_card(provider, plan.card)
    return record_pledge(session, plan, card, actor=actor, now=now)


def _fan_key(email: str) -> str:
    """The fan a pledge belongs to for the seat cap (`text.fan_email_key`: fan+1@x is fan@x)."""
    try:
        return fan_email_key(email)
    except ValueError as exc:
        raise ValidationFailed.field("email", str(exc)) from None


_PLEDGES = Pledge.__table__.c


def _seats_of_fan(trip_id):
    """SQL: the seats of the fan `:fan_key` on the trip `trip_id` in live pledges."""
    return select(func.coalesce(func.sum(_PLEDGES.seats), 0)).where(
        _PLEDGES.trip_id == trip_id,
        _PLEDGES.email_key == bindparam("fan_key"),
        _PLEDGES.status.in_(LIVE_STATUSES),
    )


_SEATS_HELD_BY_FAN = _seats_of_fan(bindparam("trip_id")).where(_PLEDGES.id != bindparam("besides"))
# The trip to plan a pledge on, with its stops and the seats the fan holds on it already: one
# query for what `get_trip` and `seats_held_by_fan` read (the cap is checked again, under the
# trip's row lock, when the pledge is recorded).
_TRIP_FOR_PLAN = _TRIP_WITH_STOPS.add_columns(_seats_of_fan(Trip.id).scalar_subquery())


def _trip_for_plan(
    session: Session, partner: Partner, trip_id: str, fan_key: str
) -> tuple[Trip, int]:
    """The partner's trip with its stops, and the seats the fan holds on it; or NotFound."""
    row = (
        session.execute(
            _TRIP_FOR_PLAN, {"trip_id": trip_id, "partner_id": partner.id, "fan_key": fan_key}
        )
        .unique()
        .first()
    )
    if row is None:
        raise NotFound(f"no trip {trip_id}")
    return row[0], int(row[1])


def seats_held_by_fan(
    session: Session, trip: Trip, fan_key: str, besides: str | None = None
) -> int:
    """Seats the fan (an `email_key`) holds on `trip` through live pledges (other than the
    pledge `besides`, the one being recorded). A Core query, built once: it runs twice per
    pledge."""
    held = session.scalar(
        _SEATS_HELD_BY_FAN, {"trip_id": trip.id, "fan_key": fan_key, "besides": besides or ""}
    )
    return int(held or 0)


def ensure_within_cap(
    session: Session,
    cap: int,
    trip: Trip,
    fan_key: str,
    seats: int,
    besides: str | None = None,
) -> None:
    """Raise SeatLimitReached if `seats` more would put the fan over `cap` seats on the trip."""
    _ensure_cap(cap, seats_held_by_fan(session, trip, fan_key, besides), seats)


def _ensure_cap(cap: int, held: int, seats: int) -> None:
    left = pledge_seat_limit(cap, held)  # the one seat limit (domain/limits.py)
    if seats > left:
        raise SeatLimitReached(
            f"one fan may hold at most {cap} seat(s) on this trip; this email already holds "
            f"{held}, so {left} more at most",
            errors={"seats": [f"at most {left} more seat(s) for this email on this trip"]},
        )


# What record_pledge needs of the trip row as the seat-taking UPDATE locked it: what other
# transactions change (seats, status, deadline), the first stop's departure, and whether the
# partner has an enabled webhook endpoint (read here, in the statement that takes the lock,
# instead of by a query of its own; emit() then picks the endpoints that take the event).
_LOCKED_TRIP = (
    Trip.seats_pledged,
    Trip.seats_held,
    Trip.status,
    Trip.min_riders,
    Trip.pledge_deadline,
    select(Stop.departs_at)
    .where(Stop.trip_id == Trip.id)
    .order_by(Stop.position)
    .limit(1)
    .scalar_subquery()
    .label("departs_at"),
    has_endpoints(Trip.partner_id),
)


# Add seats to the trip if the sale decision's rule puts them on sale (domain.sales: free
# beside the seats held for offers, no party in line that fits them, the trip still sells);
# returns the row as locked.
_TAKE_SEATS = (
    update(Trip)
    .where(Trip.id == bindparam("trip_id"), sales.seats_on_sale_sql(bindparam("seats")))
    .values(seats_pledged=Trip.seats_pledged + bindparam("seats"), updated_at=bindparam("now"))
    .returning(*_LOCKED_TRIP)
    .execution_options(synchronize_session=False)
)


def _take_seats(session: Session, trip: Trip, seats: int, now: datetime) -> Row:
    """Atomically add `seats` to the trip (`_TAKE_SEATS`); returns the trip row as locked
    (`_LOCKED_TRIP`), or raises why not (SoldOut, or the sale closed)."""
    row = session.execute(_TAKE_SEATS, {"trip_id": trip.id, "seats": seats, "now": now}).first()
    if row is None:
        session.expire(trip)
        ensure_can_sell(trip, seats, now)  # explains why: closed, seats gone, or the line's
        raise SoldOut("this trip is sold out")  # changed again since: no seat is on sale
    # A deadline or departure passed since the plan: the seats just taken roll back with it.
    _ensure_still_selling(row, now)
    # The row as this transaction locked it, without reading it again while holding the lock.
    for name in ("seats_pledged", "seats_held", "status", "min_riders", "pledge_deadline"):
        set_committed_value(trip, name, getattr(row, name))
    set_committed_value(trip, "updated_at", now)
    return row


def _ensure_still_selling(locked: Row, now: datetime) -> None:
    """Raise unless the trip row as locked (`_LOCKED_TRIP`) still sells at `now`."""
    sales.ensure_open(locked.status, locked.pledge_deadline, locked.departs_at, now)


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
