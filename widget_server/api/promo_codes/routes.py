"""Promo codes: `GET/POST /v1/promo_codes`, `GET/PATCH /v1/promo_codes/{id}`."""

from flask import g
from sqlalchemy import select

from widget_server.api.common import (
    Blueprint,
    ListArgs,
    actor,
    created,
    list_schema,
    owned,
    page,
    protected,
)
from widget_server.api.promo_codes.schemas import PromoCodeCreateSchema, PromoCodeUpdateSchema
from widget_server.domain.pricing import settings
from widget_server.extensions import db
from widget_server.models import PromoCode
from widget_server.representations import PromoCodeSchema

blp = Blueprint(
    "promo_codes",
    __name__,
    url_prefix="/v1/promo_codes",
    description="Codes fans type for a discount per seat (see docs/pricing.md).",
)
PromoCodeList = list_schema(PromoCodeSchema, "PromoCodeList")


@blp.get("")
@protected(blp, "trips:read", not_found=False)
@blp.arguments(ListArgs, location="query")
@blp.response(200, PromoCodeList)
def list_promo_codes(args):
    """List promo codes, newest first."""
    query = select(PromoCode).where(PromoCode.partner_id == g.partner.id)
    return page(query, PromoCode.id, limit=args["limit"], cursor=args["cursor"])


@blp.post("")
@protected(blp, "trips:write", not_found=False)
@blp.arguments(PromoCodeCreateSchema)
@blp.response(201, PromoCodeSchema)
@created("/v1/promo_codes/{id}")
def create_promo_code(data):
    """Create a promo code.

    Rules the schema cannot express (a 422 naming the field): exactly one of `percent_off`
    and `amount_off`; `currency` with `amount_off`; `ends_at` after `starts_at`; at most one of
    `event_id` and `trip_id`, each your own; `code` not already one of yours."""
    with db.transaction() as session:
        return settings.create_promo_code(session, g.partner.id, data, actor=actor())


@blp.get("/<promo_code_id>")
@protected(blp, "trips:read")
@blp.response(200, PromoCodeSchema)
def get_promo_code(promo_code_id):
    """Retrieve a promo code and how many times it was used."""
    return owned(PromoCode, promo_code_id)


@blp.patch("/<promo_code_id>")
@protected(blp, "trips:write")
@blp.arguments(PromoCodeUpdateSchema)
@blp.response(200, PromoCodeSchema)
def update_promo_code(data, promo_code_id):
    """Change a promo code (`active: false` turns it off). Pledges already made keep their
    price. `max_redemptions` cannot go below `times_redeemed`."""
    with db.transaction() as session:
        promo = owned(PromoCode, promo_code_id)
        return settings.update_promo_code(session, promo, data, actor=actor())
