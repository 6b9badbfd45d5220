"""Payouts, for operators (bus companies): `GET /v1/operator/payouts`, one per completed trip
awarded to the operator, newest first (optionally of one trip). Another operator's payouts are
never listed."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields

from widget_server.api.common import ListArgs, list_schema, page
from widget_server.api.operator import blp, operator_route
from widget_server.domain.operators.payouts import payouts_query
from widget_server.domain.text import Id
from widget_server.models import Payout
from widget_server.representations import UTCDateTime


class PayoutSchema(Schema):
    id = fields.String(metadata={"description": "Opaque, prefixed id (`po_...`)."})
    object = fields.Constant("payout")
    trip_id = fields.String()
    amount = fields.Integer(metadata={"description": "The awarded quote, minor units."})
    currency = fields.String()
    status = fields.String(
        metadata={
            "enum": ["pending", "paid", "failed", "canceled"],
            "description": "`pending` until the transfer is made (connect a Stripe account "
            "to be paid); `paid` with its `transfer_id`.",
        }
    )
    transfer_id = fields.String(
        allow_none=True, metadata={"description": "The payment provider's transfer (`tr_...`)."}
    )
    created_at = UTCDateTime()
    paid_at = UTCDateTime(allow_none=True)


PayoutList = list_schema(PayoutSchema, "PayoutList")


class PayoutListArgs(ListArgs):
    trip_id = Id("trp", load_default=None, metadata={"description": "Only this trip's payout."})


@blp.get("/payouts")
@operator_route("payouts:read", not_found=False)
@blp.arguments(PayoutListArgs, location="query")
@blp.response(200, PayoutList)
def list_operator_payouts(args):
    """Your payouts, newest first: the trip, the amount (its awarded quote), the status and the
    transfer once paid."""
    query = payouts_query(g.operator.id, trip_id=args["trip_id"])
    return page(query, Payout.id, limit=args["limit"], cursor=args["cursor"])
