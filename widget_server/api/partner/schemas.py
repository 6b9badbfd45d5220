from marshmallow import RAISE, Schema, fields


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
    waitlist_hold_hours = fields.Integer(
        metadata={"description": "Hours a waitlist offer holds freed seats (1-72)."}
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
    waitlist_hold_hours = fields.Integer()
