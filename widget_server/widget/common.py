"""What the widget's pages (no JavaScript) and its JSON API share: the input schemas, the
reads and the two writes a fan makes (pledge, request a trip). Views on both sides import
this; neither imports the other.
"""

from __future__ import annotations

from flask import Response, current_app, request
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from widget_server import idempotency, services
from widget_server.domain import limits
from widget_server.domain.demand import address_key, record_demand
from widget_server.domain.errors import DomainError, NotFound, SoldOut, ValidationFailed
from widget_server.domain.numbers import Integer, parse_digits
from widget_server.domain.pledges import placing, planning, sales
from widget_server.domain.pricing.add_ons import MAX_ADD_ONS_PER_TRIP, add_on_lines
from widget_server.domain.text import Email, Id, Phone, Text
from widget_server.extensions import db
from widget_server.fan.serializers import price_json
from widget_server.fan.trip_state import PUBLIC_TRIP_STATUSES
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.keys import derive_key
from widget_server.models import Event, Partner, Pledge, Trip
from widget_server.models.add_ons import MAX_ADD_ON_UNITS
from widget_server.models.types import utcnow
from widget_server.observability.metrics import PLEDGES


class PledgeInput(Schema):
    class Meta:
        unknown = RAISE

    stop_id = Id("stp", required=True)
    seats = Integer(required=True, validate=validate.Range(1, limits.MAX_SEATS_PER_PLEDGE))
    name = Text(required=True, max_length=200)
    email = Email(required=True)
    payment_method = Text(required=True, max_length=255)
    phone = Phone(load_default=None, allow_none=True)
    locale = Text(load_default=None, validate=validate.OneOf(SUPPORTED_LOCALES))
    attribution = fields.Dict(
        keys=Text(max_length=24, validate=validate.Regexp(r"^utm_[a-z]{1,20}$")),
        values=Text(max_length=200),
        load_default=dict,
        validate=validate.Length(max=10),
    )
    # The share link's referral code (checked by domain/referrals.py: forged is a 422).
    ref = Text(load_default=None, allow_none=True, max_length=64)
    # A promo code (domain/pricing/promos.py: unusable is a 422 naming `promo_code`, with why).
    promo_code = Text(load_default=None, allow_none=True, max_length=40)
    # Extras with the seats, `{add-on id: quantity}` (domain/pricing/add_ons.py).
    add_ons = fields.Dict(
        keys=Id("addon"),
        values=Integer(validate=validate.Range(0, MAX_ADD_ON_UNITS)),
        load_default=dict,
        validate=validate.Length(max=MAX_ADD_ONS_PER_TRIP),
    )


class DemandInput(Schema):
    class Meta:
        unknown = RAISE

    event_id = Id("evt", required=True)
    origin = Text(required=True, max_length=200)
    email = Email(required=True)
    locale = Text(load_default=None, validate=validate.OneOf(SUPPORTED_LOCALES))


class LinkRequest(Schema):
    """ "Email me my link": the fan's address."""

    class Meta:
        unknown = RAISE

    email = Email(required=True)


def upcoming_events(partner: Partner) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.partner_id == partner.id, Event.starts_at > utcnow())
            .order_by(Event.starts_at)
        )
    )


def trips_for_event(partner: Partner, event_id: str, near: str | None = None) -> list[Trip]:
    """The public trips to an event: from `near` first (origin name contains it), then by
    departure."""
    trips = list(
        db.session.scalars(
            select(Trip)
            .where(
                Trip.partner_id == partner.id,
                Trip.event_id == event_id,
                Trip.status.in_(PUBLIC_TRIP_STATUSES),
            )
            # Each trip's stops and sale decision are shown: loaded with the list, not per trip.
            .options(*sales.DECIDING, selectinload(Trip.add_ons))
        )
    )
    needle = (near or "").strip().casefold()
    trips.sort(
        key=lambda t: (bool(needle) and needle not in t.origin_name.casefold(), t.departs_at)
    )
    return trips


def replay_pledge_attempt(
    partner: Partner,
    key: str | None,
    *,
    field: str = idempotency.HEADER,
    request_fingerprint: str | None = None,
    stores_refusals: bool = True,
) -> Response | None:
    """A fan's pledge attempt under an Idempotency-Key (`key`, already checked by
    `idempotency.key_from`): None when this request runs it (or there is no key), else the
    first answer to replay (a repeat waits for a first still running). Widget requests are
    anonymous, so keys belong to the partner's widget; a key can never replay another request,
    whose fingerprint (its body: the fan's email, card, stop, seats) would differ."""
    if key is None:
        return None
    return idempotency.claim_or_replay(
        f"widget:{partner.id}",
        key,
        field=field,
        request_fingerprint=request_fingerprint,
        stores_refusals=stores_refusals,
    )


def place_pledge(partner: Partner, trip_id: str, data: dict) -> Pledge:
    """Create a pledge from loaded `PledgeInput` data (see `placing.place_pledge`: the card is
    saved with no transaction open; on a confirmed trip the seats are charged at once). Used by
    the JSON API and the widget's no-JS form. When the request claimed an Idempotency-Key
    (`replay_pledge_attempt`), the card's saving at the provider is keyed by the attempt."""
    data["locale"] = data.get("locale") or partner.locale
    data["promo_code"] = data.get("promo_code") or None  # an empty field is no code
    claim = idempotency.current_claim()
    attempt = claim.attempt if claim is not None else None
    try:
        pledge = placing.place_pledge(
            services.payments(),
            partner,
            trip_id,
            planning.PledgeRequest(**data),
            secret=services.secret_key(),
            attempt=attempt,
        )
    except DomainError as exc:
        PLEDGES.labels(_pledge_outcome(exc)).inc()
        raise
    PLEDGES.labels("created").inc()
    return pledge


ADD_ON_FIELD = "add_ons."


def add_on_choices(form) -> dict:
    """A form's or a query's `add_ons.<id>` fields as `{id: quantity}` (a value that is not
    digits is a quantity error; more fields than a trip has add-ons is refused)."""
    choices = {}
    for name in form:
        if name.startswith(ADD_ON_FIELD):
            quantity = parse_digits(str(form[name]).strip())
            choices[name[len(ADD_ON_FIELD) :]] = -1 if quantity is None else quantity
    if len(choices) > MAX_ADD_ONS_PER_TRIP:
        raise ValidationFailed.field("add_ons", f"at most {MAX_ADD_ONS_PER_TRIP} extras")
    return choices


def price_quote(
    partner: Partner, trip_id: str, seats: int, promo_code: str | None, add_ons: dict
) -> dict:
    """The price a fan pledging `seats` seats now would pay, with `promo_code` (checked: a 422
    naming `promo_code` when it cannot be used) and the extras `add_ons` (`{id: quantity}`,
    checked: a 422 or 409 naming `add_ons.<id>`), as the widget shows it (`price_json`)."""
    with db.transaction() as session:
        trip = planning.get_trip(session, partner, trip_id)
        if trip.status == "draft":
            raise NotFound(f"no trip {trip_id}")
        lines = add_on_lines(trip, add_ons) if add_ons else ()
        price = planning.quote(
            session, partner.id, trip, seats, utcnow(), promo_code or None, None, lines
        )
    return price_json(price)


def _pledge_outcome(exc: DomainError) -> str:
    if isinstance(exc, SoldOut):
        return "sold_out"
    if isinstance(exc, ValidationFailed):
        return "invalid"
    return type(exc).__name__.lower()


def requesting_network() -> str:
    """This request's network as counted by demand and stop requests (`demand.address_key`:
    an HMAC of the IPv4 address or IPv6 /64, never the address)."""
    return address_key(
        request.remote_addr, derive_key(current_app.config["SECRET_KEY"], "demand-addresses")
    )


def place_demand(partner: Partner, data: dict) -> dict:
    """Record a fan's request for a trip (loaded `DemandInput` data); returns the API body."""
    requester = requesting_network()
    with db.transaction() as session:
        signal, count = record_demand(
            session,
            partner,
            event_id=data["event_id"],
            origin=data["origin"],
            email=data["email"],
            address_key=requester,
            locale=data.get("locale") or partner.locale,
        )
    return {"id": signal.id, "event_id": signal.event_id, "origin": signal.origin, "count": count}
