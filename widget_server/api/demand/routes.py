"""Demand: where fans ask for trips, per event and origin (`GET /v1/demand`)."""

import re

from flask import g
from marshmallow import Schema, fields

from widget_server.api.common import Blueprint, ListArgs, cursor_field, list_schema, protected
from widget_server.domain.demand import demand_by_origin
from widget_server.domain.errors import ValidationFailed
from widget_server.domain.text import Id
from widget_server.extensions import db

blp = Blueprint("demand", __name__, url_prefix="/v1/demand", description="Trip requests.")


# Demand rows are aggregates, so the cursor is a position in the ordering: at most nine ASCII
# digits (a number `int()` and the database take whole; other values are refused).
OFFSET_PATTERN = r"^[0-9]{1,9}$"
_OFFSET = re.compile(OFFSET_PATTERN)


class DemandArgs(ListArgs):
    event_id = Id("evt", load_default=None)
    cursor = cursor_field(OFFSET_PATTERN)


class DemandSchema(Schema):
    object = fields.Constant("demand")
    event_id = fields.String()
    origin = fields.String(metadata={"description": "As the first fan wrote it."})
    origin_key = fields.String(metadata={"description": "Normalised: case, accents folded."})
    count = fields.Integer(metadata={"description": "Distinct fans asking."})
    first_requested_at = fields.String()
    last_requested_at = fields.String()
    has_trip = fields.Boolean(metadata={"description": "A trip from this origin exists."})


DemandList = list_schema(DemandSchema, "DemandList")


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not _OFFSET.fullmatch(cursor):
        raise ValidationFailed.field("cursor", "is not a cursor this API gave out")
    return int(cursor)


@blp.get("")
@protected(blp, "demand:read", not_found=False)
@blp.arguments(DemandArgs, location="query")
@blp.response(200, DemandList)
def list_demand(args):
    """Requests per origin, most requested first; filter by `event_id`."""
    offset = _offset(args["cursor"])
    rows = demand_by_origin(
        db.session, g.partner, event_id=args["event_id"], offset=offset, limit=args["limit"] + 1
    )
    has_more = len(rows) > args["limit"]
    return {
        "object": "list",
        "data": rows[: args["limit"]],
        "has_more": has_more,
        "next_cursor": str(offset + args["limit"]) if has_more else None,
    }
