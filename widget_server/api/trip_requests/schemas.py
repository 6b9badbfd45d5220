"""Bodies of `/v1/trip_requests` (the responses are `representations.TripRequestSchema`)."""

from marshmallow import RAISE, Schema, fields, validate

from widget_server.api.fields import AwareDateTime
from widget_server.domain.numbers import Integer
from widget_server.domain.text import Id, Text
from widget_server.models.operators import VEHICLE_KINDS

MAX_OPERATORS = 50


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class RequestOriginInput(_Strict):
    name = Text(required=True, max_length=200)
    region = Text(
        load_default=None,
        allow_none=True,
        max_length=20,
        validate=validate.Regexp(r"^[A-Za-z0-9-]{1,20}$", error="must be a region code such as KS"),
        metadata={"description": "Region code (`KS`): operators serving it are asked."},
    )


class TripRequestCreateSchema(_Strict):
    event_id = Id("evt", required=True)
    origin = fields.Nested(RequestOriginInput, required=True)
    departs_at = AwareDateTime(required=True)
    expected_riders = Integer(required=True, validate=validate.Range(1, 1000))
    vehicle_kind = Text(required=True, max_length=32, validate=validate.OneOf(VEHICLE_KINDS))
    operators = fields.List(
        Text(max_length=80),
        load_default=None,
        validate=validate.Length(1, MAX_OPERATORS),
        metadata={
            "description": "Slugs of the operators to ask; default: every one serving "
            "the origin's region."
        },
    )


class AwardSchema(_Strict):
    quote_id = Id("quo", required=True)
    unit_amount = Integer(
        required=True,
        validate=validate.Range(1, 10_000_000),
        metadata={"description": "The trip's price per seat in minor units."},
    )
    min_riders = Integer(
        load_default=None,
        validate=validate.Range(1, 1000),
        metadata={"description": "Default: ceil(amount / unit_amount), at most the seats."},
    )
