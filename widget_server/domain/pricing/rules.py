"""The one pricing rule: what a pledge costs, in integer minor units.

Every face (widget, no-JS form, emails, manage page, public pages, console, manifest, API,
webhooks) and the charge read the amounts `price_pledge` returns, or the copy of them a
pledge locked when it was made (`Pledge.unit_amount`, `discount_amount`, `promo_code`,
`amount`, `price_breakdown`).

The rule, in order (all integers; no floats anywhere):

1. Unit price: the trip's `unit_amount`, or the last of its `price_steps` whose `starts_at`
   is at or before the moment of pledging (`unit_amount_at`).
2. Subtotal: unit price x seats.
3. Group tier: the tier with the most `min_seats` not above the seats (the trip's tiers, or
   its event's when the trip sets none) takes `percent_off` of the subtotal.
4. Promo code, on what the tier left: `percent_off` of it, or `amount_off` x seats (never
   more than what is left: a seat never costs less than nothing).
5. Add-ons: each line is its `unit_amount` x `quantity`; discounts never apply to add-ons.
6. `discount_amount` = tier + promo discounts; `amount` = subtotal - discount_amount + add-ons.
   `amount` is what is charged.

Rounding: a discount that is a percentage is rounded to the nearest minor unit, a half
rounding up, in the fan's favour (`percent_of`: 10% off 1,005 is 101 off, not 100), and only
once per discount, on the whole line (not seat by seat), so the lines always add up to the
total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from babel.numbers import get_currency_precision

from widget_server.domain.text import parse_rfc3339


def decimal_text(amount: int, currency: str) -> str:
    """Minor units as a plain decimal amount, a dot and the currency's digits, no sign
    (3550 USD -> "35.50", 500 JPY -> "500"): schema.org prices, CSV cells, form values."""
    digits = get_currency_precision(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"


def percent_of(amount: int, percent: int) -> int:
    """`percent`% of `amount` (minor units), to the nearest unit, a half rounding up."""
    return (amount * percent + 50) // 100


@dataclass(frozen=True)
class AddOnLine:
    """One extra sold with the seats (a tailgate pass, a scarf): `key` is its id or name."""

    key: str
    name: str
    unit_amount: int
    quantity: int

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class PromoTerms:
    """What a promo code takes off (one of the two), as `price_pledge` needs it."""

    code: str
    percent_off: int | None = None
    amount_off: int | None = None
    id: str | None = None


@dataclass(frozen=True)
class PriceBreakdown:
    """Every amount of one pledge's price (minor units of `currency`)."""

    currency: str
    unit_amount: int
    seats: int
    subtotal: int
    tier_min_seats: int | None
    tier_percent_off: int | None
    tier_discount: int
    promo_code: str | None
    promo_code_id: str | None
    promo_discount: int
    add_ons: tuple[AddOnLine, ...] = field(default=())
    # When the unit price steps up next (None: it does not): schema.org `priceValidUntil`.
    price_valid_until: datetime | None = None
    # The code's terms as they were when priced (one of the two): a pledge keeps them, so a
    # code edited later never re-prices it (not even when its fan changes seats).
    promo_percent_off: int | None = None
    promo_amount_off: int | None = None

    @property
    def discount_amount(self) -> int:
        return self.tier_discount + self.promo_discount

    @property
    def seats_amount(self) -> int:
        return self.subtotal - self.discount_amount

    @property
    def add_ons_amount(self) -> int:
        return sum(line.amount for line in self.add_ons)

    @property
    def amount(self) -> int:
        """What is charged."""
        return self.seats_amount + self.add_ons_amount

    def as_json(self) -> dict:
        """The breakdown as stored on the pledge and shown by the APIs."""
        return {
            "currency": self.currency,
            "unit_amount": self.unit_amount,
            "seats": self.seats,
            "subtotal": self.subtotal,
            "tier": None
            if self.tier_percent_off is None
            else {"min_seats": self.tier_min_seats, "percent_off": self.tier_percent_off},
            "tier_discount": self.tier_discount,
            "promo_code": self.promo_code,
            "promo_terms": None
            if self.promo_code is None
            else {"percent_off": self.promo_percent_off, "amount_off": self.promo_amount_off},
            "promo_discount": self.promo_discount,
            "discount_amount": self.discount_amount,
            "add_ons": [
                {
                    "key": line.key,
                    "name": line.name,
                    "unit_amount": line.unit_amount,
                    "quantity": line.quantity,
                    "amount": line.amount,
                }
                for line in self.add_ons
            ],
            "add_ons_amount": self.add_ons_amount,
            "amount": self.amount,
        }


def _steps(trip) -> list[tuple[datetime, int]]:
    return sorted(
        (parse_rfc3339(step["starts_at"]), int(step["unit_amount"]))
        for step in (trip.price_steps or ())
    )


def unit_amount_at(trip, at: datetime) -> int:
    """The trip's price per seat at `at`: its last price step started by then, else its
    `unit_amount`."""
    price = trip.unit_amount
    for starts_at, unit_amount in _steps(trip):
        if starts_at <= at:
            price = unit_amount
    return price


def next_step_at(trip, at: datetime) -> datetime | None:
    """When the price per seat changes next after `at` (None: never)."""
    return next((starts_at for starts_at, _ in _steps(trip) if starts_at > at), None)


def tiers_of(trip) -> list[dict]:
    """The group tiers that apply to the trip: its own, else its event's."""
    if trip.group_tiers is not None:
        return list(trip.group_tiers)
    return list(getattr(trip.event, "group_tiers", None) or [])


def tier_for(tiers: Iterable[dict], seats: int) -> dict | None:
    """The tier with the most `min_seats` not above `seats` (None: no tier applies)."""
    eligible = [tier for tier in tiers if tier["min_seats"] <= seats]
    return max(eligible, key=lambda tier: tier["min_seats"], default=None)


def price_pledge(
    trip,
    seats: int,
    at: datetime,
    promo: PromoTerms | None = None,
    add_ons: Sequence[AddOnLine] = (),
    *,
    locked_unit_amount: int | None = None,
) -> PriceBreakdown:
    """The price of `seats` seats on `trip` for a fan pledging at `at`, with a promo code
    already checked as usable (`domain.pricing.promos.usable_promo`) and add-on lines. The
    rule and its rounding are this module's docstring. `locked_unit_amount`: the price per
    seat a pledge locked when it was made (re-pricing it for another number of seats): it
    replaces step 1, and such a price does not expire."""
    unit_amount = unit_amount_at(trip, at) if locked_unit_amount is None else locked_unit_amount
    subtotal = unit_amount * seats
    tier = tier_for(tiers_of(trip), seats)
    tier_discount = percent_of(subtotal, tier["percent_off"]) if tier else 0
    left = subtotal - tier_discount
    promo_discount = 0
    if promo is not None:
        if promo.percent_off is not None:
            promo_discount = percent_of(left, promo.percent_off)
        else:
            promo_discount = min(left, (promo.amount_off or 0) * seats)
    return PriceBreakdown(
        currency=trip.currency,
        unit_amount=unit_amount,
        seats=seats,
        subtotal=subtotal,
        tier_min_seats=tier["min_seats"] if tier else None,
        tier_percent_off=tier["percent_off"] if tier else None,
        tier_discount=tier_discount,
        promo_code=promo.code if promo else None,
        promo_code_id=promo.id if promo else None,
        promo_discount=promo_discount,
        add_ons=tuple(add_ons),
        price_valid_until=next_step_at(trip, at) if locked_unit_amount is None else None,
        promo_percent_off=promo.percent_off if promo else None,
        promo_amount_off=promo.amount_off if promo else None,
    )


def price_lines(pledge) -> dict:
    """A pledge's locked price as `PriceBreakdown.as_json()` shows it (pledges made before
    pricing was itself a module have no stored breakdown: theirs is seats x unit price)."""
    if pledge.price_breakdown:
        return pledge.price_breakdown
    subtotal = pledge.unit_amount * pledge.seats
    return PriceBreakdown(
        pledge.currency,
        pledge.unit_amount,
        pledge.seats,
        subtotal,
        None,
        None,
        0,
        pledge.promo_code,
        pledge.promo_code_id,
        pledge.discount_amount or 0,
    ).as_json()
