"""Asking operators for a bus: `POST/GET /v1/trip_requests`, `GET /v1/trip_requests/{id}`
(with its quotes and each operator's compliance), `POST /v1/trip_requests/{id}/award`."""

from flask import g
from marshmallow import Schema, fields
from sqlalchemy import select

from widget_server.api.common import (
    Blueprint,
    ListArgs,
    actor,
    created,
    found_first,
    list_schema,
    owned,
    page,
    problem_doc,
    protected,
)
from widget_server.api.trip_requests.schemas import AwardSchema, TripRequestCreateSchema
from widget_server.domain.errors import ValidationFailed
from widget_server.domain.operators import awards, marketplace
from widget_server.extensions import db
from widget_server.models import Event, TripRequest
from widget_server.representations import TripRequestSchema, TripSchema

blp = Blueprint(
    "trip_requests",
    __name__,
    url_prefix="/v1/trip_requests",
    description="Asking bus companies (operators) for quotes, and awarding one.",
)
TripRequestList = list_schema(TripRequestSchema, "TripRequestList")


class AwardResultSchema(Schema):
    trip = fields.Nested(TripSchema)


@blp.get("")
@protected(blp, "trips:read", not_found=False)
@blp.arguments(ListArgs, location="query")
@blp.response(200, TripRequestList)
def list_trip_requests(args):
    """List trip requests, newest first, each with its quotes."""
    query = select(TripRequest).where(TripRequest.partner_id == g.partner.id)
    return page(query, TripRequest.id, limit=args["limit"], cursor=args["cursor"])


@blp.post("")
@protected(blp, "trips:write", not_found=False)
@blp.arguments(TripRequestCreateSchema)
@blp.response(201, TripRequestSchema)
@problem_doc(blp, 422, "Invalid fields, or no operator to ask")
@created("/v1/trip_requests/{id}")
def create_trip_request(data):
    """Ask operators for a bus. Each operator asked is told (email and webhook
    `trip_request.created`) and can quote until you award.

    Rules the schema cannot express (a 422 naming the field): `event_id` is one of your
    events; `departs_at` is before the event starts; every slug in `operators` is an operator;
    without `operators`, at least one operator serves `origin.region`."""
    event = db.session.get(Event, data.pop("event_id"))
    if event is None or event.partner_id != g.partner.id:
        raise ValidationFailed.field("event_id", "no such event")
    with db.transaction() as session:
        return marketplace.request_bus(session, g.partner, event, actor=actor(), **data)


@blp.get("/<trip_request_id>")
@protected(blp, "trips:read")
@blp.response(200, TripRequestSchema)
def get_trip_request(trip_request_id):
    """Retrieve a trip request with its quotes (each with the operator's USDOT number and
    insurance expiry)."""
    return owned(TripRequest, trip_request_id)


@blp.post("/<trip_request_id>/award")
@protected(blp, "trips:write")
@found_first(lambda trip_request_id, **_: owned(TripRequest, trip_request_id))
@blp.arguments(AwardSchema)
@blp.response(201, AwardResultSchema)
@problem_doc(
    blp,
    409,
    "The quote expired or is not open, the operator is not compliant, or "
    "the request is already awarded",
)
@problem_doc(blp, 422, "Invalid fields")
def award(data, trip_request_id):
    """Award a quote: the draft trip is made with the operator, `capacity` the quote's seats
    and `min_riders` ceil(amount / unit_amount) (at most the capacity) unless given. The other
    operators are told their quote was not chosen."""
    with db.transaction() as session:
        trip_request = owned(TripRequest, trip_request_id)
        trip = awards.award_quote(session, trip_request, actor=actor(), **data)
    return {"trip": trip}, 201, {"Location": f"/v1/trips/{trip.id}"}
