from marshmallow import RAISE, Schema, fields, validate

from widget_server.api.fields import AwareDateTime, TimeZone


class EventCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=validate.Length(1, 200))
    venue = fields.String(required=True, validate=validate.Length(1, 200))
    starts_at = AwareDateTime(required=True, metadata={"example": "2026-12-20T19:00:00Z"})
    timezone = TimeZone(required=True, metadata={"example": "America/Chicago"})


class EventUpdateSchema(EventCreateSchema):
    class Meta:
        unknown = RAISE

    title = fields.String(validate=validate.Length(1, 200))
    venue = fields.String(validate=validate.Length(1, 200))
    starts_at = AwareDateTime()
    timezone = TimeZone()
