from marshmallow import RAISE, Schema, fields, validate


class PartnerOutSchema(Schema):
    id = fields.String()
    object = fields.Constant("partner")
    slug = fields.String()
    name = fields.String()
    locale = fields.String()
    currency = fields.String()
    allowed_origins = fields.List(fields.String())
    branding = fields.Dict()
    support_email = fields.String(allow_none=True)
    terms_url = fields.String(allow_none=True)
    demand_threshold = fields.Integer()
    max_seats_per_fan = fields.Integer(
        metadata={"description": "The most seats one fan (one email) may hold on one trip."}
    )


class PartnerUpdateSchema(Schema):
    """Any of the partner file's fields but `slug`; `branding` may be partial (merged)."""

    class Meta:
        unknown = RAISE

    name = fields.String()
    locale = fields.String()
    currency = fields.String()
    allowed_origins = fields.List(fields.String())
    branding = fields.Dict()
    support_email = fields.String(allow_none=True)
    terms_url = fields.String(allow_none=True)
    demand_threshold = fields.Integer()
    max_seats_per_fan = fields.Integer(
        strict=True,
        validate=validate.Range(1, 100),
        metadata={
            "description": "The most seats one fan (one email) may hold on one trip, over all "
            "of their pledges (default 10).",
        },
    )
