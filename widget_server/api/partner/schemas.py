from flask import current_app, url_for
from marshmallow import RAISE, Schema, fields, pre_dump, validate

from widget_server.domain.branding import WORDING_KEYS
from widget_server.domain.numbers import Integer
from widget_server.domain.partners import ORIGIN_MAX_LENGTH, URL_MAX_LENGTH
from widget_server.domain.text import Email, Text
from widget_server.i18n import SUPPORTED_LOCALES

_HEADLINE = "The widget's headline in this language; null: the product's own."
_INTRO = "The line under the headline in this language; null: the product's own."


class LanguageWordingOutSchema(Schema):
    headline = fields.String(allow_none=True, metadata={"description": _HEADLINE})
    intro = fields.String(allow_none=True, metadata={"description": _INTRO})


class WordingOutSchema(Schema):
    """Every language of the widget, each with its two texts (null where unset)."""

    en = fields.Nested(LanguageWordingOutSchema)
    es = fields.Nested(LanguageWordingOutSchema)
    fr = fields.Nested(LanguageWordingOutSchema)

    @pre_dump
    def _every_language(self, wording, **_kwargs):
        wording = wording or {}
        return {
            language: {key: (wording.get(language) or {}).get(key) for key in WORDING_KEYS}
            for language in SUPPORTED_LOCALES
        }


def _logo_url(logo) -> str:
    path = url_for("widget_logos.logo", partner_slug=logo.partner.slug, file_name=logo.file_name)
    return current_app.config["SETTINGS"].public_base_url + path


class LogoOutSchema(Schema):
    """The logo uploaded in the console (re-encoded; shown instead of `branding.logo_url`)."""

    url = fields.Function(
        _logo_url,
        metadata={
            "type": "string",
            "format": "uri",
            "description": "Content-hashed: a new logo gets a new URL (cached for a year).",
        },
    )
    content_type = fields.String(metadata={"enum": ["image/png", "image/jpeg", "image/webp"]})
    width = fields.Integer()
    height = fields.Integer()
    size = fields.Integer(metadata={"description": "Bytes."})
    sha256 = fields.String()


class LanguageWordingUpdateSchema(Schema):
    class Meta:
        unknown = RAISE

    headline = Text(
        allow_none=True, max_length=WORDING_KEYS["headline"], metadata={"description": _HEADLINE}
    )
    intro = Text(
        allow_none=True, max_length=WORDING_KEYS["intro"], metadata={"description": _INTRO}
    )


class WordingUpdateSchema(Schema):
    """Merged into the current wording: a key set to null (or "") goes back to the product's own
    words; languages and keys left out stay as they are."""

    class Meta:
        unknown = RAISE

    en = fields.Nested(LanguageWordingUpdateSchema)
    es = fields.Nested(LanguageWordingUpdateSchema)
    fr = fields.Nested(LanguageWordingUpdateSchema)


class PartnerOutSchema(Schema):
    id = fields.String()
    object = fields.Constant("partner")
    slug = fields.String()
    name = fields.String()
    locale = fields.String()
    currency = fields.String()
    allowed_origins = fields.List(fields.String())
    branding = fields.Dict()
    wording = fields.Nested(WordingOutSchema)
    logo = fields.Nested(LogoOutSchema, allow_none=True)
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
    wording = fields.Nested(WordingUpdateSchema)
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
