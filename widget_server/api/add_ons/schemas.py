from marshmallow import RAISE, Schema, fields, validate

from widget_server.domain.numbers import Boolean, Integer
from widget_server.domain.pricing.add_ons import MAX_QUANTITY, MAX_UNIT_AMOUNT
from widget_server.domain.text import Text
from widget_server.representations import AddOnSchema


class AddOnCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    name = Text(required=True, max_length=120, metadata={"example": "Tailgate pass"})
    unit_amount = Integer(
        required=True,
        validate=validate.Range(0, MAX_UNIT_AMOUNT),
        metadata={"description": "Price each in minor units of the trip's currency."},
    )
    quantity = Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(0, MAX_QUANTITY),
        metadata={"description": "Units on sale in all; null (the default): no limit."},
    )
    active = Boolean(load_default=True)


class AddOnUpdateSchema(AddOnCreateSchema):
    """Any field; `quantity` never below the units sold (422). Pledges already made keep the
    name, price and quantity they bought."""

    class Meta:
        unknown = RAISE

    name = Text(min_length=1, max_length=120)
    unit_amount = Integer(validate=validate.Range(0, MAX_UNIT_AMOUNT))
    quantity = Integer(allow_none=True, validate=validate.Range(0, MAX_QUANTITY))
    active = Boolean()


class AddOnListSchema(Schema):
    object = fields.Constant("list")
    data = fields.List(fields.Nested(AddOnSchema))
