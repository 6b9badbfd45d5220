"""Pledges: list, retrieve, cancel (with a refund when paid)."""

from flask import g
from sqlalchemy import select
from sqlalchemy.orm import undefer

from widget_server import services
from widget_server.api.common import (
    Blueprint,
    actor,
    list_schema,
    owned,
    page,
    problem_doc,
    protected,
)
from widget_server.api.pledges.schemas import PledgeListArgs
from widget_server.domain.pledges import charging
from widget_server.models import Pledge
from widget_server.representations import PledgeSchema

blp = Blueprint("pledges", __name__, url_prefix="/v1/pledges", description="Fans' seats.")
PledgeList = list_schema(PledgeSchema, "PledgeList")


@blp.get("")
@protected(blp, "pledges:read", not_found=False)
@blp.arguments(PledgeListArgs, location="query")
@blp.response(200, PledgeList)
def list_pledges(args):
    """List pledges, newest first; filter by `trip_id`, `status` and `referred_by` (the
    pledges one fan's share link brought)."""
    query = (
        select(Pledge).where(Pledge.partner_id == g.partner.id).options(undefer(Pledge.referrals))
    )
    if args["trip_id"]:
        query = query.where(Pledge.trip_id == args["trip_id"])
    if args["status"]:
        query = query.where(Pledge.status == args["status"])
    if args["referred_by"]:
        query = query.where(Pledge.referred_by == args["referred_by"])
    return page(query, Pledge.id, limit=args["limit"], cursor=args["cursor"])


@blp.get("/<pledge_id>")
@protected(blp, "pledges:read")
@blp.response(200, PledgeSchema)
def get_pledge(pledge_id):
    """Retrieve a pledge."""
    return owned(Pledge, pledge_id)


@blp.post("/<pledge_id>/cancel")
@protected(blp, "pledges:write")
@blp.response(200, PledgeSchema)
@problem_doc(blp, 409, "Not cancelable now")
def cancel_pledge(pledge_id):
    """Cancel a pledge. Unpaid: `canceled`, seats freed. Paid: refunded in full (`refunded`)."""
    return charging.cancel_pledge(services.payments(), owned(Pledge, pledge_id).id, actor=actor())
