"""Planning a pledge: the fan's request checked against its trip before any card is saved,
and saving the card (outside any transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, undefer

from widget_server.domain.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from widget_server.domain.limits import MAX_SEATS_PER_PLEDGE
from widget_server.domain.pledges.seat_taking import ensure_can_sell, ensure_cap, seats_of_fan
from widget_server.domain.pricing import AddOnLine, PriceBreakdown, price_pledge
from widget_server.domain.pricing.add_ons import add_on_lines
from widget_server.domain.pricing.promos import usable_promo
from widget_server.domain.referrals import referrer_for
from widget_server.domain.text import fan_email_key
from widget_server.ids import new_id
from widget_server.models import Partner, Trip
from widget_server.models.types import utcnow
from widget_server.payments import CardDeclined, PaymentError, PaymentProvider, SavedCard


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
    # The referral code of the share link the fan came by (domain/referrals.py), if any.
    ref: str | None = None
    # The promo code the fan typed (domain/pricing/promos.py), if any.
    promo_code: str | None = None
    # The fan's extras, `{add-on id: quantity}`: priced by the same rule as the seats
    # (domain/pricing/add_ons.py:add_on_lines makes them `AddOnLine`s).
    add_ons: dict[str, int] = field(default_factory=dict)


# Built once: the queries of every pledge, with their values bound at execution (building a
# statement costs more CPU than running a cached one).
_TRIP_WITH_STOPS = (
    select(Trip)
    .options(joinedload(Trip.stops), joinedload(Trip.event), undefer(Trip.smallest_waiting_party))
    .where(Trip.id == bindparam("trip_id"), Trip.partner_id == bindparam("partner_id"))
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
    # The fan's waitlist offer whose held seats this pledge takes (domain.pledges.waitlist).
    waitlist_offer: str | None = None
    # The pledge whose share link brought this fan (domain.referrals), if it applies.
    referred_by: str | None = None
    # The trip as checked, with its stops (kept here, so the session's identity map keeps it):
    # its price and min_riders change only while it is a draft, which takes no pledges.
    trip: Trip | None = field(default=None, repr=False, compare=False)
    # The partner's seat cap per fan, re-checked by record_pledge under the trip row lock.
    max_seats_per_fan: int = 0
    # The price the fan was shown, locked on the pledge (its promo code's use is taken when
    # the pledge is recorded).
    price: PriceBreakdown | None = None


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
    fan = fan_key_of(request.email)
    trip, fan_seats = _trip_for_plan(session, partner, trip_id, fan)
    if not any(stop.id == request.stop_id for stop in trip.stops):
        raise ValidationFailed.field("stop_id", "is not a stop of this trip")
    if not 1 <= request.seats <= MAX_SEATS_PER_PLEDGE:
        raise ValidationFailed.field("seats", f"must be from 1 to {MAX_SEATS_PER_PLEDGE}")
    referrer = (
        referrer_for(session, secret, trip, request.ref, fan_key=fan) if request.ref else None
    )
    ensure_cap(partner.max_seats_per_fan, fan_seats, request.seats)
    ensure_can_sell(trip, request.seats, now, held=waitlist_offer is not None)
    add_ons = add_on_lines(trip, request.add_ons) if request.add_ons else ()
    price = quote(session, partner.id, trip, request.seats, now, request.promo_code, fan, add_ons)
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
        price=price,
    )


def quote(
    session: Session,
    partner_id: str,
    trip: Trip,
    seats: int,
    at: datetime,
    promo_code: str | None = None,
    fan_key: str | None = None,
    add_ons: tuple[AddOnLine, ...] = (),
) -> PriceBreakdown:
    """What `seats` seats on the trip cost a fan pledging at `at` with `promo_code` (checked:
    PromoCodeUnusable, a 422 naming `promo_code`, when it cannot be used; the fan's own limit
    only when `fan_key` is known): the price the widget shows and the pledge locks."""
    promo = usable_promo(session, partner_id, promo_code, trip, at, fan_key) if promo_code else None
    return price_pledge(trip, seats, at, promo, add_ons)


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


def fan_key_of(email: str) -> str:
    """The fan a pledge belongs to for the seat cap (`text.fan_email_key`: fan+1@x is fan@x)."""
    try:
        return fan_email_key(email)
    except ValueError as exc:
        raise ValidationFailed.field("email", str(exc)) from None


# The trip to plan a pledge on, with its stops and the seats the fan holds on it already: one
# query for what `get_trip` and `seats_held_by_fan` read (the cap is checked again, under the
# trip's row lock, when the pledge is recorded).
_TRIP_FOR_PLAN = _TRIP_WITH_STOPS.add_columns(seats_of_fan(Trip.id).scalar_subquery())


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
