"""Typed results of the partner API, and the shapes of what you send it.

Results are frozen dataclasses built from the API's JSON: money is integer minor units next to
its ISO 4217 `currency` (3500 USD is $35.00), times are timezone-aware `datetime`s in UTC.
Each result keeps the JSON it came from in `raw` (fields a newer server adds show up there).
Inputs are `TypedDict`s (plain dicts work too); datetimes you pass must be timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NotRequired, TypedDict

# Re-exported: `ridepledge.models.from_api` and friends are where they always were.
from ridepledge._convert import format_datetime, from_api, parse_datetime, to_api

__all__ = [
    "DemandThreshold",
    "Demand",
    "DriverLink",
    "Event",
    "FanErasure",
    "FanExport",
    "Logo",
    "Manifest",
    "ManifestEvent",
    "ManifestRider",
    "ManifestRow",
    "ManifestStop",
    "Operator",
    "OperatorParams",
    "Origin",
    "OriginParams",
    "Partner",
    "GroupTierParams",
    "Pledge",
    "PriceStepParams",
    "PromoCode",
    "Stop",
    "StopParams",
    "Trip",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "PLEDGE_STATUSES",
    "TRIP_STATUSES",
    "WEBHOOK_EVENT_TYPES",
    "format_datetime",
    "from_api",
    "parse_datetime",
    "to_api",
]

TRIP_STATUSES = ("draft", "open", "confirmed", "completed", "failed", "canceled")
PLEDGE_STATUSES = (
    "pledged",
    "charging",
    "paid",
    "action_required",
    "dropped",
    "canceled",
    "released",
    "refunded",
)
WEBHOOK_EVENT_TYPES = (
    "pledge.created",
    "pledge.canceled",
    "pledge.paid",
    "pledge.action_required",
    "pledge.dropped",
    "pledge.refunded",
    "pledge.boarded",
    "trip.opened",
    "trip.confirmed",
    "trip.failed",
    "trip.canceled",
    "trip.below_threshold",
    "trip.departed",
    "trip.operator_withdrew",
    "quote.created",
    "quote.updated",
    "quote.withdrawn",
    "demand.threshold_reached",
)


def _raw() -> Any:
    """The `raw` field: the JSON object a result was built from."""
    return field(default_factory=dict, repr=False, compare=False)


# --- inputs -------------------------------------------------------------------------------


class OriginParams(TypedDict):
    """Where a trip starts from (a town or neighbourhood), e.g. ``{"name": "Wichita"}``."""

    name: str
    region: NotRequired[str | None]


class PriceStepParams(TypedDict):
    """An early-bird step: the price per seat from `starts_at` on."""

    starts_at: datetime
    unit_amount: int


class GroupTierParams(TypedDict):
    """`percent_off` a pledge of at least `min_seats` seats."""

    min_seats: int
    percent_off: int


class StopParams(TypedDict):
    """A pick-up stop; `departs_at` is an aware `datetime` (or an RFC 3339 string)."""

    name: str
    address: str
    departs_at: datetime | str


class OperatorParams(TypedDict, total=False):
    """The bus company, shown on the manifest."""

    name: str | None
    phone: str | None
    email: str | None


class SponsorParams(TypedDict, total=False):
    """Who presents an event or a trip: `name` (required) and an https `url`. The logo is
    uploaded in the console."""

    name: str
    url: str | None


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    name: str
    region: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Operator:
    name: str | None
    phone: str | None
    email: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Logo:
    """The logo uploaded in the console: re-encoded, served from a content-hashed `url` (a new
    logo gets a new URL). Shown instead of `branding["logo_url"]`."""

    url: str
    content_type: str
    width: int
    height: int
    size: int
    sha256: str
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Partner:
    """The partner your credentials act for (`GET /v1/partner`). `wording` holds the widget's
    headline and intro per language (``{"es": {"headline": ..., "intro": ...}}``, None where
    the widget shows its own words)."""

    id: str
    slug: str
    name: str
    locale: str
    currency: str
    allowed_origins: list[str]
    branding: dict[str, Any]
    support_email: str | None
    terms_url: str | None
    demand_threshold: int | None
    waitlist_hold_hours: int | None = None
    wording: dict[str, dict[str, str | None]] | None = None
    logo: Logo | None = None
    # Your page with the widget: fans' share links lead there (None: the public trip page).
    site_url: str | None = None
    # The most seats one fan (one email) may hold on one trip, over all their pledges.
    max_seats_per_fan: int | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Sponsor:
    """Who presents an event or a trip; `logo_url` is None without a logo."""

    name: str
    url: str | None
    logo_url: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class AddOn:
    """An extra sold with a trip's seats (a tailgate pass, a scarf). `quantity` and
    `remaining` are None when unlimited; `sold` counts units held by live pledges."""

    id: str
    trip_id: str
    name: str
    unit_amount: int
    currency: str
    quantity: int | None
    sold: int
    remaining: int | None
    active: bool
    created_at: datetime
    updated_at: datetime
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class AddOnCount:
    """An extra on the manifest: its name and how many."""

    name: str
    quantity: int
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Event:
    """A game or show fans ride to."""

    id: str
    title: str
    venue: str
    starts_at: datetime
    timezone: str
    # [{"min_seats", "percent_off"}]: group tiers of its trips that set none of their own.
    group_tiers: list[dict[str, Any]] | None
    created_at: datetime
    updated_at: datetime
    # Who presents it (its trips show it unless they have their own); None if nobody.
    sponsor: Sponsor | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Stop:
    id: str
    name: str
    address: str
    departs_at: datetime
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Trip:
    """A bus to an event. `unit_amount` is the price of one seat in minor units.
    `seats_available` (seats a new fan can pledge now, 0 when it does not sell) and
    `waitlist_open` (a waitlist join is taken now) are the server's one sale decision."""

    id: str
    event_id: str
    status: str
    origin: Origin
    stops: list[Stop]
    capacity: int
    min_riders: int
    seats_pledged: int
    seats_remaining: int
    seats_available: int
    waitlist_open: bool
    unit_amount: int
    currency: str
    pledge_deadline: datetime
    operator: Operator
    # The price per seat a fan pledging now pays; the early-bird steps
    # ([{"starts_at", "unit_amount"}]) and group tiers ([{"min_seats", "percent_off"}]; None:
    # the event's). See docs/pricing.md.
    current_unit_amount: int | None
    price_steps: list[dict[str, Any]] | None
    group_tiers: list[dict[str, Any]] | None
    opened_at: datetime | None
    confirmed_at: datetime | None
    failed_at: datetime | None
    canceled_at: datetime | None
    completed_at: datetime | None
    # When the bus left its last stop (the driver's page).
    departed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Its own sponsor (wins over the event's); None if none.
    sponsor: Sponsor | None = None
    # The extras sold with its seats.
    add_ons: list[AddOn] | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Pledge:
    """A fan's seats on a trip. `amount` is what is charged in minor units: `seats` x
    `unit_amount` - `discount_amount` + add-ons, locked when the pledge was made."""

    id: str
    trip_id: str
    stop_id: str
    seats: int
    unit_amount: int
    discount_amount: int
    promo_code: str | None
    # Every line of the locked price (docs/pricing.md).
    price_breakdown: dict[str, Any]
    amount: int
    currency: str
    name: str
    email: str
    phone: str | None
    locale: str | None
    status: str
    attribution: dict[str, str]
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # The short signed code on the boarding pass (`XXXX-XXXX-XXXX`); None unless paid.
    boarding_code: str | None = None
    # The pledge whose share link brought this fan (same trip), and the live pledges this
    # pledge's own share link brought.
    referred_by: str | None = None
    referrals: int | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class PromoCode:
    """A code fans type for `percent_off` or `amount_off` (minor units of `currency`) per
    seat; `times_redeemed` counts its uses (never given back)."""

    id: str
    code: str
    percent_off: int | None
    amount_off: int | None
    currency: str | None
    max_redemptions: int | None
    per_fan_limit: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    event_id: str | None
    trip_id: str | None
    active: bool
    times_redeemed: int
    created_at: datetime
    updated_at: datetime
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class ManifestRider:
    pledge_id: str
    name: str
    email: str
    phone: str | None
    seats: int
    status: str
    # The pledge's locked price: what it is charged, its discount and code.
    amount: int | None = None
    discount_amount: int | None = None
    promo_code: str | None = None
    currency: str | None = None
    boarding_code: str | None = None
    boarded_at: datetime | None = None
    boarded_by: str | None = None
    double_boarded: bool | None = None
    referred_by: str | None = None
    referrals: int | None = None
    # The extras this rider bought.
    add_ons: list[AddOnCount] | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class ManifestStop:
    id: str
    name: str
    address: str
    departs_at: datetime
    seats: int
    riders: list[ManifestRider]
    boarded_seats: int | None = None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class ManifestEvent:
    id: str
    title: str
    venue: str
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class ManifestRow:
    """One rider at one stop: a line of the manifest (the CSV has the same columns)."""

    stop: str
    departs_at: datetime
    pledge_id: str
    name: str
    phone: str | None
    email: str
    seats: int
    status: str
    stop_id: str


@dataclass(frozen=True)
class Manifest:
    """Who boards where: riders per stop, in stop order."""

    trip_id: str
    trip_status: str
    event: ManifestEvent
    operator: Operator
    seats: int
    stops: list[ManifestStop]
    boarded_seats: int | None = None
    # Riders' pledges that came by a fan's share link, and their seats.
    referred_pledges: int | None = None
    referred_seats: int | None = None
    # Each extra the riders bought, with how many in all.
    add_ons: list[AddOnCount] | None = None
    raw: dict[str, Any] = _raw()

    def rows(self) -> list[ManifestRow]:
        """One row per rider, stop by stop (the columns of the CSV manifest)."""
        return [
            ManifestRow(
                stop=stop.name,
                departs_at=stop.departs_at,
                pledge_id=rider.pledge_id,
                name=rider.name,
                phone=rider.phone,
                email=rider.email,
                seats=rider.seats,
                status=rider.status,
                stop_id=stop.id,
            )
            for stop in self.stops
            for rider in stop.riders
        ]


@dataclass(frozen=True)
class DriverLink:
    """The driver's check-in page for one trip; ends at `expires_at` or at the next link."""

    url: str
    expires_at: datetime
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class StopRequest:
    """A pick-up stop fans asked for on a trip: one place, how many fans asked, and the stop
    once you add it (`trips.add_stop`)."""

    place: str
    place_key: str
    address: str
    count: int
    first_requested_at: datetime
    last_requested_at: datetime
    stop_id: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class WaitlistEntry:
    """A fan in line for a sold-out trip; `position` 1 is next (None unless `waiting`)."""

    id: str
    trip_id: str
    stop_id: str
    seats: int
    name: str
    email: str
    locale: str
    status: str
    position: int | None
    offered_at: datetime | None
    offer_expires_at: datetime | None
    pledge_id: str | None
    created_at: datetime
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class Demand:
    """Fans asking for a trip from one origin to one event."""

    event_id: str
    origin: str
    origin_key: str
    count: int
    first_requested_at: datetime
    last_requested_at: datetime
    has_trip: bool
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class DemandThreshold:
    """The `data` of a ``demand.threshold_reached`` webhook."""

    event_id: str
    origin: str
    count: int
    threshold: int
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where webhooks go. `secret` is set only when created and after `rotate_secret`."""

    id: str
    url: str
    description: str | None
    events: list[str]
    status: str
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime
    secret: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class WebhookAttempt:
    attempted_at: datetime
    status_code: int | None
    latency_ms: int | None
    response_excerpt: str | None
    error: str | None
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class WebhookDelivery:
    """One message to one endpoint, with every attempt to deliver it."""

    id: str
    endpoint_id: str
    message_id: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    created_at: datetime
    attempts: list[WebhookAttempt]
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class FanExport:
    """Everything held about one fan (`client.fans.export`): each list holds the records as
    JSON objects (pledges with their status history, demand requests, waitlist places, stop
    requests, emails sent)."""

    email: str
    pledges: list[dict[str, Any]]
    demand_requests: list[dict[str, Any]]
    waitlist_entries: list[dict[str, Any]]
    stop_requests: list[dict[str, Any]]
    emails: list[dict[str, Any]]
    raw: dict[str, Any] = _raw()


@dataclass(frozen=True)
class FanErasure:
    """How many records lost the fan's personal data (`client.fans.erase`)."""

    pledges: int
    demand_requests: int
    waitlist_entries: int
    stop_requests: int
    emails: int
    raw: dict[str, Any] = _raw()
