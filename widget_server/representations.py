"""The partner-facing JSON shape of each object, shared by the REST API (responses, OpenAPI)
and webhooks (event payloads), so both always say the same thing. Dump-only marshmallow."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import object_session

from widget_server.domain.boarding import boarding_code_or_none
from widget_server.domain.pledges.sales import decide
from widget_server.domain.pricing import price_lines, unit_amount_at
from widget_server.fan.sponsors import sponsor_view
from widget_server.models import Event, Operator, Partner, Quote, TripRequestInvite
from widget_server.models.marketplace import QUOTE_STATUSES, TRIP_REQUEST_STATUSES
from widget_server.models.pledges import PLEDGE_STATUSES
from widget_server.models.trips import TRIP_STATUSES
from widget_server.models.types import rfc3339, utcnow


class UTCDateTime(fields.DateTime):
    """RFC 3339 in UTC with a Z, always a four-digit year (strftime drops leading zeros)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return rfc3339(value)


class _Object(Schema):
    id = fields.String(metadata={"description": "Opaque, prefixed id."})
    object = fields.Function(lambda obj: _object_name(obj))
    created_at = UTCDateTime()


def _object_name(obj) -> str:
    return type(obj).__name__.lower()


def _sponsor(obj) -> dict | None:
    return sponsor_view(obj.sponsor, current_app.config["SETTINGS"].public_base_url)


def _sponsor_field(owner: str) -> fields.Field:
    return fields.Function(
        _sponsor,
        allow_none=True,
        metadata={
            "type": "object",
            "nullable": True,
            "properties": {
                "name": {"type": "string"},
                "url": {"type": "string", "nullable": True},
                "logo_url": {"type": "string", "nullable": True},
            },
            "description": f"Who presents the {owner} (name, https link, logo); null if "
            "nobody." + (" A trip without its own shows its event's." if owner == "trip" else ""),
        },
    )


class EventSchema(_Object):
    title = fields.String()
    group_tiers = fields.List(
        fields.Dict(), metadata={"description": "`[{min_seats, percent_off}]` for its trips."}
    )
    venue = fields.String()
    starts_at = UTCDateTime()
    timezone = fields.String(metadata={"description": "IANA time zone of the venue."})
    sponsor = _sponsor_field("event")
    updated_at = UTCDateTime()


class StopSchema(Schema):
    id = fields.String()
    name = fields.String()
    address = fields.String()
    departs_at = UTCDateTime()


class OriginSchema(Schema):
    name = fields.String()
    region = fields.String(allow_none=True)


class OperatorSchema(Schema):
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class AddOnSchema(_Object):
    object = fields.Constant("add_on")
    trip_id = fields.String()
    name = fields.String()
    unit_amount = fields.Integer(metadata={"description": "Price each, minor units."})
    currency = fields.Function(lambda add_on: add_on.trip.currency, metadata={"type": "string"})
    quantity = fields.Integer(
        allow_none=True, metadata={"description": "Units on sale in all; null: no limit."}
    )
    sold = fields.Integer(metadata={"description": "Units held by live pledges."})
    remaining = fields.Integer(
        allow_none=True, metadata={"description": "quantity - sold; null: no limit."}
    )
    active = fields.Boolean(metadata={"description": "On sale (false: turned off)."})
    updated_at = UTCDateTime()


class TripSchema(_Object):
    event_id = fields.String()
    origin = fields.Function(
        lambda trip: {"name": trip.origin_name, "region": trip.origin_region},
        metadata={"type": "object"},
    )
    stops = fields.List(fields.Nested(StopSchema))
    status = fields.String(metadata={"enum": list(TRIP_STATUSES)})
    capacity = fields.Integer()
    min_riders = fields.Integer()
    seats_pledged = fields.Integer()
    seats_remaining = fields.Integer()
    seats_available = fields.Function(
        lambda trip: decide(trip).seats_available,
        metadata={
            "type": "integer",
            "description": "Seats a new fan can pledge now (0 when the trip does not sell): "
            "a pledge of up to this many seats is taken. Seats that a party on the waitlist "
            "fits are the waitlist's.",
        },
    )
    waitlist_open = fields.Function(
        lambda trip: decide(trip).waitlist_open,
        metadata={
            "type": "boolean",
            "description": "Whether a waitlist join is taken now (the trip sells and no seat "
            "is on sale).",
        },
    )
    unit_amount = fields.Integer(
        metadata={
            "description": "Price per seat from opening, minor units (`price_steps` "
            "raise it on dates)."
        }
    )
    current_unit_amount = fields.Function(
        lambda trip: unit_amount_at(trip, utcnow()),
        metadata={"type": "integer", "description": "Price per seat a fan pledging now pays."},
    )
    price_steps = fields.List(
        fields.Dict(),
        metadata={
            "description": "`[{starts_at, unit_amount}]`: the price per seat from each "
            "date on (see docs/pricing.md)."
        },
    )
    group_tiers = fields.List(
        fields.Dict(),
        allow_none=True,
        metadata={
            "description": "`[{min_seats, percent_off}]`: off a pledge of at least "
            "min_seats seats; null: the event's tiers apply."
        },
    )
    currency = fields.String()
    pledge_deadline = UTCDateTime()
    operator = fields.Function(
        lambda trip: {
            "name": trip.operator_name,
            "phone": trip.operator_phone,
            "email": trip.operator_email,
        },
        metadata={"type": "object"},
    )
    opened_at = UTCDateTime(allow_none=True)
    confirmed_at = UTCDateTime(allow_none=True)
    failed_at = UTCDateTime(allow_none=True)
    canceled_at = UTCDateTime(allow_none=True)
    completed_at = UTCDateTime(allow_none=True)
    departed_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "When the bus left its last stop (the driver's page)."},
    )
    sponsor = _sponsor_field("trip")
    add_ons = fields.List(
        fields.Nested(AddOnSchema),
        metadata={"description": "Extras sold with the seats (`/v1/trips/{id}/add_ons`)."},
    )
    updated_at = UTCDateTime()


class PledgeSchema(_Object):
    trip_id = fields.String()
    stop_id = fields.String()
    seats = fields.Integer()
    unit_amount = fields.Integer(
        metadata={"description": "Price per seat when the pledge was made, minor units."}
    )
    discount_amount = fields.Integer(
        metadata={"description": "Group tier and promo code discounts, minor units."}
    )
    promo_code = fields.String(allow_none=True, metadata={"description": "Code used, or null."})
    amount = fields.Integer(
        metadata={
            "description": "What is charged, minor units: seats x unit_amount - "
            "discount_amount + add-ons. Locked when the pledge is made."
        }
    )
    price_breakdown = fields.Function(
        price_lines,
        metadata={
            "type": "object",
            "description": "Every line of the locked price (docs/pricing.md).",
        },
    )
    currency = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    locale = fields.String()
    status = fields.String(metadata={"enum": list(PLEDGE_STATUSES)})
    attribution = fields.Dict(keys=fields.String(), values=fields.String())
    referred_by = fields.String(
        allow_none=True,
        metadata={
            "description": "The pledge on the same trip whose share link brought this fan; "
            "null if none."
        },
    )
    referrals = fields.Integer(
        metadata={"description": "Live pledges this pledge's share link brought."}
    )
    paid_at = UTCDateTime(allow_none=True)
    boarding_code = fields.Function(
        lambda pledge: boarding_code_or_none(current_app.config["SECRET_KEY"], pledge),
        allow_none=True,
        metadata={
            "type": "string",
            "nullable": True,
            "description": "Short signed code on the boarding pass (`XXXX-XXXX-XXXX`); "
            "null unless `paid`.",
        },
    )
    updated_at = UTCDateTime()


class PromoCodeSchema(_Object):
    object = fields.Constant("promo_code")
    code = fields.String()
    percent_off = fields.Integer(allow_none=True)
    amount_off = fields.Integer(allow_none=True, metadata={"description": "Per seat."})
    currency = fields.String(allow_none=True)
    max_redemptions = fields.Integer(allow_none=True)
    per_fan_limit = fields.Integer(allow_none=True)
    starts_at = UTCDateTime(allow_none=True)
    ends_at = UTCDateTime(allow_none=True)
    event_id = fields.String(allow_none=True)
    trip_id = fields.String(allow_none=True)
    active = fields.Boolean()
    times_redeemed = fields.Integer(metadata={"description": "Uses made (never given back)."})
    updated_at = UTCDateTime()


# --- the bus marketplace: trip requests and quotes (domain/operators/marketplace.py) ----------


def _related(obj, model, object_id):
    """A related row through the object's own session (the models keep these as plain ids)."""
    return object_session(obj).get(model, object_id) if object_id else None


class QuoteOperatorSchema(Schema):
    """The operator of a quote as the partner sees it, with its compliance."""

    slug = fields.String()
    name = fields.String()
    usdot_number = fields.String(allow_none=True)
    insurance_expires_on = fields.Date(allow_none=True)


class _QuoteFields(Schema):
    id = fields.String(metadata={"description": "Opaque, prefixed id (`quo_...`)."})
    object = fields.Constant("quote")
    trip_request_id = fields.String(attribute="request_id")
    vehicle_kind = fields.String()
    seats = fields.Integer()
    amount = fields.Integer(metadata={"description": "Total price, minor units."})
    currency = fields.String()
    valid_until = UTCDateTime()
    notes = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(QUOTE_STATUSES)})
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


class PartnerQuoteSchema(_QuoteFields):
    """A quote as the partner who asked sees it (webhooks `quote.*`, `/v1/trip_requests`)."""

    operator = fields.Function(
        lambda quote: QuoteOperatorSchema().dump(_related(quote, Operator, quote.operator_id)),
        metadata={"type": "object"},
    )


class OperatorQuoteSchema(_QuoteFields):
    """A quote as its operator sees it (`/v1/operator/quotes`)."""

    vehicle_id = fields.String(allow_none=True)


def _origin(request) -> dict:
    return {"name": request.origin_name, "region": request.origin_region}


class _RequestQuotes(fields.Nested):
    """A request's quotes (read through the request's session: the model keeps no list)."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return _quotes(obj)


class _TripRequestFields(Schema):
    id = fields.String(metadata={"description": "Opaque, prefixed id (`treq_...`)."})
    object = fields.Constant("trip_request")
    origin = fields.Function(_origin, metadata={"type": "object"})
    departs_at = UTCDateTime()
    expected_riders = fields.Integer()
    vehicle_kind = fields.String()
    status = fields.String(metadata={"enum": list(TRIP_REQUEST_STATUSES)})
    created_at = UTCDateTime()


class TripRequestSchema(_TripRequestFields):
    """A request for a bus as the partner sees it, with every quote."""

    event_id = fields.String()
    operators = fields.Function(
        lambda request: _invited_slugs(request),
        metadata={"type": "array", "items": {"type": "string"}, "description": "Asked."},
    )
    awarded_quote_id = fields.String(allow_none=True)
    trip_id = fields.String(allow_none=True)
    quotes = _RequestQuotes(PartnerQuoteSchema, many=True)


def _invited_slugs(request) -> list[str]:
    return list(
        object_session(request).scalars(
            select(Operator.slug)
            .join(TripRequestInvite, TripRequestInvite.operator_id == Operator.id)
            .where(TripRequestInvite.request_id == request.id)
            .order_by(Operator.slug)
        )
    )


def _quotes(request) -> list:
    return list(
        object_session(request).scalars(
            select(Quote).where(Quote.request_id == request.id).order_by(Quote.id)
        )
    )


class OperatorTripRequestSchema(_TripRequestFields):
    """A request for a bus as an operator asked to quote sees it (webhook
    `trip_request.created`, `/v1/operator/trip_requests`): who asks and for what event."""

    partner = fields.Function(lambda request: _partner_of(request), metadata={"type": "object"})
    event = fields.Function(lambda request: _event_of(request), metadata={"type": "object"})


def _partner_of(request) -> dict:
    partner = _related(request, Partner, request.partner_id)
    return {"slug": partner.slug, "name": partner.name}


def _event_of(request) -> dict:
    event = _related(request, Event, request.event_id)
    return {
        "id": event.id,
        "title": event.title,
        "venue": event.venue,
        "starts_at": rfc3339(event.starts_at),
        "timezone": event.timezone,
    }


# --- the operator's trips (domain/operators/operator_trips.py) ------------------------------


class OperatorTripSchema(Schema):
    """A trip as the operator it was awarded to sees it (`/v1/operator/trips`, the operator's
    webhooks `trip.*`): who runs it for whom, when, and how full; no fan's details, no prices."""

    id = fields.String(metadata={"description": "Opaque, prefixed id (`trp_...`)."})
    object = fields.Constant("operator_trip")
    partner = fields.Function(lambda trip: _partner_of(trip), metadata={"type": "object"})
    event = fields.Function(lambda trip: _event_of(trip), metadata={"type": "object"})
    origin = fields.Function(
        lambda trip: {"name": trip.origin_name, "region": trip.origin_region},
        metadata={"type": "object"},
    )
    status = fields.String(metadata={"enum": list(TRIP_STATUSES)})
    confirmed = fields.Function(
        lambda trip: trip.confirmed_at is not None and trip.status in ("confirmed", "completed"),
        metadata={"type": "boolean", "description": "Enough seats pledged: the bus runs."},
    )
    seats_pledged = fields.Integer()
    capacity = fields.Integer()
    min_riders = fields.Integer(metadata={"description": "Seats needed for the bus to run."})
    departs_at = UTCDateTime(
        allow_none=True, metadata={"description": "The first stop's departure."}
    )
    stops = fields.List(fields.Nested(StopSchema))
    vehicle_id = fields.String(allow_none=True)
    driver_id = fields.String(allow_none=True)
    confirmed_at = UTCDateTime(allow_none=True)
    departed_at = UTCDateTime(allow_none=True)


def dump(schema_class: type[Schema], obj) -> dict:
    return schema_class().dump(obj)
