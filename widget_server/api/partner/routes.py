"""The token's partner: `GET/PATCH /v1/partner` (settings and branding)."""

from flask import g

from widget_server.api.common import Blueprint, actor, problem_doc, protected
from widget_server.api.partner.schemas import PartnerOutSchema, PartnerUpdateSchema
from widget_server.domain.partners import update_partner
from widget_server.extensions import db

blp = Blueprint("partner", __name__, url_prefix="/v1/partner", description="Your settings.")


@blp.get("")
@protected(blp, "partner:read", not_found=False)
@blp.response(200, PartnerOutSchema)
def get_partner():
    """Your partner settings and branding."""
    return g.partner


@blp.patch("")
@protected(blp, "partner:write", not_found=False)
@blp.arguments(PartnerUpdateSchema)
@blp.response(200, PartnerOutSchema)
@problem_doc(blp, 422, "Invalid fields")
def patch_partner(changes):
    """Change settings; validated exactly like partner files (colours, contrast, origins).

    Rules the schema cannot express (a 422 naming the field): `branding` keys and values are
    those of partner files (hex colours; text and background colours must reach WCAG AA
    contrast; `logo_url` and `terms_url` are https URLs); each of `allowed_origins` is an
    exact origin (scheme, host, optional port; https except for loopback); `currency` is an
    ISO 4217 code this service supports."""
    with db.transaction() as session:
        return update_partner(session, g.partner, changes, actor=actor())
