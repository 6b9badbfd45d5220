from marshmallow import RAISE, Schema, fields, validate

from widget_server.domain.numbers import Integer
from widget_server.domain.partners import ORIGIN_MAX_LENGTH, URL_MAX_LENGTH
from widget_server.domain.text import Email, Text


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
    site_url = fields.String(
        allow_none=True,
        metadata={
            "description": "Your page that embeds the widget: fans' share links lead there "
            "(else to the public trip page)."
        },
    )
    demand_threshold = fields.Integer()
    waitlist_hold_hours = fields.Integer(
        metadata={"description": "Hours a waitlist offer holds freed seats (1-72)."}
    )
    max_seats_per_fan = fields.Integer(
        metadata={"description": "The most seats one fan (one email) may hold on one trip."}
    )


class PartnerUpdateSchema(Schema):
    """Any of the partner file's fields but `slug`; `branding` may be partial (merged). The
    domain's partner-file schema then checks every rule (colours, contrast, origins)."""

    class Meta:
        unknown = RAISE

    name = Text(min_length=1, max_length=200)
    locale = Text(max_length=10)
    currency = Text(max_length=3)
    allowed_origins = fields.List(Text(max_length=ORIGIN_MAX_LENGTH))
    branding = fields.Dict(keys=Text(max_length=40))
    support_email = Email(allow_none=True)
    terms_url = Text(allow_none=True, max_length=URL_MAX_LENGTH)
    site_url = Text(
        allow_none=True,
        max_length=URL_MAX_LENGTH,
        metadata={
            "description": "The page of your site that embeds the widget (on one of "
            "`allowed_origins`, no fragment); fans' share links lead there with `rp`, "
            "`rp_trip`, `rp_stop` and `rp_ref` query parameters. `null` removes it.",
        },
    )
    demand_threshold = Integer()
    waitlist_hold_hours = Integer(
        validate=validate.Range(1, 72),
        metadata={"description": "Hours a waitlist offer holds freed seats (1-72, default 4)."},
    )
    max_seats_per_fan = Integer(
        validate=validate.Range(1, 100),
        metadata={
            "description": "The most seats one fan (one email) may hold on one trip, over all "
            "of their pledges (default 10).",
        },
    )
