"""The operator's trips (`/v1/operator/trips`): trips awarded to the token's operator across
every partner, their manifests, assigning a vehicle and a driver, the driver's link. A trip not
awarded to the operator is 404 on every route."""

from __future__ import annotations

from flask import current_app, g
from marshmallow import RAISE, Schema, fields

from widget_server.api.common import (
    ListArgs,
    actor,
    driver_link_answer,
    list_schema,
    page,
    problem_doc,
)
from widget_server.api.operator import blp, operator_route
from widget_server.api.trips.schemas import DriverLinkSchema
from widget_server.domain.operators import operator_trips
from widget_server.domain.text import Id
from widget_server.extensions import db
from widget_server.models import Trip
from widget_server.representations import OperatorTripSchema

OperatorTripList = list_schema(OperatorTripSchema, "OperatorTripList")


class OperatorRiderSchema(Schema):
    pledge_id = fields.String()
    name = fields.String()
    seats = fields.Integer()
    may_board = fields.Boolean(metadata={"description": "Paid: let them on."})
    boarding_code = fields.String(allow_none=True, metadata={"description": "Paid riders only."})
    boarded_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    boarded_by = fields.String(allow_none=True)
    double_boarded = fields.Boolean()


class OperatorManifestStopSchema(Schema):
    id = fields.String()
    name = fields.String()
    address = fields.String()
    departs_at = fields.String(metadata={"format": "date-time"})
    seats = fields.Integer()
    boarded_seats = fields.Integer()
    riders = fields.List(fields.Nested(OperatorRiderSchema))


class OperatorManifestSchema(Schema):
    """Riders per stop as the operator sees them: no fan's email, phone or payment."""

    object = fields.Constant("operator_manifest")
    trip_id = fields.String()
    trip_status = fields.String()
    seats = fields.Integer()
    boarded_seats = fields.Integer()
    stops = fields.List(fields.Nested(OperatorManifestStopSchema))


class AssignmentInput(Schema):
    class Meta:
        unknown = RAISE

    vehicle_id = Id("veh", load_default=None, metadata={"description": "One of your vehicles."})
    driver_id = Id("drv", load_default=None, metadata={"description": "One of your drivers."})


class AssignmentSchema(Schema):
    object = fields.Constant("assignment")
    trip = fields.Nested(OperatorTripSchema)
    warnings = fields.List(
        fields.String(), metadata={"description": "The assignment stands; worth a look."}
    )


def _trip(trip_id: str) -> Trip:
    return operator_trips.operator_trip(db.session, g.operator.id, trip_id)


@blp.get("/trips")
@operator_route("operator_trips:read", not_found=False)
@blp.arguments(ListArgs, location="query")
@blp.response(200, OperatorTripList)
def list_operator_trips(args):
    """The trips awarded to you, every partner and status, newest first."""
    query = operator_trips.trips_query(g.operator.id)
    return page(query, Trip.id, limit=args["limit"], cursor=args["cursor"])


@blp.get("/trips/<trip_id>")
@operator_route("operator_trips:read")
@blp.response(200, OperatorTripSchema)
def get_operator_trip(trip_id):
    """One of your trips."""
    return _trip(trip_id)


@blp.get("/trips/<trip_id>/manifest")
@operator_route("operator_trips:read")
@blp.response(200, OperatorManifestSchema)
def get_operator_manifest(trip_id):
    """The riders per stop: names, seats, may board, boarding codes, boarded or not."""
    return operator_trips.operator_manifest(
        db.session, _trip(trip_id), secret=current_app.config["SECRET_KEY"]
    )


@blp.post("/trips/<trip_id>/assignment")
@operator_route("operator_trips:write")
@blp.arguments(AssignmentInput)
@blp.response(200, AssignmentSchema)
@problem_doc(blp, 409, "The vehicle has fewer seats than are pledged, or the trip has run")
@problem_doc(blp, 422, "Invalid fields, or not your vehicle or driver")
def assign_operator_trip(data, trip_id):
    """Assign one of your vehicles (its seats at least the seats pledged) and/or one of your
    drivers; a newly assigned driver gets the trip's check-in link by email (the old link
    ends)."""
    trip = _trip(trip_id)
    with db.transaction() as session:
        warnings = operator_trips.assign(
            session,
            g.operator.id,
            trip,
            vehicle_id=data["vehicle_id"],
            driver_id=data["driver_id"],
            actor=actor(),
        )
    return {"trip": trip, "warnings": [operator_trips.warning_text(w) for w in warnings]}


@blp.post("/trips/<trip_id>/driver_link")
@operator_route("operator_trips:write")
@blp.response(201, DriverLinkSchema)
@problem_doc(blp, 409, "The trip is a draft, or has run")
def reissue_operator_driver_link(trip_id):
    """Issue the trip's check-in link again (the old one ends), emailed to the assigned
    driver."""
    trip = _trip(trip_id)
    with db.transaction() as session:
        link = operator_trips.reissue_driver_link(session, g.operator.id, trip, actor=actor())
    return driver_link_answer(link)
