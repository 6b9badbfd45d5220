from marshmallow import RAISE, Schema, fields, validate

from widget_server.api.common import ListArgs
from widget_server.api.fields import AwareDateTime, Currency, Sponsor
from widget_server.domain.numbers import Integer
from widget_server.domain.pricing.settings import MAX_AMOUNT, MAX_STEPS, MAX_TIERS
from widget_server.domain.text import Email, Id, Phone, Text
from widget_server.models.trips import TRIP_STATUSES
from widget_server.representations import UTCDateTime


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class OriginInput(_Strict):
    name = Text(required=True, max_length=200)
    region = Text(load_default=None, allow_none=True, max_length=200)


class StopInput(_Strict):
    name = Text(required=True, max_length=200)
    address = Text(required=True, max_length=500)
    departs_at = AwareDateTime(required=True)


class OperatorInput(_Strict):
    name = Text(load_default=None, allow_none=True, max_length=200)
    phone = Phone(load_default=None, allow_none=True)
    email = Email(load_default=None, allow_none=True)


class PriceStepInput(_Strict):
    starts_at = AwareDateTime(past=True, required=True)
    unit_amount = Integer(required=True, validate=validate.Range(0, MAX_AMOUNT))


class GroupTierInput(_Strict):
    min_seats = Integer(required=True, validate=validate.Range(2, 1000))
    percent_off = Integer(required=True, validate=validate.Range(1, 100))


def _rules_field(item: type[Schema], most: int, description: str, **kwargs):
    return fields.List(
        fields.Nested(item),
        validate=validate.Length(max=most),
        metadata={"description": description},
        **kwargs,
    )


def price_steps_field(**kwargs):
    return _rules_field(
        PriceStepInput,
        MAX_STEPS,
        "Early-bird steps: the price per seat from each `starts_at` on (before the first: "
        "`unit_amount`). A pledge keeps the price of the moment it was made.",
        **kwargs,
    )


def group_tiers_field(**kwargs):
    return _rules_field(
        GroupTierInput,
        MAX_TIERS,
        "`percent_off` a pledge of at least `min_seats` seats (the highest tier reached "
        "applies); null: the event's tiers.",
        **kwargs,
    )


class TripCreateSchema(_Strict):
    event_id = Id("evt", required=True)
    origin = fields.Nested(OriginInput, required=True)
    stops = fields.List(fields.Nested(StopInput), required=True, validate=validate.Length(1, 20))
    capacity = Integer(required=True, validate=validate.Range(1, 1000))
    min_riders = Integer(required=True, validate=validate.Range(1, 1000))
    unit_amount = Integer(
        required=True,
        validate=validate.Range(0, 10_000_000),
        metadata={"description": "Price per seat in minor units (3500 = $35.00)."},
    )
    currency = Currency(load_default=None, metadata={"description": "Default: the partner's."})
    pledge_deadline = AwareDateTime(required=True)
    operator = fields.Nested(OperatorInput, load_default=None, allow_none=True)
    sponsor = Sponsor(
        metadata={
            "description": "The trip's own sponsor (wins over its event's; null: none). "
            "Any status may change it."
        },
    )
    price_steps = price_steps_field(load_default=list)
    group_tiers = group_tiers_field(load_default=None, allow_none=True)


class TripUpdateSchema(_Strict):
    """Draft trips take any field; open or confirmed trips only operator, capacity (not below
    the seats already pledged), price_steps, group_tiers and, while open, pledge_deadline (in
    the future, before the first departure): `catalog.changeable_fields`, the rule the
    console's form follows too."""

    origin = fields.Nested(OriginInput)
    stops = fields.List(fields.Nested(StopInput), validate=validate.Length(1, 20))
    capacity = Integer(validate=validate.Range(1, 1000))
    min_riders = Integer(validate=validate.Range(1, 1000))
    unit_amount = Integer(validate=validate.Range(0, 10_000_000))
    currency = Currency()
    pledge_deadline = AwareDateTime()
    operator = fields.Nested(OperatorInput, allow_none=True)
    sponsor = Sponsor()
    price_steps = price_steps_field()
    group_tiers = group_tiers_field(allow_none=True)


class TripListArgs(ListArgs):
    event_id = Id("evt", load_default=None)
    status = Text(load_default=None, validate=validate.OneOf(TRIP_STATUSES))


class AddOnCountSchema(Schema):
    name = fields.String()
    quantity = fields.Integer()


class RiderSchema(Schema):
    pledge_id = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    seats = fields.Integer()
    amount = fields.Integer(metadata={"description": "What the pledge is charged (locked)."})
    discount_amount = fields.Integer()
    promo_code = fields.String(allow_none=True)
    currency = fields.String()
    status = fields.String()
    boarding_code = fields.String(allow_none=True, metadata={"description": "null unless paid"})
    boarded_at = fields.String(
        allow_none=True, metadata={"description": "When the driver checked them in (device time)."}
    )
    boarded_by = fields.String(allow_none=True, metadata={"description": "The device's name."})
    double_boarded = fields.Boolean(
        metadata={"description": "Two devices both checked this pledge in (offline)."}
    )
    referred_by = fields.String(
        allow_none=True,
        metadata={"description": "The pledge whose share link brought this rider; null if none."},
    )
    referrals = fields.Integer(
        metadata={"description": "Live pledges this rider's share link brought."}
    )
    add_ons = fields.List(
        fields.Nested(AddOnCountSchema),
        metadata={"description": "The extras this rider bought (as locked on the pledge)."},
    )


class ManifestStopSchema(Schema):
    id = fields.String()
    name = fields.String()
    address = fields.String()
    departs_at = fields.String()
    seats = fields.Integer()
    boarded_seats = fields.Integer()
    riders = fields.List(fields.Nested(RiderSchema))


class ManifestSchema(Schema):
    object = fields.Constant("manifest")
    trip_id = fields.String()
    trip_status = fields.String()
    event = fields.Dict()
    operator = fields.Dict()
    seats = fields.Integer(metadata={"description": "Seats of riders on the manifest."})
    boarded_seats = fields.Integer(metadata={"description": "Seats checked in so far."})
    referred_pledges = fields.Integer(
        metadata={"description": "Riders' pledges that came by a fan's share link."}
    )
    referred_seats = fields.Integer(metadata={"description": "Their seats."})
    add_ons = fields.List(
        fields.Nested(AddOnCountSchema),
        metadata={"description": "Each extra the riders bought, with how many in all."},
    )
    stops = fields.List(fields.Nested(ManifestStopSchema))


class DriverLinkSchema(Schema):
    object = fields.Constant("driver_link")
    url = fields.String(
        metadata={"description": "The driver's page; check-ins go to {url}/checkins."}
    )
    expires_at = UTCDateTime()


class StopRequestSchema(Schema):
    """One place fans asked to be picked up at, with how many asked."""

    object = fields.Constant("stop_request")
    place = fields.String(metadata={"description": "As the first fan spelled it."})
    place_key = fields.String(metadata={"description": "The place folded; requests group by it."})
    address = fields.String(metadata={"description": "The latest address a fan gave."})
    count = fields.Integer(metadata={"description": "Fans who asked (each fan once)."})
    first_requested_at = UTCDateTime()
    last_requested_at = UTCDateTime()
    stop_id = fields.String(
        allow_none=True, metadata={"description": "The stop added for this place, once added."}
    )


class StopRequestListSchema(Schema):
    object = fields.Constant("list")
    data = fields.List(fields.Nested(StopRequestSchema))


class WaitlistEntrySchema(Schema):
    """A fan in line for a sold-out trip (or whose turn came)."""

    id = fields.String()
    object = fields.Constant("waitlist_entry")
    trip_id = fields.String()
    stop_id = fields.String()
    seats = fields.Integer()
    name = fields.String()
    email = fields.String()
    locale = fields.String()
    status = fields.String(
        metadata={"enum": ["waiting", "offered", "claimed", "expired", "declined", "closed"]}
    )
    position = fields.Integer(
        allow_none=True, metadata={"description": "1 = next in line; null unless waiting."}
    )
    offered_at = UTCDateTime(allow_none=True)
    offer_expires_at = UTCDateTime(allow_none=True)
    pledge_id = fields.String(allow_none=True, metadata={"description": "Once claimed."})
    created_at = UTCDateTime()


class WaitlistListSchema(Schema):
    object = fields.Constant("list")
    data = fields.List(fields.Nested(WaitlistEntrySchema))
