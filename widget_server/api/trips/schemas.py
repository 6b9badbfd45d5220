from marshmallow import RAISE, Schema, fields, validate

from widget_server.api.fields import AwareDateTime, Currency
from widget_server.models.trips import TRIP_STATUSES
from widget_server.representations import UTCDateTime


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class OriginInput(_Strict):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    region = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class StopInput(_Strict):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    address = fields.String(required=True, validate=validate.Length(1, 500))
    departs_at = AwareDateTime(required=True)


class OperatorInput(_Strict):
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    email = fields.Email(load_default=None, allow_none=True)


class TripCreateSchema(_Strict):
    event_id = fields.String(required=True)
    origin = fields.Nested(OriginInput, required=True)
    stops = fields.List(fields.Nested(StopInput), required=True, validate=validate.Length(1, 20))
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1000))
    min_riders = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1000))
    unit_amount = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(0, 10_000_000),
        metadata={"description": "Price per seat in minor units (3500 = $35.00)."},
    )
    currency = Currency(load_default=None, metadata={"description": "Default: the partner's."})
    pledge_deadline = AwareDateTime(required=True)
    operator = fields.Nested(OperatorInput, load_default=None, allow_none=True)


class TripUpdateSchema(_Strict):
    """Draft trips take any field; open or confirmed trips only operator, capacity (not below
    the seats already pledged) and, while open, a later pledge_deadline."""

    origin = fields.Nested(OriginInput)
    stops = fields.List(fields.Nested(StopInput), validate=validate.Length(1, 20))
    capacity = fields.Integer(strict=True, validate=validate.Range(1, 1000))
    min_riders = fields.Integer(strict=True, validate=validate.Range(1, 1000))
    unit_amount = fields.Integer(strict=True, validate=validate.Range(0, 10_000_000))
    currency = Currency()
    pledge_deadline = AwareDateTime()
    operator = fields.Nested(OperatorInput, allow_none=True)


class TripListArgs(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    cursor = fields.String(load_default=None)
    event_id = fields.String(load_default=None)
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(TRIP_STATUSES),
    )


class RiderSchema(Schema):
    pledge_id = fields.String()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    seats = fields.Integer()
    status = fields.String()
    boarding_code = fields.String(allow_none=True, metadata={"description": "null unless paid"})
    boarded_at = fields.String(
        allow_none=True, metadata={"description": "When the driver checked them in (device time)."}
    )
    boarded_by = fields.String(allow_none=True, metadata={"description": "The device's name."})
    double_boarded = fields.Boolean(
        metadata={"description": "Two devices both checked this pledge in (offline)."}
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
    stops = fields.List(fields.Nested(ManifestStopSchema))


class DriverLinkSchema(Schema):
    object = fields.Constant("driver_link")
    url = fields.String(
        metadata={"description": "The driver's page; check-ins go to {url}/checkins."}
    )
    expires_at = UTCDateTime()
