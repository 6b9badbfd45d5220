"""Typed results of the bus marketplace: a partner's trip requests and the quotes operators send,
and what a bus company (`OperatorClient`) reads: its trips across partners and its payouts.

The same rules as `ridepledge.models`: money in minor units next to `currency`, aware UTC
datetimes, unknown members kept in `raw`, a member the server leaves out is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ridepledge.models import Origin, Stop, Trip

__all__ = [
    "PAYOUT_STATUSES",
    "QUOTE_STATUSES",
    "TRIP_REQUEST_STATUSES",
    "Assignment",
    "Award",
    "EventSummary",
    "OperatorManifest",
    "OperatorProfile",
    "OperatorManifestStop",
    "OperatorRider",
    "OperatorTrip",
    "PartnerRef",
    "Payout",
    "Quote",
    "QuoteOperator",
    "TripRequest",
]

TRIP_REQUEST_STATUSES = ("open", "awarded", "canceled")
QUOTE_STATUSES = ("open", "awarded", "not_awarded", "withdrawn")
PAYOUT_STATUSES = ("pending", "paid", "failed", "canceled")


def _raw() -> Any:
    return field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class QuoteOperator:
    """The bus company behind a quote, with what the award checks: a missing USDOT number or
    insurance ending before the event refuses the award."""

    slug: str
    name: str
    usdot_number: str | None = None
    insurance_expires_on: date | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Quote:
    """An operator's price for a trip request: `amount` (minor units of `currency`) for a
    vehicle of `seats`, valid until `valid_until`. `operator` is set in the partner's view."""

    id: str
    seats: int
    amount: int
    currency: str
    valid_until: datetime
    status: str
    trip_request_id: str | None = None
    operator: QuoteOperator | None = None
    vehicle_kind: str | None = None
    vehicle_id: str | None = None
    notes: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class OperatorProfile:
    """The bus company your operator credentials act for. `compliance` lists why an award
    would be refused today (``missing_usdot``, ``insurance_missing``, ``insurance_expired``);
    empty when nothing would."""

    id: str
    slug: str
    name: str
    legal_name: str | None
    usdot_number: str | None
    insurance_expires_on: date | None
    regions: list[str]
    contact_email: str | None
    contact_phone: str | None
    compliance: list[str]
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class PartnerRef:
    """The partner a trip or request belongs to, as an operator sees it."""

    slug: str
    name: str
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class EventSummary:
    """The event a request is for, as an operator asked to quote sees it."""

    id: str
    title: str
    venue: str
    starts_at: datetime
    timezone: str
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class TripRequest:
    """A partner asking operators for a bus. The partner's view has `event_id`, the
    `operators` asked (slugs) and the `quotes`; an operator's view names the `partner` and
    the `event`."""

    id: str
    status: str
    origin: Origin
    departs_at: datetime
    expected_riders: int
    vehicle_kind: str
    event_id: str | None = None
    operators: list[str] | None = None
    quotes: list[Quote] | None = None
    partner: PartnerRef | None = None
    event: EventSummary | None = None
    trip_id: str | None = None
    awarded_quote_id: str | None = None
    created_at: datetime | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Award:
    """What an award made (`client.trip_requests.award`): the draft `trip`."""

    trip: Trip
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class OperatorTrip:
    """A trip awarded to the operator, whichever partner it runs for: whether it runs
    (`confirmed`; `seats_pledged` against `min_riders`), its capacity, stops and departure,
    the vehicle and driver assigned. No fan's details, no prices."""

    id: str
    partner: PartnerRef
    status: str
    seats_pledged: int
    capacity: int
    min_riders: int
    departs_at: datetime | None
    event: EventSummary | None = None
    origin: Origin | None = None
    confirmed: bool | None = None
    stops: list[Stop] | None = None
    vehicle_id: str | None = None
    driver_id: str | None = None
    confirmed_at: datetime | None = None
    departed_at: datetime | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Assignment:
    """The trip after assigning a vehicle and/or a driver, and what is worth a look (the
    assignment stands)."""

    trip: OperatorTrip
    warnings: list[str]
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class OperatorRider:
    """A rider as the operator sees one: no email, phone or payment; `may_board` when paid."""

    pledge_id: str
    name: str
    seats: int
    may_board: bool
    boarding_code: str | None = None
    boarded_at: datetime | None = None
    boarded_by: str | None = None
    double_boarded: bool | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class OperatorManifestStop:
    id: str
    name: str
    address: str
    departs_at: datetime
    seats: int
    riders: list[OperatorRider]
    boarded_seats: int | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class OperatorManifest:
    """Who boards where on one of the operator's trips, stop by stop."""

    trip_id: str
    trip_status: str
    seats: int
    stops: list[OperatorManifestStop]
    boarded_seats: int | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Payout:
    """What the service owes or paid the operator for one completed trip: its awarded quote.
    `transfer_id` is the payment provider's transfer once `paid`."""

    trip_id: str
    amount: int
    currency: str
    status: str
    transfer_id: str | None
    id: str | None = None
    created_at: datetime | None = None
    paid_at: datetime | None = None
    raw: dict[str, Any] = _raw()
