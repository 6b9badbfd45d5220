from marshmallow import RAISE, Schema, fields, validate

from widget_server.api.fields import AwareDateTime, Currency
from widget_server.domain.numbers import Integer
from widget_server.domain.pricing.settings import MAX_AMOUNT, MAX_PER_FAN, MAX_REDEMPTIONS
from widget_server.domain.text import Id, Text


class PromoCodeCreateSchema(Schema):
    """A promo code: `percent_off` or `amount_off` (with `currency`) per seat; optional limits,
    window and scope (an event or a trip; neither: every trip). Checked by
    `domain/pricing/settings.py` (a 422 naming the field)."""

    class Meta:
        unknown = RAISE

    code = Text(
        required=True,
        max_length=40,
        metadata={"description": "1-40 of A-Z 0-9 - _; case-insensitive.", "example": "FANS20"},
    )
    percent_off = Integer(allow_none=True, validate=validate.Range(1, 100))
    amount_off = Integer(
        allow_none=True,
        validate=validate.Range(1, MAX_AMOUNT),
        metadata={"description": "Off each seat, minor units of `currency`."},
    )
    currency = Currency(allow_none=True)
    max_redemptions = Integer(allow_none=True, validate=validate.Range(1, MAX_REDEMPTIONS))
    per_fan_limit = Integer(allow_none=True, validate=validate.Range(1, MAX_PER_FAN))
    starts_at = AwareDateTime(past=True, allow_none=True)
    ends_at = AwareDateTime(past=True, allow_none=True)
    event_id = Id("evt", allow_none=True)
    trip_id = Id("trp", allow_none=True)
    active = fields.Boolean(metadata={"description": "Default true."})


class PromoCodeUpdateSchema(PromoCodeCreateSchema):
    class Meta:
        unknown = RAISE

    code = Text(max_length=40)
